/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A guest whose agent never starts (tools/make-fault-bundle): opening a
 * session must fail with an error that names the guest agent and shows what
 * the guest console said, and the VM must end up "crashed", not hanging.
 */
#include "config.h"

#include "cloche-test-daemon.h"

/* Long enough for the guest to reach its init and print the marker on a
 * loaded machine (several TCG guests booting at once take well over 8 s),
 * since the test checks that the error quotes it. */
#define AGENT_TIMEOUT_S "25"

static char *
make_fault_bundle (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  g_autofree char *tool = g_build_filename (g_getenv ("CLOCHE_SOURCE_ROOT"),
                                            "tools", "make-fault-bundle", NULL);
  g_autofree char *parent = NULL;
  g_autoptr(GError) error = NULL;
  char *fault;
  int status;

  parent = g_dir_make_tmp ("cloche-fault-XXXXXX", &error);
  g_assert_no_error (error);
  fault = g_build_filename (parent, "bundle", NULL);
  g_spawn_sync (NULL, (char *[]) { tool, bundle, fault, NULL }, NULL, G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return fault;
}

static guint
sessions_on_disk (ClocheTestDaemon *daemon)
{
  g_autofree char *root = g_build_filename (daemon->home, "state", "cloche", "sessions", NULL);
  g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
  guint count = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    count++;
  return count;
}

static void
test_agent_never_answers (void)
{
  g_autofree char *fault = make_fault_bundle ();
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  ClocheTestDaemon *daemon;
  const char * const *console;
  gboolean console_has_marker = FALSE;

  daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", fault, "--agent-timeout", AGENT_TIMEOUT_S, NULL });

  g_assert_false (cloche_dbus_sessions_call_open_sync (daemon->sessions, "t",
                                                       g_variant_new ("a{sv}", NULL), &id, NULL,
                                                       &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT);
  g_assert_true (strstr (error->message, "guest agent") != NULL);
  g_assert_true (strstr (error->message, "did not answer within " AGENT_TIMEOUT_S " s") != NULL);
  g_assert_true (strstr (error->message, "cloche-fault: agent disabled") != NULL);

  cloche_test_daemon_wait_state (daemon, "crashed", 10);
  console = cloche_dbus_daemon_get_console_tail (daemon->proxy);
  for (guint i = 0; console != NULL && console[i] != NULL; i++)
    console_has_marker |= strstr (console[i], "cloche-fault: agent disabled") != NULL;
  g_assert_true (console_has_marker);
  g_assert_cmpint (cloche_test_find_child (cloche_test_daemon_pid (daemon), "qemu-system"), ==, 0);
  /* A session that did not open leaves no record behind (it once stayed,
   * "closed", one more folder for every failed try). */
  CLOCHE_TEST_WAIT_FOR (sessions_on_disk (daemon) == 0, 10);

  cloche_test_daemon_free (daemon);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/vm/agent-never-answers", test_agent_never_answers);

  return g_test_run ();
}
