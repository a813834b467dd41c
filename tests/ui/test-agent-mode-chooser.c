/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The chooser "Open agent mode" shows first (issue 17), alone: the folders
 * listed with their mode in words and a switch named for what it does; the
 * rows of what to run come from the list model given (so agent profiles
 * are more rows); Open gives the folders as Sessions.Open's mounts and the
 * command; a command line that cannot be read is said, and the chooser
 * stays; closing it is a cancel. The folder picker itself is
 * GtkFileChooserNative (a portal), which a test cannot drive: folders are
 * added as it would add them.
 */
#include "config.h"

#include "cloche-agent-mode-dialog.h"
#include "cloche-launch-item.h"
#include "cloche-test-ui.h"

typedef struct
{
  gboolean  done;
  gboolean  chosen;
  GVariant *mounts;
  GStrv     argv;
  GError   *error;
} Answer;

static void
on_chosen (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Answer *answer = user_data;

  answer->chosen = cloche_agent_mode_choose_finish (result, &answer->mounts, &answer->argv,
                                                    &answer->error);
  answer->done = TRUE;
}

static GtkLabel *
find_label (GtkWidget  *widget,
            const char *text)
{
  if (GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), text) == 0)
    return GTK_LABEL (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkLabel *found = find_label (child, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The check button of the "what to run" row at @index. */
static GtkCheckButton *
run_check (ClocheAgentModeDialog *dialog,
           int                    index)
{
  GtkWidget *row = GTK_WIDGET (gtk_list_box_get_row_at_index (
    cloche_test_ui_child (dialog, "run_list"), index));

  for (GtkWidget *w = row; w != NULL;)
    {
      GtkWidget *child = gtk_widget_get_first_child (w);

      while (child != NULL && !GTK_IS_CHECK_BUTTON (child)
             && gtk_widget_get_first_child (child) == NULL)
        child = gtk_widget_get_next_sibling (child);
      if (child != NULL && GTK_IS_CHECK_BUTTON (child))
        return GTK_CHECK_BUTTON (child);
      w = child;
    }
  g_assert_not_reached ();
}

static GtkSwitch *
folder_switch (ClocheAgentModeDialog *dialog,
               int                    index)
{
  GtkWidget *row = GTK_WIDGET (gtk_list_box_get_row_at_index (
    cloche_test_ui_child (dialog, "folder_list"), index));

  return g_object_get_data (G_OBJECT (row), "switch");
}

static void
test_choose (void)
{
  GtkWidget *parent = adw_application_window_new (NULL);
  g_autoptr(GListStore) launchers = cloche_launch_item_list_default ();
  g_autoptr(ClocheLaunchItem) agent = NULL;
  ClocheAgentModeDialog *dialog;
  Answer answer = { 0 };
  const char *path;
  gboolean readonly;

  /* A profile, as the agents' list would add one: a row like the others. */
  agent = cloche_launch_item_new ("Example agent", "A made-up profile",
                                  (const char *[]) { "example-agent", "--flag", NULL }, FALSE);
  g_list_store_append (launchers, agent);
  gtk_window_present (GTK_WINDOW (parent));
  cloche_agent_mode_choose_async (parent, G_LIST_MODEL (launchers), NULL, on_chosen, &answer);
  dialog = CLOCHE_AGENT_MODE_DIALOG (cloche_test_ui_wait_agent_mode_chooser ());
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (dialog)) == GTK_WINDOW (parent));
  g_assert_true (gtk_window_get_modal (GTK_WINDOW (dialog)));
  g_assert_nonnull (find_label (GTK_WIDGET (dialog), "Example agent"));

  cloche_agent_mode_dialog_add_folder (dialog, "/home/user/project", TRUE);
  cloche_agent_mode_dialog_add_folder (dialog, "/home/user/notes", FALSE);
  cloche_agent_mode_dialog_add_folder (dialog, "/home/user/project", FALSE);
  g_assert_nonnull (gtk_list_box_get_row_at_index (cloche_test_ui_child (dialog, "folder_list"), 1));
  g_assert_null (gtk_list_box_get_row_at_index (cloche_test_ui_child (dialog, "folder_list"), 2));
  gtk_test_accessible_assert_property (folder_switch (dialog, 0), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       "Allow writing to “project”");
  g_assert_nonnull (find_label (GTK_WIDGET (dialog), "Read-write"));
  g_assert_nonnull (find_label (GTK_WIDGET (dialog), "Read-only"));

  /* Shell is picked first; the command line is for "Command" only. */
  g_assert_true (gtk_check_button_get_active (run_check (dialog, 0)));
  g_assert_false (gtk_widget_get_sensitive (cloche_test_ui_child (dialog, "command_row")));
  gtk_check_button_set_active (run_check (dialog, 1), TRUE);
  g_assert_true (gtk_widget_get_sensitive (cloche_test_ui_child (dialog, "command_row")));
  gtk_editable_set_text (cloche_test_ui_child (dialog, "command_row"), "npm test 'unclosed");
  gtk_widget_activate_action (GTK_WIDGET (dialog), "chooser.open", NULL);
  g_main_context_iteration (NULL, FALSE);
  g_assert_false (answer.done);
  g_assert_nonnull (strstr (adw_preferences_group_get_description (
    cloche_test_ui_child (dialog, "command_group")), "Cannot read this command line"));
  cloche_test_save_screenshot (GTK_WIDGET (dialog), "agent-mode-chooser");
  gtk_editable_set_text (cloche_test_ui_child (dialog, "command_row"), "npm test -- 'a b'");
  /* Edited: what was wrong with the line before is gone. */
  g_assert_null (strstr (adw_preferences_group_get_description (cloche_test_ui_child (
    dialog, "command_group")) ?: "", "Cannot read"));

  gtk_widget_activate_action (GTK_WIDGET (dialog), "chooser.open", NULL);
  CLOCHE_TEST_WAIT_FOR (answer.done, 5);
  g_assert_no_error (answer.error);
  g_assert_true (answer.chosen);
  g_assert_cmpuint (g_variant_n_children (answer.mounts), ==, 2);
  g_variant_get_child (answer.mounts, 0, "(&sb)", &path, &readonly);
  g_assert_cmpstr (path, ==, "/home/user/project");
  g_assert_false (readonly);
  g_variant_get_child (answer.mounts, 1, "(&sb)", &path, &readonly);
  g_assert_cmpstr (path, ==, "/home/user/notes");
  g_assert_true (readonly);
  g_assert_cmpstrv (answer.argv, ((const char *[]) { "npm", "test", "--", "a b", NULL }));
  g_variant_unref (answer.mounts);
  g_strfreev (answer.argv);
  gtk_window_destroy (GTK_WINDOW (parent));
}

/* Closed without Open: cancelled, nothing opened. */
static void
test_cancel (void)
{
  g_autoptr(GListStore) launchers = cloche_launch_item_list_default ();
  GtkWidget *parent = adw_application_window_new (NULL);
  Answer answer = { 0 };

  cloche_agent_mode_choose_async (parent, G_LIST_MODEL (launchers), NULL, on_chosen, &answer);
  gtk_window_close (cloche_test_ui_wait_agent_mode_chooser ());
  CLOCHE_TEST_WAIT_FOR (answer.done, 5);
  g_assert_false (answer.chosen);
  g_assert_error (answer.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&answer.error);
  gtk_window_destroy (GTK_WINDOW (parent));
}

/* Shell, no folder: the login shell (no command), no mounts. */
static void
test_defaults (void)
{
  g_autoptr(GListStore) launchers = cloche_launch_item_list_default ();
  GtkWidget *parent = adw_application_window_new (NULL);
  Answer answer = { 0 };

  cloche_agent_mode_choose_async (parent, G_LIST_MODEL (launchers), NULL, on_chosen, &answer);
  cloche_test_ui_answer_agent_mode_chooser ();
  CLOCHE_TEST_WAIT_FOR (answer.done, 5);
  g_assert_true (answer.chosen);
  g_assert_null (answer.argv);
  g_assert_cmpuint (g_variant_n_children (answer.mounts), ==, 0);
  g_variant_unref (answer.mounts);
  gtk_window_destroy (GTK_WINDOW (parent));
}

int
main (int   argc,
      char *argv[])
{
  g_setenv ("GTK_A11Y", "test", TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/agent-mode-chooser/choose", test_choose);
  g_test_add_func ("/agent-mode-chooser/cancel", test_cancel);
  g_test_add_func ("/agent-mode-chooser/defaults", test_defaults);
  return g_test_run ();
}
