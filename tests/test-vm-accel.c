/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A KVM that cannot run a guest, against the real daemon and a real QEMU:
 * the boot falls back to TCG on its own, says why in QEMU's words, and
 * never hangs. No case needs a KVM that works.
 *
 * Real faults: a kernel QEMU cannot load (tools/make-fault-bundle
 * --bad-kernel) dies at once under TCG and must be reported with QEMU's
 * message; with the probe told to pass (CLOCHE_TEST_KVM_FAULT=probe-passes),
 * QEMU really runs with -accel kvm and really fails wherever KVM cannot
 * run guests (this machine: "failed to set MSR 0x10a", an abort; without
 * /dev/kvm: "failed to initialize kvm").
 *
 * Injected faults (CLOCHE_TEST_KVM_FAULT, see cloche-accel.h), for what no
 * machine here produces: "internal-error" runs QEMU under TCG while the
 * daemon believes it is KVM, stops the guest with a QMP "stop" and reads
 * the run state as "internal-error" (a faked status); "stall" stops it the
 * same way and leaves it paused, a guest that never prints; "tcg-as-kvm"
 * only runs it under TCG; "cannot-run" makes the probe report that its
 * test vCPU stopped with an internal error.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "cloche-test-daemon.h"

static char *
make_bad_kernel_bundle (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  g_autofree char *tool = g_build_filename (g_getenv ("CLOCHE_SOURCE_ROOT"),
                                            "tools", "make-fault-bundle", NULL);
  g_autofree char *parent = g_dir_make_tmp ("cloche-fault-XXXXXX", NULL);
  char *fault = g_build_filename (parent, "bundle", NULL);
  const char *argv[] = { tool, "--bad-kernel", bundle, fault, NULL };
  g_autoptr(GError) error = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL,
                G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return fault;
}

/* A daemon with @fault injected (NULL: none) and, when @mode is set, an
 * admin policy file saying vm.accelerator: @mode. */
static ClocheTestDaemon *
start_daemon (const char *fault,
              const char *mode,
              const char *bundle)
{
  g_autofree char *default_bundle = cloche_test_bundle_dir ();
  g_autofree char *policy_dir = g_dir_make_tmp ("cloche-admin-XXXXXX", NULL);
  g_autofree char *policy = g_build_filename (policy_dir, "policy.json", NULL);
  g_autofree char *text = g_strdup_printf ("{\"version\": 1, \"vm\": {\"accelerator\": \"%s\"}}",
                                           mode != NULL ? mode : "auto");
  ClocheTestDaemon *daemon;

  g_assert_true (g_file_set_contents (policy, text, -1, NULL));
  g_setenv ("CLOCHE_ADMIN_POLICY", policy, TRUE);
  if (fault != NULL)
    g_setenv ("CLOCHE_TEST_KVM_FAULT", fault, TRUE);
  daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle != NULL ? bundle : default_bundle, "--idle-timeout", "600", NULL });
  g_unsetenv ("CLOCHE_TEST_KVM_FAULT");
  g_unsetenv ("CLOCHE_ADMIN_POLICY");
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (cloche_dbus_daemon_get_accelerator (daemon->proxy), "") != 0,
                        10);
  return daemon;
}

static ClocheDbusDoctor *
doctor_proxy (void)
{
  g_autoptr(GError) error = NULL;
  ClocheDbusDoctor *doctor;

  doctor = cloche_dbus_doctor_proxy_new_for_bus_sync (G_BUS_TYPE_SESSION,
                                                      G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                      DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                                      NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (doctor), 120 * 1000);
  return doctor;
}

/* One check from the doctor's Run(): its status, code, finding, fix and details. */
static GVariant *
run_check (const char *check)
{
  g_autoptr(ClocheDbusDoctor) doctor = doctor_proxy ();
  const char * const checks[] = { check, NULL };
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *result;
  const char *finding = "", *fix = "";

  cloche_dbus_doctor_call_run_sync (doctor, checks, &results, NULL, &error);
  g_assert_no_error (error);
  result = g_variant_get_child_value (results, 0);
  g_variant_lookup (result, "finding", "&s", &finding);
  g_variant_lookup (result, "fix", "&s", &fix);
  g_test_message ("doctor %s: %s — %s", check, finding, fix);
  return result;
}

static void
assert_contains (const char *text,
                 const char *part)
{
  if (text == NULL || strstr (text, part) == NULL)
    g_error ("\"%s\" is not in \"%s\"", part, text != NULL ? text : "(null)");
}

static char *
open_session (ClocheTestDaemon *daemon,
              GError          **error)
{
  char *id = NULL;

  cloche_dbus_sessions_call_open_sync (daemon->sessions, "accel", g_variant_new ("a{sv}", NULL),
                                       &id, NULL, error);
  return id;
}

static char *
echo (ClocheTestDaemon *daemon,
      const char       *id)
{
  const char * const argv[] = { "echo", "hi", NULL };
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GError) error = NULL;
  int exit_code = -1;

  cloche_dbus_sessions_call_exec_sync (daemon->sessions, id, argv,
                                       cloche_test_exec_options (NULL, NULL), &exit_code, &out,
                                       &err, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (exit_code, ==, 0);
  return cloche_test_bytes_string (out);
}

/* The accelerators of the boots so far, from the headers of qemu.log
 * ("-- QEMU started TIME, accelerator kvm --"). */
static char *
boot_accelerators (ClocheTestDaemon *daemon)
{
  g_autofree char *path = g_strdup_printf ("%s/cloche/vm-%d/qemu.log", daemon->runtime_dir,
                                           (int) cloche_test_daemon_pid (daemon));
  g_autofree char *log = NULL;
  g_autoptr(GStrvBuilder) boots = g_strv_builder_new ();
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) list = NULL;

  g_assert_true (g_file_get_contents (path, &log, NULL, NULL));
  lines = g_strsplit (log, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *accel = strstr (lines[i], ", accelerator ");
      g_autofree char *name = NULL;

      if (!g_str_has_prefix (lines[i], "-- QEMU started") || accel == NULL)
        continue;
      name = g_strndup (accel + strlen (", accelerator "), 3);
      g_strv_builder_add (boots, name);
    }
  list = g_strv_builder_end (boots);
  return g_strjoinv (" ", list);
}

/* A boot that dies at once is reported with what QEMU said, not with the
 * broken QMP connection and an empty console. */
static void
test_early_death_quoted (void)
{
  g_autofree char *bundle = make_bad_kernel_bundle ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) agent = NULL;
  g_autofree const char **details = NULL;
  g_autofree char *id = NULL;
  ClocheTestDaemon *daemon;
  g_autofree char *device = g_strdup (g_getenv ("CLOCHE_KVM_DEVICE"));

  /* TCG from the start, whatever this machine has. */
  g_setenv ("CLOCHE_KVM_DEVICE", "/nonexistent", TRUE);
  daemon = start_daemon (NULL, NULL, bundle);
  if (device != NULL)
    g_setenv ("CLOCHE_KVM_DEVICE", device, TRUE);
  else
    g_unsetenv ("CLOCHE_KVM_DEVICE");
  g_assert_cmpstr (cloche_dbus_daemon_get_accelerator (daemon->proxy), ==, "tcg");

  id = open_session (daemon, &error);
  g_assert_null (id);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_VM_CRASHED);
  assert_contains (error->message, "QEMU exited with status 1");
  assert_contains (error->message, "Error while loading elf kernel");
  g_assert_null (strstr (error->message, "QMP"));
  g_assert_null (strstr (error->message, "the guest console is empty"));
  cloche_test_daemon_wait_state (daemon, "crashed", 10);
  assert_contains (cloche_dbus_daemon_get_state_reason (daemon->proxy),
                   "Error while loading elf kernel");

  /* The Diagnostics page's agent check quotes QEMU too. */
  agent = run_check ("agent");
  g_assert_true (g_variant_lookup (agent, "details", "^a&s", &details));
  g_assert_nonnull (details[0]);
  assert_contains (details[0], "QEMU: qemu-system-x86_64: Error while loading elf kernel");
  cloche_test_daemon_free (daemon);
}

/* Injected fault: QEMU stops the guest with "internal-error" (a QMP stop
 * and a faked status). The boot starts again under TCG at once, and KVM is
 * not tried again. */
static void
test_internal_error_falls_back (void)
{
  ClocheTestDaemon *daemon = start_daemon ("internal-error", NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) kvm = NULL;
  g_autofree char *id = NULL, *out = NULL, *boots = NULL, *id2 = NULL;
  const char *finding = "", *code = "", *fix = "";

  g_assert_cmpstr (cloche_dbus_daemon_get_accelerator (daemon->proxy), ==, "kvm");
  id = open_session (daemon, &error);
  g_assert_no_error (error);
  out = echo (daemon, id);
  g_assert_cmpstr (out, ==, "hi\n");

  CLOCHE_TEST_WAIT_FOR (cloche_dbus_daemon_get_accelerator_fallback (daemon->proxy), 5);
  g_assert_cmpstr (cloche_dbus_daemon_get_accelerator (daemon->proxy), ==, "tcg");
  assert_contains (cloche_dbus_daemon_get_accelerator_reason (daemon->proxy),
                   "KVM is present but cannot run guests here");
  assert_contains (cloche_dbus_daemon_get_accelerator_reason (daemon->proxy),
                   "run state internal-error");
  assert_contains (cloche_dbus_daemon_get_accelerator_reason (daemon->proxy), "using TCG");

  /* A notice, not an error: the doctor warns, the VM runs. */
  kvm = run_check ("kvm");
  g_variant_lookup (kvm, "code", "&s", &code);
  g_variant_lookup (kvm, "finding", "&s", &finding);
  g_variant_lookup (kvm, "fix", "&s", &fix);
  g_assert_cmpstr (code, ==, "KvmUnusable");
  assert_contains (finding, "a boot under KVM failed");
  assert_contains (fix, "nested virtualization");
  g_assert_true (cloche_test_daemon_state_is (daemon, "running"));

  /* The next boot goes to TCG directly. */
  cloche_dbus_daemon_call_stop_vm_sync (daemon->proxy, NULL, &error);
  g_assert_no_error (error);
  cloche_test_daemon_wait_state (daemon, "stopped", 30);
  id2 = open_session (daemon, &error);
  g_assert_no_error (error);
  boots = boot_accelerators (daemon);
  g_assert_cmpstr (boots, ==, "kvm tcg tcg");
  cloche_test_daemon_free (daemon);
}

/* Injected fault, with vm.accelerator "kvm": no fallback, the reason. */
static void
test_internal_error_kvm_mode (void)
{
  ClocheTestDaemon *daemon = start_daemon ("internal-error", "kvm", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  id = open_session (daemon, &error);
  g_assert_null (id);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_KVM_UNUSABLE);
  assert_contains (error->message, "QEMU stopped the guest (run state internal-error)");
  cloche_test_daemon_wait_state (daemon, "crashed", 10);
  g_assert_cmpstr (cloche_dbus_daemon_get_accelerator (daemon->proxy), ==, "kvm");
  g_assert_false (cloche_dbus_daemon_get_accelerator_fallback (daemon->proxy));
  cloche_test_daemon_free (daemon);
}

/* Injected fault: a KVM boot whose guest never prints is a KVM that hangs. */
static void
test_stall_falls_back (void)
{
  ClocheTestDaemon *daemon = start_daemon ("stall", NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL, *out = NULL;

  id = open_session (daemon, &error);
  g_assert_no_error (error);
  out = echo (daemon, id);
  g_assert_cmpstr (out, ==, "hi\n");
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_daemon_get_accelerator_fallback (daemon->proxy), 5);
  assert_contains (cloche_dbus_daemon_get_accelerator_reason (daemon->proxy),
                   "wrote nothing on its console within 10 s");
  cloche_test_daemon_free (daemon);
}

static char *
make_agentless_bundle (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  g_autofree char *tool = g_build_filename (g_getenv ("CLOCHE_SOURCE_ROOT"),
                                            "tools", "make-fault-bundle", NULL);
  g_autofree char *parent = g_dir_make_tmp ("cloche-fault-XXXXXX", NULL);
  char *fault = g_build_filename (parent, "bundle", NULL);
  const char *argv[] = { tool, bundle, fault, NULL };
  g_autoptr(GError) error = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return fault;
}

/* Injected fault (tcg-as-kvm: QEMU under TCG, the daemon believing KVM)
 * with a guest whose agent never starts (make-fault-bundle): the guest ran
 * and printed, so the bundle is at fault, not KVM. No fallback, no second
 * boot: the agent's error, and KVM still in use. */
static void
test_guest_fault_is_not_kvm (void)
{
  g_autofree char *bundle = make_agentless_bundle ();
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL, *boots = NULL;
  ClocheTestDaemon *daemon;

  g_setenv ("CLOCHE_TEST_KVM_FAULT", "tcg-as-kvm", TRUE);
  daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle, "--agent-timeout", "25", NULL });
  g_unsetenv ("CLOCHE_TEST_KVM_FAULT");
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (cloche_dbus_daemon_get_accelerator (daemon->proxy), "kvm")
                        == 0, 10);

  id = open_session (daemon, &error);
  g_assert_null (id);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT);
  cloche_test_daemon_wait_state (daemon, "crashed", 10);
  boots = boot_accelerators (daemon);
  g_assert_cmpstr (boots, ==, "kvm");
  g_assert_cmpstr (cloche_dbus_daemon_get_accelerator (daemon->proxy), ==, "kvm");
  g_assert_false (cloche_dbus_daemon_get_accelerator_fallback (daemon->proxy));
  cloche_test_daemon_free (daemon);
}

/* The probe told to pass, so QEMU really runs with -accel kvm: on a
 * machine whose KVM cannot run guests, or that has none, QEMU fails for
 * real and the same open still succeeds, under TCG, quoting QEMU. */
static void
test_real_qemu_failure_falls_back (void)
{
  ClocheTestDaemon *daemon = start_daemon ("probe-passes", NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL, *out = NULL, *boots = NULL;

  id = open_session (daemon, &error);
  g_assert_no_error (error);
  out = echo (daemon, id);
  g_assert_cmpstr (out, ==, "hi\n");
  boots = boot_accelerators (daemon);
  /* Property changes reach the proxy after the reply: wait for a change. */
  CLOCHE_TEST_WAIT_FOR (!g_str_equal (boots, "kvm tcg")
                        || g_strcmp0 (cloche_dbus_daemon_get_accelerator (daemon->proxy),
                                      "tcg") == 0, 5);
  g_test_message ("boots: %s; accelerator %s: %s", boots,
                  cloche_dbus_daemon_get_accelerator (daemon->proxy),
                  cloche_dbus_daemon_get_accelerator_reason (daemon->proxy));
  if (g_str_equal (boots, "kvm"))
    {
      /* A KVM that works: nothing to fall back from. */
      g_assert_false (cloche_dbus_daemon_get_accelerator_fallback (daemon->proxy));
      cloche_test_daemon_free (daemon);
      return;
    }
  g_assert_cmpstr (boots, ==, "kvm tcg");
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_daemon_get_accelerator_fallback (daemon->proxy), 5);
  /* QEMU's own words, whatever they were on this machine. */
  assert_contains (cloche_dbus_daemon_get_accelerator_reason (daemon->proxy),
                   "cannot run guests here (QEMU: qemu-system-x86_64: ");
  cloche_test_daemon_free (daemon);
}

/* Injected fault: the probe's test vCPU failed. TCG from the start, with
 * the reason, and the doctor says what nested virtualization is. */
static void
test_probe_cannot_run (void)
{
  ClocheTestDaemon *daemon = start_daemon ("cannot-run", NULL, NULL);
  g_autoptr(GVariant) kvm = NULL;
  const char *code = "", *fix = "", *status = "";

  g_assert_cmpstr (cloche_dbus_daemon_get_accelerator (daemon->proxy), ==, "tcg");
  g_assert_false (cloche_dbus_daemon_get_accelerator_fallback (daemon->proxy));
  assert_contains (cloche_dbus_daemon_get_accelerator_reason (daemon->proxy),
                   "opens and creates a VM but cannot run a guest");
  kvm = run_check ("kvm");
  g_variant_lookup (kvm, "status", "&s", &status);
  g_variant_lookup (kvm, "code", "&s", &code);
  g_variant_lookup (kvm, "fix", "&s", &fix);
  g_assert_cmpstr (status, ==, "warning");
  g_assert_cmpstr (code, ==, "KvmUnusable");
  assert_contains (fix, "nested virtualization");
  cloche_test_daemon_free (daemon);
}

/* vm.accelerator "tcg": KVM is not even tried, and it says so. */
static void
test_policy_tcg (void)
{
  ClocheTestDaemon *daemon = start_daemon (NULL, "tcg", NULL);

  g_assert_cmpstr (cloche_dbus_daemon_get_accelerator (daemon->proxy), ==, "tcg");
  assert_contains (cloche_dbus_daemon_get_accelerator_reason (daemon->proxy),
                   "vm.accelerator: tcg");
  cloche_test_daemon_free (daemon);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_unsetenv ("CLOCHE_TEST_KVM_FAULT");

  g_test_add_func ("/vm-accel/early-death-quoted", test_early_death_quoted);
  g_test_add_func ("/vm-accel/internal-error-falls-back", test_internal_error_falls_back);
  g_test_add_func ("/vm-accel/internal-error-kvm-mode", test_internal_error_kvm_mode);
  g_test_add_func ("/vm-accel/stall-falls-back", test_stall_falls_back);
  g_test_add_func ("/vm-accel/real-qemu-failure-falls-back", test_real_qemu_failure_falls_back);
  g_test_add_func ("/vm-accel/guest-fault-is-not-kvm", test_guest_fault_is_not_kvm);
  g_test_add_func ("/vm-accel/probe-cannot-run", test_probe_cannot_run);
  g_test_add_func ("/vm-accel/policy-tcg", test_policy_tcg);

  return g_test_run ();
}
