/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent profiles in the app (issue 17), against a real daemon and VM: the
 * user's profile is a row of "Open agent mode"'s chooser; picked, the
 * session opens with the profile's hosts added to its egress rules (the
 * Egress service's SessionAllow says so) and its terminal runs the
 * profile's command in the chosen folder, with the variables it names
 * taken from the app's environment and no other; the tab is titled with
 * the agent's name and the session's title, its tooltip the session's id;
 * an agent the sandbox does not have ends with 127 and its terminal names
 * the npm package it takes. Closing the window never ends what runs:
 * agent mode's session outlives the app (a client that leaves the bus),
 * and a window opened again takes its terminal up, with what it printed
 * while no window showed it.
 *
 * The agent is a script in the project folder (a profile's command runs
 * there): installing a real agent needs the registry and a tools folder,
 * not this test's business.
 */
#include "config.h"

#include <vte/vte.h>

#include "cloche-agent-mode.h"
#include "cloche-agent-mode-dialog.h"
#include "cloche-overview-page.h"
#include "cloche-terminals-page.h"
#include "cloche-test-ui.h"

#define BOOT_TIMEOUT_S 300
#define SHORT_TIMEOUT_S 60
#define AGENT_HOST "agent-api.example.test:443"

static ClocheTestDaemon *test_daemon;
static char *config_home;

static char *
terminal_text (VteTerminal *terminal)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  return vte_terminal_get_text (terminal, NULL, NULL, NULL);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Until the terminal shows @text (a tick wakes the loop: VTE reads its
 * PTY at idle priority). */
static gboolean
wait_text (VteTerminal *terminal,
           const char  *text,
           guint        timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  guint ticker = g_timeout_add (50, tick, NULL);
  gboolean found = FALSE;

  while (!found)
    {
      g_autofree char *shown = terminal_text (terminal);

      found = shown != NULL && strstr (shown, text) != NULL;
      if (!found && g_get_monotonic_time () > deadline)
        {
          g_test_message ("waited for \"%s\"; the terminal shows: %s", text, shown);
          break;
        }
      if (!found)
        g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (ticker);
  return found;
}

static void
write_file (const char *dir,
            const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

/* "Open agent mode" on the Overview, @folder writable, row @agent (the
 * "Command" row runs @line). */
static void
open_agent_line (ClocheOverviewPage *page,
                 const char         *folder,
                 const char         *agent,
                 const char         *line)
{
  GtkWindow *chooser;
  GtkListBox *list;
  GtkListBoxRow *row = NULL;

  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_sensitive (cloche_test_ui_child (page, "open_button"))
                        && gtk_widget_get_mapped (cloche_test_ui_child (page, "open_button")),
                        BOOT_TIMEOUT_S);
  gtk_widget_activate_action (GTK_WIDGET (page), "overview.open-agent-mode", NULL);
  chooser = cloche_test_ui_wait_agent_mode_chooser ();
  cloche_agent_mode_dialog_add_folder (CLOCHE_AGENT_MODE_DIALOG (chooser), folder, TRUE);
  list = cloche_test_ui_child (chooser, "run_list");
  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), agent) == 0)
      break;
  g_assert_nonnull (row);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (row)));
  adw_action_row_activate (ADW_ACTION_ROW (row));
  if (line != NULL)
    gtk_editable_set_text (cloche_test_ui_child (chooser, "command_row"), line);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chooser), "chooser.open", NULL));
}

static void
open_agent (ClocheOverviewPage *page,
            const char         *folder,
            const char         *agent)
{
  open_agent_line (page, folder, agent, NULL);
}

/* The hosts session @id adds to the egress rules, as the daemon says. */
static GStrv
session_allow (const char *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheDbusEgress) egress = NULL;
  g_autoptr(GVariant) allow = NULL;
  GStrv hosts = NULL;

  egress = cloche_dbus_egress_proxy_new_sync (g_dbus_proxy_get_connection (
                                                G_DBUS_PROXY (test_daemon->proxy)),
                                              G_DBUS_PROXY_FLAGS_NONE, DAEMON_BUS_NAME,
                                              DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  allow = cloche_dbus_egress_dup_session_allow (egress);
  g_assert_nonnull (allow);
  if (!g_variant_lookup (allow, id, "^as", &hosts))
    hosts = g_new0 (char *, 1);
  return hosts;
}

static void
test_agent_terminal (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");
  ClocheTerminalsPage *terminals = cloche_test_ui_child (window, "terminals_page");
  AdwTabView *tabs = cloche_test_ui_child (terminals, "tab_view");
  g_autofree char *project = g_build_filename (test_daemon->home, "my-project", NULL);
  g_autofree char *agents = g_build_filename (config_home, "cloche", "agents", NULL);
  g_autofree char *tooltip = NULL;
  g_auto(GStrv) hosts = NULL;
  ClocheTerminalView *view;
  VteTerminal *terminal;
  AdwTabPage *tab;
  const char *id;

  write_file (project, "agent.sh",
              "echo \"agent-ran $1 key=$FAKE_AGENT_KEY other=${OTHER_VAR:-unset} in=$(pwd)\"\n"
              "exit 3\n");
  write_file (agents, "fake.json",
              "{\"command\": [\"sh\", \"./agent.sh\", \"from-the-profile\"],"
              " \"hosts\": [\"" AGENT_HOST "\"], \"env\": [\"FAKE_AGENT_KEY\"]}");
  write_file (agents, "ghost.json",
              "{\"command\": [\"cloche-no-such-agent\"], \"package\": \"@example/ghost-agent\"}");
  /* The app's environment: the named variable passes, the other does not. */
  g_setenv ("FAKE_AGENT_KEY", "key-of-the-user", TRUE);
  g_setenv ("OTHER_VAR", "not-named", TRUE);
  gtk_window_present (GTK_WINDOW (window));

  open_agent (page, project, "fake");
  CLOCHE_TEST_WAIT_FOR ((view = cloche_terminals_page_get_selected (terminals)) != NULL,
                        SHORT_TIMEOUT_S);
  terminal = cloche_test_ui_child (view, "terminal");
  g_assert_true (wait_text (terminal, "agent-ran from-the-profile key=key-of-the-user "
                            "other=unset in=/sessions/", BOOT_TIMEOUT_S));
  g_assert_true (wait_text (terminal, "/mnt/my-project", SHORT_TIMEOUT_S));
  g_assert_true (wait_text (terminal, "The terminal ended with status 3", SHORT_TIMEOUT_S));
  id = cloche_terminal_view_get_session_id (view);
  hosts = session_allow (id);
  g_assert_cmpstrv (hosts, ((const char *[]) { AGENT_HOST, NULL }));
  /* Titled with what a user knows; the id in the tooltip. */
  tab = adw_tab_view_get_page (tabs, GTK_WIDGET (view));
  CLOCHE_TEST_WAIT_FOR (g_str_has_prefix (adw_tab_page_get_title (tab), "fake — Agent mode, "),
                        SHORT_TIMEOUT_S);
  tooltip = g_strdup_printf ("Session %s", id);
  g_assert_cmpstr (adw_tab_page_get_tooltip (tab), ==, tooltip);
  cloche_test_save_screenshot (GTK_WIDGET (window), "terminal-agent-tab");

  /* An agent the sandbox does not have: its package, not just 127. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "overview");
  gtk_widget_activate_action (GTK_WIDGET (page), "overview.close-agent-mode", NULL);
  open_agent (page, project, "ghost");
  CLOCHE_TEST_WAIT_FOR ((view = cloche_terminals_page_get_selected (terminals)) != NULL
                        && cloche_terminal_view_get_session_id (view) != NULL
                        && g_strcmp0 (cloche_terminal_view_get_session_id (view), id) != 0,
                        BOOT_TIMEOUT_S);
  terminal = cloche_test_ui_child (view, "terminal");
  g_assert_true (wait_text (terminal, "npm package @example/ghost-agent must be installed",
                            BOOT_TIMEOUT_S));
  g_assert_true (wait_text (terminal, "The terminal ended with status 127", SHORT_TIMEOUT_S));
  g_assert_true (g_str_has_prefix (adw_tab_page_get_title (adw_tab_view_get_page (
    tabs, GTK_WIDGET (view))), "ghost — "));
  cloche_test_save_screenshot (GTK_WIDGET (window), "terminal-agent-not-installed");
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

/* Creates @name in session @id's folder, through Exec (a file made on the
 * host side of a mount may take the guest a while to see). */
static void
session_touch (const char *id,
               const char *name)
{
  const char * const argv[] = { "touch", name, NULL };
  g_autoptr(GVariant) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  int exit_code = -1;

  cloche_dbus_sessions_call_exec_sync (test_daemon->sessions, id, argv,
                                       cloche_test_exec_options (NULL, NULL), &exit_code, &out,
                                       &err, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (exit_code, ==, 0);
}

/* Whether session @id has a terminal no client holds (ListTerminals). */
static gboolean
has_detached (const char *id)
{
  g_autoptr(GVariant) terminals = NULL;
  g_autoptr(GError) error = NULL;
  gboolean found = FALSE;

  g_assert_true (cloche_dbus_sessions_call_list_terminals_sync (test_daemon->sessions, id,
                                                                &terminals, NULL, &error));
  for (gsize i = 0; i < g_variant_n_children (terminals); i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (terminals, i);
      gboolean attached = TRUE;

      found |= g_variant_lookup (entry, "attached", "b", &attached) && !attached;
    }
  return found;
}

/* The main window closes while agent mode's command runs (VTE hangs up
 * its clochectl: the terminal detaches); a window opened again has it in
 * a tab, with what it printed meanwhile, still running. */
static void
test_window_closed (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");
  ClocheTerminalsPage *terminals = cloche_test_ui_child (window, "terminals_page");
  g_autofree char *project = g_build_filename (test_daemon->home, "closed-project", NULL);
  g_autofree char *id = NULL;
  ClocheTerminalView *view;
  VteTerminal *terminal;

  g_assert_cmpint (g_mkdir_with_parents (project, 0700), ==, 0);
  gtk_window_present (GTK_WINDOW (window));
  open_agent_line (page, project, "Command",
                   "sh -c 'echo started-$((6*7)); "
                   "while [ ! -e go ]; do sleep 0.1; done; "
                   "echo printed-while-no-window-$((6*7)); read x; exit 9'");
  CLOCHE_TEST_WAIT_FOR ((view = cloche_terminals_page_get_selected (terminals)) != NULL,
                        SHORT_TIMEOUT_S);
  terminal = cloche_test_ui_child (view, "terminal");
  g_assert_true (wait_text (terminal, "started-42", BOOT_TIMEOUT_S));
  id = g_strdup (cloche_terminal_view_get_session_id (view));
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
  /* Printed before the old client has gone, the words would go to it. */
  CLOCHE_TEST_WAIT_FOR (has_detached (id), SHORT_TIMEOUT_S);
  session_touch (id, "go");

  window = g_object_ref (cloche_test_ui_new_window ());
  terminals = cloche_test_ui_child (window, "terminals_page");
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR ((view = cloche_terminals_page_get_selected (terminals)) != NULL,
                        SHORT_TIMEOUT_S);
  g_assert_cmpstr (cloche_terminal_view_get_session_id (view), ==, id);
  terminal = cloche_test_ui_child (view, "terminal");
  g_assert_true (wait_text (terminal, "Back in terminal", SHORT_TIMEOUT_S));
  /* A VTE that is not shown does not read its PTY. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "terminals");
  g_assert_true (wait_text (terminal, "printed-while-no-window-42", SHORT_TIMEOUT_S));
  CLOCHE_TEST_WAIT_FOR (g_str_has_prefix (adw_tab_page_get_title (adw_tab_view_get_page (
    cloche_test_ui_child (terminals, "tab_view"), GTK_WIDGET (view))), "sh — Agent mode, "),
                        SHORT_TIMEOUT_S);
  cloche_test_save_screenshot (GTK_WIDGET (window), "terminal-window-opened-again");
  vte_terminal_feed_child (terminal, "\r", -1);
  g_assert_true (wait_text (terminal, "The terminal ended with status 9", SHORT_TIMEOUT_S));
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

/* In a process of its own (a client of the daemon that then leaves the
 * bus, as the app does when its last window closes): agent mode's
 * session, through the app's own code, and for comparison a session tied
 * to its caller. Writes both ids to "ids" in XDG_CONFIG_HOME (the
 * parent's, inherited). */
static void
open_and_leave (void)
{
  g_autoptr(ClocheClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *agent_id = NULL, *tied_id = NULL;

  cloche_client_new_async (NULL, cloche_test_store_result, &result);
  CLOCHE_TEST_WAIT_FOR (result != NULL, SHORT_TIMEOUT_S);
  client = cloche_client_new_finish (result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  cloche_agent_mode_open_folders_async (client, g_variant_new ("a(sb)", NULL), NULL, NULL,
                                        cloche_test_store_result, &result);
  CLOCHE_TEST_WAIT_FOR (result != NULL, BOOT_TIMEOUT_S);
  agent_id = cloche_agent_mode_open_finish (client, result, &error);
  g_assert_no_error (error);
  g_assert_true (cloche_dbus_sessions_call_open_sync (cloche_client_get_sessions (client), "tied",
                                                      g_variant_new ("a{sv}", NULL), &tied_id,
                                                      NULL, &error));
  g_assert_no_error (error);
  {
    g_autofree char *path = g_build_filename (g_getenv ("XDG_CONFIG_HOME"), "ids", NULL);
    g_autofree char *text = g_strdup_printf ("%s %s", agent_id, tied_id);

    g_assert_true (g_file_set_contents (path, text, -1, NULL));
  }
}

static const char *
session_state (const char *id)
{
  g_autoptr(GVariant) record = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ClocheSessionInfo) info = { 0 };

  g_assert_true (cloche_dbus_sessions_call_get_sync (test_daemon->sessions, id, &record, NULL,
                                                     &error));
  g_assert_no_error (error);
  cloche_session_info_init (&info, record);
  return g_intern_string (info.state);
}

/* The app leaves the bus (its last window closed): agent mode's session
 * stays open, unlike a session tied to its caller, closed once it left. */
static void
test_outlives_app (void)
{
  g_autofree char *path = g_build_filename (config_home, "ids", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) ids = NULL;

  if (g_test_subprocess ())
    {
      open_and_leave ();
      return;
    }
  g_test_trap_subprocess (NULL, BOOT_TIMEOUT_S * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  ids = g_strsplit (text, " ", 2);
  g_assert_cmpuint (g_strv_length (ids), ==, 2);
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (session_state (ids[1]), "open") != 0, SHORT_TIMEOUT_S);
  g_assert_cmpstr (session_state (ids[0]), ==, "open");
  g_assert_true (cloche_dbus_sessions_call_close_sync (test_daemon->sessions, ids[0], NULL,
                                                       NULL));
}

static void
skip (void)
{
  g_test_skip ("No VM bundle or clochectl: set CLOCHE_TEST_BUNDLE and CLOCHE_CTL");
}

int
main (int   argc,
      char *argv[])
{
  const char *bundle = g_getenv ("CLOCHE_TEST_BUNDLE");
  int status;

  if (bundle == NULL || bundle[0] == '\0' || g_getenv ("CLOCHE_CTL") == NULL)
    {
      g_test_init (&argc, &argv, NULL);
      g_test_add_func ("/agent-terminal/profile", skip);
      return g_test_run ();
    }
  /* The client that leaves the bus: a child of this test, on its bus. */
  if (g_strv_contains ((const char * const *) argv, "--GTestSubprocess"))
    {
      g_test_init (&argc, &argv, NULL);
      g_test_add_func ("/agent-terminal/outlives-app", test_outlives_app);
      return g_test_run ();
    }
  /* The app's (and so clochectl's) profiles: the test's only. */
  config_home = g_dir_make_tmp ("cloche-test-config-XXXXXX", NULL);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  test_daemon = cloche_test_ui_start (&argc, &argv, (const char *[]) {
    "--bundle", bundle, "--idle-timeout", "60", NULL });
  g_test_add_func ("/agent-terminal/profile", test_agent_terminal);
  g_test_add_func ("/agent-terminal/window-closed", test_window_closed);
  g_test_add_func ("/agent-terminal/outlives-app", test_outlives_app);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  {
    g_autofree char *rm = g_strdup_printf ("rm -rf %s", config_home);

    g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL);
  }
  return status;
}
