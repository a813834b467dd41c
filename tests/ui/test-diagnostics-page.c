/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Diagnostics page against a real daemon on a private bus (no VM: the
 * checks never boot one) whose bundle folder does not exist yet: it lists
 * every check with the missing bundle as a failure and its code, copies the
 * report, and after the bundle appears "Run Again" shows it fixed. The
 * Overview shows a finding with its cause and fix.
 */
#include "config.h"

#include <adwaita.h>
#include <unistd.h>

#include "cloche-client.h"
#include "cloche-diagnostic-row.h"
#include "cloche-diagnostics-page.h"
#include "cloche-overview-page.h"
#include "cloche-test-ui.h"

static ClocheTestDaemon *test_daemon;
static char *bundle_link;

static void
collect_rows (GtkWidget *widget,
              GPtrArray *rows)
{
  if (CLOCHE_IS_DIAGNOSTIC_ROW (widget))
    g_ptr_array_add (rows, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_rows (child, rows);
}

static guint
count_rows (GtkWidget *page)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();

  collect_rows (page, rows);
  return rows->len;
}

static const char *
status_of (GtkWidget  *page,
           const char *check)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new ();

  collect_rows (page, rows);
  for (guint i = 0; i < rows->len; i++)
    if (g_str_equal (cloche_diagnostic_row_get_check (rows->pdata[i]), check))
      return cloche_diagnostic_row_get_status (rows->pdata[i]);
  return NULL;
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
test_checks_copy_run_again (void)
{
  g_autoptr(ClocheClient) client = NULL;
  g_autofree char *report = NULL;
  GtkWidget *window, *page;

  cloche_client_new_async (NULL, on_client, &client);
  CLOCHE_TEST_WAIT_FOR (client != NULL, 10);
  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 800, 900);
  page = g_object_new (CLOCHE_TYPE_DIAGNOSTICS_PAGE, "client", client, NULL);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));

  /* Every check, the missing bundle failing with its code and fix. */
  CLOCHE_TEST_WAIT_FOR (count_rows (page) == 10, 60);
  g_assert_cmpstr (status_of (page, "bundle"), ==, "failure");
  /* The daemon's proxy listens and no policy file is refused. */
  g_assert_cmpstr (status_of (page, "egress"), ==, "ok");
  g_assert_cmpstr (status_of (page, "policy"), ==, "ok");
  g_assert_nonnull (cloche_test_ui_find_label (page, "BundleMissing"));
  g_assert_nonnull (cloche_test_ui_find_label (page, "Fix: Install the sandbox bundle"));
  g_assert_nonnull (cloche_test_ui_find_label (page, "problem stops the sandbox"));
  if (!g_file_test (cloche_test_daemon_kvm_device (), G_FILE_TEST_EXISTS))
    g_assert_cmpstr (status_of (page, "kvm"), ==, "warning");
  cloche_test_save_screenshot (window, "diagnostics-bundle-missing");

  /* Copy Report puts the text of clochectl doctor on the clipboard, and
   * says so in a toast. */
  g_assert_null (cloche_test_ui_find_label (page, "Report copied"));
  gtk_widget_activate_action (page, "diagnostics.copy", NULL);
  CLOCHE_TEST_WAIT_FOR (cloche_test_ui_find_label (page, "Report copied") != NULL, 5);
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (page), NULL, on_clipboard_text, &report);
  CLOCHE_TEST_WAIT_FOR (report != NULL, 10);
  g_assert_nonnull (strstr (report, "failure  Sandbox bundle (BundleMissing)"));
  g_assert_nonnull (strstr (report, "Fix: Install the sandbox bundle"));

  /* The bundle arrives; Run Again shows the check passing. */
  g_assert_cmpint (symlink (g_getenv ("CLOCHE_TEST_BUNDLE"), bundle_link), ==, 0);
  gtk_widget_activate_action (page, "diagnostics.run", NULL);
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (status_of (page, "bundle"), "ok") == 0, 60);
  g_assert_null (cloche_test_ui_find_label (page, "BundleMissing"));
  cloche_test_save_screenshot (window, "diagnostics-after-fix");

  gtk_window_destroy (GTK_WINDOW (window));
}

/* The Overview shows a finding under the failure, with its fix. */
static void
test_overview_finding (void)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = g_object_new (CLOCHE_TYPE_OVERVIEW_PAGE, NULL);
  g_auto(GVariantDict) finding = G_VARIANT_DICT_INIT (NULL);
  GtkStack *stack;

  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  stack = GTK_STACK (gtk_widget_get_first_child (page));
  gtk_stack_set_visible_child_name (stack, "overview");
  g_assert_null (cloche_test_ui_find_label (page, "Likely cause"));

  g_variant_dict_insert (&finding, "title", "s", "Guest agent");
  g_variant_dict_insert (&finding, "code", "s", "AgentTimeout");
  g_variant_dict_insert (&finding, "finding", "s", "The guest agent did not answer");
  g_variant_dict_insert (&finding, "fix", "s", "reinstall the bundle");
  g_object_set (page, "latest-finding", g_variant_dict_end (&finding), NULL);
  CLOCHE_TEST_WAIT_FOR (cloche_test_ui_find_label (page, "Likely cause: Guest agent") != NULL, 5);
  g_assert_nonnull (cloche_test_ui_find_label (page, "AgentTimeout"));
  g_assert_nonnull (cloche_test_ui_find_label (page, "Fix: reinstall the bundle"));

  /* An empty finding (the VM runs again) hides it. */
  g_object_set (page, "latest-finding", g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0), NULL);
  CLOCHE_TEST_WAIT_FOR (cloche_test_ui_find_label (page, "Likely cause") == NULL, 5);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dir = g_dir_make_tmp ("cloche-diag-XXXXXX", NULL);
  int status;

  bundle_link = g_build_filename (dir, "bundle", NULL);
  test_daemon = cloche_test_ui_start (&argc, &argv, (const char *[]) {
    "--bundle", bundle_link, NULL });

  g_test_add_func ("/diagnostics-page/checks-copy-run-again", test_checks_copy_run_again);
  g_test_add_func ("/diagnostics-page/overview-finding", test_overview_finding);

  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  unlink (bundle_link);
  g_rmdir (dir);
  g_free (bundle_link);
  return status;
}
