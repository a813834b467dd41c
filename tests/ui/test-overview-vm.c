/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Overview with a real VM (TCG here) behind a real daemon on a private
 * bus: sessions opened by another client (as clochectl or an agent front-
 * end would) appear with their client and folders, each folder's mode
 * written out, the read-write one said at the group's head; the VM tile
 * goes starting → running with Stop; a QEMU killed from outside is shown
 * as that (signal 9), the console tail once. With CLOCHE_TEST_SCREENSHOT_DIR
 * set, each state is saved in the light and dark styles.
 */
#include "config.h"

#include <adwaita.h>
#include <signal.h>

#include "cloche-open-session-row.h"
#include "cloche-overview-page.h"
#include "cloche-window.h"
#include "cloche-test-ui.h"

#define BOOT_TIMEOUT_S 180

static ClocheTestDaemon *test_daemon;

static const char *
label (ClocheOverviewPage *page,
       const char         *name)
{
  return gtk_label_get_label (cloche_test_ui_child (page, name));
}

static void
save_light_and_dark (ClocheWindow *window,
                     const char   *name)
{
  AdwStyleManager *style = adw_style_manager_get_default ();
  g_autofree char *dark = g_strconcat (name, "-dark", NULL);

  cloche_test_save_screenshot (GTK_WIDGET (window), name);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  cloche_test_save_screenshot (GTK_WIDGET (window), dark);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);
}

static char *
make_folder (const char *name)
{
  char *path = g_build_filename (test_daemon->home, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
  return path;
}

typedef struct
{
  char   *id;
  GError *error;
  gboolean done;
} Opened;

static void
on_opened (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Opened *opened = user_data;

  cloche_dbus_sessions_call_open_finish (CLOCHE_DBUS_SESSIONS (object), &opened->id, result,
                                         &opened->error);
  opened->done = TRUE;
}

/* Open as another client asks for it: its name, one folder. */
static void
open_session (Opened     *opened,
              const char *title,
              const char *client,
              const char *folder,
              gboolean    readonly)
{
  GVariantBuilder mounts, options;

  g_variant_builder_init (&mounts, G_VARIANT_TYPE ("a(sb)"));
  g_variant_builder_add (&mounts, "(sb)", folder, readonly);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "mounts", g_variant_builder_end (&mounts));
  g_variant_builder_add (&options, "{sv}", "client", g_variant_new_string (client));
  /* Only a session kept open records the client's own name. */
  g_variant_builder_add (&options, "{sv}", "keep-open", g_variant_new_boolean (TRUE));
  cloche_dbus_sessions_call_open (test_daemon->sessions, title, g_variant_builder_end (&options),
                                  NULL, on_opened, opened);
}

static guint
n_rows (ClocheOverviewPage *page)
{
  GtkListBox *list = cloche_test_ui_child (page, "open_list");
  guint n = 0;

  while (gtk_list_box_get_row_at_index (list, n) != NULL)
    n++;
  return n;
}

static ClocheOpenSessionRow *
session_row (ClocheOverviewPage *page,
             guint               index)
{
  return CLOCHE_OPEN_SESSION_ROW (gtk_list_box_get_row_at_index (cloche_test_ui_child (page, "open_list"),
                                                                index));
}

/* Two sessions from other clients, one folder each: the Overview lists
 * them in the order they opened, with client, folder and mode. */
static void
check_sessions (ClocheOverviewPage *page,
                const char         *rw_folder,
                const char         *ro_folder)
{
  ClocheOpenSessionRow *first, *second;

  CLOCHE_TEST_WAIT_FOR (n_rows (page) == 2, 10);
  first = session_row (page, 0);
  second = session_row (page, 1);
  g_test_message ("%s", adw_action_row_get_subtitle (ADW_ACTION_ROW (first)));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (first)), ==, "Fix the parser");
  g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (ADW_ACTION_ROW (first)), "claude · "));
  g_assert_true (cloche_open_session_row_get_writable (first));
  g_assert_nonnull (cloche_test_ui_find_label (GTK_WIDGET (first), "read-write"));
  g_assert_nonnull (cloche_test_ui_find_label (GTK_WIDGET (first), "/project"));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (second)), ==, "Read the docs");
  g_assert_false (cloche_open_session_row_get_writable (second));
  g_assert_nonnull (cloche_test_ui_find_label (GTK_WIDGET (second), "read-only"));
  g_assert_null (cloche_test_ui_find_label (GTK_WIDGET (second), "read-write"));
  g_assert_cmpstr (adw_preferences_group_get_description (cloche_test_ui_child (page, "sessions_group")),
                   ==, "One session can change files on this computer");
  g_assert_cmpstr (label (page, "sessions_label"), ==, "2");
}

static void
close_session (const char *id)
{
  g_autoptr(GError) error = NULL;

  cloche_dbus_sessions_call_close_sync (test_daemon->sessions, id, NULL, &error);
  g_assert_no_error (error);
}

static void
kill_qemu (void)
{
  GPid qemu = cloche_test_find_child (cloche_test_daemon_pid (test_daemon), "qemu-system");

  g_assert_cmpint (qemu, >, 0);
  g_assert_cmpint (kill (qemu, SIGKILL), ==, 0);
}

static void
test_running_and_crashed (void)
{
  g_autofree char *project = make_folder ("project");
  g_autofree char *docs = make_folder ("docs");
  Opened first = { 0 }, second = { 0 };
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");
  GtkLabel *crash = cloche_test_ui_child (page, "crash_reason_label");
  g_autoptr(ClocheMonitorHistory) history = NULL;

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 960);
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (g_str_equal (label (page, "state_label"), "Stopped"), 20);

  open_session (&first, "Fix the parser", "claude", project, FALSE);
  CLOCHE_TEST_WAIT_FOR (g_str_equal (label (page, "state_label"), "Starting…"), 20);
  g_assert_true (gtk_widget_is_sensitive (cloche_test_ui_child (page, "stop_button")));
  save_light_and_dark (window, "overview-starting");
  CLOCHE_TEST_WAIT_FOR (first.done, BOOT_TIMEOUT_S);
  g_assert_no_error (first.error);

  open_session (&second, "Read the docs", "clochectl", docs, TRUE);
  CLOCHE_TEST_WAIT_FOR (second.done, BOOT_TIMEOUT_S);
  g_assert_no_error (second.error);
  CLOCHE_TEST_WAIT_FOR (g_str_equal (label (page, "state_label"), "Running"), 10);
  check_sessions (page, project, docs);
  /* The first sample, then the guest's balloon figures. */
  CLOCHE_TEST_WAIT_FOR (g_str_has_suffix (label (page, "memory_label"), "B"), 30);
  CLOCHE_TEST_WAIT_FOR (strstr (label (page, "guest_label"), " of ") != NULL, 60);
  /* Twenty seconds of samples: the sparkline draws a line, not a dot. */
  g_object_get (window, "monitor-history", &history, NULL);
  CLOCHE_TEST_WAIT_FOR (cloche_monitor_history_get_n_samples (history) >= 20, 60);
  save_light_and_dark (window, "overview-running");
  /* Two sessions with folders, and still nothing below the fold at
   * 1200×960; at 1280×800 it scrolls. */
  g_assert_true (cloche_test_ui_shows_all (cloche_test_ui_child (page, "open_list")));
  cloche_test_ui_resize (window, 1280, 800);
  save_light_and_dark (window, "overview-running-1280x800");
  cloche_test_ui_resize (window, 1200, 960);

  /* Both closed: the VM keeps running for the idle timeout, and says so. */
  g_assert_cmpstr (adw_action_row_get_subtitle (cloche_test_ui_child (page, "state_row")), ==, "");
  close_session (first.id);
  close_session (second.id);
  CLOCHE_TEST_WAIT_FOR (g_str_has_prefix (adw_action_row_get_subtitle (cloche_test_ui_child (page, "state_row")),
                                          "Stops in "), 10);
  g_test_message ("%s", adw_action_row_get_subtitle (cloche_test_ui_child (page, "state_row")));
  g_assert_true (g_str_has_suffix (adw_action_row_get_subtitle (cloche_test_ui_child (page, "state_row")),
                                   " unless a session opens"));
  CLOCHE_TEST_WAIT_FOR (n_rows (page) == 0, 2);
  save_light_and_dark (window, "overview-idle");

  kill_qemu ();
  CLOCHE_TEST_WAIT_FOR (g_str_equal (label (page, "state_label"), "Crashed"), 30);
  g_test_message ("%s", gtk_label_get_label (crash));
  g_assert_nonnull (strstr (gtk_label_get_label (crash), "QEMU was killed by signal 9"));
  /* Killed from outside: the doctor says so and what fits (open agent
   * mode again), not a guest agent's failure; the console shows once. */
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_visible (cloche_test_ui_child (page, "finding_box")), 30);
  g_assert_cmpstr (label (page, "finding_code_label"), ==, "VmKilled");
  g_assert_cmpstr (label (page, "finding_title_label"), ==, "Likely cause: QEMU");
  g_assert_nonnull (strstr (label (page, "finding_fix_label"), "Open agent mode again"));
  g_assert_null (strstr (label (page, "finding_label"), "console"));
  g_assert_false (gtk_widget_get_visible (cloche_test_ui_child (page, "error_label")));
  /* Stopped from outside, the VM holds no memory: nothing to stop. */
  g_assert_false (gtk_widget_is_sensitive (cloche_test_ui_child (page, "stop_button")));
  save_light_and_dark (window, "overview-crashed");

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
  g_free (first.id);
  g_free (second.id);
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
  g_test_add_func ("/overview-vm/running-and-crashed", test_running_and_crashed);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  return status;
}
