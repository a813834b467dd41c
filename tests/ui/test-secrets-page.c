/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Secrets page in the window, against a real daemon and a real GNOME
 * Keyring on one private bus: empty; a secret added through Add Secret…
 * (its value typed into the password entry) shows as kept in the keyring,
 * and no widget anywhere shows the value; a binding the administrator
 * locks shows a lock and no Remove, and Set Value… gives it a value with
 * its binding fixed; Remove asks first, then the value
 * leaves the keyring (as the daemon's List tells). With CLOCHE_TEST_SCREENSHOT_DIR set it saves
 * secrets-empty.png, secrets-add.png, secrets-bindings.png and
 * secrets-locked.png.
 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "cloche-secret-row.h"
#include "cloche-secrets-page.h"
#include "cloche-test-keyring.h"
#include "cloche-test-ui.h"

#define VALUE "sk-ui-test-0123456789-never-on-screen"

static ClocheTestDaemon *test_daemon;
static GTestDBus *bus;
static char *admin_path;

static GPtrArray *
rows_of (GtkWidget *page)
{
  GPtrArray *rows = g_ptr_array_new ();
  GtkWidget *list = cloche_test_ui_child (page, "list_box");

  for (GtkWidget *child = gtk_widget_get_first_child (list); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (CLOCHE_IS_SECRET_ROW (child))
      g_ptr_array_add (rows, child);
  return rows;
}

static guint
n_rows (GtkWidget *page)
{
  g_autoptr(GPtrArray) rows = rows_of (page);

  return rows->len;
}

static ClocheSecretRow *
row_named (GtkWidget  *page,
           const char *name)
{
  g_autoptr(GPtrArray) rows = rows_of (page);

  for (guint i = 0; i < rows->len; i++)
    if (g_str_equal (cloche_secret_row_get_name (rows->pdata[i]), name))
      return rows->pdata[i];
  return NULL;
}

/* Whether any label or entry under @widget shows @text. */
static gboolean
shows (GtkWidget  *widget,
       const char *text)
{
  const char *shown = NULL;

  if (GTK_IS_LABEL (widget))
    shown = gtk_label_get_label (GTK_LABEL (widget));
  else if (GTK_IS_EDITABLE (widget))
    shown = gtk_editable_get_text (GTK_EDITABLE (widget));
  if (shown != NULL && strstr (shown, text) != NULL)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (shows (child, text))
      return TRUE;
  return FALSE;
}

static AdwMessageDialog *
find_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        return ADW_MESSAGE_DIALOG (window);
    }
  return NULL;
}

/* What a click on a response's button does: the response, then the
 * dialog closes. */
static void
answer (AdwMessageDialog *dialog,
        const char       *response)
{
  adw_message_dialog_response (dialog, response);
  gtk_window_close (GTK_WINDOW (dialog));
}

static void
set_entry (GtkBuilder *form,
           const char *id,
           const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (gtk_builder_get_object (form, id)), text);
}

/* Whether the daemon says the keyring holds @name's value (List reads
 * the keyring; this process links no libsecret). */
static gboolean
keyring_has (const char *name)
{
  g_autoptr(ClocheDbusSecrets) secrets = NULL;
  g_autoptr(GVariant) bindings = NULL;
  g_autofree char *problem = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  const char *listed;
  gboolean has_value, found = FALSE;

  secrets = cloche_dbus_secrets_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (test_daemon->proxy)),
    G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (cloche_dbus_secrets_call_list_sync (secrets, &bindings, &problem, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (problem, ==, "");
  g_assert_null (strstr (g_variant_print (bindings, FALSE), VALUE));
  g_variant_iter_init (&iter, bindings);
  while (g_variant_iter_next (&iter, "(&s@as&s&sb@b)", &listed, NULL, NULL, NULL, &has_value,
                              NULL))
    found |= g_str_equal (listed, name) && has_value;
  return found;
}

/* Add Secret…: the dialog, filled in as a user would, then Add. */
static void
add_through_dialog (GtkWidget *window,
                    GtkWidget *page)
{
  AdwMessageDialog *dialog;
  GtkBuilder *form;
  g_autoptr(GtkEditable) value = NULL;

  gtk_widget_activate_action (page, "secrets.add", NULL);
  CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ()) != NULL, 10);
  form = g_object_get_data (G_OBJECT (dialog), "form");
  set_entry (form, "name_row", "ANTHROPIC_API_KEY");
  set_entry (form, "hosts_row", "api.anthropic.com");
  set_entry (form, "header_row", "x-api-key");
  set_entry (form, "format_row", "{}");
  set_entry (form, "value_row", VALUE);
  cloche_test_save_screenshot (GTK_WIDGET (dialog), "secrets-add");
  value = g_object_ref (GTK_EDITABLE (gtk_builder_get_object (form, "value_row")));
  answer (dialog, "add");
  /* The entry let go of the value once it was sent. */
  g_assert_cmpstr (gtk_editable_get_text (value), ==, "");
}

static void
test_page (void)
{
  ClocheWindow *window = g_object_ref (cloche_test_ui_new_window ());
  GtkStack *stack = cloche_test_ui_child (window, "stack");
  GtkWidget *page = gtk_stack_get_child_by_name (stack, "secrets");
  ClocheSecretRow *row;
  AdwMessageDialog *confirm;

  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 640);
  gtk_window_present (GTK_WINDOW (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-page", "s", "secrets");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "secrets");
  g_assert_true (CLOCHE_IS_SECRETS_PAGE (page));

  /* Empty: the placeholder. */
  CLOCHE_TEST_WAIT_FOR (cloche_secrets_page_get_client (CLOCHE_SECRETS_PAGE (page)) != NULL, 30);
  CLOCHE_TEST_WAIT_FOR (cloche_test_ui_find_label (page, "No secret yet") != NULL, 10);
  g_assert_cmpuint (n_rows (page), ==, 0);
  cloche_test_save_screenshot (GTK_WIDGET (window), "secrets-empty");

  /* Added through the dialog: in the keyring, listed as kept, never shown. */
  add_through_dialog (GTK_WIDGET (window), page);
  CLOCHE_TEST_WAIT_FOR (row_named (page, "ANTHROPIC_API_KEY") != NULL, 30);
  row = row_named (page, "ANTHROPIC_API_KEY");
  g_assert_true (cloche_secret_row_get_has_value (row));
  g_assert_false (cloche_secret_row_get_locked (row));
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==,
                   "api.anthropic.com · x-api-key: {}");
  g_assert_true (keyring_has ("ANTHROPIC_API_KEY"));
  g_assert_false (shows (GTK_WIDGET (window), VALUE));

  /* A bad one: the daemon's refusal on the page, nothing added. */
  {
    AdwMessageDialog *dialog;
    GtkBuilder *form;

    gtk_widget_activate_action (page, "secrets.add", NULL);
    CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ()) != NULL, 10);
    form = g_object_get_data (G_OBJECT (dialog), "form");
    set_entry (form, "name_row", "GH_TOKEN");
    set_entry (form, "hosts_row", "POST api.github.com/v1");
    set_entry (form, "value_row", "ghp_" VALUE);
    answer (dialog, "add");
    CLOCHE_TEST_WAIT_FOR (cloche_test_ui_find_label (page, "The secret was not added") != NULL,
                          30);
    g_assert_null (row_named (page, "GH_TOKEN"));
    g_assert_false (shows (GTK_WIDGET (window), VALUE));
  }
  cloche_test_save_screenshot (GTK_WIDGET (window), "secrets-bindings");
  /* The page listed again meanwhile (the daemon reads the policy file it
   * wrote): the refusal stays. */
  g_assert_nonnull (cloche_test_ui_find_label (page, "The secret was not added"));

  /* The administrator binds and locks one: a lock, no value, no Remove. */
  g_assert_true (g_file_set_contents (admin_path,
                                      "{ \"version\": 1, \"locked\": [\"secrets.COMPANY_TOKEN\"],"
                                      " \"secrets\": { \"COMPANY_TOKEN\": { \"hosts\": "
                                      "[\"*.corp.example\"] } } }", -1, NULL));
  CLOCHE_TEST_WAIT_FOR (row_named (page, "COMPANY_TOKEN") != NULL, 30);
  row = row_named (page, "COMPANY_TOKEN");
  g_assert_true (cloche_secret_row_get_locked (row));
  g_assert_false (cloche_secret_row_get_has_value (row));
  g_assert_false (gtk_widget_get_visible (cloche_test_ui_child (row, "remove_button")));
  g_assert_true (gtk_widget_get_visible (cloche_test_ui_child (row, "lock_icon")));
  cloche_test_save_screenshot (GTK_WIDGET (window), "secrets-locked");

  /* Its value, though, is the user's to set: the binding as it is, fixed. */
  {
    AdwMessageDialog *dialog;
    GtkBuilder *form;

    gtk_widget_activate_action (page, "secrets.set-value", "s", "COMPANY_TOKEN");
    CLOCHE_TEST_WAIT_FOR ((dialog = find_dialog ()) != NULL, 10);
    form = g_object_get_data (G_OBJECT (dialog), "form");
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (gtk_builder_get_object (form,
                                                                                  "hosts_row"))),
                     ==, "*.corp.example");
    g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (gtk_builder_get_object (form,
                                                                                  "hosts_row"))));
    set_entry (form, "value_row", "corp-" VALUE);
    answer (dialog, "add");
    CLOCHE_TEST_WAIT_FOR (cloche_secret_row_get_has_value (row_named (page, "COMPANY_TOKEN")),
                          30);
    g_assert_true (cloche_secret_row_get_locked (row_named (page, "COMPANY_TOKEN")));
    g_assert_false (shows (GTK_WIDGET (window), VALUE));
  }

  /* Remove asks first; then the value leaves the keyring. */
  gtk_widget_activate_action (page, "secrets.remove", "s", "ANTHROPIC_API_KEY");
  CLOCHE_TEST_WAIT_FOR ((confirm = find_dialog ()) != NULL, 10);
  g_assert_cmpstr (adw_message_dialog_get_default_response (confirm), ==, "cancel");
  answer (confirm, "remove");
  CLOCHE_TEST_WAIT_FOR (row_named (page, "ANTHROPIC_API_KEY") == NULL, 30);
  g_assert_false (keyring_has ("ANTHROPIC_API_KEY"));
  g_assert_nonnull (row_named (page, "COMPANY_TOKEN"));

  cloche_test_ui_destroy_window (GTK_WIDGET (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *display = g_strdup (g_getenv ("DISPLAY"));
  g_autofree char *dir = g_dir_make_tmp ("cloche-secrets-page-XXXXXX", NULL);
  ClocheTestKeyring *keyring;
  int status;

  /* One bus for the keyring, the daemon and the app, as on a desktop;
   * GTestDBus unsets DISPLAY, which GTK needs back. */
  admin_path = g_build_filename (dir, "admin-policy.json", NULL);
  g_setenv ("CLOCHE_ADMIN_POLICY", admin_path, TRUE);
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);
  keyring = cloche_test_keyring_start (g_test_dbus_get_bus_address (bus));
  test_daemon = cloche_test_daemon_start_on_bus (bus, (const char *[]) { NULL });
  if (display != NULL)
    g_setenv ("DISPLAY", display, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/secrets-page/page", test_page);
  status = g_test_run ();

  cloche_test_daemon_free (test_daemon);
  cloche_test_keyring_stop (keyring);
  g_test_dbus_stop (bus);
  g_unlink (admin_path);
  g_rmdir (dir);
  g_free (admin_path);
  return status;
}
