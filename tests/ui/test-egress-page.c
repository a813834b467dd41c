/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Egress page in the window, against a real daemon on a private bus
 * (no VM: requests go straight to the proxy's socket, as QEMU's relay
 * sends them, to a real server on 127.0.0.1): the rules, the empty state,
 * decisions arriving live, newest first, refusals with their rule, and
 * the session and "denied only" filters. With CLOCHE_TEST_SCREENSHOT_DIR
 * set it saves egress-empty.png and egress.png there.
 */
#include "config.h"

#include <adwaita.h>
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cloche-egress-page.h"
#include "cloche-egress-row.h"
#include "cloche-window.h"
#include "cloche-test-ui.h"
#include "../cloche-test-http.h"

static ClocheTestDaemon *test_daemon;
static guint16 port;

static char *
socket_path (void)
{
  g_autoptr(ClocheDbusEgress) egress = NULL;
  g_autoptr(GError) error = NULL;

  egress = cloche_dbus_egress_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (test_daemon->proxy)), G_DBUS_PROXY_FLAGS_NONE,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  return g_strdup (cloche_dbus_egress_get_socket_path (egress));
}

/* One request on the proxy's socket, as the guest would send it through
 * the relay, from @session's forwarder ("" for none: no session line). */
static void
request (const char *session,
         const char *line)
{
  g_autofree char *path = socket_path ();
  g_autofree char *text = session[0] != '\0'
                          ? g_strdup_printf ("CLOCHE-SESSION %s\n%s\r\n\r\n", session, line)
                          : g_strdup_printf ("%s\r\n\r\n", line);
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  char buffer[4096];
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_strlcpy (address.sun_path, path, sizeof address.sun_path);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &address, sizeof address), ==, 0);
  g_assert_cmpint (send (fd, text, strlen (text), MSG_NOSIGNAL), ==, (gssize) strlen (text));
  shutdown (fd, SHUT_WR);
  while (recv (fd, buffer, sizeof buffer, 0) > 0)
    ;
  close (fd);
}

static guint
n_rows (GtkListBox *list)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (list)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += GTK_IS_LIST_BOX_ROW (child);
  return n;
}

static const char *
row_title (GtkListBox *list,
           int         index)
{
  return adw_preferences_row_get_title (ADW_PREFERENCES_ROW (gtk_list_box_get_row_at_index (list,
                                                                                          index)));
}

/* The decisions as the list shows them, row by row. */
static guint
n_shown (ClocheEgressPage *page)
{
  GtkListBox *list = cloche_test_ui_child (page, "decisions_list");
  guint n = 0;

  while (gtk_list_box_get_row_at_index (list, n) != NULL)
    n++;
  return n;
}

static ClocheEgressItem *
shown (ClocheEgressPage *page,
       guint             index)
{
  GtkListBox *list = cloche_test_ui_child (page, "decisions_list");

  return cloche_egress_row_get_item (CLOCHE_EGRESS_ROW (gtk_list_box_get_row_at_index (list,
                                                                                        index)));
}

static const char *
state (ClocheEgressPage *page)
{
  return gtk_stack_get_visible_child_name (cloche_test_ui_child (page, "decisions_stack"));
}

/* As a user filters: a session picked by what the drop-down shows for it
 * (NULL: all sessions; "": the decisions of no session), refusals only. */
static void
filter (ClocheEgressPage *page,
        const char       *session,
        gboolean          denied_only)
{
  GtkDropDown *sessions = cloche_test_ui_child (page, "session_dropdown");
  GListModel *choices = gtk_drop_down_get_model (sessions);
  const char *shown_as = session == NULL ? "All Sessions"
                         : session[0] == '\0' ? "No Session Named" : session;
  guint i = 0;

  while (i < g_list_model_get_n_items (choices)
         && !g_str_equal (gtk_string_list_get_string (GTK_STRING_LIST (choices), i), shown_as))
    i++;
  g_assert_cmpuint (i, <, g_list_model_get_n_items (choices));
  gtk_drop_down_set_selected (sessions, i);
  gtk_toggle_button_set_active (cloche_test_ui_child (page, "denied_button"), denied_only);
}

static gboolean
all_ended (ClocheEgressPage *page,
           guint             n)
{
  if (n_shown (page) != n)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (!cloche_egress_item_get_ended (shown (page, i)))
      return FALSE;
  return TRUE;
}

static void
test_live_decisions (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  ClocheEgressPage *page = cloche_test_ui_child (window, "egress_page");
  GtkListBox *rules = cloche_test_ui_child (page, "rules_list");
  g_autofree char *allowed_rule = g_strdup_printf ("allow 127.0.0.1:%d", port);
  g_autofree char *get_allowed = g_strdup_printf ("GET http://127.0.0.1:%d/pkg HTTP/1.1", port);

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 720);
  gtk_window_present (GTK_WINDOW (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "egress");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (cloche_test_ui_child (window, "stack")), ==,
                   "egress");

  /* The rules as the daemon has them, the default last; nothing decided yet. */
  CLOCHE_TEST_WAIT_FOR (n_rows (rules) == 2, 10);
  g_assert_cmpstr (row_title (rules, 0), ==, allowed_rule);
  g_assert_cmpstr (row_title (rules, 1), ==, "default deny");
  g_assert_cmpstr (state (page), ==, "empty");
  cloche_test_save_screenshot (GTK_WIDGET (window), "egress-empty");

  request ("4f1c2a9be310", get_allowed);
  request ("4f1c2a9be310", "CONNECT registry.npmjs.org:443 HTTP/1.1");
  request ("77d0e5c1b2a4", "CONNECT 127.0.0.1:22 HTTP/1.1");
  request ("", "GET http://example.org/ HTTP/1.1");
  CLOCHE_TEST_WAIT_FOR (all_ended (page, 4), 10);
  g_assert_cmpstr (state (page), ==, "list");

  /* Newest first; the refusal names its rule; the download counts its bytes. */
  g_assert_cmpstr (cloche_egress_item_get_host (shown (page, 0)), ==, "example.org");
  g_assert_cmpstr (cloche_egress_item_get_session (shown (page, 0)), ==, "");
  g_assert_false (cloche_egress_item_get_allowed (shown (page, 1)));
  g_assert_cmpstr (cloche_egress_item_get_rule (shown (page, 1)), ==, "default deny");
  g_assert_true (cloche_egress_item_get_allowed (shown (page, 3)));
  g_assert_cmpuint (cloche_egress_item_get_bytes_in (shown (page, 3)), >, 48 * 1024);

  /* One session; then its refusals only; then one with none. */
  filter (page, "4f1c2a9be310", FALSE);
  g_assert_cmpuint (n_shown (page), ==, 2);
  filter (page, "4f1c2a9be310", TRUE);
  g_assert_cmpuint (n_shown (page), ==, 1);
  g_assert_cmpstr (cloche_egress_item_get_host (shown (page, 0)), ==, "registry.npmjs.org");
  filter (page, "", FALSE);
  g_assert_cmpuint (n_shown (page), ==, 1);
  filter (page, NULL, FALSE);
  g_assert_cmpuint (n_shown (page), ==, 4);
  cloche_test_save_screenshot (GTK_WIDGET (window), "egress");

  filter (page, "77d0e5c1b2a4", FALSE);
  request ("", "CONNECT 127.0.0.1:25 HTTP/1.1");
  /* A new decision of another session leaves the filtered list as it is. */
  CLOCHE_TEST_WAIT_FOR (g_list_model_get_n_items (
    cloche_egress_log_get_decisions (cloche_egress_page_get_log (page))) == 5, 10);
  g_assert_cmpuint (n_shown (page), ==, 1);
  cloche_test_save_screenshot (GTK_WIDGET (window), "egress-filtered");

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *allow = NULL;
  g_autofree char *body = g_strnfill (48 * 1024, 'x');
  g_autoptr(ClocheTestHttp) server = NULL;
  int status;

  signal (SIGPIPE, SIG_IGN);
  server = cloche_test_http_start (body, CLOCHE_TEST_HTTP_LOOPBACK);
  port = cloche_test_http_get_port (server);
  allow = g_strdup_printf ("127.0.0.1:%d", port);

  test_daemon = cloche_test_ui_start (&argc, &argv, (const char *[]) {
    "--bundle", "/nonexistent", "--egress-allow", allow, NULL });

  g_test_add_func ("/egress-page/live-decisions", test_live_decisions);

  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  return status;
}
