/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Egress page's "Added by Sessions" (issue 17), against a real daemon
 * on a private bus and a real VM: hidden while no session adds hosts; a
 * session opened with "egress-allow" (as clochectl agent opens one) shows
 * a row naming it and its hosts; closing it takes the row away. With
 * CLOCHE_TEST_SCREENSHOT_DIR set it saves egress-session-allow.png.
 */
#include "config.h"

#include <adwaita.h>

#include "cloche-egress-page.h"
#include "cloche-window.h"
#include "cloche-test-ui.h"

static ClocheTestDaemon *test_daemon;

static GtkListBoxRow *
first_row (ClocheEgressPage *page)
{
  return gtk_list_box_get_row_at_index (cloche_test_ui_child (page, "session_allow_list"), 0);
}

static void
test_session_allow (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  ClocheEgressPage *page = cloche_test_ui_child (window, "egress_page");
  GtkWidget *group = cloche_test_ui_child (page, "session_allow_group");
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL, *title = NULL;
  GtkListBoxRow *row;

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 720);
  gtk_window_present (GTK_WINDOW (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "egress");
  CLOCHE_TEST_WAIT_FOR (cloche_egress_log_get_available (cloche_egress_page_get_log (page)), 10);
  g_assert_false (gtk_widget_get_visible (group));

  cloche_dbus_sessions_call_open_sync (test_daemon->sessions, "agent",
                                       g_variant_new_parsed ("{'egress-allow': <['api.example.com:443', "
                                                             "'*.example.org']>}"),
                                       &id, NULL, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_visible (group) && first_row (page) != NULL, 10);
  row = first_row (page);
  title = g_strdup_printf ("Session %s", id);
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, title);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                   "api.example.com:443, *.example.org");
  cloche_test_save_screenshot (GTK_WIDGET (window), "egress-session-allow");

  cloche_dbus_sessions_call_close_sync (test_daemon->sessions, id, NULL, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (!gtk_widget_get_visible (group), 10);
  g_assert_null (first_row (page));

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  int status;

  test_daemon = cloche_test_ui_start (&argc, &argv,
                                      (const char *[]) { "--bundle", bundle,
                                                         "--idle-timeout", "60", NULL });
  g_test_add_func ("/egress-page-session/session-allow", test_session_allow);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  return status;
}
