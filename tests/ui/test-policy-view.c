/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The egress rules widget against a real daemon on a private bus (no VM):
 * an admin file that locks the deny rules and the default, a user file
 * that allows two hosts, then a bad edit. The rows follow the daemon, each
 * with its layer and lock. With CLOCHE_TEST_SCREENSHOT_DIR set, it saves
 * policy-view.png to look at.
 */
#include "config.h"

#include <adwaita.h>

#include "cloche-policy-rule-row.h"
#include "cloche-policy-view.h"
#include "cloche-test-ui.h"

static ClocheTestDaemon *test_daemon;
static char *admin_path;

static void
write_file (const char *path,
            const char *text)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
collect_rows (GtkWidget *widget,
              GPtrArray *rows)
{
  if (CLOCHE_IS_POLICY_RULE_ROW (widget))
    g_ptr_array_add (rows, widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_rows (child, rows);
}

static GPtrArray *
rule_rows (GtkWidget *view)
{
  GPtrArray *rows = g_ptr_array_new ();

  collect_rows (view, rows);
  return rows;
}

static guint
count_rows (GtkWidget *view)
{
  g_autoptr(GPtrArray) rows = rule_rows (view);

  return rows->len;
}

static GtkWidget *
find_refusal_row (GtkWidget *widget)
{
  if (ADW_IS_ACTION_ROW (widget) && !CLOCHE_IS_POLICY_RULE_ROW (widget)
      && g_str_has_prefix (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)),
                           "A policy file was refused"))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_refusal_row (child);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
assert_row (GPtrArray  *rows,
            guint       index,
            const char *title,
            const char *subtitle,
            const char *layer,
            gboolean    locked)
{
  ClochePolicyRuleRow *row = g_ptr_array_index (rows, index);

  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, title);
  g_assert_cmpstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), ==, subtitle);
  g_assert_cmpstr (cloche_policy_rule_row_get_layer (row), ==, layer);
  g_assert_cmpint (cloche_policy_rule_row_get_locked (row), ==, locked);
}

static void
test_rules (void)
{
  g_autofree char *user_path = g_build_filename (test_daemon->home, "config", "cloche",
                                                 "policy.json", NULL);
  g_autoptr(ClocheDbusPolicy) policy = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *window, *page, *view, *refusal;

  policy = cloche_dbus_policy_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (test_daemon->proxy)),
    G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 560);
  page = adw_preferences_page_new ();
  view = cloche_policy_view_new (policy);
  adw_preferences_page_add (ADW_PREFERENCES_PAGE (page), ADW_PREFERENCES_GROUP (view));
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));

  /* The admin file was there at start: its deny rule and the default. */
  CLOCHE_TEST_WAIT_FOR (count_rows (view) == 2, 10);

  write_file (user_path, "{\"version\": 1, \"egress\": {\"allow\": [\"pypi.org:443\", "
                         "\"*.debian.org\"], \"default\": \"allow\"}}");
  CLOCHE_TEST_WAIT_FOR (count_rows (view) == 4, 30);
  rows = rule_rows (view);
  assert_row (rows, 0, "*:25", "Denied", "admin", TRUE);
  assert_row (rows, 1, "pypi.org:443", "Allowed", "user", FALSE);
  assert_row (rows, 2, "*.debian.org", "Allowed", "user", FALSE);
  /* The user's "allow" for the locked default is not used. */
  assert_row (rows, 3, "Everything else", "Denied", "default", TRUE);
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (g_ptr_array_index (rows, 0)),
                            admin_path));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (g_ptr_array_index (rows, 1)),
                            user_path));
  refusal = find_refusal_row (view);
  g_assert_false (gtk_widget_get_visible (refusal));
  cloche_test_save_screenshot (window, "policy-view");

  /* A bad edit: shown, and the rules stay. */
  write_file (user_path, "{\"version\": 1, \"egress\": {\"allow\": [\"pypi.org:443\",]}}");
  CLOCHE_TEST_WAIT_FOR (gtk_widget_get_visible (refusal), 30);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (refusal)),
                            "egress.allow: a comma before “]”"));
  g_assert_cmpuint (count_rows (view), ==, 4);
  cloche_test_save_screenshot (window, "policy-view-refused");

  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *admin_dir = g_dir_make_tmp ("cloche-admin-XXXXXX", NULL);
  int status;

  admin_path = g_build_filename (admin_dir, "policy.json", NULL);
  write_file (admin_path, "{\"version\": 1, \"egress\": {\"deny\": [\"*:25\"]},"
                          " \"locked\": [\"egress.deny\", \"egress.default\"]}");
  g_setenv ("CLOCHE_ADMIN_POLICY", admin_path, TRUE);
  test_daemon = cloche_test_ui_start (&argc, &argv, (const char *[]) {
    "--bundle", "/nonexistent", NULL });

  g_test_add_func ("/policy-view/rules", test_rules);

  status = g_test_run ();
  cloche_test_daemon_free (test_daemon);
  g_unlink (admin_path);
  g_rmdir (admin_dir);
  g_free (admin_path);
  return status;
}
