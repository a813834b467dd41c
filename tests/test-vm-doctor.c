/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The doctor against the real daemon, each fault made for real: a guest
 * whose agent never starts and one that prints garbage on the agent port
 * (tools/make-fault-bundle), a PATH without QEMU, a bundle with a flipped
 * byte, a mounted folder deleted on the host, and no /dev/kvm (this
 * machine). The daemon must publish the cause with its code and fix as
 * LatestFinding on its own, and Run() and clochectl doctor must report it.
 */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "cloche-test-daemon.h"

#define AGENT_TIMEOUT_S "10"
/* The garbage comes from the guest's init, after the kernel's boot: under
 * TCG on a loaded 2-core host that took up to ~20 s here. */
#define GARBAGE_AGENT_TIMEOUT_S "45"

static char *
make_fault_bundle (const char *mode)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  g_autofree char *tool = g_build_filename (g_getenv ("CLOCHE_SOURCE_ROOT"),
                                            "tools", "make-fault-bundle", NULL);
  g_autofree char *parent = g_dir_make_tmp ("cloche-fault-XXXXXX", NULL);
  char *fault = g_build_filename (parent, "bundle", NULL);
  const char *argv[] = { tool, mode != NULL ? mode : bundle, mode != NULL ? bundle : fault,
                         mode != NULL ? fault : NULL, NULL };
  g_autoptr(GError) error = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return fault;
}

static ClocheDbusDoctor *
doctor_proxy (void)
{
  g_autoptr(GError) error = NULL;
  ClocheDbusDoctor *doctor;

  doctor = cloche_dbus_doctor_proxy_new_for_bus_sync (G_BUS_TYPE_SESSION,
                                                      G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                                      DAEMON_BUS_NAME,
                                                      DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (doctor), 120 * 1000);
  return doctor;
}

static const char *
lookup (GVariant   *dict,
        const char *key)
{
  const char *value = "";

  g_variant_lookup (dict, key, "&s", &value);
  return value;
}

/* The result of one check from Run(). */
static GVariant *
run_check (ClocheDbusDoctor *doctor,
           const char       *check)
{
  const char * const checks[] = { check, NULL };
  g_autoptr(GVariant) results = NULL;
  g_autoptr(GError) error = NULL;

  cloche_dbus_doctor_call_run_sync (doctor, checks, &results, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (results), ==, 1);
  return g_variant_get_child_value (results, 0);
}

static void
assert_result (GVariant   *result,
               const char *status,
               const char *code,
               const char *in_finding)
{
  g_test_message ("%s: %s [%s] %s — %s", lookup (result, "check"), lookup (result, "status"),
                  lookup (result, "code"), lookup (result, "finding"), lookup (result, "fix"));
  g_assert_cmpstr (lookup (result, "status"), ==, status);
  g_assert_cmpstr (lookup (result, "code"), ==, code);
  if (!g_str_equal (status, "ok"))
    g_assert_cmpstr (lookup (result, "fix"), !=, "");
  if (strstr (lookup (result, "finding"), in_finding) == NULL)
    g_error ("\"%s\" is not in the finding \"%s\"", in_finding, lookup (result, "finding"));
}

/* Opens a session, which must fail with @code; then waits for the finding
 * the daemon makes of it by itself. */
static GVariant *
fail_open_and_wait_finding (ClocheTestDaemon *daemon,
                            ClocheDbusDoctor *doctor,
                            int               code)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  GVariant *finding;

  g_assert_false (cloche_dbus_sessions_call_open_sync (daemon->sessions, "t",
                                                       g_variant_new ("a{sv}", NULL),
                                                       &id, NULL, &error));
  g_assert_error (error, CLOCHE_ERROR, code);
  CLOCHE_TEST_WAIT_FOR (g_variant_n_children (cloche_dbus_doctor_get_latest_finding (doctor)) > 0,
                        60);
  finding = g_variant_ref (cloche_dbus_doctor_get_latest_finding (doctor));
  g_assert_cmpstr (lookup (finding, "trigger"), !=, "");
  return finding;
}

static void
test_agent_never_answers (void)
{
  g_autofree char *fault = make_fault_bundle (NULL);
  ClocheTestDaemon *daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", fault, "--agent-timeout", AGENT_TIMEOUT_S, NULL });
  g_autoptr(ClocheDbusDoctor) doctor = doctor_proxy ();
  g_autoptr(GVariant) finding = NULL;
  g_autoptr(GVariant) result = NULL;
  g_autofree const char **details = NULL;

  finding = fail_open_and_wait_finding (daemon, doctor, CLOCHE_ERROR_AGENT_TIMEOUT);
  assert_result (finding, "failure", "AgentTimeout", "did not answer when the VM last booted");
  g_assert_nonnull (strstr (lookup (finding, "fix"), "qemu-guest-agent"));
  /* The last console lines come with it: there the guest says what it did.
   * (How far the guest got in the time depends on the host's load, so the
   * lines are compared with the daemon's ConsoleTail, not with a marker.) */
  g_assert_true (g_variant_lookup (finding, "details", "^a&s", &details));
  g_assert_nonnull (details[0]);
  g_assert_cmpstrv (details, cloche_dbus_daemon_get_console_tail (daemon->proxy));

  result = run_check (doctor, "agent");
  assert_result (result, "failure", "AgentTimeout", "the console's last line");
  cloche_test_daemon_free (daemon);
}

static void
test_agent_garbage (void)
{
  g_autofree char *fault = make_fault_bundle ("--garbage-agent");
  ClocheTestDaemon *daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", fault, "--agent-timeout", GARBAGE_AGENT_TIMEOUT_S, NULL });
  g_autoptr(ClocheDbusDoctor) doctor = doctor_proxy ();
  g_autoptr(GVariant) finding = NULL;

  finding = fail_open_and_wait_finding (daemon, doctor, CLOCHE_ERROR_AGENT_PROTOCOL);
  /* The line itself is quoted, so people see what the guest said. */
  assert_result (finding, "failure", "AgentProtocol",
                 "\"Segmentation fault (core dumped) <not json>\"");
  g_assert_nonnull (strstr (lookup (finding, "fix"), "org.qemu.guest_agent.0"));
  cloche_test_daemon_free (daemon);
}

/* A PATH that holds dbus-daemon (for the test bus) and no QEMU. */
static char *
path_without_qemu (void)
{
  g_autofree char *dbus = g_find_program_in_path ("dbus-daemon");
  char *dir = g_dir_make_tmp ("cloche-path-XXXXXX", NULL);
  g_autofree char *link = g_build_filename (dir, "dbus-daemon", NULL);

  g_assert_nonnull (dbus);
  g_assert_cmpint (symlink (dbus, link), ==, 0);
  return dir;
}

static void
test_qemu_missing (void)
{
  g_autofree char *old_path = g_strdup (g_getenv ("PATH"));
  g_autofree char *path = path_without_qemu ();
  g_autoptr(ClocheDbusDoctor) doctor = NULL;
  g_autoptr(GVariant) finding = NULL;
  g_autofree char *bundle = cloche_test_bundle_dir ();
  ClocheTestDaemon *daemon;

  g_setenv ("PATH", path, TRUE);
  daemon = cloche_test_daemon_start ((const char *[]) { "--bundle", bundle, NULL });
  g_setenv ("PATH", old_path, TRUE);
  doctor = doctor_proxy ();

  finding = fail_open_and_wait_finding (daemon, doctor, CLOCHE_ERROR_QEMU_MISSING);
  assert_result (finding, "failure", "QemuMissing", path);
  g_assert_nonnull (strstr (lookup (finding, "fix"), "apt install qemu-system-x86"));
  cloche_test_daemon_free (daemon);
}

static char *
copy_bundle_with_flipped_byte (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  g_autofree char *parent = g_dir_make_tmp ("cloche-flipped-XXXXXX", NULL);
  char *copy = g_build_filename (parent, "bundle", NULL);
  g_autofree char *initrd = g_build_filename (copy, "initrd.img", NULL);
  const char *argv[] = { "cp", "-r", bundle, copy, NULL };
  unsigned char byte;
  int fd, status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                &status, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  fd = open (initrd, O_RDWR);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pread (fd, &byte, 1, 4096), ==, 1);
  byte ^= 0x01;
  g_assert_cmpint (pwrite (fd, &byte, 1, 4096), ==, 1);
  close (fd);
  return copy;
}

static void
test_bundle_flipped_byte (void)
{
  g_autofree char *copy = copy_bundle_with_flipped_byte ();
  ClocheTestDaemon *daemon = cloche_test_daemon_start ((const char *[]) { "--bundle", copy, NULL });
  g_autoptr(ClocheDbusDoctor) doctor = doctor_proxy ();
  g_autoptr(GVariant) result = run_check (doctor, "bundle");

  assert_result (result, "failure", "BundleCorrupt", "initrd.img has sha256");
  cloche_test_daemon_free (daemon);
}

/* clochectl doctor's exit status: 2 with a failure among the checks. */
static void
check_cli_exit (ClocheTestDaemon *daemon,
                int               expected)
{
  const char *argv[] = { g_getenv ("CLOCHE_CTL"), "doctor", "--json", NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, expected);
  g_assert_nonnull (strstr (out, "\"code\" : \"MountMissing\""));
  g_assert_nonnull (strstr (out, "\"status\" : \"failure\""));
}

static void
test_running_vm (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  ClocheTestDaemon *daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle, NULL });
  g_autoptr(ClocheDbusDoctor) doctor = doctor_proxy ();
  g_autofree char *folder = g_build_filename (daemon->home, "project", NULL);
  g_auto(GVariantBuilder) mounts = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a(sb)"));
  g_auto(GVariantBuilder) options = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  g_autoptr(GVariant) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  const char *rm[] = { "rm", "-rf", folder, NULL };

  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  g_variant_builder_add (&mounts, "(sb)", folder, TRUE);
  g_variant_builder_add (&options, "{sv}", "mounts", g_variant_builder_end (&mounts));
  g_variant_builder_add (&options, "{sv}", "keep-open", g_variant_new_boolean (TRUE));
  cloche_dbus_sessions_call_open_sync (daemon->sessions, "doctor", g_variant_builder_end (&options),
                                       &id, NULL, &error);
  g_assert_no_error (error);

  result = run_check (doctor, "agent");
  assert_result (result, "ok", "", "answered");
  g_clear_pointer (&result, g_variant_unref);
  result = run_check (doctor, "mounts");
  g_assert_cmpstr (lookup (result, "status"), ==, "ok");
  g_clear_pointer (&result, g_variant_unref);

  /* The folder goes away on the host while the session has it. */
  g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  result = run_check (doctor, "mounts");
  assert_result (result, "failure", "MountMissing", folder);
  g_clear_pointer (&result, g_variant_unref);

  /* No KVM device on this machine (or CLOCHE_KVM_DEVICE=/nonexistent): a
   * warning that names the device and TCG's cost. */
  if (!g_file_test (cloche_test_daemon_kvm_device (), G_FILE_TEST_EXISTS))
    {
      result = run_check (doctor, "kvm");
      assert_result (result, "warning", "KvmMissing", "10-50x slower");
      assert_result (result, "warning", "KvmMissing", cloche_test_daemon_kvm_device ());
    }
  check_cli_exit (daemon, 2);
  cloche_test_daemon_free (daemon);
}

/* Each case needs a daemon of its own (another bundle, another PATH), and
 * a process keeps its first session bus connection for good: each runs in
 * a child process of its own. */
static void
in_subprocess (gconstpointer data)
{
  GTestFunc func = (GTestFunc) data;

  if (g_test_subprocess ())
    {
      func ();
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT
                                   | G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add_data_func (path, (gconstpointer) func, in_subprocess)
  ADD ("/vm/doctor/agent-never-answers", test_agent_never_answers);
  ADD ("/vm/doctor/agent-garbage", test_agent_garbage);
  ADD ("/vm/doctor/qemu-missing", test_qemu_missing);
  ADD ("/vm/doctor/bundle-flipped-byte", test_bundle_flipped_byte);
  ADD ("/vm/doctor/running-vm", test_running_vm);
#undef ADD

  return g_test_run ();
}
