/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Sessions page against a real daemon on a private bus (no VM: listing,
 * pinning and cleaning up never boot one), over session folders made on
 * disk: it lists them, pins one, and cleans up through its dialog; with a
 * few hundred, the list view still shows them all, the total and pinning.
 */
#include "config.h"

#include <adwaita.h>

#include "cloche-client.h"
#include "cloche-session-item.h"
#include "cloche-session-row.h"
#include "cloche-sessions-page.h"
#include "cloche-test-ui.h"

static ClocheTestDaemon *test_daemon;

static char *
sessions_dir (void)
{
  return g_build_filename (test_daemon->home, "state", "cloche", "sessions", NULL);
}

static void
make_session_full (const char *id,
                   const char *title,
                   const char *client,
                   gboolean    pinned,
                   const char *when,
                   gsize       bytes)
{
  g_autofree char *root = sessions_dir ();
  g_autofree char *work = g_build_filename (root, id, "work", NULL);
  g_autofree char *json_path = g_build_filename (root, id, "session.json", NULL);
  g_autofree char *blob_path = g_build_filename (work, "data.bin", NULL);
  g_autofree char *blob = g_strnfill (bytes, 'x');
  g_autofree char *json = g_strdup_printf (
    "{\"version\": 1, \"id\": \"%s\", \"title\": \"%s\", \"client\": \"%s\", "
    "\"created\": \"%s\", \"last_active\": \"%s\", "
    "\"state\": \"closed\", \"pinned\": %s, \"mounts\": []}", id, title, client, when, when,
    pinned ? "true" : "false");

  g_assert_cmpint (g_mkdir_with_parents (work, 0700), ==, 0);
  g_assert_true (g_file_set_contents (json_path, json, -1, NULL));
  g_assert_true (g_file_set_contents (blob_path, blob, -1, NULL));
}

static void
make_session_at (const char *id,
                 const char *title,
                 gboolean    pinned,
                 const char *when,
                 gsize       bytes)
{
  make_session_full (id, title, "test", pinned, when, bytes);
}

static void
make_session (const char *id,
              const char *title,
              gboolean    pinned)
{
  make_session_at (id, title, pinned, "2026-01-01T00:00:00Z", 100000);
}

static guint
count_rows (GtkWidget *widget)
{
  guint rows = CLOCHE_IS_SESSION_ROW (widget) ? 1 : 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    rows += count_rows (child);
  return rows;
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

static GtkWidget *
find_by_type (GtkWidget *widget,
              GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_by_type (child, type);

      if (found != NULL)
        return found;
    }
  return NULL;
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

static gboolean
file_says_pinned (const char *id)
{
  g_autofree char *root = sessions_dir ();
  g_autofree char *path = g_build_filename (root, id, "session.json", NULL);
  g_autofree char *contents = NULL;

  return g_file_get_contents (path, &contents, NULL, NULL)
         && strstr (contents, "\"pinned\" : true") != NULL;
}

static gboolean
exists (const char *id)
{
  g_autofree char *root = sessions_dir ();
  g_autofree char *path = g_build_filename (root, id, NULL);

  return g_file_test (path, G_FILE_TEST_IS_DIR);
}

static void
on_client (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  *(ClocheClient **) user_data = cloche_client_new_finish (result, NULL);
}

static void
on_clipboard_text (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  *(char **) user_data = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (object), result, NULL);
}

static void
test_list_pin_cleanup (void)
{
  g_autoptr(ClocheClient) client = NULL;
  GtkWidget *window, *page;
  GtkLabel *summary;
  AdwMessageDialog *dialog = NULL;
  g_autofree char *copied = NULL;
  GtkWidget *message;
  ClocheSessionRow *row;

  make_session ("aaaaaaaaaaaa", "old work", FALSE);
  make_session ("bbbbbbbbbbbb", "kept work", TRUE);
  make_session ("cccccccccccc", "to pin", FALSE);

  cloche_client_new_async (NULL, on_client, &client);
  CLOCHE_TEST_WAIT_FOR (client != NULL, 10);
  window = gtk_window_new ();
  page = g_object_new (CLOCHE_TYPE_SESSIONS_PAGE, "client", client, NULL);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));

  CLOCHE_TEST_WAIT_FOR (count_rows (page) == 3, 10);
  summary = GTK_LABEL (find_by_type (page, GTK_TYPE_LABEL));
  CLOCHE_TEST_WAIT_FOR (strstr (gtk_label_get_label (summary), "2 stale") != NULL, 10);

  /* Pinning from the row reaches the record on disk; the toggle's name
   * says what a press does, to which session. */
  row = find_row (page, "cccccccccccc");
  gtk_test_accessible_assert_property (cloche_test_ui_child (row, "pin_button"),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Pin “to pin”");
  gtk_widget_activate (find_by_type (GTK_WIDGET (row), GTK_TYPE_TOGGLE_BUTTON));
  CLOCHE_TEST_WAIT_FOR (file_says_pinned ("cccccccccccc"), 10);
  CLOCHE_TEST_WAIT_FOR (strstr (gtk_label_get_label (summary), "1 stale") != NULL, 10);
  row = find_row (page, "cccccccccccc");
  gtk_test_accessible_assert_property (cloche_test_ui_child (row, "pin_button"),
                                       GTK_ACCESSIBLE_PROPERTY_LABEL, "Unpin “to pin”");

  /* Its menu: the id on the clipboard, the details in a dialog. */
  g_assert_nonnull (gtk_menu_button_get_menu_model (cloche_test_ui_child (row, "menu_button")));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "row.copy-id", NULL));
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (page), NULL, on_clipboard_text, &copied);
  CLOCHE_TEST_WAIT_FOR (copied != NULL, 10);
  g_assert_cmpstr (copied, ==, "cccccccccccc");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "row.details", NULL));
  CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ()) != NULL, 10);
  g_assert_cmpstr (adw_message_dialog_get_heading (dialog), ==, "to pin");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "ID: cccccccccccc"));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "Client: test"));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "closed, pinned"));
  adw_message_dialog_response (dialog, "close");
  /* Closed by the response; destroyed here so that the cleanup's dialog
   * below is the only one. */
  if (find_dialog () == dialog)
    gtk_window_destroy (GTK_WINDOW (dialog));
  CLOCHE_TEST_WAIT_FOR (find_dialog () == NULL, 10);
  dialog = NULL;

  /* Fork: this daemon has no bundle, so the fork copies, cannot boot, and
   * leaves nothing; the page says why where it shows errors. */
  message = cloche_test_ui_child (page, "message_label");
  gtk_menu_button_popup (cloche_test_ui_child (row, "menu_button"));
  cloche_test_save_screenshot (GTK_WIDGET (gtk_menu_button_get_popover (
                                 cloche_test_ui_child (row, "menu_button"))),
                               "sessions-row-menu");
  gtk_menu_button_popdown (cloche_test_ui_child (row, "menu_button"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (row), "row.fork", NULL));
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_visible (message), 30);
  g_assert_true (gtk_widget_has_css_class (message, "error"));
  g_assert_cmpuint (count_rows (page), ==, 3);
  cloche_test_save_screenshot (window, "sessions-fork-failed");

  /* The dialog states what goes; removing frees it and keeps the pinned. */
  gtk_widget_activate_action (page, "sessions.cleanup", NULL);
  CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ()) != NULL, 10);
  g_assert_true (strstr (adw_message_dialog_get_body (dialog), "1 sessions") != NULL);
  adw_message_dialog_response (dialog, "remove");
  CLOCHE_TEST_WAIT_FOR (!exists ("aaaaaaaaaaaa"), 10);
  CLOCHE_TEST_WAIT_FOR (count_rows (page) == 2, 10);
  g_assert_true (exists ("bbbbbbbbbbbb"));
  g_assert_true (exists ("cccccccccccc"));

  gtk_window_destroy (GTK_WINDOW (window));
}

static gboolean
summary_has (GtkLabel   *summary,
             const char *text)
{
  return strstr (gtk_label_get_label (summary), text) != NULL;
}

static void
toggle_pin (GtkWidget  *page,
            const char *id)
{
  ClocheSessionRow *row = find_row (page, id);

  g_assert_nonnull (row);
  gtk_widget_activate (find_by_type (GTK_WIDGET (row), GTK_TYPE_TOGGLE_BUTTON));
}

/* Sessions used at the same time keep one order, by id, from one refresh
 * to the next: the 299 made with one time here. */
static void
assert_ties_by_id (GListModel *model)
{
  guint ties = 0;

  for (guint i = 1; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(ClocheSessionItem) before = g_list_model_get_item (model, i - 1);
      g_autoptr(ClocheSessionItem) item = g_list_model_get_item (model, i);
      const char *id_before, *id;

      if (cloche_session_item_get_last_active (before)
          != cloche_session_item_get_last_active (item))
        continue;
      g_variant_get_child (cloche_session_item_get_info (before), 0, "&s", &id_before);
      g_variant_get_child (cloche_session_item_get_info (item), 0, "&s", &id);
      g_assert_cmpstr (id_before, <, id);
      ties++;
    }
  g_assert_cmpuint (ties, >=, 298);
}

/* A few hundred closed sessions (after the first test's two pinned ones):
 * every one is in the list's model and the total, the list view makes
 * rows only for those on screen, and pinning and unpinning the one on top
 * (the most recently used) still reach its record. */
static void
test_many (void)
{
  g_autoptr(ClocheClient) client = NULL;
  GtkWidget *window, *page;
  GtkListView *view;
  GtkLabel *summary;
  guint rows;

  for (guint i = 0; i < 300; i++)
    {
      g_autofree char *id = g_strdup_printf ("%012x", 0x100000 + i);
      g_autofree char *title = g_strdup_printf ("task %u", i);

      make_session_at (id, title, FALSE, i == 299 ? "2026-06-01T00:00:00Z" : "2026-01-01T00:00:00Z",
                       100);
    }

  cloche_client_new_async (NULL, on_client, &client);
  CLOCHE_TEST_WAIT_FOR (client != NULL, 10);
  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 600);
  page = g_object_new (CLOCHE_TYPE_SESSIONS_PAGE, "client", client, NULL);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));

  summary = GTK_LABEL (find_by_type (page, GTK_TYPE_LABEL));
  CLOCHE_TEST_WAIT_FOR (summary_has (summary, "302 sessions"), 10);
  g_assert_true (summary_has (summary, "300 stale"));
  view = GTK_LIST_VIEW (find_by_type (page, GTK_TYPE_LIST_VIEW));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (gtk_list_view_get_model (view))), ==,
                    302);
  assert_ties_by_id (G_LIST_MODEL (gtk_list_view_get_model (view)));
  CLOCHE_TEST_WAIT_FOR (find_row (page, "00000010012b") != NULL, 10);
  rows = count_rows (page);
  g_assert_cmpuint (rows, >, 0);
  g_assert_cmpuint (rows, <, 302);

  toggle_pin (page, "00000010012b");
  CLOCHE_TEST_WAIT_FOR (file_says_pinned ("00000010012b"), 10);
  CLOCHE_TEST_WAIT_FOR (summary_has (summary, "299 stale"), 10);
  /* Unpinned again from its row, bound anew by the list that followed. */
  toggle_pin (page, "00000010012b");
  CLOCHE_TEST_WAIT_FOR (!file_says_pinned ("00000010012b"), 10);
  CLOCHE_TEST_WAIT_FOR (summary_has (summary, "300 stale"), 10);
  cloche_test_save_screenshot (window, "sessions-many");

  gtk_window_destroy (GTK_WINDOW (window));
}

/* A session an MCP client opened shows the client as it named itself; one
 * whose client is only a bus name shows none. */
static void
test_client_shown (void)
{
  g_autoptr(ClocheClient) client = NULL;
  GtkWidget *window, *page;
  ClocheSessionRow *row;

  make_session_full ("dddddddddddd", "fix the tests", "claude-code 1.0.43 (MCP)", FALSE,
                     "2026-12-01T00:00:00Z", 100);
  make_session_full ("eeeeeeeeeeee", "app session", ":1.42", FALSE, "2026-12-01T00:00:00Z", 100);

  cloche_client_new_async (NULL, on_client, &client);
  CLOCHE_TEST_WAIT_FOR (client != NULL, 10);
  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 600);
  page = g_object_new (CLOCHE_TYPE_SESSIONS_PAGE, "client", client, NULL);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));

  CLOCHE_TEST_WAIT_FOR ((row = find_row (page, "dddddddddddd")) != NULL, 10);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                            "claude-code 1.0.43 (MCP)"));
  CLOCHE_TEST_WAIT_FOR ((row = find_row (page, "eeeeeeeeeeee")) != NULL, 10);
  g_assert_null (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ":1.42"));
  cloche_test_save_screenshot (window, "sessions-mcp-client");

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  /* The pin toggle's name is read back from GTK's test AT context. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  test_daemon = cloche_test_ui_start (&argc, &argv, (const char *[]) {
    "--bundle", "/nonexistent", NULL });

  g_test_add_func ("/sessions-page/list-pin-cleanup", test_list_pin_cleanup);
  g_test_add_func ("/sessions-page/many", test_many);
  g_test_add_func ("/sessions-page/client-shown", test_client_shown);

  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  return status;
}
