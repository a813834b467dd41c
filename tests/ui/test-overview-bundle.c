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

#include "cloche-overview-page-private.h"
#include "cloche-window-private.h"

#include "../cloche-test-daemon.h"

static ClocheTestDaemon *test_daemon;
static char *location;

static gboolean
on_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
save_screenshot (GtkWidget  *window,
                 const char *name)
{
  const char *dir = g_getenv ("CLOCHE_TEST_SCREENSHOT_DIR");
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = NULL;
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = NULL;
  gboolean settled = FALSE;
  int width, height;

  if (dir == NULL)
    return;
  g_timeout_add (400, on_timeout, &settled);
  cloche_test_wait (&settled, 5);
  width = gtk_widget_get_width (window);
  height = gtk_widget_get_height (window);
  paintable = gtk_widget_paintable_new (window);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    return;
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  path = g_strdup_printf ("%s/%s.png", dir, name);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("Saved %s", path);
}

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
  return gtk_stack_get_visible_child_name (_cloche_window_get_stack (window));
}

static void
test_no_bundle_offers_install (void)
{
  ClocheWindow *window = g_object_ref (cloche_window_new (NULL));
  ClocheOverviewPage *page = _cloche_window_get_overview_page (window);
  GtkWidget *install = _cloche_overview_page_get_install_button (page);
  GtkWidget *open = _cloche_overview_page_get_open_button (page);

  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 760);
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (shows (page, install), 20);
  g_assert_false (gtk_widget_get_mapped (open));
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (install)), ==, "_Install Bundle…");
  save_screenshot (GTK_WIDGET (window), "overview-no-bundle");

  gtk_widget_activate (install);
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (visible_page (window), "bundle") == 0, 5);
  save_screenshot (GTK_WIDGET (window), "overview-install-leads-to-bundle-page");

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (window);
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

  window = g_object_ref (cloche_window_new (NULL));
  page = _cloche_window_get_overview_page (window);
  install = _cloche_overview_page_get_install_button (page);
  open = _cloche_overview_page_get_open_button (page);
  error_label = _cloche_overview_page_get_error_label (page);
  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 760);
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (shows (page, open), 20);

  /* Gone behind the daemon's back: it still says Installed, the open fails. */
  g_spawn_sync (NULL, (char **) argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  gtk_widget_activate (open);
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_visible (GTK_WIDGET (error_label)), 30);
  g_test_message ("%s", gtk_label_get_label (error_label));
  g_assert_nonnull (strstr (gtk_label_get_label (error_label), "The sandbox bundle is missing"));
  CLOCHE_TEST_WAIT_FOR (shows (page, install), 5);
  save_screenshot (GTK_WIDGET (window), "overview-open-found-no-bundle");

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (window);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *display = g_strdup (g_getenv ("DISPLAY"));
  g_autofree char *scratch = g_dir_make_tmp ("cloche-overview-bundle-XXXXXX", NULL);
  const char *argv_rm[] = { "rm", "-rf", scratch, NULL };
  int status;

  location = g_build_filename (scratch, "bundle", NULL);
  /* The private bus first; GTestDBus unsets DISPLAY, which GTK needs back. */
  test_daemon = cloche_test_daemon_start ((const char *[]) { "--bundle", location, NULL });
  if (display != NULL)
    g_setenv ("DISPLAY", display, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/overview-bundle/no-bundle-offers-install", test_no_bundle_offers_install);
  g_test_add_func ("/overview-bundle/open-without-bundle-says-missing",
                   test_open_without_bundle_says_missing);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  g_spawn_sync (NULL, (char **) argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  g_free (location);
  return status;
}
