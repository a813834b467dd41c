/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Overview with no sandbox bundle, against a real daemon on a private
 * bus: the primary action is "Install Bundle…" (not "Open agent mode"), and
 * it leads to the Bundle page. A bundle deleted by hand behind the daemon's
 * back: opening agent mode says the bundle is missing and offers the install.
 * With CLOCHE_TEST_SCREENSHOT_DIR set, each state is saved as a PNG.
 */
#include "config.h"

#include <adwaita.h>
#include <json-glib/json-glib.h>

#include "cloche-overview-page.h"
#include "cloche-window.h"

#include "cloche-test-ui.h"

static ClocheTestDaemon *test_daemon;
static char *location;

static GtkStack *
agent_stack (GtkWidget *button)
{
  return GTK_STACK (gtk_widget_get_parent (button));
}

/* The button the Overview shows as its one primary action. */
static gboolean
shows (ClocheOverviewPage *page,
       GtkWidget          *button)
{
  return gtk_stack_get_visible_child (agent_stack (button)) == button
         && gtk_widget_get_mapped (button) && gtk_widget_is_sensitive (button);
}

static const char *
visible_page (ClocheWindow *window)
{
  return gtk_stack_get_visible_child_name (cloche_test_ui_child (window, "stack"));
}

static void
test_no_bundle_offers_install (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");
  GtkWidget *install = cloche_test_ui_child (page, "install_button");
  GtkWidget *open = cloche_test_ui_child (page, "open_button");

  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 760);
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (shows (page, install), 20);
  g_assert_false (gtk_widget_get_mapped (open));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (install)), ==, "_Install Bundle…");
  /* The Disk tile says so too. */
  CLOCHE_TEST_WAIT_FOR (g_str_equal (gtk_label_get_label (cloche_test_ui_child (page, "bundle_label")),
                                     "Not installed"), 5);
  CLOCHE_TEST_WAIT_FOR (!gtk_stack_get_transition_running (cloche_test_ui_child (page, "stack")), 5);
  cloche_test_save_screenshot (GTK_WIDGET (window), "overview-no-bundle");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  cloche_test_save_screenshot (GTK_WIDGET (window), "overview-no-bundle-dark");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);

  gtk_widget_activate (install);
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (visible_page (window), "bundle") == 0, 5);
  cloche_test_save_screenshot (GTK_WIDGET (window), "overview-install-leads-to-bundle-page");

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

static void
test_open_without_bundle_says_missing (void)
{
  g_autofree char *source = cloche_test_bundle_dir ();
  g_autoptr(ClocheDbusBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv_rm[] = { "rm", "-rf", location, NULL };
  ClocheWindow *window;
  ClocheOverviewPage *page;
  GtkWidget *install, *open;
  GtkLabel *error_label;

  bundle = cloche_dbus_bundle_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (test_daemon->proxy)), G_DBUS_PROXY_FLAGS_NONE,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (bundle), 300 * 1000);
  cloche_dbus_bundle_call_install_sync (bundle, source, "", NULL, &error);
  g_assert_no_error (error);
  /* The install's news reaches the bus after its reply. The window's pages
   * share the app's proxies, whose cache would otherwise still say "no
   * bundle" when the window opens: the Bundle page would then ask the
   * daemon for Info, which could notice the removal below before the
   * click. */
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_bundle_get_installed (bundle), 20);

  window = g_object_ref (cloche_test_ui_new_window ());
  page = cloche_test_ui_child (window, "overview_page");
  install = cloche_test_ui_child (page, "install_button");
  open = cloche_test_ui_child (page, "open_button");
  error_label = cloche_test_ui_child (page, "error_label");
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 760);
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (shows (page, open), 20);

  /* Gone behind the daemon's back: it still says Installed, the open fails. */
  g_spawn_sync (NULL, (char **) argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  gtk_widget_activate (open);
  cloche_test_ui_answer_agent_mode_chooser ();
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_visible (GTK_WIDGET (error_label)), 30);
  g_test_message ("%s", gtk_label_get_label (error_label));
  g_assert_nonnull (strstr (gtk_label_get_label (error_label), "The sandbox bundle is missing"));
  CLOCHE_TEST_WAIT_FOR (shows (page, install), 5);
  cloche_test_save_screenshot (GTK_WIDGET (window), "overview-open-found-no-bundle");

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

/* clochectl status --json's "bundle_installed", as a user would ask. */
static gboolean
clochectl_says_installed (void)
{
  const char *argv[] = { g_getenv ("CLOCHE_CTL"), "status", "--json", NULL };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int status = 0;

  g_assert_nonnull (argv[0]);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  return json_object_get_boolean_member (json_node_get_object (json_parser_get_root (parser)),
                                         "bundle_installed");
}

static const char *
bundle_figure (ClocheOverviewPage *page)
{
  return gtk_label_get_label (cloche_test_ui_child (page, "bundle_label"));
}

/* Removed and installed again through the daemon (as clochectl bundle
 * remove and install do): the Overview follows within 2 s without a click,
 * and clochectl status says the same thing at each step. */
static void
test_remove_and_reinstall (void)
{
  g_autofree char *source = cloche_test_bundle_dir ();
  g_autoptr(ClocheDbusBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  ClocheWindow *window;
  ClocheOverviewPage *page;
  GtkWidget *install, *open;
  guint64 freed = 0;

  bundle = cloche_dbus_bundle_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (test_daemon->proxy)), G_DBUS_PROXY_FLAGS_NONE,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (bundle), 300 * 1000);
  cloche_dbus_bundle_call_install_sync (bundle, source, "", NULL, &error);
  g_assert_no_error (error);
  window = g_object_ref (cloche_test_ui_new_window ());
  page = cloche_test_ui_child (window, "overview_page");
  install = cloche_test_ui_child (page, "install_button");
  open = cloche_test_ui_child (page, "open_button");
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (shows (page, open), 20);
  g_assert_true (clochectl_says_installed ());

  cloche_dbus_bundle_call_remove_sync (bundle, TRUE, &freed, NULL, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (shows (page, install) && g_str_equal (bundle_figure (page), "Not installed"),
                        2);
  g_assert_false (clochectl_says_installed ());

  cloche_dbus_bundle_call_install_sync (bundle, source, "", NULL, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (shows (page, open) && !g_str_equal (bundle_figure (page), "Not installed"),
                        2);
  g_assert_true (clochectl_says_installed ());

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *scratch = g_dir_make_tmp ("cloche-overview-bundle-XXXXXX", NULL);
  const char *argv_rm[] = { "rm", "-rf", scratch, NULL };
  int status;

  location = g_build_filename (scratch, "bundle", NULL);
  test_daemon = cloche_test_ui_start (&argc, &argv,
                                      (const char *[]) { "--bundle", location, NULL });

  g_test_add_func ("/overview-bundle/no-bundle-offers-install", test_no_bundle_offers_install);
  g_test_add_func ("/overview-bundle/open-without-bundle-says-missing",
                   test_open_without_bundle_says_missing);
  g_test_add_func ("/overview-bundle/remove-and-reinstall", test_remove_and_reinstall);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  g_spawn_sync (NULL, (char **) argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  g_free (location);
  return status;
}
