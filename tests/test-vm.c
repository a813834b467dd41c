/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The vm_daemon and a real QEMU (TCG here, KVM where it works) booting the
 * minimal bundle. The cases run in order on one vm_daemon so that they share
 * boots; each still checks its own state from what the vm_daemon reports.
 */
#include "config.h"

#include <stdlib.h>

#include "cloche-test-daemon.h"

#define BOOT_TIMEOUT_S 180
#define IDLE_TIMEOUT_S "3"

static ClocheTestDaemon *vm_daemon;
static char *session_id;

static char *
open_session (const char *title)
{
  g_autoptr(GError) error = NULL;
  char *id = NULL;

  cloche_dbus_sessions_call_open_sync (vm_daemon->sessions, title,
                                       g_variant_new ("a{sv}", NULL), &id, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (id);
  return id;
}

static gboolean
run (const char          *id,
     const char * const  *argv,
     const char * const  *env,
     const char          *cwd,
     ClocheTestExec      *exec,
     GError             **error)
{
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  const char * const no_env[] = { NULL };

  if (!cloche_dbus_sessions_call_exec_sync (vm_daemon->sessions, id, argv,
                                            cloche_test_exec_options (env ? env : no_env, cwd),
                                            &exec->exit_code, &out, &err, NULL, NULL, error))
    return FALSE;
  exec->out = cloche_test_bytes_string (out);
  exec->err = cloche_test_bytes_string (err);
  return TRUE;
}


static GPid
qemu_pid (void)
{
  return cloche_test_find_child (cloche_test_daemon_pid (vm_daemon), "qemu-system");
}

static void
test_starts_without_vm (void)
{
  const char *accel;

  /* The daemon checks that KVM runs a guest for a few milliseconds after it starts. */
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (cloche_dbus_daemon_get_accelerator (vm_daemon->proxy), "")
                        != 0, 10);
  accel = cloche_dbus_daemon_get_accelerator (vm_daemon->proxy);

  g_assert_true (cloche_test_daemon_state_is (vm_daemon, "stopped"));
  g_assert_cmpint (cloche_dbus_daemon_get_booted_at (vm_daemon->proxy), ==, 0);
  g_assert_cmpuint (cloche_dbus_daemon_get_open_sessions (vm_daemon->proxy), ==, 0);
  g_assert_cmpint (qemu_pid (), ==, 0);

  g_assert_true (g_str_equal (accel, "kvm") || g_str_equal (accel, "tcg"));
  /* No KVM device (or CLOCHE_KVM_DEVICE=/nonexistent): TCG, saying there
   * is none, not the verdict on a KVM that cannot run a guest. */
  if (!g_file_test (cloche_test_daemon_kvm_device (), G_FILE_TEST_EXISTS))
    {
      g_autofree char *none = g_strdup_printf ("no %s", cloche_test_daemon_kvm_device ());

      g_assert_cmpstr (accel, ==, "tcg");
      g_assert_true (strstr (cloche_dbus_daemon_get_accelerator_reason (vm_daemon->proxy),
                             none) != NULL);
    }
}

static void
test_open_and_echo (void)
{
  const char * const argv[] = { "echo", "hi", NULL };
  g_auto(ClocheTestExec) exec = { 0 };
  g_autoptr(GError) error = NULL;

  session_id = open_session ("test");
  cloche_test_daemon_wait_state (vm_daemon, "running", 5);
  g_assert_cmpint (cloche_dbus_daemon_get_booted_at (vm_daemon->proxy), >, 0);
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_daemon_get_open_sessions (vm_daemon->proxy) == 1, 5);
  g_assert_cmpint (qemu_pid (), >, 0);

  run (session_id, argv, NULL, NULL, &exec, &error);
  g_assert_no_error (error);
  g_assert_cmpint (exec.exit_code, ==, 0);
  g_assert_cmpstr (exec.out, ==, "hi\n");
  g_assert_cmpstr (exec.err, ==, "");
}

static void
test_exit_code_and_stderr (void)
{
  const char * const argv[] = { "sh", "-c", "echo out; echo \"err $GREETING\" >&2; exit 3", NULL };
  const char * const env[] = { "GREETING=hello", NULL };
  g_auto(ClocheTestExec) exec = { 0 };
  g_autoptr(GError) error = NULL;

  run (session_id, argv, env, NULL, &exec, &error);
  g_assert_no_error (error);
  g_assert_cmpint (exec.exit_code, ==, 3);
  g_assert_cmpstr (exec.out, ==, "out\n");
  g_assert_cmpstr (exec.err, ==, "err hello\n");
}

static void
test_cwd (void)
{
  const char * const argv[] = { "pwd", NULL };
  g_autofree char *expected = g_strdup_printf ("/sessions/%s\n", session_id);
  g_auto(ClocheTestExec) in_session = { 0 };
  g_auto(ClocheTestExec) in_tmp = { 0 };
  g_autoptr(GError) error = NULL;

  run (session_id, argv, NULL, NULL, &in_session, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (in_session.out, ==, expected);

  run (session_id, argv, NULL, "/tmp", &in_tmp, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (in_tmp.out, ==, "/tmp\n");
}

static void
test_exec_errors (void)
{
  const char * const argv[] = { "true", NULL };
  const char * const missing[] = { "/nonexistent/tool", NULL };
  const char * const bad_env[] = { "NOEQUALS", NULL };
  g_auto(ClocheTestExec) exec = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_false (run ("nosuchsession", argv, NULL, NULL, &exec, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND);
  g_clear_error (&error);

  g_assert_false (run (session_id, argv, bad_env, NULL, &exec, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A missing program is the shell's 127 with its message, as in a terminal. */
  run (session_id, missing, NULL, NULL, &exec, &error);
  g_assert_no_error (error);
  g_assert_cmpint (exec.exit_code, ==, 127);
  g_assert_true (strstr (exec.err, "/nonexistent/tool") != NULL);
}

static void
test_idle_timeout_and_reboot (void)
{
  const char * const argv[] = { "echo", "again", NULL };
  g_auto(ClocheTestExec) exec = { 0 };
  g_autoptr(GError) error = NULL;

  cloche_dbus_sessions_call_close_sync (vm_daemon->sessions, session_id, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&session_id, g_free);
  g_assert_true (cloche_test_daemon_state_is (vm_daemon, "running"));

  cloche_test_daemon_wait_state (vm_daemon, "stopped", atoi (IDLE_TIMEOUT_S) + 30);
  g_assert_cmpstr (cloche_dbus_daemon_get_state_reason (vm_daemon->proxy), ==, "idle");
  g_assert_cmpint (qemu_pid (), ==, 0);

  session_id = open_session ("after idle");
  cloche_test_daemon_wait_state (vm_daemon, "running", 5);
  run (session_id, argv, NULL, NULL, &exec, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (exec.out, ==, "again\n");
}

static void
test_sigkill_crash_recovers (void)
{
  const char * const argv[] = { "echo", "recovered", NULL };
  const char * const *console;
  g_auto(ClocheTestExec) exec = { 0 };
  g_autoptr(GError) error = NULL;
  GPid pid = qemu_pid ();

  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);

  cloche_test_daemon_wait_state (vm_daemon, "crashed", 30);
  CLOCHE_TEST_WAIT_FOR (strstr (cloche_dbus_daemon_get_state_reason (vm_daemon->proxy),
                                "signal 9") != NULL, 5);
  console = cloche_dbus_daemon_get_console_tail (vm_daemon->proxy);
  g_assert_nonnull (console);
  g_assert_nonnull (console[0]);
  g_assert_cmpint (cloche_dbus_daemon_get_booted_at (vm_daemon->proxy), ==, 0);

  /* The session is still open: its next command boots a fresh VM. */
  run (session_id, argv, NULL, NULL, &exec, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (exec.out, ==, "recovered\n");
  cloche_test_daemon_wait_state (vm_daemon, "running", 5);
}

static void
test_stop_vm (void)
{
  g_autoptr(GError) error = NULL;

  cloche_dbus_daemon_call_stop_vm_sync (vm_daemon->proxy, NULL, &error);
  g_assert_no_error (error);
  cloche_test_daemon_wait_state (vm_daemon, "stopped", 5);
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (cloche_dbus_daemon_get_state_reason (vm_daemon->proxy),
                                   "user") == 0, 5);
  g_assert_cmpint (qemu_pid (), ==, 0);
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_daemon_get_open_sessions (vm_daemon->proxy) == 1, 5);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *bundle = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  bundle = cloche_test_bundle_dir ();
  vm_daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle, "--idle-timeout", IDLE_TIMEOUT_S, "--agent-timeout", "120", NULL });

  g_test_add_func ("/vm/starts-without-vm", test_starts_without_vm);
  g_test_add_func ("/vm/open-and-echo", test_open_and_echo);
  g_test_add_func ("/vm/exit-code-and-stderr", test_exit_code_and_stderr);
  g_test_add_func ("/vm/cwd", test_cwd);
  g_test_add_func ("/vm/exec-errors", test_exec_errors);
  g_test_add_func ("/vm/idle-timeout-and-reboot", test_idle_timeout_and_reboot);
  g_test_add_func ("/vm/sigkill-crash-recovers", test_sigkill_crash_recovers);
  g_test_add_func ("/vm/stop-vm", test_stop_vm);

  status = g_test_run ();
  g_free (session_id);
  cloche_test_daemon_free (vm_daemon);
  return status;
}
