/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The KVM probe. Where this machine has a /dev/kvm, it is probed for real:
 * a test VM runs guest code in a child process (on the machine this was
 * written on, KVM runs the code but refuses MSR 0x10a, as QEMU finds), a
 * vCPU that loops forever must end in the probe's deadline, and the
 * verdict must come from the per-boot file once made. Where there is no
 * /dev/kvm those cases are skipped with a message, and the verdict "cannot
 * run a guest" is an injected fault (CLOCHE_TEST_KVM_FAULT=cannot-run). No
 * case needs a KVM that works.
 */
#include "config.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cloche-accel-private.h"
#include "cloche-accel.h"
#include "cloche-error.h"

static char *runtime_dir;

static gboolean
have_kvm (void)
{
  int fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);

  if (fd < 0)
    {
      g_test_skip ("no usable /dev/kvm on this machine: the real probe is not run here "
                   "(the injected fault stands in for it)");
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static char *
cache_path (void)
{
  return g_build_filename (runtime_dir, "cloche", "kvm-probe", NULL);
}

/* What each stage of a run means, without a device. */
static void
test_describe (void)
{
  const struct
  {
    ClocheKvmRun run;
    int          code;
    const char  *says;
  } cases[] = {
    { { .stage = CLOCHE_KVM_RUN_OK, .guest_ran = 1 }, 0, "ran guest code" },
    { { .stage = CLOCHE_KVM_RUN_CREATE_VM, .error_number = EBUSY }, CLOCHE_ERROR_KVM_NO_VM,
      "KVM_CREATE_VM failed" },
    { { .stage = CLOCHE_KVM_RUN_EXIT, .exit_reason = KVM_EXIT_INTERNAL_ERROR, .suberror = 1 },
      CLOCHE_ERROR_KVM_UNUSABLE, "KVM_EXIT_INTERNAL_ERROR (suberror 1, emulation failure)" },
    { { .stage = CLOCHE_KVM_RUN_EXIT, .exit_reason = KVM_EXIT_FAIL_ENTRY, .detail = 0x80000021 },
      CLOCHE_ERROR_KVM_UNUSABLE, "hardware reason 0x80000021" },
    { { .stage = CLOCHE_KVM_RUN_EXIT, .exit_reason = KVM_EXIT_SHUTDOWN },
      CLOCHE_ERROR_KVM_UNUSABLE, "KVM_EXIT_SHUTDOWN" },
    { { .stage = CLOCHE_KVM_RUN_ERRNO, .error_number = EFAULT }, CLOCHE_ERROR_KVM_UNUSABLE,
      "KVM_RUN failed" },
    { { .stage = CLOCHE_KVM_RUN_TIMEOUT }, CLOCHE_ERROR_KVM_UNUSABLE, "did not stop within" },
    { { .stage = CLOCHE_KVM_RUN_WRONG_OUTPUT, .exit_reason = KVM_EXIT_IO, .port = 0x80,
        .value = 7 }, CLOCHE_ERROR_KVM_UNUSABLE, "wrote 0x7 to port 0x80" },
    { { .stage = CLOCHE_KVM_RUN_MSR, .msr = 0x10a, .detail = 0x69 }, CLOCHE_ERROR_KVM_UNUSABLE,
      "refuses MSR 0x10a at the value KVM itself reports for it (0x69)" },
    { { .stage = CLOCHE_KVM_RUN_CPUID, .error_number = EINVAL }, CLOCHE_ERROR_KVM_UNUSABLE,
      "KVM_SET_CPUID2" },
    { { .stage = CLOCHE_KVM_RUN_CHILD, .value = 11 }, CLOCHE_ERROR_KVM_UNUSABLE, "signal 11" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *said = cloche_kvm_run_describe (&cases[i].run);

      g_assert_cmpint (cloche_kvm_run_error_code (&cases[i].run), ==, cases[i].code);
      if (strstr (said, cases[i].says) == NULL)
        g_error ("case %u: \"%s\" is not in \"%s\"", i, cases[i].says, said);
    }
}

static void
test_no_device (void)
{
  g_autofree char *missing = g_build_filename (runtime_dir, "no-such-kvm", NULL);
  g_autofree char *reason = NULL;
  int code = 0;

  g_assert_false (cloche_accel_probe (missing, &code, &reason));
  g_assert_cmpint (code, ==, CLOCHE_ERROR_KVM_MISSING);
  g_assert_nonnull (strstr (reason, "no-such-kvm"));
  g_clear_pointer (&reason, g_free);

  /* A device that opens but speaks no KVM cannot make a VM. */
  g_assert_false (cloche_accel_probe ("/dev/null", &code, &reason));
  g_assert_cmpint (code, ==, CLOCHE_ERROR_KVM_NO_VM);
  g_assert_nonnull (strstr (reason, "KVM API 12"));
}

/* Injected fault: the verdict of a KVM whose vCPU stops with an internal
 * error, on any machine. */
static void
test_injected_cannot_run (void)
{
  g_autofree char *reason = NULL;
  int code = 0;

  g_setenv ("CLOCHE_TEST_KVM_FAULT", "cannot-run", TRUE);
  g_assert_false (cloche_accel_probe (NULL, &code, &reason));
  g_unsetenv ("CLOCHE_TEST_KVM_FAULT");
  g_assert_cmpint (code, ==, CLOCHE_ERROR_KVM_UNUSABLE);
  g_assert_nonnull (strstr (reason, "cannot run a guest: the test vCPU stopped with "
                                    "KVM_EXIT_INTERNAL_ERROR"));
  g_assert_nonnull (strstr (reason, "Nested virtualization is off or not offered"));
  g_assert_nonnull (strstr (reason, "fault injected by CLOCHE_TEST_KVM_FAULT"));
}

/* The real device: whatever it does, a verdict that names it. */
static void
test_this_machine (void)
{
  g_autofree char *said = NULL;
  g_autofree char *reason = NULL;
  ClocheKvmRun run;
  int fd, code = -1;

  if (!have_kvm ())
    return;
  fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  cloche_kvm_run_guest (fd, &run);
  close (fd);
  said = cloche_kvm_run_describe (&run);
  g_test_message ("/dev/kvm here: stage %u, guest code %s: %s", run.stage,
                  run.guest_ran ? "ran" : "did not run", said);
  g_assert_cmpuint (run.stage, <, CLOCHE_KVM_RUN_N_STAGES);
  if (run.stage == CLOCHE_KVM_RUN_OK)
    g_assert_true (run.guest_ran);
  if (run.guest_ran)
    {
      g_assert_cmpuint (run.port, ==, CLOCHE_KVM_PROBE_PORT);
      g_assert_cmpuint (run.value, ==, CLOCHE_KVM_PROBE_BYTE);
    }

  /* The probe says the same, in a sentence. */
  g_assert_true (cloche_accel_probe (NULL, &code, &reason) == (run.stage == CLOCHE_KVM_RUN_OK));
  g_assert_cmpint (code, ==, cloche_kvm_run_error_code (&run));
  g_assert_nonnull (strstr (reason, said));
}

/* A vCPU that never exits (jmp $) must not hold the probe: the child's
 * alarm or the parent's deadline ends it. */
static void
test_hang_is_bounded (void)
{
  static const guint8 loop[] = { 0xeb, 0xfe };
  ClocheKvmRun ran, looped;
  int fd;

  if (!have_kvm ())
    return;
  fd = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  cloche_kvm_run_guest (fd, &ran);
  cloche_kvm_run_guest_code (fd, loop, sizeof loop, &looped);
  close (fd);
  g_assert_cmpuint (looped.stage, !=, CLOCHE_KVM_RUN_OK);
  g_assert_false (looped.guest_ran);
  /* A KVM that runs code at all runs this one forever. */
  if (ran.guest_ran)
    g_assert_cmpuint (looped.stage, ==, CLOCHE_KVM_RUN_TIMEOUT);
}

static void
set_cache_value (const char *key,
                 const char *value)
{
  g_autofree char *path = cache_path ();
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  g_key_file_set_string (file, "probe", key, value);
  g_key_file_save_to_file (file, path, &error);
  g_assert_no_error (error);
}

static char *
probe_reason (void)
{
  char *reason = NULL;
  int code;

  cloche_accel_probe (NULL, &code, &reason);
  return reason;
}

/* Once per boot of the host, not per call. */
static void
test_cached_per_boot (void)
{
  g_autofree char *path = cache_path ();
  g_autofree char *first = NULL, *cached = NULL, *again = NULL, *boot_id = NULL;
  g_autofree char *kept_boot = NULL, *kept_device = NULL;
  g_autoptr(GKeyFile) file = g_key_file_new ();

  if (!have_kvm ())
    return;
  g_unlink (path);
  first = probe_reason ();
  g_assert_true (g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL));
  g_file_get_contents ("/proc/sys/kernel/random/boot_id", &boot_id, NULL, NULL);
  kept_boot = g_key_file_get_string (file, "probe", "boot-id", NULL);
  kept_device = g_key_file_get_string (file, "probe", "device", NULL);
  g_assert_cmpstr (kept_boot, ==, g_strstrip (boot_id));
  g_assert_cmpstr (kept_device, ==, "/dev/kvm");

  /* A verdict kept for this boot is believed: no test VM runs again. */
  set_cache_value ("stage", "6");   /* CLOCHE_KVM_RUN_TIMEOUT */
  cached = probe_reason ();
  g_assert_nonnull (strstr (cached, "did not stop within"));

  /* Another boot's verdict, or a file that is not one, is not. */
  set_cache_value ("boot-id", "00000000-0000-0000-0000-000000000000");
  again = probe_reason ();
  g_assert_cmpstr (again, ==, first);
  g_assert_true (g_file_set_contents (path, "[probe\ngarbage", -1, NULL));
  g_clear_pointer (&again, g_free);
  again = probe_reason ();
  g_assert_cmpstr (again, ==, first);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  /* Before GLib reads it: the per-boot file goes to a folder of ours. */
  runtime_dir = g_dir_make_tmp ("cloche-accel-XXXXXX", NULL);
  g_setenv ("XDG_RUNTIME_DIR", runtime_dir, TRUE);
  g_unsetenv ("CLOCHE_TEST_KVM_FAULT");

  g_test_add_func ("/accel/describe", test_describe);
  g_test_add_func ("/accel/no-device", test_no_device);
  g_test_add_func ("/accel/injected-cannot-run", test_injected_cannot_run);
  g_test_add_func ("/accel/this-machine", test_this_machine);
  g_test_add_func ("/accel/hang-is-bounded", test_hang_is_bounded);
  g_test_add_func ("/accel/cached-per-boot", test_cached_per_boot);

  status = g_test_run ();
  {
    g_autofree char *path = cache_path ();
    g_autofree char *dir = g_path_get_dirname (path);

    g_unlink (path);
    g_rmdir (dir);
    g_rmdir (runtime_dir);
  }
  g_free (runtime_dir);
  return status;
}
