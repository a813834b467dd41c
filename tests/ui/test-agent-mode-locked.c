/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent mode while the administrator locks egress.allow, against a real
 * daemon (no VM: the lock is checked before anything boots): the
 * Overview's chooser, fed the Policy service's Locked, shows an agent
 * whose session would add hosts as a row that says why and cannot be
 * picked (a shell still can); opening agent mode with an agent's hosts
 * anyway (the lock came after the chooser showed) is refused with an
 * error that names the lock, its file and the hosts.
 */
#include "config.h"

#include "cloche-agent-mode.h"
#include "cloche-application.h"
#include "cloche-overview-page.h"
#include "cloche-test-ui.h"

#define SHORT_TIMEOUT_S 60

static char *admin_path;

static AdwPreferencesRow *
run_row (GtkWindow  *chooser,
         const char *title)
{
  GtkListBox *list = cloche_test_ui_child (chooser, "run_list");
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), title) == 0)
      return ADW_PREFERENCES_ROW (row);
  return NULL;
}

static void
test_locked (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");
  GtkWidget *open_button = cloche_test_ui_child (page, "open_button");
  ClocheClient *client;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  AdwPreferencesRow *row;
  GtkWindow *chooser;

  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_sensitive (open_button)
                        && gtk_widget_get_mapped (open_button), SHORT_TIMEOUT_S);
  gtk_widget_activate_action (GTK_WIDGET (page), "overview.open-agent-mode", NULL);
  chooser = cloche_test_ui_wait_agent_mode_chooser ();
  g_assert_nonnull ((row = run_row (chooser, "claude")));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (row)));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                            "the administrator locks egress"));
  g_assert_nonnull ((row = run_row (chooser, "Shell")));
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (row)));
  gtk_window_close (chooser);
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_sensitive (open_button), SHORT_TIMEOUT_S);

  client = cloche_application_get_client (CLOCHE_APPLICATION (
    gtk_window_get_application (GTK_WINDOW (window))));
  cloche_agent_mode_open_folders_async (client, g_variant_new ("a(sb)", NULL),
                                        (const char *[]) { "api.anthropic.com:443", NULL },
                                        NULL, cloche_test_store_result, &result);
  CLOCHE_TEST_WAIT_FOR (result != NULL, SHORT_TIMEOUT_S);
  id = cloche_agent_mode_open_finish (client, result, &error);
  g_assert_null (id);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_LOCKED);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, admin_path));
  g_assert_nonnull (strstr (error->message, "api.anthropic.com:443"));
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

static void
skip (void)
{
  g_test_skip ("No VM bundle: set CLOCHE_TEST_BUNDLE (nothing boots, but agent mode needs one)");
}

int
main (int   argc,
      char *argv[])
{
  const char *bundle = g_getenv ("CLOCHE_TEST_BUNDLE");
  g_autofree char *admin_dir = NULL;
  ClocheTestDaemon *test_daemon;
  int status;

  if (bundle == NULL || bundle[0] == '\0')
    {
      g_test_init (&argc, &argv, NULL);
      g_test_add_func ("/agent-mode-locked/chooser-and-open", skip);
      return g_test_run ();
    }
  admin_dir = g_dir_make_tmp ("cloche-admin-XXXXXX", NULL);
  admin_path = g_build_filename (admin_dir, "policy.json", NULL);
  g_assert_true (g_file_set_contents (admin_path,
                                      "{\"version\": 1, \"locked\": [\"egress.allow\"]}", -1,
                                      NULL));
  g_setenv ("CLOCHE_ADMIN_POLICY", admin_path, TRUE);
  test_daemon = cloche_test_ui_start (&argc, &argv, (const char *[]) {
    "--bundle", bundle, NULL });
  g_test_add_func ("/agent-mode-locked/chooser-and-open", test_locked);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  g_unlink (admin_path);
  g_rmdir (admin_dir);
  g_free (admin_path);
  return status;
}
