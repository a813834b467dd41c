/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * First run, against a real daemon on a private bus with no bundle: the
 * Overview's "Install Bundle…" leads to a page that says where bundles come
 * from and offers the default one, built here by the real tools/build-bundle
 * from Debian's packages (CLOCHE_BUILD_BUNDLE, CLOCHE_GUEST_HELPER). A
 * build can be cancelled and leaves nothing behind; a finished build goes
 * through the usual size-and-place dialog, is installed by the daemon, and
 * the built copy is gone afterwards.
 *
 * The app's cache folder is private to the test; its .deb cache is the
 * user's (a link), so that a machine that built a bundle once does not
 * download 30 MB again for each run. With CLOCHE_TEST_SCREENSHOT_DIR set,
 * each state is saved as a PNG.
 */
#include "config.h"

#include <unistd.h>

#include <adwaita.h>

#include "cloche-bundle-page.h"
#include "cloche-overview-page.h"
#include "cloche-window.h"

#include "cloche-test-ui.h"

static ClocheTestDaemon *test_daemon;
static char *location;
static char *tmp_dir;     /* the script's TMPDIR */

static gboolean
can_build (void)
{
  if (g_getenv ("CLOCHE_BUILD_BUNDLE") != NULL && g_getenv ("CLOCHE_GUEST_HELPER") != NULL)
    return TRUE;
  g_test_skip ("no guest helper in this build (CLOCHE_GUEST_HELPER unset)");
  return FALSE;
}

static char *
built_folder (void)
{
  return g_build_filename (g_get_user_cache_dir (), "cloche", "default-bundle", NULL);
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

static gboolean
state_is (GtkWidget  *page,
          const char *state)
{
  return g_strcmp0 (cloche_bundle_page_get_state (CLOCHE_BUNDLE_PAGE (page)), state) == 0;
}

/* The window on its Bundle page, reached as a new user does: the
 * Overview's one primary action. */
static GtkWidget *
open_bundle_page (ClocheWindow *window)
{
  ClocheOverviewPage *overview = cloche_test_ui_child (window, "overview_page");
  GtkStack *stack = cloche_test_ui_child (window, "stack");
  GtkWidget *install = cloche_test_ui_child (overview, "install_button");
  GtkWidget *page = gtk_stack_get_child_by_name (stack, "bundle");

  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 760);
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_mapped (install) && gtk_widget_is_sensitive (install), 20);
  gtk_widget_activate (install);
  CLOCHE_TEST_WAIT_FOR (gtk_stack_get_visible_child (stack) == page, 5);
  CLOCHE_TEST_WAIT_FOR (state_is (page, "missing"), 10);
  return page;
}

static void
test_offers_default (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  GtkWidget *page = open_bundle_page (window);
  AdwActionRow *build_row = cloche_test_ui_child (page, "build_row");
  AdwEntryRow *source_row = cloche_test_ui_child (page, "source_row");

  /* Where bundles come from, in words, before any field. */
  g_assert_nonnull (cloche_test_ui_find_label (page, "None is published for download"));
  g_assert_true (gtk_widget_is_drawable (GTK_WIDGET (build_row)));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (build_row), "Debian"));
  g_assert_true (gtk_widget_is_sensitive (cloche_test_ui_child (page, "build_button")));
  /* The entry says what it takes even when empty. */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (source_row)), ==, "");
  g_assert_nonnull (strstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (source_row)),
                            "manifest.json"));
  cloche_test_save_screenshot (GTK_WIDGET (window), "bundle-first-run");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_FORCE_DARK);
  cloche_test_save_screenshot (GTK_WIDGET (window), "bundle-first-run-dark");
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (), ADW_COLOR_SCHEME_DEFAULT);

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

static gboolean
folder_is_empty (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);

  g_assert_nonnull (dir);
  return g_dir_read_name (dir) == NULL;
}

static void
name_leftovers (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  g_test_message ("left behind: %s", path);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_test_message ("  %s", name);
}

/* Cancel stops the script and whatever it runs; no half-made bundle stays. */
static void
test_build_cancel (void)
{
  g_autofree char *built = built_folder ();
  g_autofree char *built_tmp = g_strconcat (built, ".tmp", NULL);
  ClocheWindow *window;
  GtkWidget *page;
  GtkLabel *progress, *message;

  if (!can_build ())
    return;
  window = g_object_ref (cloche_test_ui_new_window ());
  page = open_bundle_page (window);
  progress = cloche_test_ui_child (page, "progress_label");
  message = cloche_test_ui_child (page, "message_label");

  gtk_widget_activate (cloche_test_ui_child (page, "build_button"));
  CLOCHE_TEST_WAIT_FOR (state_is (page, "busy"), 5);
  g_assert_nonnull (cloche_test_ui_find_label (page, "Building the Default Bundle…"));
  /* The script's own lines show as it works; cancelled at its first, as a
   * build from cached packages takes a few seconds only. */
  CLOCHE_TEST_WAIT_FOR (gtk_label_get_label (progress)[0] != '\0', 60);
  g_test_message ("status: %s", gtk_label_get_label (progress));
  g_assert_true (gtk_widget_activate_action (page, "bundle.cancel", NULL));
  CLOCHE_TEST_WAIT_FOR (state_is (page, "missing") && gtk_label_get_label (message)[0] != '\0',
                        30);
  g_test_message ("%s", gtk_label_get_label (message));
  g_assert_nonnull (strstr (gtk_label_get_label (message), "Cancelled"));
  /* The page leaves "busy" only once the script has exited, its trap run.
   * (Seen failing twice under load on 2026-12-08, not reproduced alone:
   * what was left is named, so that the next failure says what made it.) */
  if (g_file_test (built_tmp, G_FILE_TEST_EXISTS))
    name_leftovers (built_tmp);
  g_assert_false (g_file_test (built_tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (built, G_FILE_TEST_EXISTS));
  if (!folder_is_empty (tmp_dir))
    name_leftovers (tmp_dir);
  g_assert_true (folder_is_empty (tmp_dir));
  cloche_test_save_screenshot (GTK_WIDGET (window), "bundle-build-cancelled");

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

static void
test_build_and_install (void)
{
  g_autofree char *built = built_folder ();
  ClocheWindow *window;
  AdwMessageDialog *dialog = NULL;
  GtkWidget *page;
  GtkLabel *progress;

  if (!can_build ())
    return;
  window = g_object_ref (cloche_test_ui_new_window ());
  page = open_bundle_page (window);
  progress = cloche_test_ui_child (page, "progress_label");
  gtk_widget_activate (cloche_test_ui_child (page, "build_button"));
  CLOCHE_TEST_WAIT_FOR (state_is (page, "busy"), 5);
  CLOCHE_TEST_WAIT_FOR (gtk_label_get_label (progress)[0] != '\0', 60);
  cloche_test_save_screenshot (GTK_WIDGET (window), "bundle-building");

  /* Built, then the same question as for any source: how large, and where. */
  CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ("Install the Sandbox Bundle?")) != NULL, 240);
  g_test_message ("%s", adw_message_dialog_get_body (dialog));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), location));
  g_assert_true (g_file_test (built, G_FILE_TEST_IS_DIR));
  cloche_test_save_screenshot (GTK_WIDGET (dialog), "bundle-build-install-dialog");
  adw_message_dialog_response (dialog, "install");
  CLOCHE_TEST_WAIT_FOR (state_is (page, "installed"), 120);
  g_assert_true (g_file_test (location, G_FILE_TEST_IS_DIR));
  /* Installed once: the built copy in the cache goes. */
  CLOCHE_TEST_WAIT_FOR (!g_file_test (built, G_FILE_TEST_EXISTS), 10);
  cloche_test_save_screenshot (GTK_WIDGET (window), "bundle-built-installed");

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

/* The user's .deb cache, linked into the test's private cache folder. */
static void
share_deb_cache (const char *scratch)
{
  const char *xdg = g_getenv ("XDG_CACHE_HOME");
  g_autofree char *user_cache = xdg != NULL && xdg[0] != '\0'
                                ? g_strdup (xdg) : g_build_filename (g_get_home_dir (), ".cache", NULL);
  g_autofree char *debs = g_build_filename (user_cache, "cloche", "debs", NULL);
  g_autofree char *cache = g_build_filename (scratch, "cache", NULL);
  g_autofree char *mine = g_build_filename (cache, "cloche", NULL);
  g_autofree char *link = g_build_filename (mine, "debs", NULL);

  g_assert_cmpint (g_mkdir_with_parents (debs, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (mine, 0700), ==, 0);
  g_assert_cmpint (symlink (debs, link), ==, 0);
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *scratch = g_dir_make_tmp ("cloche-bundle-first-run-XXXXXX", NULL);
  const char *argv_rm[] = { "rm", "-rf", scratch, NULL };
  int status;

  /* Before GLib reads it for g_get_user_cache_dir (). */
  share_deb_cache (scratch);
  tmp_dir = g_build_filename (scratch, "tmp", NULL);
  g_assert_cmpint (g_mkdir_with_parents (tmp_dir, 0700), ==, 0);
  g_setenv ("TMPDIR", tmp_dir, TRUE);
  location = g_build_filename (scratch, "bundle", NULL);
  test_daemon = cloche_test_ui_start (&argc, &argv,
                                      (const char *[]) { "--bundle", location, NULL });

  g_test_add_func ("/bundle-first-run/offers-default", test_offers_default);
  g_test_add_func ("/bundle-first-run/build-cancel", test_build_cancel);
  g_test_add_func ("/bundle-first-run/build-and-install", test_build_and_install);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  g_spawn_sync (NULL, (char **) argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  g_free (location);
  g_free (tmp_dir);
  return status;
}
