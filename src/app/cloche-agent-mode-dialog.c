/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What "Open agent mode" asks first: the folders the agent works on (each
 * read-only unless writing is allowed, the mode shown in words beside its
 * switch), and what runs in the terminal: a row of a GListModel of
 * ClocheLaunchItem (a shell, a command typed here, the agent profiles). An
 * item that cannot be used (an agent whose hosts the administrator's lock
 * forbids) is a row that says why and cannot be picked. Folders are
 * picked with GtkFileChooserNative (a portal in Flatpak; GTK 4.8 has no
 * GtkFileDialog).
 *
 * cloche_agent_mode_choose_async() shows it and completes with the
 * folders, as Sessions.Open's "mounts" (a(sb): path, read-only), the
 * command (NULL: the login shell) and the item chosen (an agent's name and
 * hosts); closing it without Open is
 * G_IO_ERROR_CANCELLED. A command line that cannot be read is said under
 * it, and the dialog stays.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-agent-mode-dialog.h"
#include "cloche-launch-item.h"

struct _ClocheAgentModeDialog
{
  AdwWindow            parent_instance;
  GtkListBox          *folder_list;
  GtkListBox          *run_list;
  AdwPreferencesGroup *command_group;
  AdwEntryRow         *command_row;
  GtkCheckButton      *first_check;    /* the radio group's leader */
  ClocheLaunchItem    *selected;
  GtkFileChooserNative *chooser;
  GTask               *task;
};

G_DEFINE_FINAL_TYPE (ClocheAgentModeDialog, cloche_agent_mode_dialog, ADW_TYPE_WINDOW)

/* Folders */

static void
cloche_agent_mode_dialog_writable_cb (GtkSwitch  *toggle,
                                      GParamSpec *pspec,
                                      GtkLabel   *mode)
{
  gtk_label_set_label (mode, gtk_switch_get_active (toggle) ? _("Read-write") : _("Read-only"));
}

static void
cloche_agent_mode_dialog_remove_cb (GtkButton *button,
                                    GtkWidget *row)
{
  GtkWidget *list = gtk_widget_get_parent (row);

  gtk_list_box_remove (GTK_LIST_BOX (list), row);
}

static GtkWidget *
cloche_agent_mode_dialog_folder_row_new (const char *path,
                                         gboolean    writable)
{
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *write_label = g_strdup_printf (_("Allow writing to “%s”"), name);
  g_autofree char *remove_label = g_strdup_printf (_("Remove “%s”"), name);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *mode = gtk_label_new (NULL);
  GtkWidget *toggle = gtk_switch_new ();
  GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), path);
  g_object_set_data_full (G_OBJECT (row), "path", g_strdup (path), g_free);
  g_object_set_data (G_OBJECT (row), "switch", toggle);
  gtk_widget_add_css_class (mode, "dim-label");
  gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (remove, "flat");
  gtk_widget_set_tooltip_text (remove, remove_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (toggle), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  write_label, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (remove), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  remove_label, -1);
  g_signal_connect (toggle, "notify::active", G_CALLBACK (cloche_agent_mode_dialog_writable_cb),
                    mode);
  g_signal_connect (remove, "clicked", G_CALLBACK (cloche_agent_mode_dialog_remove_cb), row);
  gtk_switch_set_active (GTK_SWITCH (toggle), writable);
  cloche_agent_mode_dialog_writable_cb (GTK_SWITCH (toggle), NULL, GTK_LABEL (mode));
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), mode);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), toggle);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), remove);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), toggle);
  return row;
}

/**
 * cloche_agent_mode_dialog_add_folder:
 *
 * Lists @path (once: a folder listed already keeps its row).
 */
void
cloche_agent_mode_dialog_add_folder (ClocheAgentModeDialog *self,
                                     const char            *path,
                                     gboolean               writable)
{
  g_return_if_fail (CLOCHE_IS_AGENT_MODE_DIALOG (self));

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->folder_list));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    if (g_strcmp0 (g_object_get_data (G_OBJECT (row), "path"), path) == 0)
      return;
  gtk_list_box_append (self->folder_list, cloche_agent_mode_dialog_folder_row_new (path, writable));
}

static void
cloche_agent_mode_dialog_folder_chosen_cb (GtkNativeDialog       *chooser,
                                           int                    response,
                                           ClocheAgentModeDialog *self)
{
  g_autoptr(GFile) folder = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (folder != NULL && (path = g_file_get_path (folder)) != NULL)
    cloche_agent_mode_dialog_add_folder (self, path, FALSE);
  g_clear_object (&self->chooser);
}

static void
cloche_agent_mode_dialog_add_folder_action (GtkWidget  *widget,
                                            const char *action_name,
                                            GVariant   *parameter)
{
  ClocheAgentModeDialog *self = CLOCHE_AGENT_MODE_DIALOG (widget);

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Add a Folder for the Agent"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Add"),
                                               _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response",
                    G_CALLBACK (cloche_agent_mode_dialog_folder_chosen_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* What to run */

static void
cloche_agent_mode_dialog_run_toggled_cb (GtkCheckButton        *check,
                                         ClocheAgentModeDialog *self)
{
  ClocheLaunchItem *item = g_object_get_data (G_OBJECT (check), "item");

  if (!gtk_check_button_get_active (check))
    return;
  self->selected = item;
  gtk_widget_set_sensitive (GTK_WIDGET (self->command_row),
                            cloche_launch_item_takes_command (item));
  adw_preferences_group_set_description (self->command_group, NULL);
}

static GtkWidget *
cloche_agent_mode_dialog_run_row_new (ClocheAgentModeDialog *self,
                                      ClocheLaunchItem      *item)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *check = gtk_check_button_new ();
  const char *unavailable = cloche_launch_item_get_unavailable (item);

  /* A user's profile file says what these are: text, not markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), cloche_launch_item_get_title (item));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), unavailable != NULL
                               ? unavailable : cloche_launch_item_get_subtitle (item));
  gtk_widget_set_sensitive (row, unavailable == NULL);
  g_object_set_data_full (G_OBJECT (check), "item", g_object_ref (item), g_object_unref);
  if (self->first_check == NULL)
    self->first_check = GTK_CHECK_BUTTON (check);
  else
    gtk_check_button_set_group (GTK_CHECK_BUTTON (check), self->first_check);
  g_signal_connect (check, "toggled", G_CALLBACK (cloche_agent_mode_dialog_run_toggled_cb), self);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
  return row;
}

static void
cloche_agent_mode_dialog_set_launchers (ClocheAgentModeDialog *self,
                                        GListModel            *launchers)
{
  for (guint i = 0; i < g_list_model_get_n_items (launchers); i++)
    {
      g_autoptr(ClocheLaunchItem) item = g_list_model_get_item (launchers, i);

      gtk_list_box_append (self->run_list, cloche_agent_mode_dialog_run_row_new (self, item));
    }
  if (self->first_check != NULL)
    gtk_check_button_set_active (self->first_check, TRUE);
}

/* Open */

static GVariant *
cloche_agent_mode_dialog_mounts_chosen (ClocheAgentModeDialog *self)
{
  GVariantBuilder mounts;

  g_variant_builder_init (&mounts, G_VARIANT_TYPE ("a(sb)"));
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->folder_list));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    {
      const char *path = g_object_get_data (G_OBJECT (row), "path");
      GtkSwitch *toggle = g_object_get_data (G_OBJECT (row), "switch");

      if (path != NULL)
        g_variant_builder_add (&mounts, "(sb)", path, !gtk_switch_get_active (toggle));
    }
  return g_variant_builder_end (&mounts);
}

/* The command to run: the item's, or the line typed (NULL and the reason
 * shown when it cannot be read). */
static gboolean
cloche_agent_mode_dialog_command_chosen (ClocheAgentModeDialog *self,
                                         GStrv                 *argv)
{
  const char *line = gtk_editable_get_text (GTK_EDITABLE (self->command_row));
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  *argv = NULL;
  if (self->selected == NULL || !cloche_launch_item_takes_command (self->selected))
    {
      *argv = self->selected != NULL
              ? g_strdupv ((char **) cloche_launch_item_get_argv (self->selected)) : NULL;
      return TRUE;
    }
  if (g_shell_parse_argv (line, NULL, argv, &error))
    return TRUE;
  text = g_strdup_printf (_("Cannot read this command line: %s. Type a command and its "
                            "arguments, or pick Shell."),
                          line[0] == '\0' ? _("it is empty") : error->message);
  adw_preferences_group_set_description (self->command_group, text);
  gtk_widget_grab_focus (GTK_WIDGET (self->command_row));
  return FALSE;
}

typedef struct
{
  GVariant         *mounts;
  GStrv             argv;
  ClocheLaunchItem *item;
} Choice;

static void
cloche_agent_mode_dialog_choice_free (Choice *choice)
{
  g_clear_pointer (&choice->mounts, g_variant_unref);
  g_strfreev (choice->argv);
  g_clear_object (&choice->item);
  g_free (choice);
}

static void
cloche_agent_mode_dialog_open_action (GtkWidget  *widget,
                                      const char *action_name,
                                      GVariant   *parameter)
{
  ClocheAgentModeDialog *self = CLOCHE_AGENT_MODE_DIALOG (widget);
  g_autoptr(GTask) task = NULL;
  Choice *choice;
  GStrv argv;

  if (!cloche_agent_mode_dialog_command_chosen (self, &argv))
    return;
  choice = g_new0 (Choice, 1);
  choice->mounts = g_variant_ref_sink (cloche_agent_mode_dialog_mounts_chosen (self));
  choice->argv = argv;
  choice->item = self->selected != NULL ? g_object_ref (self->selected) : NULL;
  task = g_steal_pointer (&self->task);
  if (task != NULL)
    g_task_return_pointer (task, choice, (GDestroyNotify) cloche_agent_mode_dialog_choice_free);
  else
    cloche_agent_mode_dialog_choice_free (choice);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
cloche_agent_mode_dialog_command_activated_cb (ClocheAgentModeDialog *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "chooser.open", NULL);
}

/* What was wrong with the line before is not about this one. */
static void
cloche_agent_mode_dialog_command_changed_cb (ClocheAgentModeDialog *self)
{
  adw_preferences_group_set_description (self->command_group, NULL);
}

static void
cloche_agent_mode_dialog_dispose (GObject *object)
{
  ClocheAgentModeDialog *self = CLOCHE_AGENT_MODE_DIALOG (object);
  g_autoptr(GTask) task = g_steal_pointer (&self->task);

  if (task != NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "Agent mode was not opened");
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_AGENT_MODE_DIALOG);
  G_OBJECT_CLASS (cloche_agent_mode_dialog_parent_class)->dispose (object);
}

static void
cloche_agent_mode_dialog_class_init (ClocheAgentModeDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_agent_mode_dialog_dispose;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-agent-mode-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheAgentModeDialog, folder_list);
  gtk_widget_class_bind_template_child (widget_class, ClocheAgentModeDialog, run_list);
  gtk_widget_class_bind_template_child (widget_class, ClocheAgentModeDialog, command_group);
  gtk_widget_class_bind_template_child (widget_class, ClocheAgentModeDialog, command_row);
  gtk_widget_class_bind_template_callback (widget_class,
                                           cloche_agent_mode_dialog_command_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class,
                                           cloche_agent_mode_dialog_command_changed_cb);
  gtk_widget_class_install_action (widget_class, "chooser.open", NULL,
                                   cloche_agent_mode_dialog_open_action);
  gtk_widget_class_install_action (widget_class, "chooser.add-folder", NULL,
                                   cloche_agent_mode_dialog_add_folder_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
cloche_agent_mode_dialog_init (ClocheAgentModeDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * cloche_agent_mode_choose_async:
 * @from: a widget of the window the chooser belongs to
 * @launchers: (element-type ClocheLaunchItem): what may run
 *
 * Asks which folders agent mode gets and what it runs.
 */
void
cloche_agent_mode_choose_async (GtkWidget           *from,
                                GListModel          *launchers,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  ClocheAgentModeDialog *self = g_object_new (CLOCHE_TYPE_AGENT_MODE_DIALOG, NULL);
  GtkRoot *root = gtk_widget_get_root (from);

  self->task = g_task_new (from, cancellable, callback, user_data);
  g_task_set_source_tag (self->task, cloche_agent_mode_choose_async);
  if (GTK_IS_WINDOW (root))
    gtk_window_set_transient_for (GTK_WINDOW (self), GTK_WINDOW (root));
  cloche_agent_mode_dialog_set_launchers (self, launchers);
  gtk_window_present (GTK_WINDOW (self));
}

/**
 * cloche_agent_mode_choose_finish:
 * @mounts: (out): the folders, a(sb) as Sessions.Open takes them
 * @argv: (out) (nullable): the command, or %NULL for the login shell
 * @item: (out) (optional) (nullable) (transfer full): the row chosen
 *
 * Returns: FALSE with G_IO_ERROR_CANCELLED when the chooser was closed
 */
gboolean
cloche_agent_mode_choose_finish (GAsyncResult  *result,
                                 GVariant     **mounts,
                                 GStrv         *argv,
                                 ClocheLaunchItem **item,
                                 GError       **error)
{
  Choice *choice = g_task_propagate_pointer (G_TASK (result), error);

  if (choice == NULL)
    return FALSE;
  *mounts = g_steal_pointer (&choice->mounts);
  *argv = g_steal_pointer (&choice->argv);
  if (item != NULL)
    *item = g_steal_pointer (&choice->item);
  cloche_agent_mode_dialog_choice_free (choice);
  return TRUE;
}
