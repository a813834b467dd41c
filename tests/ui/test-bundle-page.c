/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Bundle page against a real daemon on a private bus, with a bundle
 * installed in a scratch folder: it shows the bundle; "Remove Sandbox
 * Bundle" asks first, stating the exact size and that sessions stay; after
 * removal it offers to install again, says the size first, and installs.
 * The agents installed in the sandbox (the tools folder) show with their
 * size and are removed on their own, after a question.
 * The "bundle-location" setting is where the next install goes and where
 * the folder chooser opens, and an install or a move stores the folder.
 * With CLOCHE_TEST_SCREENSHOT_DIR set, each state is saved as a PNG.
 */
#include "config.h"

#include <adwaita.h>

#include "cloche-bundle-page.h"
#include "cloche-client.h"
#include "cloche-settings.h"

#include "cloche-test-ui.h"

static ClocheTestDaemon *test_daemon;
static char *location;

static GtkWidget *
find_button (GtkWidget  *widget,
             const char *label)
{
  if (GTK_IS_BUTTON (widget) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (widget)), label) == 0)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_button (child, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static AdwMessageDialog *
find_dialog (const char *heading)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (ADW_IS_MESSAGE_DIALOG (l->data) && gtk_widget_get_visible (l->data)
        && g_strcmp0 (adw_message_dialog_get_heading (l->data), heading) == 0)
      return l->data;
  return NULL;
}

static void
on_client (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  *(ClocheClient **) user_data = cloche_client_new_finish (result, NULL);
}

static ClocheDbusBundle *
bundle_proxy (void)
{
  g_autoptr(GError) error = NULL;
  ClocheDbusBundle *bundle = cloche_dbus_bundle_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (test_daemon->proxy)), G_DBUS_PROXY_FLAGS_NONE,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);

  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (bundle), 300 * 1000);
  return bundle;
}

static gboolean
state_is (GtkWidget  *page,
          const char *state)
{
  return g_strcmp0 (cloche_bundle_page_get_state (CLOCHE_BUNDLE_PAGE (page)), state) == 0;
}

/* Half a second of frames: the layout that follows a change is done. */
static void
settle (void)
{
  gint64 until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;

  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
}

static graphene_rect_t
bounds_in (GtkWidget *widget,
           GtkWidget *window)
{
  graphene_rect_t bounds;

  g_assert_true (gtk_widget_compute_bounds (widget, window, &bounds));
  return bounds;
}

/* Verify's result line appears, and no button moves from under the
 * pointer: Remove, the destructive one, stays where it was. */
static void
check_result_line_moves_nothing (GtkWidget *window,
                                 GtkWidget *page)
{
  GtkWidget *remove = find_button (page, "_Remove Sandbox Bundle");
  GtkRevealer *revealer = cloche_test_ui_child (page, "message_revealer");
  graphene_rect_t before, after;

  settle ();
  before = bounds_in (remove, window);
  g_assert_true (gtk_widget_activate_action (page, "bundle.verify", NULL));
  CLOCHE_TEST_WAIT_FOR (gtk_revealer_get_child_revealed (revealer), 60);
  settle ();
  cloche_test_save_screenshot (window, "bundle-verified");
  after = bounds_in (remove, window);
  g_assert_cmpfloat (before.origin.y, ==, after.origin.y);
  g_assert_cmpfloat (before.origin.x, ==, after.origin.x);
}

/* Files in the place of a warm-wake snapshot (no VM boots in this test):
 * the daemon shows and removes it by its files' sizes. Info() measures it. */
static guint64
put_snapshot (ClocheDbusBundle *bundle)
{
  g_autofree char *warm = g_build_filename (test_daemon->home, "cache", "cloche", "warm", NULL);
  g_autofree char *ram = g_build_filename (warm, "ram", NULL);
  g_autofree char *meta = g_build_filename (warm, "snapshot.ini", NULL);
  g_autofree char *pages = g_malloc (1024 * 1024);
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;

  memset (pages, 0x5a, 1024 * 1024);
  g_assert_cmpint (g_mkdir_with_parents (warm, 0700), ==, 0);
  g_assert_true (g_file_set_contents (ram, pages, 1024 * 1024, NULL));
  g_assert_true (g_file_set_contents (meta, "[snapshot]\n", -1, NULL));
  cloche_dbus_bundle_call_info_sync (bundle, &info, NULL, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_bundle_get_snapshot_size (bundle) >= 1024 * 1024, 10);
  return cloche_dbus_bundle_get_snapshot_size (bundle);
}

/* What the page says under its title after an operation. */
static const char *
message (GtkWidget *page)
{
  return gtk_label_get_label (cloche_test_ui_child (page, "message_label"));
}

/* What an agent install leaves in the tools folder (no VM boots in this
 * test: the daemon measures and removes it by its files), put there before
 * the daemon starts: it measures the folder then, after an install session
 * and after a removal, never for Info(). */
static void
put_tools (const char *home)
{
  g_autofree char *bin = g_build_filename (home, "data", "cloche", "tools", "bin", NULL);
  g_autofree char *program = g_build_filename (bin, "gemini", NULL);
  g_autofree char *bytes = g_malloc0 (512 * 1024);

  g_assert_cmpint (g_mkdir_with_parents (bin, 0755), ==, 0);
  g_assert_true (g_file_set_contents (program, bytes, 512 * 1024, NULL));
}

/* The agents installed show beside the bundle, and are removed on their
 * own, after a question that says how much and what. */
static void
check_tools (GtkWidget        *window,
             GtkWidget        *page,
             ClocheDbusBundle *bundle)
{
  AdwActionRow *tools_row = cloche_test_ui_child (page, "tools_row");
  g_autofree char *size_text = NULL, *said = NULL;
  AdwMessageDialog *dialog = NULL;
  guint64 tools;

  CLOCHE_TEST_WAIT_FOR (cloche_dbus_bundle_get_tools_size (bundle) >= 512 * 1024, 10);
  tools = cloche_dbus_bundle_get_tools_size (bundle);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (tools_row)));
  size_text = g_format_size (tools);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (tools_row), size_text));
  settle ();
  cloche_test_save_screenshot (window, "bundle-installed-agents");
  gtk_widget_activate (find_button (GTK_WIDGET (tools_row), "_Remove…"));
  CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ("Remove the Installed Agents?")) != NULL, 10);
  g_test_message ("%s", adw_message_dialog_get_body (dialog));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), size_text));
  cloche_test_save_screenshot (GTK_WIDGET (dialog), "bundle-remove-agents-dialog");
  adw_message_dialog_response (dialog, "remove");
  CLOCHE_TEST_WAIT_FOR (!gtk_widget_get_visible (GTK_WIDGET (tools_row)), 10);
  g_assert_cmpuint (cloche_dbus_bundle_get_tools_size (bundle), ==, 0);
  said = g_strdup_printf ("The agents installed in the sandbox were removed and %s "
                          "(%" G_GUINT64_FORMAT " bytes) were freed.", size_text, tools);
  CLOCHE_TEST_WAIT_FOR (g_str_equal (message (page), said), 10);
}

static void
test_remove_and_install (void)
{
  g_autofree char *source = cloche_test_bundle_dir ();
  g_autoptr(ClocheDbusBundle) bundle = bundle_proxy ();
  g_autoptr(ClocheClient) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *size_text = NULL, *exact = NULL;
  AdwMessageDialog *dialog = NULL;
  GtkWidget *window, *page;
  AdwActionRow *snapshot_row;
  guint64 snapshot;

  cloche_dbus_bundle_call_install_sync (bundle, source, "", NULL, &error);
  g_assert_no_error (error);
  cloche_client_new_async (NULL, on_client, &client);
  CLOCHE_TEST_WAIT_FOR (client != NULL, 10);

  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 760, 600);
  page = g_object_new (CLOCHE_TYPE_BUNDLE_PAGE, "client", client, NULL);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (state_is (page, "installed"), 10);
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_bundle_get_size (bundle) > 0, 10);
  cloche_test_save_screenshot (window, "bundle-installed");
  check_result_line_moves_nothing (window, page);

  /* The saved VM shows beside the bundle, and counts in what is freed. */
  snapshot_row = cloche_test_ui_child (page, "snapshot_row");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (snapshot_row)));
  snapshot = put_snapshot (bundle);
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_visible (GTK_WIDGET (snapshot_row)), 10);
  size_text = g_format_size (snapshot);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (snapshot_row), size_text));
  g_clear_pointer (&size_text, g_free);
  settle ();
  cloche_test_save_screenshot (window, "bundle-saved-vm");
  check_tools (window, page, bundle);

  /* The dialog states exactly what is freed, and that sessions stay. */
  gtk_widget_activate (find_button (page, "_Remove Sandbox Bundle"));
  CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ("Remove the Sandbox Bundle?")) != NULL, 10);
  size_text = g_format_size (cloche_dbus_bundle_get_size (bundle) + snapshot);
  exact = g_strdup_printf ("%" G_GUINT64_FORMAT " bytes",
                           cloche_dbus_bundle_get_size (bundle) + snapshot);
  g_test_message ("%s", adw_message_dialog_get_body (dialog));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), size_text));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), exact));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "Sessions and their files stay"));
  cloche_test_save_screenshot (GTK_WIDGET (dialog), "bundle-remove-dialog");
  adw_message_dialog_response (dialog, "remove");

  CLOCHE_TEST_WAIT_FOR (state_is (page, "missing"), 30);
  g_assert_false (g_file_test (location, G_FILE_TEST_EXISTS));
  CLOCHE_TEST_WAIT_FOR (g_str_has_suffix (message (page), " were freed. Sessions and their "
                                          "files were kept."), 10);
  g_assert_true (g_str_has_prefix (message (page), "The sandbox bundle was removed and "));
  g_assert_cmpuint (cloche_dbus_bundle_get_snapshot_size (bundle), ==, 0);
  g_assert_nonnull (find_button (page, "_Install…"));
  cloche_test_save_screenshot (window, "bundle-missing");

  /* Install again: the size first, then the bundle. */
  gtk_widget_activate (find_button (page, "_Install…"));
  CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ("Install the Sandbox Bundle?")) != NULL, 10);
  g_test_message ("%s", adw_message_dialog_get_body (dialog));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), location));
  cloche_test_save_screenshot (GTK_WIDGET (dialog), "bundle-install-dialog");
  adw_message_dialog_response (dialog, "install");
  CLOCHE_TEST_WAIT_FOR (state_is (page, "busy") || state_is (page, "installed"), 30);
  if (state_is (page, "busy"))
    cloche_test_save_screenshot (window, "bundle-installing");
  CLOCHE_TEST_WAIT_FOR (state_is (page, "installed"), 60);
  g_assert_true (g_file_test (location, G_FILE_TEST_IS_DIR));
  cloche_test_save_screenshot (window, "bundle-reinstalled");

  gtk_window_destroy (GTK_WINDOW (window));
}

/* The bundle source entry: the page's only AdwEntryRow. */
static GtkWidget *
find_source_row (GtkWidget *widget)
{
  if (ADW_IS_ENTRY_ROW (widget))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_source_row (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static GtkFileChooser *
find_chooser (void)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  /* GtkFileChooserNative falls back to this dialog when no portal answers. */
  for (GList *l = toplevels; l != NULL; l = l->next)
    if (GTK_IS_FILE_CHOOSER_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      return l->data;
  return NULL;
}

static gboolean
chosen_is (GtkFileChooser *chooser,
           GFile          *expected)
{
  g_autoptr(GFile) file = gtk_file_chooser_get_file (chooser);

  return file != NULL && g_file_equal (file, expected);
}

static gboolean
setting_is (GSettings  *settings,
            const char *expected)
{
  g_autofree char *value = g_settings_get_string (settings, "bundle-location");

  return g_strcmp0 (value, expected) == 0;
}

static void
test_location_setting (void)
{
  g_autofree char *scratch = g_path_get_dirname (location);
  g_autofree char *remembered_parent = g_build_filename (scratch, "remembered", NULL);
  g_autofree char *remembered = g_build_filename (remembered_parent, "cloche-bundle", NULL);
  g_autofree char *moved = g_build_filename (scratch, "moved", NULL);
  g_autofree char *source = cloche_test_bundle_dir ();
  g_autoptr(ClocheDbusBundle) bundle = bundle_proxy ();
  g_autoptr(GSettings) settings = cloche_settings_new ();
  g_autoptr(ClocheClient) client = NULL;
  g_autoptr(GFile) start = NULL, moved_file = g_file_new_for_path (moved);
  g_autoptr(GError) error = NULL;
  AdwMessageDialog *dialog = NULL;
  GtkFileChooser *chooser = NULL;
  GtkWidget *window, *page;

  g_assert_nonnull (settings);
  g_assert_cmpint (g_mkdir_with_parents (remembered_parent, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (moved, 0700), ==, 0);
  /* No bundle, and a folder remembered from an earlier install. */
  if (cloche_dbus_bundle_get_installed (bundle))
    {
      cloche_dbus_bundle_call_remove_sync (bundle, FALSE, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  g_settings_set_string (settings, "bundle-location", remembered);

  cloche_client_new_async (NULL, on_client, &client);
  CLOCHE_TEST_WAIT_FOR (client != NULL, 10);
  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 760, 600);
  page = g_object_new (CLOCHE_TYPE_BUNDLE_PAGE, "client", client, NULL);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (state_is (page, "missing"), 10);

  /* Install goes where the setting says, and says so first. */
  gtk_editable_set_text (GTK_EDITABLE (find_source_row (page)), source);
  gtk_widget_activate (find_button (page, "_Install…"));
  CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ("Install the Sandbox Bundle?")) != NULL, 10);
  g_test_message ("%s", adw_message_dialog_get_body (dialog));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), remembered));
  adw_message_dialog_response (dialog, "install");
  CLOCHE_TEST_WAIT_FOR (state_is (page, "installed"), 60);
  g_assert_cmpstr (cloche_dbus_bundle_get_location (bundle), ==, remembered);
  g_assert_true (g_file_test (remembered, G_FILE_TEST_IS_DIR));

  /* Move: the chooser opens beside the remembered folder; the new one is kept. */
  gtk_widget_activate_action (page, "bundle.relocate", NULL);
  CLOCHE_TEST_WAIT_FOR ((chooser = find_chooser ()) != NULL, 10);
  /* The dialog takes the folder over once it has shown. */
  CLOCHE_TEST_WAIT_FOR ((start = gtk_file_chooser_get_current_folder (chooser)) != NULL, 10);
  g_assert_cmpstr (g_file_peek_path (start), ==, remembered_parent);
  gtk_file_chooser_set_current_folder (chooser, moved_file, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (chosen_is (chooser, moved_file), 10);
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  CLOCHE_TEST_WAIT_FOR (setting_is (settings, moved), 60);
  CLOCHE_TEST_WAIT_FOR (state_is (page, "installed"), 60);
  g_assert_true (g_file_test (moved, G_FILE_TEST_IS_DIR));
  g_assert_false (g_file_test (remembered, G_FILE_TEST_EXISTS));

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *scratch = g_dir_make_tmp ("cloche-bundle-page-XXXXXX", NULL);
  const char *argv_rm[] = { "rm", "-rf", scratch, NULL };
  int status;

  location = g_build_filename (scratch, "bundle", NULL);
  test_daemon = cloche_test_ui_start_full (&argc, &argv, (const char *[]) {
    "--bundle", location, NULL }, put_tools);

  g_test_add_func ("/bundle-page/remove-and-install", test_remove_and_install);
  g_test_add_func ("/bundle-page/location-setting", test_location_setting);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  g_spawn_sync (NULL, (char **) argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  g_free (location);
  return status;
}
