/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The chooser "Open agent mode" shows first (issue 17), alone: the folders
 * listed with their mode in words and a switch named for what it does; the
 * rows of what to run come from the list model given (so agent profiles
 * are more rows); Open gives the folders as Sessions.Open's mounts and the
 * command; a command line that cannot be read is said, and the chooser
 * stays; closing it is a cancel. The agent profiles are rows of the
 * default list (the built-in ones and the user's, a broken file a row that
 * says so), an agent's row gives its name and hosts, and while the
 * administrator locks egress an agent with hosts is a row that says why
 * and cannot be picked. A built-in agent whose command is not in the tools
 * folder says so and names the command that installs it, and can still
 * be picked; one that is there does not say it. The folder picker itself is
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
  ClocheLaunchItem **item;   /* NULL: not asked for */
} Answer;

static void
on_chosen (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Answer *answer = user_data;

  answer->chosen = cloche_agent_mode_choose_finish (result, &answer->mounts, &answer->argv,
                                                    answer->item, &answer->error);
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

/* The row whose title is @title, and its index. */
static AdwActionRow *
run_row (ClocheAgentModeDialog *dialog,
         const char            *title,
         int                   *index)
{
  GtkListBox *list = cloche_test_ui_child (dialog, "run_list");
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    if (g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), title) == 0)
      {
        if (index != NULL)
          *index = i;
        return ADW_ACTION_ROW (row);
      }
  return NULL;
}

static char *config_home;
static char *data_home;

static void
write_profile (const char *name,
               const char *json)
{
  g_autofree char *dir = g_build_filename (config_home, "cloche", "agents", NULL);
  g_autofree char *file = g_strconcat (name, ".json", NULL);
  g_autofree char *path = g_build_filename (dir, file, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
}

/* The built-in agents and the user's are rows; a broken file is a row
 * that says what is wrong; picking an agent gives its name and hosts. */
static void
test_agents (void)
{
  g_autoptr(GListStore) launchers = NULL;
  GtkWidget *parent = adw_application_window_new (NULL);
  g_autoptr(ClocheLaunchItem) item = NULL;
  ClocheAgentModeDialog *dialog;
  AdwActionRow *row;
  Answer answer = { 0 };
  int index = -1;

  write_profile ("helper", "{\"command\": [\"./helper.sh\", \"--go\"], "
                 "\"hosts\": [\"api.example.test:443\"], \"env\": [\"HELPER_KEY\"], "
                 "\"description\": \"A local helper\"}");
  write_profile ("broken", "{\"command\": \"x\",\n \"env\": [\"NOT A NAME\"]}");
  launchers = cloche_launch_item_list_default (NULL);
  gtk_window_present (GTK_WINDOW (parent));
  cloche_agent_mode_choose_async (parent, G_LIST_MODEL (launchers), NULL, on_chosen, &answer);
  dialog = CLOCHE_AGENT_MODE_DIALOG (cloche_test_ui_wait_agent_mode_chooser ());
  for (guint i = 0; i < 3; i++)
    {
      const char *builtin = (const char *[]) { "claude", "codex", "gemini" }[i];

      g_assert_nonnull ((row = run_row (dialog, builtin, NULL)));
      g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (row)));
    }
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (run_row (dialog, "claude", NULL)),
                            "@anthropic-ai/claude-code"));
  g_assert_nonnull ((row = run_row (dialog, "Broken Agent Profile", NULL)));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (row)));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (row), "broken.json:2:"));
  g_assert_nonnull ((row = run_row (dialog, "helper", &index)));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (row), "A local helper"));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (row), "api.example.test:443"));
  gtk_check_button_set_active (run_check (dialog, index), TRUE);
  cloche_agent_mode_dialog_add_folder (dialog, "/home/user/project", TRUE);
  /* Tall enough for the screenshot to show the agents' rows. */
  gtk_window_set_default_size (GTK_WINDOW (dialog), 600, 1000);
  cloche_test_save_screenshot (GTK_WIDGET (dialog), "agent-mode-chooser-agents");

  answer.item = &item;
  gtk_widget_activate_action (GTK_WIDGET (dialog), "chooser.open", NULL);
  CLOCHE_TEST_WAIT_FOR (answer.done, 5);
  g_assert_true (answer.chosen);
  g_assert_nonnull (item);
  g_assert_cmpstr (cloche_launch_item_get_agent (item), ==, "helper");
  g_assert_cmpstrv (cloche_launch_item_get_hosts (item),
                    ((const char *[]) { "api.example.test:443", NULL }));
  g_assert_cmpstrv (answer.argv, ((const char *[]) { "./helper.sh", "--go", NULL }));
  g_variant_unref (answer.mounts);
  g_strfreev (answer.argv);
  gtk_window_destroy (GTK_WINDOW (parent));
}

/* A file in the tools folder's bin, as `clochectl agent install` leaves
 * one (a link into lib/node_modules there; any entry will do). */
static void
install_tool (const char *command)
{
  g_autofree char *bin = g_build_filename (data_home, "cloche", "tools", "bin", NULL);
  g_autofree char *path = g_build_filename (bin, command, NULL);

  g_assert_cmpint (g_mkdir_with_parents (bin, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, "#!/bin/sh\n", -1, NULL));
}

static gboolean
says_not_installed (ClocheAgentModeDialog *dialog,
                    const char            *title)
{
  AdwActionRow *row = run_row (dialog, title, NULL);

  g_assert_nonnull (row);
  return strstr (adw_action_row_get_subtitle (row), "Not installed") != NULL;
}

/* The tools folder has claude only: gemini's row says it is not installed
 * and how to install it, and still opens; claude's and a profile's with no
 * package (Cloche does not install it) say nothing of it. */
static void
test_not_installed (void)
{
  g_autoptr(GListStore) launchers = NULL;
  GtkWidget *parent = adw_application_window_new (NULL);
  g_autoptr(ClocheLaunchItem) item = NULL;
  ClocheAgentModeDialog *dialog;
  AdwActionRow *row;
  Answer answer = { 0 };
  int index = -1;

  write_profile ("local", "{\"command\": [\"local-agent\"]}");
  install_tool ("claude");
  launchers = cloche_launch_item_list_default (NULL);
  gtk_window_present (GTK_WINDOW (parent));
  cloche_agent_mode_choose_async (parent, G_LIST_MODEL (launchers), NULL, on_chosen, &answer);
  dialog = CLOCHE_AGENT_MODE_DIALOG (cloche_test_ui_wait_agent_mode_chooser ());
  g_assert_nonnull ((row = run_row (dialog, "gemini", &index)));
  g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (row),
                                   "Not installed — clochectl agent install gemini\n"));
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (row), "@google/gemini-cli"));
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (row)));
  g_assert_true (says_not_installed (dialog, "codex"));
  g_assert_false (says_not_installed (dialog, "claude"));
  g_assert_false (says_not_installed (dialog, "local"));
  gtk_check_button_set_active (run_check (dialog, index), TRUE);
  gtk_window_set_default_size (GTK_WINDOW (dialog), 600, 1000);
  cloche_test_save_screenshot (GTK_WIDGET (dialog), "agent-mode-chooser-not-installed");

  answer.item = &item;
  gtk_widget_activate_action (GTK_WIDGET (dialog), "chooser.open", NULL);
  CLOCHE_TEST_WAIT_FOR (answer.done, 5);
  g_assert_true (answer.chosen);
  g_assert_cmpstr (cloche_launch_item_get_agent (item), ==, "gemini");
  g_assert_cmpstrv (answer.argv, ((const char *[]) { "gemini", NULL }));
  g_variant_unref (answer.mounts);
  g_strfreev (answer.argv);
  gtk_window_destroy (GTK_WINDOW (parent));
}

/* The administrator locks egress.allow: an agent whose session would add
 * hosts says why and cannot be picked; one with no hosts still can. */
static void
test_locked (void)
{
  g_autoptr(GListStore) launchers = NULL;
  GtkWidget *parent = adw_application_window_new (NULL);
  AdwActionRow *row;
  Answer answer = { 0 };

  write_profile ("hostless", "{\"command\": [\"true\"]}");
  launchers = cloche_launch_item_list_default ((const char *[]) { "egress.default",
                                                                  "egress.allow", NULL });
  gtk_window_present (GTK_WINDOW (parent));
  cloche_agent_mode_choose_async (parent, G_LIST_MODEL (launchers), NULL, on_chosen, &answer);
  {
    ClocheAgentModeDialog *dialog =
      CLOCHE_AGENT_MODE_DIALOG (cloche_test_ui_wait_agent_mode_chooser ());

    g_assert_nonnull ((row = run_row (dialog, "claude", NULL)));
    g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (row)));
    g_assert_nonnull (strstr (adw_action_row_get_subtitle (row),
                              "the administrator locks egress"));
    g_assert_nonnull (strstr (adw_action_row_get_subtitle (row), "api.anthropic.com:443"));
    g_assert_nonnull ((row = run_row (dialog, "hostless", NULL)));
    g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (row)));
    cloche_test_save_screenshot (GTK_WIDGET (dialog), "agent-mode-chooser-locked");
    gtk_window_close (GTK_WINDOW (dialog));
  }
  CLOCHE_TEST_WAIT_FOR (answer.done, 5);
  g_clear_error (&answer.error);
  gtk_window_destroy (GTK_WINDOW (parent));
}

static void
test_choose (void)
{
  GtkWidget *parent = adw_application_window_new (NULL);
  g_autoptr(GListStore) launchers = cloche_launch_item_list_default (NULL);
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
  /* Tall enough for the screenshot to show the rows and what is said
   * under the command line. */
  gtk_window_set_default_size (GTK_WINDOW (dialog), 600, 1000);

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
  g_autoptr(GListStore) launchers = cloche_launch_item_list_default (NULL);
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
  g_autoptr(GListStore) launchers = cloche_launch_item_list_default (NULL);
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
  int status;

  g_setenv ("GTK_A11Y", "test", TRUE);
  /* The user's agent profiles are read from here, none but the tests'. */
  config_home = g_dir_make_tmp ("cloche-test-config-XXXXXX", NULL);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  /* The tools folder is $XDG_DATA_HOME/cloche/tools: empty but for what
   * a test puts there. */
  data_home = g_dir_make_tmp ("cloche-test-data-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/agent-mode-chooser/choose", test_choose);
  g_test_add_func ("/agent-mode-chooser/cancel", test_cancel);
  g_test_add_func ("/agent-mode-chooser/defaults", test_defaults);
  g_test_add_func ("/agent-mode-chooser/agents", test_agents);
  g_test_add_func ("/agent-mode-chooser/locked", test_locked);
  g_test_add_func ("/agent-mode-chooser/not-installed", test_not_installed);
  status = g_test_run ();
  {
    g_autofree char *rm = g_strdup_printf ("rm -rf %s %s", config_home, data_home);

    g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL);
  }
  return status;
}
