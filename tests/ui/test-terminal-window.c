/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The in-app terminal (issue 17), against a real daemon and VM: "Open
 * agent mode" on the Overview asks for folders and what to run, then
 * leads to the new session's terminal in a tab of the window's Terminals
 * page, there at once and saying the sandbox starts; the chosen folder is
 * in the guest, writable; what is typed into its VTE runs in the
 * guest and is read back from the widget; zoom keys scale the text; a
 * second terminal opens in the same session; the end of the shell is said
 * in the terminal; a tab moves to a window of its own; closing that window
 * leaves the shell running, and opening the session's terminal again (the
 * Sessions page's row menu, Open Terminal) shows what it printed
 * meanwhile.
 */
#include "config.h"

#include <vte/vte.h>

#include "cloche-agent-mode-dialog.h"
#include "cloche-overview-page.h"
#include "cloche-session-row.h"
#include "cloche-terminal-window.h"
#include "cloche-terminals-page.h"
#include "cloche-test-ui.h"

#define BOOT_TIMEOUT_S 300
#define SHORT_TIMEOUT_S 60

static ClocheTestDaemon *test_daemon;

static ClocheTerminalWindow *
find_terminal_window (ClocheTerminalWindow *besides)
{
  GListModel *windows = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (windows); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (windows, i);

      if (CLOCHE_IS_TERMINAL_WINDOW (window) && (gpointer) window != besides)
        return CLOCHE_TERMINAL_WINDOW (window);
    }
  return NULL;
}

static ClocheTerminalWindow *
wait_terminal_window (ClocheTerminalWindow *besides)
{
  gint64 deadline = g_get_monotonic_time () + BOOT_TIMEOUT_S * G_USEC_PER_SEC;
  ClocheTerminalWindow *found;

  while ((found = find_terminal_window (besides)) == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (found);
  return g_object_ref (found);
}

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

/* Until the terminal shows @text. The loop blocks (a tick wakes it): VTE
 * reads its PTY at idle priority, which a loop that sleeps between
 * non-blocking turns starves behind the frame clock. */
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
type (VteTerminal *terminal,
      const char  *text)
{
  vte_terminal_feed_child (terminal, text, -1);
}

static ClocheSessionRow *
find_row (GtkWidget  *widget,
          const char *id)
{
  if (CLOCHE_IS_SESSION_ROW (widget)
      && g_strcmp0 (cloche_session_row_get_id (CLOCHE_SESSION_ROW (widget)), id) == 0)
    return CLOCHE_SESSION_ROW (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      ClocheSessionRow *row = find_row (child, id);

      if (row != NULL)
        return row;
    }
  return NULL;
}

/* Whether @model (or a section of it) has an item for @action. */
static gboolean
menu_has (GMenuModel *model,
          const char *action)
{
  for (int i = 0; i < g_menu_model_get_n_items (model); i++)
    {
      g_autofree char *name = NULL;
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (model, i, G_MENU_LINK_SECTION);

      if ((g_menu_model_get_item_attribute (model, i, G_MENU_ATTRIBUTE_ACTION, "s", &name)
           && g_str_equal (name, action)) || (section != NULL && menu_has (section, action)))
        return TRUE;
    }
  return FALSE;
}

/* The selected tab's terminal on the window's Terminals page. */
static VteTerminal *
tab_terminal (ClocheTerminalsPage *terminals)
{
  ClocheTerminalView *view = cloche_terminals_page_get_selected (terminals);

  g_assert_nonnull (view);
  return cloche_test_ui_child (view, "terminal");
}

/* The window of a terminal moved out of the page closes while its shell is
 * busy; the shell goes on, and the session's terminal opened again (the
 * Sessions page's row menu, Open Terminal) is the same shell, in a new tab,
 * with what it printed while nothing showed it. */
static void
reopen_terminal (ClocheWindow         *window,
                 ClocheTerminalWindow *terminal_window)
{
  ClocheTerminalsPage *terminals = cloche_test_ui_child (window, "terminals_page");
  ClocheTerminalView *view = cloche_terminal_window_get_view (terminal_window);
  VteTerminal *terminal = cloche_test_ui_child (view, "terminal");
  g_autofree char *session = g_strdup (cloche_terminal_view_get_session_id (view));
  ClocheSessionRow *row = NULL;
  gint64 until;

  type (terminal, "sleep 3; echo printed-while-closed-$((6*7))\r");
  g_assert_true (wait_text (terminal, "sleep 3", SHORT_TIMEOUT_S));
  cloche_test_ui_destroy_window (GTK_WIDGET (terminal_window));
  until = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "sessions");
  CLOCHE_TEST_WAIT_FOR ((row = find_row (cloche_test_ui_child (window, "sessions_page"),
                                         session)) != NULL, SHORT_TIMEOUT_S);
  g_assert_true (menu_has (gtk_menu_button_get_menu_model (cloche_test_ui_child (row,
                                                                                "menu_button")),
                           "row.open-terminal"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "row.open-terminal", NULL));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (terminals)));
  terminal = tab_terminal (terminals);
  g_assert_true (wait_text (terminal, "Back in terminal", SHORT_TIMEOUT_S));
  g_assert_true (wait_text (terminal, "printed-while-closed-42", SHORT_TIMEOUT_S));
  type (terminal, "echo still-the-same-shell-$((6*7))\r");
  g_assert_true (wait_text (terminal, "still-the-same-shell-42", SHORT_TIMEOUT_S));
  cloche_test_save_screenshot (GTK_WIDGET (window), "terminal-reattached");
  type (terminal, "exit 0\r");
  g_assert_true (wait_text (terminal, "The terminal ended with status 0", SHORT_TIMEOUT_S));
}

/* Agent mode's terminal is a tab of the window's Terminals page; typed
 * text runs in the guest; zoom; Ctrl+Shift+T a second tab in the same
 * session; a tab moved to a window of its own is the same terminal. */
static void
test_terminal_window (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");
  ClocheTerminalsPage *terminals = cloche_test_ui_child (window, "terminals_page");
  ClocheTerminalView *view;
  ClocheTerminalWindow *terminal_window;
  VteTerminal *terminal, *second;
  g_autofree char *label = NULL;
  g_autofree char *project = g_build_filename (test_daemon->home, "project", NULL);
  g_autofree char *readme = g_build_filename (project, "readme.txt", NULL);
  g_autofree char *written = g_build_filename (project, "new.txt", NULL);
  GtkWindow *chooser;
  double scale;

  g_assert_cmpint (g_mkdir_with_parents (project, 0700), ==, 0);
  gtk_window_present (GTK_WINDOW (window));
  while (!gtk_widget_get_sensitive (cloche_test_ui_child (page, "open_button"))
         || !gtk_widget_get_mapped (cloche_test_ui_child (page, "open_button")))
    g_main_context_iteration (NULL, TRUE);
  gtk_widget_activate_action (GTK_WIDGET (page), "overview.open-agent-mode", NULL);

  /* The chooser: a folder of the user's, writable, and a shell. */
  chooser = cloche_test_ui_wait_agent_mode_chooser ();
  g_assert_true (g_file_set_contents (readme, "from-the-host\n", -1, NULL));
  cloche_agent_mode_dialog_add_folder (CLOCHE_AGENT_MODE_DIALOG (chooser), project, TRUE);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (chooser), "chooser.open", NULL));

  /* The terminal is there at once, saying what it waits for. */
  CLOCHE_TEST_WAIT_FOR (cloche_terminals_page_get_selected (terminals) != NULL, SHORT_TIMEOUT_S);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (terminals)));
  view = cloche_terminals_page_get_selected (terminals);
  terminal = tab_terminal (terminals);
  g_assert_true (wait_text (terminal, "Starting the sandbox for agent mode", SHORT_TIMEOUT_S));
  cloche_test_save_screenshot (GTK_WIDGET (window), "terminal-agent-mode-starting");
  g_assert_true (wait_text (terminal, "Opening a terminal in session", BOOT_TIMEOUT_S));
  g_assert_true (wait_text (terminal, "$ ", BOOT_TIMEOUT_S));
  g_assert_true (gtk_widget_has_focus (GTK_WIDGET (terminal)));
  type (terminal, "echo from-vte-$((6*7)); stty size\r");
  g_assert_true (wait_text (terminal, "from-vte-42", SHORT_TIMEOUT_S));
  /* The chosen folder is there, writable. */
  type (terminal, "cat mnt/project/readme.txt; echo by-the-agent > mnt/project/new.txt\r");
  g_assert_true (wait_text (terminal, "from-the-host", SHORT_TIMEOUT_S));
  CLOCHE_TEST_WAIT_FOR (g_file_test (written, G_FILE_TEST_EXISTS), SHORT_TIMEOUT_S);
  label = g_strdup_printf ("Terminal in session %s", cloche_terminal_view_get_session_id (view));
  gtk_test_accessible_assert_property (terminal, GTK_ACCESSIBLE_PROPERTY_LABEL, label);
  cloche_test_save_screenshot (GTK_WIDGET (window), "terminal-in-window");

  scale = vte_terminal_get_font_scale (terminal);
  gtk_widget_activate_action (GTK_WIDGET (terminal), "terminal.zoom-in", NULL);
  g_assert_cmpfloat (vte_terminal_get_font_scale (terminal), >, scale);
  gtk_widget_activate_action (GTK_WIDGET (terminal), "terminal.zoom-reset", NULL);
  g_assert_cmpfloat (vte_terminal_get_font_scale (terminal), ==, 1.0);

  /* The Overview keeps a way back to agent mode's terminal. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "overview");
  g_assert_true (gtk_widget_get_visible (cloche_test_ui_child (page, "terminal_button")));
  gtk_widget_grab_focus (cloche_test_ui_child (page, "terminal_button"));
  cloche_test_save_screenshot (GTK_WIDGET (window), "overview-agent-mode-terminal");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "terminals");

  /* A second terminal in the same session sees the first one's files. */
  type (terminal, "echo left-by-the-first > note\r");
  gtk_widget_activate_action (GTK_WIDGET (terminals), "terminals.new", NULL);
  second = tab_terminal (terminals);
  g_assert_true (second != terminal);
  g_assert_true (wait_text (second, "$ ", BOOT_TIMEOUT_S));
  type (second, "cat note; exit 4\r");
  g_assert_true (wait_text (second, "left-by-the-first", SHORT_TIMEOUT_S));
  g_assert_true (wait_text (second, "The terminal ended with status 4", SHORT_TIMEOUT_S));
  cloche_test_save_screenshot (GTK_WIDGET (window), "terminal-in-window-ended");

  /* The first tab, moved to a window of its own: the same VTE, still running. */
  adw_tab_view_set_selected_page (cloche_test_ui_child (terminals, "tab_view"),
                                  adw_tab_view_get_nth_page (cloche_test_ui_child (terminals,
                                                                                   "tab_view"), 0));
  gtk_widget_activate_action (GTK_WIDGET (terminals), "terminals.to-window", NULL);
  terminal_window = wait_terminal_window (NULL);
  g_assert_true (cloche_terminal_window_get_view (terminal_window) == view);
  type (terminal, "echo moved-$((6*7))\r");
  g_assert_true (wait_text (terminal, "moved-42", SHORT_TIMEOUT_S));
  g_assert_true (wait_text (terminal, "from-vte-42", SHORT_TIMEOUT_S));
  cloche_test_save_screenshot (GTK_WIDGET (terminal_window), "terminal-window");
  /* The header's zoom buttons reach the moved terminal. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (terminal_window), "terminal.zoom-in",
                                             NULL));
  g_assert_cmpfloat (vte_terminal_get_font_scale (terminal), >, 1.0);

  reopen_terminal (window, terminal_window);
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
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
      g_test_add_func ("/terminal-window/agent-mode-terminal", skip);
      return g_test_run ();
    }
  /* The accessible names are read back from GTK's test AT context. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  test_daemon = cloche_test_ui_start (&argc, &argv, (const char *[]) {
    "--bundle", bundle, "--idle-timeout", "60", NULL });
  g_test_add_func ("/terminal-window/agent-mode-terminal", test_terminal_window);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  return status;
}
