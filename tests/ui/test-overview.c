/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Overview as the sandbox dashboard, against a real daemon on a
 * private bus (no VM: nothing here boots one): stale sessions made on
 * disk, a refusal of the egress proxy (a request on its socket, as QEMU's
 * relay sends it), the bundle. Each tile shows its figures and leads to
 * its page, by activation as the keyboard does it, and Tab reaches every
 * tile's rows. With CLOCHE_TEST_SCREENSHOT_DIR set, the stopped Overview
 * is saved in the light and dark styles.
 */
#include "config.h"

#include <adwaita.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cloche-overview-page.h"
#include "cloche-session-summary.h"
#include "cloche-sessions-page.h"
#include "cloche-window.h"
#include "cloche-test-ui.h"

static ClocheTestDaemon *test_daemon;

static char *
sessions_dir (void)
{
  return g_build_filename (test_daemon->home, "state", "cloche", "sessions", NULL);
}

/* A closed session last used long ago: stale unless pinned. */
static void
make_old_session (const char *id,
                  gboolean    pinned)
{
  g_autofree char *root = sessions_dir ();
  g_autofree char *work = g_build_filename (root, id, "work", NULL);
  g_autofree char *json_path = g_build_filename (root, id, "session.json", NULL);
  g_autofree char *blob_path = g_build_filename (work, "data.bin", NULL);
  g_autofree char *blob = g_strnfill (200000, 'x');
  g_autofree char *json = g_strdup_printf (
    "{\"version\": 1, \"id\": \"%s\", \"title\": \"Old work\", \"client\": \"test\", "
    "\"created\": \"2026-01-01T00:00:00Z\", \"last_active\": \"2026-01-01T00:00:00Z\", "
    "\"state\": \"closed\", \"pinned\": %s, \"mounts\": []}", id, pinned ? "true" : "false");

  g_assert_cmpint (g_mkdir_with_parents (work, 0700), ==, 0);
  g_assert_true (g_file_set_contents (json_path, json, -1, NULL));
  g_assert_true (g_file_set_contents (blob_path, blob, -1, NULL));
}

/* A CONNECT on the proxy's socket with no session line, as the relay
 * sends it; the default rule refuses it. */
static void
request_denied (const char *host_port)
{
  g_autoptr(ClocheDbusEgress) egress = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("CONNECT %s HTTP/1.1\r\n\r\n", host_port);
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  char buffer[4096];
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  egress = cloche_dbus_egress_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (test_daemon->proxy)), G_DBUS_PROXY_FLAGS_NONE,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_strlcpy (address.sun_path, cloche_dbus_egress_get_socket_path (egress),
             sizeof address.sun_path);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &address, sizeof address), ==, 0);
  g_assert_cmpint (send (fd, text, strlen (text), MSG_NOSIGNAL), ==, (gssize) strlen (text));
  shutdown (fd, SHUT_WR);
  while (recv (fd, buffer, sizeof buffer, 0) > 0)
    ;
  close (fd);
}

static const char *
label (ClocheOverviewPage *page,
       const char         *name)
{
  return gtk_label_get_label (cloche_test_ui_child (page, name));
}

static const char *
subtitle (ClocheOverviewPage *page,
          const char         *name)
{
  return adw_action_row_get_subtitle (cloche_test_ui_child (page, name));
}

static const char *
visible_page (ClocheWindow *window)
{
  return gtk_stack_get_visible_child_name (cloche_test_ui_child (window, "stack"));
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

static ClocheWindow *
open_window (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());

  gtk_window_set_default_size (GTK_WINDOW (window), 1200, 960);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

/* The tiles' figures, from the daemon: stale sessions (the pinned one is
 * not), the refusal with its host, the default rule, the bundle; no
 * session open, so no Stop. */
static void
test_tiles (void)
{
  ClocheWindow *window;
  ClocheOverviewPage *page;

  make_old_session ("20260101-000000-stale1", FALSE);
  make_old_session ("20260101-000000-stale2", FALSE);
  make_old_session ("20260101-000000-pinned", TRUE);
  window = open_window ();
  page = cloche_test_ui_child (window, "overview_page");

  CLOCHE_TEST_WAIT_FOR (g_str_has_prefix (subtitle (page, "stale_row"), "2 sessions, "), 20);
  g_assert_true (gtk_widget_is_sensitive (cloche_test_ui_child (page, "cleanup_button")));
  CLOCHE_TEST_WAIT_FOR (g_str_equal (label (page, "default_rule_label"), "Deny"), 20);
  g_assert_cmpstr (label (page, "denied_label"), ==, "0");

  request_denied ("blocked.example:443");
  CLOCHE_TEST_WAIT_FOR (g_str_equal (label (page, "denied_label"), "1"), 20);
  g_assert_cmpstr (subtitle (page, "denied_row"), ==, "Latest: blocked.example:443");

  g_assert_cmpstr (label (page, "sessions_label"), ==, "0");
  g_assert_null (gtk_list_box_get_row_at_index (cloche_test_ui_child (page, "open_list"), 0));
  g_assert_cmpstr (label (page, "state_label"), ==, "Stopped");
  g_assert_false (gtk_widget_is_sensitive (cloche_test_ui_child (page, "stop_button")));
  CLOCHE_TEST_WAIT_FOR (!g_str_equal (label (page, "bundle_label"), ""), 20);
  g_assert_cmpstr (label (page, "bundle_label"), !=, "Not installed");
  g_assert_cmpstr (label (page, "memory_label"), ==, "Not running");
  save_light_and_dark (window, "overview-stopped");
  /* At 1200×960 nothing is below the fold; at 1280×800 it scrolls. */
  g_assert_true (cloche_test_ui_shows_all (cloche_test_ui_child (page, "open_list")));
  cloche_test_ui_resize (window, 1280, 800);
  save_light_and_dark (window, "overview-stopped-1280x800");

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

/* A widget of the page: a template child, the row a figure (NAME_label)
 * sits in, or (NAME+) the row after NAME. */
static GtkWidget *
row (ClocheOverviewPage *page,
     const char         *name)
{
  g_autofree char *id = g_strdup (name);
  gboolean next = g_str_has_suffix (id, "+");
  GtkWidget *widget;

  if (next)
    id[strlen (id) - 1] = '\0';
  widget = cloche_test_ui_child (page, id);
  if (g_str_has_suffix (id, "_label"))
    widget = gtk_widget_get_ancestor (widget, GTK_TYPE_LIST_BOX_ROW);
  return next ? gtk_widget_get_next_sibling (widget) : widget;
}

/* Each tile's row with a chevron is activatable and shows its page, as
 * Enter or Space on the focused row does. */
static void
test_tiles_lead_to_pages (void)
{
  static const struct { const char *row; const char *page; } links[] = {
    { "state_row", "monitor" },
    { "memory_label", "monitor" },
    { "guest_label", "monitor" },
    { "bundle_label", "bundle" },
    { "sessions_disk_label", "sessions" },
    { "denied_row+", "egress" },     /* the decision log */
    { "stale_row", "sessions" },
  };
  ClocheWindow *window = open_window ();
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");

  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_mapped (cloche_test_ui_child (page, "state_row")), 20);
  for (guint i = 0; i < G_N_ELEMENTS (links); i++)
    {
      GtkWidget *link = row (page, links[i].row);

      g_test_message ("%s → %s", links[i].row, links[i].page);
      g_assert_true (gtk_list_box_row_get_activatable (GTK_LIST_BOX_ROW (link)));
      g_assert_true (gtk_widget_activate (link));
      CLOCHE_TEST_WAIT_FOR (g_strcmp0 (visible_page (window), links[i].page) == 0, 5);
      gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "overview");
      CLOCHE_TEST_WAIT_FOR (gtk_widget_get_mapped (link), 5);
    }

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

static gboolean
reached (GPtrArray *focused,
         GtkWidget *widget)
{
  for (guint i = 0; i < focused->len; i++)
    if (gtk_widget_is_ancestor (g_ptr_array_index (focused, i), widget)
        || g_ptr_array_index (focused, i) == widget)
      return TRUE;
  return FALSE;
}

/* Tab goes through every tile: the grid of tiles traps nothing. */
static void
test_keyboard_reaches_tiles (void)
{
  static const char * const rows[] = {
    "state_row", "memory_label", "bundle_label", "denied_row+", "stale_row", "cleanup_button",
  };
  ClocheWindow *window = open_window ();
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");
  g_autoptr(GPtrArray) focused = g_ptr_array_new ();

  /* The stale sessions of /overview/tiles make Clean Up… sensitive. */
  CLOCHE_TEST_WAIT_FOR (gtk_widget_is_sensitive (cloche_test_ui_child (page, "cleanup_button")), 20);
  /* From the primary action on: Tab in the sidebar would show each page
   * as it passes its row (window-sidebar-keys). */
  gtk_widget_grab_focus (cloche_test_ui_child (page, "open_button"));
  for (guint i = 0; i < 60; i++)
    {
      gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD);
      g_ptr_array_add (focused, gtk_root_get_focus (GTK_ROOT (window)));
    }
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("Tab reaches %s", rows[i]);
      g_assert_true (reached (focused, row (page, rows[i])));
    }

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

static void
set_pinned (const char *id,
            gboolean    pinned)
{
  g_autoptr(GError) error = NULL;

  /* What clochectl session pin sends. */
  cloche_dbus_sessions_call_set_pinned_sync (test_daemon->sessions, id, pinned, NULL, &error);
  g_assert_no_error (error);
}

/* Waits up to @timeout_s for @condition, saying how long it took. */
static gboolean
within (gboolean    (*condition) (ClocheWindow *),
        ClocheWindow *window,
        int           timeout_s)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + timeout_s * G_USEC_PER_SEC;

  while (!condition (window) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_test_message ("followed in %.2f s", (g_get_monotonic_time () - start) / 1e6);
  return condition (window);
}

static gboolean
none_stale (ClocheWindow *window)
{
  ClocheOverviewPage *overview = cloche_test_ui_child (window, "overview_page");
  GtkWidget *sessions = cloche_test_ui_child (window, "sessions_page");

  return g_str_equal (subtitle (overview, "stale_row"), "None")
         && !gtk_widget_is_sensitive (cloche_test_ui_child (sessions, "cleanup_button"));
}

static gboolean
one_stale (ClocheWindow *window)
{
  ClocheOverviewPage *overview = cloche_test_ui_child (window, "overview_page");
  GtkWidget *sessions = cloche_test_ui_child (window, "sessions_page");

  return g_str_has_prefix (subtitle (overview, "stale_row"), "1 session, ")
         && gtk_widget_is_sensitive (cloche_test_ui_child (sessions, "cleanup_button"));
}

/* Pinned and unpinned by another client: the Overview and the Sessions
 * page follow within 2 s, without a click (io.github.cloche.Sessions.Changed;
 * the minute's timer alone would be far too late). Timed from a window
 * already drawn: unpinning used to take 2.8 to 4.9 s under a load of 18
 * (pinning 0.3 s) because it came while the new window drew its first frame
 * (seconds in software rendering), not because of the daemon (which answers
 * in a millisecond) nor of the unpin. */
static void
test_follows_other_clients (void)
{
  ClocheWindow *window = open_window ();
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");

  CLOCHE_TEST_WAIT_FOR (g_str_has_prefix (subtitle (page, "stale_row"), "2 sessions, "), 20);
  cloche_test_ui_wait_drawn (GTK_WIDGET (window));
  set_pinned ("20260101-000000-stale1", TRUE);
  set_pinned ("20260101-000000-stale2", TRUE);
  g_assert_true (within (none_stale, window, 2));
  /* Unpinned, the session is stale again. */
  set_pinned ("20260101-000000-stale2", FALSE);
  g_assert_true (within (one_stale, window, 2));

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

static gboolean
set_true (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
has_results (GtkWidget *diagnostics)
{
  return gtk_list_box_get_row_at_index (cloche_test_ui_child (diagnostics, "list_box"), 0) != NULL;
}

/* A window that opens on the Overview runs no doctor (a KVM probe in the
 * daemon, rows laid out in a hidden page, a few seconds after the window
 * opened); Diagnostics runs it when first shown. */
static void
test_diagnostics_run_when_shown (void)
{
  ClocheWindow *window = open_window ();
  GtkWidget *diagnostics = cloche_test_ui_child (window, "diagnostics_page");
  gboolean waited = FALSE;

  cloche_test_ui_wait_drawn (GTK_WIDGET (window));
  g_timeout_add_seconds (3, set_true, &waited);
  CLOCHE_TEST_WAIT_FOR (waited, 5);
  g_assert_false (has_results (diagnostics));
  g_assert_cmpstr (gtk_label_get_label (cloche_test_ui_child (diagnostics, "summary_label")), ==,
                   "Not checked yet");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "diagnostics");
  CLOCHE_TEST_WAIT_FOR (has_results (diagnostics), 60);

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

/* A closed session that turns stale @seconds from now: last used the
 * daemon's StaleAfterDays ago, less @seconds. */
static gint64
make_session_stale_in (const char *id,
                       int         seconds)
{
  guint days = cloche_dbus_sessions_get_stale_after_days (test_daemon->sessions);
  gint64 last = g_get_real_time () / G_USEC_PER_SEC - (gint64) days * 86400 + seconds;
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (last);
  g_autofree char *iso = g_date_time_format_iso8601 (time);
  g_autofree char *root = sessions_dir ();
  g_autofree char *work = g_build_filename (root, id, "work", NULL);
  g_autofree char *json_path = g_build_filename (root, id, "session.json", NULL);
  g_autofree char *json = g_strdup_printf (
    "{\"version\": 1, \"id\": \"%s\", \"title\": \"Soon stale\", \"client\": \"test\", "
    "\"created\": \"%s\", \"last_active\": \"%s\", \"state\": \"closed\", "
    "\"pinned\": false, \"mounts\": []}", id, iso, iso);

  g_assert_cmpuint (days, >, 0);
  g_assert_cmpint (g_mkdir_with_parents (work, 0700), ==, 0);
  g_assert_true (g_file_set_contents (json_path, json, -1, NULL));
  /* Stale once idle for longer than the threshold: just after this. */
  return (last + (gint64) days * 86400) * G_USEC_PER_SEC;
}

/* Waits until @condition holds, up to @slack_s after the real time @when;
 * says how long after @when it held. */
static gboolean
by (gboolean    (*condition) (ClocheWindow *),
    ClocheWindow *window,
    gint64        when,
    int           slack_s)
{
  while (!condition (window) && g_get_real_time () < when + slack_s * G_USEC_PER_SEC)
    g_main_context_iteration (NULL, FALSE);
  g_test_message ("%.2f s after the moment", (g_get_real_time () - when) / 1e6);
  return condition (window);
}

static void
count_list (guint *lists)
{
  (*lists)++;
}

/* Nothing on the bus says a session became stale: time does. The shown
 * Overview and Sessions page say so within 2 s of the moment (the
 * minute's timer alone would be up to a minute late); a hidden window
 * lists nothing meanwhile (its timer sleeps) and catches up when shown. */
static void
test_stale_by_time (void)
{
  ClocheWindow *window = open_window ();
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");
  ClocheSessionSummary *summary = NULL;
  guint lists = 0;
  gint64 when;

  g_object_get (window, "session-summary", &summary, NULL);
  g_signal_connect_swapped (summary, "changed", G_CALLBACK (count_list), &lists);
  CLOCHE_TEST_WAIT_FOR (none_stale (window), 20);
  when = make_session_stale_in ("20261207-000000-soon1", 8);
  /* Listed (a list on Changed from elsewhere) before it is stale. */
  cloche_session_summary_refresh (summary);
  cloche_sessions_page_refresh (cloche_test_ui_child (window, "sessions_page"));
  CLOCHE_TEST_WAIT_FOR (g_get_real_time () > when - 4 * G_USEC_PER_SEC, 10);
  g_assert_true (none_stale (window));
  g_assert_true (by (one_stale, window, when, 2));

  /* Hidden: no wake-up, no list, though a second session, listed before,
   * turns stale meanwhile. */
  when = make_session_stale_in ("20261207-000000-soon2", 6);
  lists = 0;
  cloche_session_summary_refresh (summary);
  CLOCHE_TEST_WAIT_FOR (lists > 0, 5);
  gtk_widget_set_visible (GTK_WIDGET (window), FALSE);
  lists = 0;
  CLOCHE_TEST_WAIT_FOR (g_get_real_time () > when + 3 * G_USEC_PER_SEC, 15);
  g_assert_cmpuint (lists, ==, 0);
  g_assert_cmpuint (cloche_session_summary_get_stale_count (summary), ==, 1);
  gtk_window_present (GTK_WINDOW (window));
  CLOCHE_TEST_WAIT_FOR (cloche_session_summary_get_stale_count (summary) == 2, 5);
  CLOCHE_TEST_WAIT_FOR (g_str_has_prefix (subtitle (page, "stale_row"), "2 sessions, "), 5);

  g_signal_handlers_disconnect_by_func (summary, count_list, &lists);
  g_object_unref (summary);
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

static AdwMessageDialog *
find_dialog (void)
{
  g_autoptr(GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (ADW_IS_MESSAGE_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      return l->data;
  return NULL;
}

/* Clean Up… on the Overview: the Sessions page's confirmation, then the
 * Overview says there is nothing stale and when the last cleanup ran,
 * what it removed; a new window (a new list, the daemon's LastCleanup)
 * says the same. */
static void
test_clean_up (void)
{
  ClocheWindow *window = open_window ();
  ClocheOverviewPage *page = cloche_test_ui_child (window, "overview_page");
  AdwMessageDialog *dialog = NULL;

  g_assert_cmpstr (subtitle (page, "last_cleanup_row"), ==, "Never");
  CLOCHE_TEST_WAIT_FOR (g_str_has_prefix (subtitle (page, "stale_row"), "1 session, "), 20);
  gtk_widget_activate (cloche_test_ui_child (page, "cleanup_button"));
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (visible_page (window), "sessions") == 0, 5);
  CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ()) != NULL, 10);
  adw_message_dialog_response (dialog, "remove");
  CLOCHE_TEST_WAIT_FOR (g_str_equal (subtitle (page, "stale_row"), "None"), 10);
  CLOCHE_TEST_WAIT_FOR (strstr (subtitle (page, "last_cleanup_row"), ": 1 session removed, ") != NULL,
                        10);
  cloche_test_ui_destroy_window (GTK_WIDGET (window));

  window = open_window ();
  page = cloche_test_ui_child (window, "overview_page");
  CLOCHE_TEST_WAIT_FOR (strstr (subtitle (page, "last_cleanup_row"), ": 1 session removed, ") != NULL,
                        10);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "overview");
  save_light_and_dark (window, "overview-cleaned-up");
  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  int status;

  test_daemon = cloche_test_ui_start (&argc, &argv, (const char *[]) { "--bundle", bundle, NULL });

  g_test_add_func ("/overview/tiles", test_tiles);
  g_test_add_func ("/overview/tiles-lead-to-pages", test_tiles_lead_to_pages);
  g_test_add_func ("/overview/keyboard-reaches-tiles", test_keyboard_reaches_tiles);
  g_test_add_func ("/overview/follows-other-clients", test_follows_other_clients);
  g_test_add_func ("/overview/clean-up", test_clean_up);
  g_test_add_func ("/overview/stale-by-time", test_stale_by_time);
  g_test_add_func ("/overview/diagnostics-run-when-shown", test_diagnostics_run_when_shown);
  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  return status;
}
