/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The doctor's checks, each made to fail for real where this machine
 * allows: no /dev/kvm (true here) and a device that is not KVM, a PATH
 * without QEMU, a QEMU that is too old or lacks devices (a script standing
 * in for a build the machine does not have), a bundle with a flipped byte,
 * a missing file or no manifest, a 16 MiB tmpfs for the disk, a mounted
 * folder that was deleted. Each must name its code and give a fix. The
 * guest agent's checks need a VM: tests/test-vm-doctor.c.
 */
#include "config.h"

#include <gio/gunixsocketaddress.h>

#include <glib/gstdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cloche-accel.h"
#include "cloche-doctor-private.h"
#include "cloche-error.h"

typedef struct
{
  char                *dir;
  ClocheDoctorContext *context;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("cloche-doctor-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->context = cloche_doctor_context_new ();
  fixture->context->bundle_path = g_build_filename (fixture->dir, "bundle", NULL);
  fixture->context->state_dir = g_strdup (fixture->dir);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *argv[] = { "rm", "-rf", fixture->dir, NULL };

  cloche_doctor_context_free (fixture->context);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  g_free (fixture->dir);
}

/* Runs one check; the result must be whole whatever its status. */
static ClocheDoctorResult *
run_one (ClocheDoctorContext *context,
         const char          *check)
{
  const char * const only[] = { check, NULL };
  g_autoptr(GPtrArray) results = cloche_doctor_run_checks (context, only);
  ClocheDoctorResult *result;

  g_assert_cmpuint (results->len, ==, 1);
  result = g_ptr_array_steal_index (results, 0);
  g_assert_cmpstr (result->check, ==, check);
  g_assert_cmpstr (result->finding, !=, "");
  g_assert_null (strchr (result->finding, '\n'));
  if (result->status != CLOCHE_DOCTOR_OK)
    g_assert_cmpstr (result->fix, !=, "");
  g_test_message ("%s: %s [%s] %s — %s", check, cloche_doctor_status_to_string (result->status),
                  result->status != CLOCHE_DOCTOR_OK ? cloche_error_code_name (result->code) : "",
                  result->finding, result->fix);
  return result;
}

static void
assert_problem (ClocheDoctorResult *result,
                ClocheDoctorStatus  status,
                int                 code,
                const char         *in_finding,
                const char         *in_fix)
{
  g_assert_cmpstr (cloche_doctor_status_to_string (result->status), ==,
                   cloche_doctor_status_to_string (status));
  g_assert_cmpstr (cloche_error_code_name (result->code), ==, cloche_error_code_name (code));
  if (strstr (result->finding, in_finding) == NULL)
    g_error ("\"%s\" is not in the finding \"%s\"", in_finding, result->finding);
  if (strstr (result->fix, in_fix) == NULL)
    g_error ("\"%s\" is not in the fix \"%s\"", in_fix, result->fix);
}

/* KVM */

static void
test_kvm (Fixture       *fixture,
          gconstpointer  data)
{
  g_autofree char *cpuinfo = g_build_filename (fixture->dir, "cpuinfo", NULL);
  ClocheDoctorResult *result;

  /* Bare metal with virtualization off in the firmware. */
  g_file_set_contents (cpuinfo, "processor\t: 0\nflags\t\t: fpu sse2 vmx\n", -1, NULL);
  fixture->context->cpuinfo = g_strdup (cpuinfo);
  fixture->context->kvm_device = g_build_filename (fixture->dir, "kvm", NULL);
  result = run_one (fixture->context, "kvm");
  assert_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_KVM_MISSING, "TCG", "firmware");
  cloche_doctor_result_free (result);

  /* Inside a VM that offers no vmx/svm: the host's nested virtualization. */
  g_file_set_contents (cpuinfo, "processor\t: 0\nflags\t\t: fpu sse2 hypervisor\n", -1, NULL);
  result = run_one (fixture->context, "kvm");
  assert_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_KVM_MISSING,
                  "without nested virtualization", "nested virtualization");
  cloche_doctor_result_free (result);

  /* A device that opens but is no KVM: it cannot make a VM. */
  g_free (fixture->context->kvm_device);
  fixture->context->kvm_device = g_strdup ("/dev/null");
  result = run_one (fixture->context, "kvm");
  assert_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_KVM_NO_VM, "KVM API", "hypervisor");
  cloche_doctor_result_free (result);
}

/* The default device, for real: none here, or one whose verdict the
 * doctor must give as the probe does (a warning with its code, or ok). */
static void
test_kvm_this_machine (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(ClocheDoctorResult) result = NULL;
  g_autofree char *reason = NULL;
  int code = 0;

  result = run_one (fixture->context, "kvm");
  if (!g_file_test ("/dev/kvm", G_FILE_TEST_EXISTS))
    {
      g_assert_cmpint (result->status, ==, CLOCHE_DOCTOR_WARNING);
      g_assert_cmpint (result->code, ==, CLOCHE_ERROR_KVM_MISSING);
      g_assert_nonnull (strstr (result->finding, "10-50x slower"));
      return;
    }
  if (cloche_accel_probe (NULL, &code, &reason))
    g_assert_cmpint (result->status, ==, CLOCHE_DOCTOR_OK);
  else
    {
      g_assert_cmpint (result->status, ==, CLOCHE_DOCTOR_WARNING);
      g_assert_cmpint (result->code, ==, code);
      g_assert_cmpstr (result->finding, ==, reason);
    }
}

/* Creates a VM, cannot run a guest: injected (CLOCHE_TEST_KVM_FAULT), as a
 * probe verdict and as a boot under KVM that failed in the daemon. */
static void
test_kvm_cannot_run_guest (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *cpuinfo = g_build_filename (fixture->dir, "cpuinfo", NULL);
  const char *qemu_said[] = { "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69", NULL };
  ClocheDoctorResult *result;

  /* A cloud VM or VDI desktop: the fix says what nested virtualization is. */
  g_file_set_contents (cpuinfo, "processor\t: 0\nflags\t\t: fpu sse2 hypervisor\n", -1, NULL);
  fixture->context->cpuinfo = g_strdup (cpuinfo);
  g_setenv ("CLOCHE_TEST_KVM_FAULT", "cannot-run", TRUE);
  result = run_one (fixture->context, "kvm");
  assert_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_KVM_UNUSABLE,
                  "cannot run a guest", "nested virtualization");
  g_assert_nonnull (strstr (result->fix, "cloud VM or a VDI desktop"));
  cloche_doctor_result_free (result);

  /* The probe passed, QEMU failed under KVM: the doctor quotes it. */
  g_setenv ("CLOCHE_TEST_KVM_FAULT", "probe-passes", TRUE);
  fixture->context->kvm_failure = g_strdup_printf ("QEMU: %s", qemu_said[0]);
  fixture->context->qemu_tail = g_strdupv ((char **) qemu_said);
  result = run_one (fixture->context, "kvm");
  g_unsetenv ("CLOCHE_TEST_KVM_FAULT");
  assert_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_KVM_UNUSABLE,
                  "a boot under KVM failed (QEMU: qemu-system-x86_64: error: failed to set MSR",
                  "nested virtualization");
  g_assert_cmpstrv (result->details, qemu_said);
  cloche_doctor_result_free (result);
}

/* A device the user may not open. Root opens anything, so only as a user. */
static void
test_kvm_denied (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *device = g_build_filename (fixture->dir, "kvm", NULL);
  g_autoptr(ClocheDoctorResult) result = NULL;

  if (geteuid () == 0)
    {
      g_test_skip ("run as root, which may open any file: KvmDenied cannot be shown here");
      return;
    }
  g_file_set_contents (device, "", 0, NULL);
  g_chmod (device, 0);
  fixture->context->kvm_device = g_strdup (device);
  result = run_one (fixture->context, "kvm");
  assert_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_KVM_DENIED,
                  "Permission denied", "usermod -aG kvm");
}

/* QEMU */

static void
test_qemu_missing (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *old_path = g_strdup (g_getenv ("PATH"));
  g_autoptr(ClocheDoctorResult) version = NULL;
  g_autoptr(ClocheDoctorResult) devices = NULL;

  g_setenv ("PATH", fixture->dir, TRUE);
  version = run_one (fixture->context, "qemu");
  devices = run_one (fixture->context, "qemu-devices");
  g_setenv ("PATH", old_path, TRUE);

  assert_problem (version, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_QEMU_MISSING,
                  "qemu-system-x86_64 is not installed", "apt install qemu-system-x86");
  assert_problem (devices, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_QEMU_MISSING,
                  fixture->dir, "apt install qemu-system-x86");
}

/* A stand-in for an old or stripped-down QEMU build: this machine has
 * only Debian's 7.2, which has everything. */
static void
write_fake_qemu (const char *dir,
                 const char *version)
{
  g_autofree char *path = g_build_filename (dir, "qemu-system-x86_64", NULL);
  g_autofree char *script = g_strdup_printf (
    "#!/bin/sh\n"
    "case \"$1\" in\n"
    "--version) echo 'QEMU emulator version %s';;\n"
    "-device) echo 'name \"virtio-serial-pci\", bus PCI'; echo 'name \"virtserialport\"';;\n"
    "-machine) echo 'q35                  Standard PC (Q35 + ICH9, 2009)';;\n"
    "esac\n", version);

  g_assert_true (g_file_set_contents (path, script, -1, NULL));
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
}

static void
test_qemu_old (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *old_path = g_strdup (g_getenv ("PATH"));
  g_autoptr(ClocheDoctorResult) version = NULL;
  g_autoptr(ClocheDoctorResult) devices = NULL;

  write_fake_qemu (fixture->dir, "5.2.0 (Debian 1:5.2+dfsg-11)");
  g_setenv ("PATH", fixture->dir, TRUE);
  version = run_one (fixture->context, "qemu");
  devices = run_one (fixture->context, "qemu-devices");
  g_setenv ("PATH", old_path, TRUE);

  assert_problem (version, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_QEMU_TOO_OLD,
                  "is 5.2.0; Cloche needs 7.2", "QEMU 7.2 or newer");
  assert_problem (devices, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_QEMU_DEVICE_MISSING,
                  "virtio-balloon-pci, virtio-net-pci, pcie-root-port, vhost-user-fs-pci",
                  "qemu-system-x86");
  g_assert_null (strstr (devices->finding, "virtserialport,"));
}

/* The QEMU installed here passes both. */
static void
test_qemu_real (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(ClocheDoctorResult) version = run_one (fixture->context, "qemu");
  g_autoptr(ClocheDoctorResult) devices = run_one (fixture->context, "qemu-devices");

  g_assert_cmpint (version->status, ==, CLOCHE_DOCTOR_OK);
  g_assert_nonnull (strstr (version->finding, "version 7."));
  g_assert_cmpint (devices->status, ==, CLOCHE_DOCTOR_OK);
}

/* Bundle */

static void
write_bundle (Fixture *fixture)
{
  const char *bundle = fixture->context->bundle_path;
  g_autofree char *kernel = g_build_filename (bundle, "vmlinux", NULL);
  g_autofree char *initrd = g_build_filename (bundle, "initrd.img", NULL);
  g_autofree char *manifest = g_build_filename (bundle, "manifest.json", NULL);
  g_autofree char *kernel_sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "KERNEL", -1);
  g_autofree char *initrd_sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "INITRD!", -1);
  g_autofree char *text = g_strdup_printf (
    "{\"name\": \"test\", \"version\": \"1\", \"kernel\": \"vmlinux\", \"initrd\": \"initrd.img\",\n"
    " \"cmdline\": \"console=ttyS0\", \"memory_mib\": 512, \"files\": [\n"
    "  {\"path\": \"vmlinux\", \"size\": 6, \"sha256\": \"%s\"},\n"
    "  {\"path\": \"initrd.img\", \"size\": 7, \"sha256\": \"%s\"}]}\n", kernel_sum, initrd_sum);

  g_assert_cmpint (g_mkdir_with_parents (bundle, 0700), ==, 0);
  g_assert_true (g_file_set_contents (kernel, "KERNEL", -1, NULL));
  g_assert_true (g_file_set_contents (initrd, "INITRD!", -1, NULL));
  g_assert_true (g_file_set_contents (manifest, text, -1, NULL));
}

static void
test_bundle (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *initrd = g_build_filename (fixture->context->bundle_path, "initrd.img", NULL);
  ClocheDoctorResult *result;

  result = run_one (fixture->context, "bundle");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_BUNDLE_MISSING,
                  "No sandbox bundle", "Install the sandbox bundle");
  cloche_doctor_result_free (result);

  write_bundle (fixture);
  result = run_one (fixture->context, "bundle");
  g_assert_cmpint (result->status, ==, CLOCHE_DOCTOR_OK);
  g_assert_nonnull (strstr (result->finding, "2 files, sha256 verified"));
  cloche_doctor_result_free (result);

  /* One flipped byte, same size: only the sha256 can tell. */
  g_assert_true (g_file_set_contents (initrd, "INITRD?", -1, NULL));
  result = run_one (fixture->context, "bundle");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_BUNDLE_CORRUPT,
                  "initrd.img has sha256", "reinstall the bundle");
  cloche_doctor_result_free (result);

  g_assert_cmpint (g_unlink (initrd), ==, 0);
  result = run_one (fixture->context, "bundle");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_BUNDLE_INVALID,
                  "initrd.img is missing", "Reinstall");
  cloche_doctor_result_free (result);
}

/* Disk */

static void
test_disk (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *small = g_build_filename (fixture->dir, "small", NULL);
  g_autofree char *state = g_build_filename (small, "state", "cloche", NULL);
  g_autoptr(ClocheDoctorResult) result = NULL;
  gboolean mounted;

  g_assert_cmpint (g_mkdir (small, 0700), ==, 0);
  /* A 16 MiB file system, when we may mount one (root, or CI as root);
   * otherwise the thresholds are raised above what this disk has free,
   * which takes the same path through the check. */
  mounted = mount ("tmpfs", small, "tmpfs", 0, "size=16m") == 0;
  g_free (fixture->context->state_dir);
  fixture->context->state_dir = g_strdup (state);
  if (!mounted)
    {
      g_test_message ("tmpfs not mountable here: raising the thresholds instead");
      fixture->context->disk_failure_bytes = G_MAXUINT64 / 2;
      fixture->context->disk_warning_bytes = G_MAXUINT64;
    }
  result = run_one (fixture->context, "disk");
  if (mounted)
    g_assert_cmpint (umount (small), ==, 0);

  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_DISK_LOW, small, "clochectl cleanup");
  if (mounted)
    g_assert_true (g_str_has_prefix (result->finding, "Only 16.0"));
}

static void
test_disk_ok (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(ClocheDoctorResult) result = NULL;

  fixture->context->disk_failure_bytes = 1;
  fixture->context->disk_warning_bytes = 2;
  result = run_one (fixture->context, "disk");
  g_assert_cmpint (result->status, ==, CLOCHE_DOCTOR_OK);
}

/* Stale sessions, mounts */

static void
test_stale_sessions (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(ClocheDoctorResult) result = NULL;

  fixture->context->stale_known = TRUE;
  fixture->context->stale_count = 3;
  fixture->context->stale_bytes = 5 * 1024 * 1024;
  result = run_one (fixture->context, "stale-sessions");
  assert_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_STALE_SESSIONS,
                  "3 stale sessions take 5.0", "clochectl cleanup");
}

static void
test_mounts (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *folder = g_build_filename (fixture->dir, "project", NULL);
  ClocheDoctorResult *result;

  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  cloche_doctor_context_add_mount (fixture->context, "abc", folder);
  result = run_one (fixture->context, "mounts");
  g_assert_cmpint (result->status, ==, CLOCHE_DOCTOR_OK);
  cloche_doctor_result_free (result);

  g_assert_cmpint (g_rmdir (folder), ==, 0);
  result = run_one (fixture->context, "mounts");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_MOUNT_MISSING, folder, "put it back");
  g_assert_nonnull (strstr (result->finding, "(session abc)"));
  cloche_doctor_result_free (result);
}

/* A session refused for a folder (its virtiofsd died): the finding is the
 * sandbox's error, which names the folder; the fix says what to do. The
 * real fault is in tests/test-vm-pinned-folders.c. */
static void
test_mounts_refused (Fixture       *fixture,
                     gconstpointer  data)
{
  ClocheDoctorResult *result;

  g_ptr_array_add (fixture->context->refused,
                   g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_LOST,
                                "The folder /home/u/docs (at /sessions/abc/mnt/docs in the VM) "
                                "of session abc is no longer shared: virtiofsd was killed"));
  result = run_one (fixture->context, "mounts");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_FOLDER_LOST, "/home/u/docs",
                  "clochectl stop");
  g_assert_cmpuint (g_strv_length (result->details), ==, 1);
  cloche_doctor_result_free (result);
}

/* The agent's check reads the VM's last error; the real faults are in
 * test-vm-doctor.c, this one checks the wording from a given error. */
static void
test_agent_from_error (Fixture       *fixture,
                       gconstpointer  data)
{
  const char * const console[] = { "[    1.0] booting", "cloche-fault: agent disabled", NULL };
  g_autoptr(ClocheDoctorResult) result = NULL;

  fixture->context->vm_error = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT, "late");
  fixture->context->console_tail = g_strdupv ((GStrv) console);
  result = run_one (fixture->context, "agent");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_AGENT_TIMEOUT,
                  "\"cloche-fault: agent disabled\"", "qemu-guest-agent");
  g_assert_cmpstrv (result->details, console);
}

/* QEMU killed by someone else (the real kill is in tests/ui/
 * test-overview-vm.c): the QEMU check says so and that opening agent mode
 * again is the fix, the guest agent is not blamed, and the console, shown
 * beside the crash, is not repeated in the finding. */
static void
test_qemu_killed_from_error (Fixture       *fixture,
                             gconstpointer  data)
{
  const char * const *checks = NULL;
  g_autoptr(ClocheDoctorResult) result = NULL;
  g_autoptr(ClocheDoctorResult) agent = NULL;

  fixture->context->vm_error = g_error_new_literal (CLOCHE_ERROR, CLOCHE_ERROR_VM_KILLED,
                                                    "QEMU was killed by signal 9 (Killed); "
                                                    "the guest console ended with:\n[ 1.0] ok");
  checks = cloche_doctor_checks_for_error (fixture->context->vm_error);
  g_assert_cmpstr (checks[0], ==, "qemu");
  g_assert_null (checks[1]);
  result = run_one (fixture->context, "qemu");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_VM_KILLED,
                  "QEMU was killed by signal 9 (Killed): something outside Cloche",
                  "Open agent mode again");
  g_assert_null (strstr (result->finding, "console"));

  /* Once it runs again, the kill is history. */
  fixture->context->vm_running = TRUE;
  agent = run_one (fixture->context, "qemu");
  g_assert_cmpint (agent->code, !=, CLOCHE_ERROR_VM_KILLED);
}

/* A listening socket, a dead one (nothing listens any more), a missing
 * relay and no proxy at all: the real faults, with a real socket. */
static void
test_egress (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *socket_path = g_build_filename (fixture->dir, "egress.sock", NULL);
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (socket_path);
  g_autoptr(GSocket) listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_DEFAULT, NULL);
  ClocheDoctorResult *result;

  fixture->context->egress_known = TRUE;
  result = run_one (fixture->context, "egress");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_EGRESS_UNAVAILABLE,
                  "no way out", "restart the service");
  cloche_doctor_result_free (result);

  g_assert_true (g_socket_bind (listener, address, TRUE, NULL));
  g_assert_true (g_socket_listen (listener, NULL));
  fixture->context->egress_relay = g_strdup ("/bin/true");
  fixture->context->egress_socket = g_strdup (socket_path);
  result = run_one (fixture->context, "egress");
  g_assert_cmpint (result->status, ==, CLOCHE_DOCTOR_OK);
  cloche_doctor_result_free (result);

  g_socket_close (listener, NULL);
  result = run_one (fixture->context, "egress");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_EGRESS_UNAVAILABLE,
                  "does not answer", "support report");
  cloche_doctor_result_free (result);

  g_free (fixture->context->egress_relay);
  fixture->context->egress_relay = g_build_filename (fixture->dir, "no-relay", NULL);
  result = run_one (fixture->context, "egress");
  assert_problem (result, CLOCHE_DOCTOR_FAILURE, CLOCHE_ERROR_EGRESS_UNAVAILABLE,
                  "no-relay is missing", "Reinstall Cloche");
  cloche_doctor_result_free (result);
}

static void
test_policy (Fixture       *fixture,
             gconstpointer  data)
{
  const char *refusal = "/home/u/.config/cloche/policy.json:3:12: vm.cpus: 0 is out of range\n"
                        "/home/u/.config/cloche/policy.json:4:1: egress: unknown key";
  ClocheDoctorResult *result;

  result = run_one (fixture->context, "policy");
  g_assert_cmpint (result->status, ==, CLOCHE_DOCTOR_OK);
  cloche_doctor_result_free (result);

  fixture->context->policy_refusal = g_strdup (refusal);
  result = run_one (fixture->context, "policy");
  assert_problem (result, CLOCHE_DOCTOR_WARNING, CLOCHE_ERROR_POLICY_INVALID,
                  "policy.json:3:12: vm.cpus", "clochectl policy validate");
  g_assert_cmpuint (g_strv_length (result->details), ==, 2);
  cloche_doctor_result_free (result);
}

static void
test_all_checks (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) results = cloche_doctor_run_checks (fixture->context, NULL);
  const char * const *ids = cloche_doctor_list_checks ();

  g_assert_cmpuint (results->len, ==, g_strv_length ((GStrv) ids));
  for (guint i = 0; i < results->len; i++)
    {
      g_autoptr(GVariant) variant = g_variant_ref_sink (
        cloche_doctor_result_to_variant (g_ptr_array_index (results, i)));
      const char *check = NULL;

      g_assert_true (g_variant_lookup (variant, "check", "&s", &check));
      g_assert_cmpstr (check, ==, ids[i]);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/doctor/kvm", test_kvm);
  ADD ("/doctor/kvm/this-machine", test_kvm_this_machine);
  ADD ("/doctor/kvm/cannot-run-guest", test_kvm_cannot_run_guest);
  ADD ("/doctor/kvm/denied", test_kvm_denied);
  ADD ("/doctor/qemu/missing", test_qemu_missing);
  ADD ("/doctor/qemu/old", test_qemu_old);
  ADD ("/doctor/qemu/real", test_qemu_real);
  ADD ("/doctor/bundle", test_bundle);
  ADD ("/doctor/disk", test_disk);
  ADD ("/doctor/egress", test_egress);
  ADD ("/doctor/policy", test_policy);
  ADD ("/doctor/disk/ok", test_disk_ok);
  ADD ("/doctor/stale-sessions", test_stale_sessions);
  ADD ("/doctor/mounts", test_mounts);
  ADD ("/doctor/mounts-refused", test_mounts_refused);
  ADD ("/doctor/agent/from-error", test_agent_from_error);
  ADD ("/doctor/qemu/killed-from-error", test_qemu_killed_from_error);
  ADD ("/doctor/all", test_all_checks);
#undef ADD

  return g_test_run ();
}
