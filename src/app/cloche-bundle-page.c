/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Bundle page: where the sandbox bundle is, what it is and what it
 * takes on disk; verify, move and remove it; and, when there is none,
 * install one after saying how large it is and where it will go. Every
 * value comes from io.github.cloche.Bundle; the operations run in the
 * daemon and this page follows their Progress.
 *
 * The "bundle-location" setting is the folder the user last installed or
 * moved the bundle to: the next install goes there unless the user picks
 * another, and the folder chooser opens beside it.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-bundle-builder.h"
#include "cloche-bundle-page.h"
#include "cloche-page-util.h"
#include "cloche-settings.h"

/* Operations take minutes; Progress says they are alive. */

struct _ClocheBundlePage
{
  AdwBin              parent_instance;

  ClocheClient       *client;
  ClocheDbusBundle   *bundle;
  GCancellable       *cancellable;
  GSettings          *settings;     /* NULL without the schema */
  char               *location;     /* chosen for the next install, or NULL */
  char               *requested;    /* where the running install/move goes */
  ClocheBundleBuilder *builder;     /* the default bundle, built here */
  GCancellable       *build_cancellable;

  GtkRevealer        *message_revealer;
  GtkLabel           *message_label;
  GtkStack           *state_stack;
  AdwActionRow       *location_row;
  AdwActionRow       *version_row;
  AdwActionRow       *size_row;
  AdwActionRow       *snapshot_row;
  AdwActionRow       *tools_row;
  AdwActionRow       *verified_row;
  AdwActionRow       *build_row;
  GtkButton          *build_button;
  AdwEntryRow        *source_row;
  AdwStatusPage      *busy_page;
  GtkProgressBar     *progress_bar;
  GtkLabel           *progress_label;
};

G_DEFINE_FINAL_TYPE (ClocheBundlePage, cloche_bundle_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Messages */

static void
cloche_bundle_page_show_message (ClocheBundlePage *self,
                                 const char       *text,
                                 gboolean          is_error)
{
  cloche_message_label_set (self->message_label, text, is_error);
  gtk_revealer_set_reveal_child (self->message_revealer, text != NULL);
}

static void
cloche_bundle_page_show_error (ClocheBundlePage *self,
                               const char       *what,
                               GError           *error)
{
  g_autofree char *text = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      cloche_bundle_page_show_message (self,
                                       _("Cancelled. Nothing was changed; an interrupted download "
                                         "is kept and resumes at the next install."), FALSE);
      return;
    }
  g_dbus_error_strip_remote_error (error);
  text = g_strdup_printf ("%s: %s", what, error->message);
  cloche_bundle_page_show_message (self, text, TRUE);
}

/* State */

static char *
cloche_bundle_page_format_size (guint64 bytes)
{
  g_autofree char *size = g_format_size (bytes);
  g_autofree char *exact = g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);

  /* The exact figure too: it is what removing gives back. The number is
   * formatted apart, since xgettext cannot read G_GUINT64_FORMAT. */
  /* Translators: a size such as "62.6 MB", then the same in bytes */
  return g_strdup_printf (_("%s (%s bytes)"), size, exact);
}

static char *
cloche_bundle_page_format_verified (gint64 when)
{
  g_autoptr(GDateTime) time = NULL;

  if (when <= 0)
    return g_strdup (_("Never"));
  time = g_date_time_new_from_unix_local (when);
  return g_date_time_format (time, "%x %X");
}

static const char *
cloche_bundle_page_busy_title (const char *operation)
{
  if (g_str_equal (operation, "install"))
    return _("Installing the Bundle…");
  if (g_str_equal (operation, "verify"))
    return _("Verifying the Bundle…");
  if (g_str_equal (operation, "relocate"))
    return _("Moving the Bundle…");
  return _("Removing the Bundle…");
}

/* The warm-wake snapshot: the idle VM saved, removed with the bundle. */
static void
cloche_bundle_page_update_snapshot (ClocheBundlePage *self)
{
  guint64 bytes = cloche_dbus_bundle_get_snapshot_size (self->bundle);
  g_autofree char *size = cloche_bundle_page_format_size (bytes);
  /* Translators: the size of the idle VM saved on disk (warm wake) */
  g_autofree char *text = g_strdup_printf (_("%s, restored at the next open"), size);

  adw_action_row_set_subtitle (self->snapshot_row, text);
  gtk_widget_set_visible (GTK_WIDGET (self->snapshot_row), bytes > 0);
}

/* The tools folder: agents installed in the sandbox, kept when the bundle
 * goes, removed on their own. */
static void
cloche_bundle_page_update_tools (ClocheBundlePage *self)
{
  guint64 bytes = cloche_dbus_bundle_get_tools_size (self->bundle);
  g_autofree char *size = cloche_bundle_page_format_size (bytes);
  /* Translators: the size of the agents installed in the sandbox (Node.js, npm, the agents) */
  g_autofree char *text = g_strdup_printf (_("%s in the tools folder, kept with a new bundle"),
                                           size);

  adw_action_row_set_subtitle (self->tools_row, text);
  gtk_widget_set_visible (GTK_WIDGET (self->tools_row), bytes > 0);
}

static void
cloche_bundle_page_update_installed (ClocheBundlePage *self)
{
  g_autofree char *version = g_strdup_printf ("%s %s", cloche_dbus_bundle_get_name (self->bundle),
                                              cloche_dbus_bundle_get_version (self->bundle));
  g_autofree char *size =
    cloche_bundle_page_format_size (cloche_dbus_bundle_get_size (self->bundle));
  g_autofree char *verified =
    cloche_bundle_page_format_verified (cloche_dbus_bundle_get_last_verified (self->bundle));

  adw_action_row_set_subtitle (self->location_row, cloche_dbus_bundle_get_location (self->bundle));
  adw_action_row_set_subtitle (self->version_row, version);
  adw_action_row_set_subtitle (self->size_row, size);
  cloche_bundle_page_update_snapshot (self);
  cloche_bundle_page_update_tools (self);
  adw_action_row_set_subtitle (self->verified_row, verified);
}

static void cloche_bundle_page_prefill_source (ClocheBundlePage *self);

static void
cloche_bundle_page_update_cb (ClocheBundlePage *self)
{
  const char *operation = self->bundle != NULL
                          ? cloche_dbus_bundle_get_operation (self->bundle) : NULL;
  const char *state;

  if (cloche_bundle_builder_get_running (self->builder))
    {
      state = "busy";
      adw_status_page_set_title (self->busy_page, _("Building the Default Bundle…"));
    }
  else if (self->bundle == NULL || cloche_dbus_bundle_get_location (self->bundle) == NULL)
    state = "loading";
  else if (operation != NULL && operation[0] != '\0')
    {
      state = "busy";
      adw_status_page_set_title (self->busy_page, cloche_bundle_page_busy_title (operation));
    }
  else if (cloche_dbus_bundle_get_installed (self->bundle))
    {
      state = "installed";
      cloche_bundle_page_update_installed (self);
    }
  else
    {
      state = "missing";
      cloche_bundle_page_prefill_source (self);
    }
  gtk_stack_set_visible_child_name (self->state_stack, state);
}

/* The page's state: "loading", "installed", "missing" or "busy". */
const char *
cloche_bundle_page_get_state (ClocheBundlePage *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_PAGE (self), NULL);
  return gtk_stack_get_visible_child_name (self->state_stack);
}

static void
cloche_bundle_page_progress_cb (ClocheBundlePage *self,
                                const char       *operation,
                                const char       *phase,
                                const char       *file,
                                guint64           done,
                                guint64           total)
{
  g_autofree char *done_text = g_format_size (done);
  g_autofree char *total_text = g_format_size (total);
  /* Translators: progress, e.g. "12.0 MB of 62.6 MB" */
  g_autofree char *text = g_strdup_printf (_("%s of %s"), done_text, total_text);

  cloche_progress_bar_set (self->progress_bar, done, total, text);
  gtk_label_set_label (self->progress_label, file);
}

/* The source the last install came from, offered again. */

static void
cloche_bundle_page_info_cb (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  g_autoptr(ClocheBundlePage) self = user_data;
  g_autoptr(GVariant) info = NULL;
  const char *source = NULL;

  if (!cloche_dbus_bundle_call_info_finish (CLOCHE_DBUS_BUNDLE (object), &info, result, NULL))
    return;
  if (g_variant_lookup (info, "source", "&s", &source)
      && gtk_editable_get_text (GTK_EDITABLE (self->source_row))[0] == '\0')
    gtk_editable_set_text (GTK_EDITABLE (self->source_row), source);
}

static void
cloche_bundle_page_prefill_source (ClocheBundlePage *self)
{
  if (gtk_editable_get_text (GTK_EDITABLE (self->source_row))[0] != '\0')
    return;
  cloche_dbus_bundle_call_info (self->bundle, self->cancellable, cloche_bundle_page_info_cb,
                                g_object_ref (self));
}

/* The proxy: the client's, with its timeout for calls as long as an
 * install. */

static void
cloche_bundle_page_connect_bundle (ClocheBundlePage *self)
{
  ClocheDbusBundle *bundle = self->client != NULL ? cloche_client_get_bundle (self->client) : NULL;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->bundle != NULL)
    g_signal_handlers_disconnect_by_data (self->bundle, self);
  g_set_object (&self->bundle, bundle);
  if (bundle != NULL)
    {
      self->cancellable = g_cancellable_new ();
      g_signal_connect_object (bundle, "g-properties-changed",
                               G_CALLBACK (cloche_bundle_page_update_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (bundle, "progress", G_CALLBACK (cloche_bundle_page_progress_cb),
                               self,
                               G_CONNECT_SWAPPED);
    }
  cloche_bundle_page_update_cb (self);
}

static void
cloche_bundle_page_set_client (ClocheBundlePage *self,
                               ClocheClient     *client)
{
  if (!g_set_object (&self->client, client))
    return;
  cloche_bundle_page_connect_bundle (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

/* Verify, cancel */

static void
cloche_bundle_page_verified_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheBundlePage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (cloche_dbus_bundle_call_verify_finish (CLOCHE_DBUS_BUNDLE (object), result, &error))
    cloche_bundle_page_show_message (self, _("Every file of the bundle matches its sha256."),
                                     FALSE);
  else
    cloche_bundle_page_show_error (self, _("The bundle does not verify"), error);
}

static void
cloche_bundle_page_verify_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  ClocheBundlePage *self = CLOCHE_BUNDLE_PAGE (widget);

  cloche_bundle_page_show_message (self, NULL, FALSE);
  cloche_dbus_bundle_call_verify (self->bundle, NULL, cloche_bundle_page_verified_cb,
                                  g_object_ref (self));
}

static void
cloche_bundle_page_cancel_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  ClocheBundlePage *self = CLOCHE_BUNDLE_PAGE (widget);

  if (cloche_bundle_builder_get_running (self->builder))
    g_cancellable_cancel (self->build_cancellable);
  else
    cloche_dbus_bundle_call_cancel (self->bundle, NULL, NULL, NULL);
}

/* Remove */

/* What differs between removing the bundle and removing the agents (the
 * tools folder): the call that ends, and what is said after it. Both calls
 * answer with the bytes freed. */
typedef struct
{
  gboolean    (*finish) (ClocheDbusBundle  *proxy,
                         guint64           *out_freed,
                         GAsyncResult      *result,
                         GError           **error);
  const char   *failed;                       /* the error's heading */
  char       *(*done)   (const char *freed);  /* the sentence after it */
} ClocheBundlePageRemoval;

static char *
cloche_bundle_page_bundle_removed_text (const char *freed)
{
  return g_strdup_printf (_("The sandbox bundle was removed and %s were freed. "
                            "Sessions and their files were kept."), freed);
}

static char *
cloche_bundle_page_tools_removed_text (const char *freed)
{
  return g_strdup_printf (_("The agents installed in the sandbox were removed and %s were "
                            "freed."), freed);
}

static const ClocheBundlePageRemoval cloche_bundle_page_bundle_removal = {
  cloche_dbus_bundle_call_remove_finish,
  N_("The bundle was not removed"),
  cloche_bundle_page_bundle_removed_text,
};

static const ClocheBundlePageRemoval cloche_bundle_page_tools_removal = {
  cloche_dbus_bundle_call_remove_tools_finish,
  N_("The agents were not removed"),
  cloche_bundle_page_tools_removed_text,
};

/* One removal under way: the page and which removal it is. */
typedef struct
{
  ClocheBundlePage              *self;
  const ClocheBundlePageRemoval *removal;
} ClocheBundlePageRemoving;

static ClocheBundlePageRemoving *
cloche_bundle_page_removing_new (ClocheBundlePage              *self,
                                 const ClocheBundlePageRemoval *removal)
{
  ClocheBundlePageRemoving *removing = g_new0 (ClocheBundlePageRemoving, 1);

  cloche_bundle_page_show_message (self, NULL, FALSE);
  removing->self = g_object_ref (self);
  removing->removal = removal;
  return removing;
}

static void
cloche_bundle_page_removed_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  ClocheBundlePageRemoving *removing = user_data;
  g_autoptr(ClocheBundlePage) self = removing->self;
  const ClocheBundlePageRemoval *removal = removing->removal;
  g_autoptr(GError) error = NULL;
  g_autofree char *freed_text = NULL, *text = NULL;
  guint64 freed = 0;

  g_free (removing);
  if (!removal->finish (CLOCHE_DBUS_BUNDLE (object), &freed, result, &error))
    {
      cloche_bundle_page_show_error (self, _(removal->failed), error);
      return;
    }
  freed_text = cloche_bundle_page_format_size (freed);
  text = removal->done (freed_text);
  cloche_bundle_page_show_message (self, text, FALSE);
}

static void
cloche_bundle_page_start_remove_cb (ClocheBundlePage *self)
{
  guint open = self->client != NULL ? cloche_client_get_open_sessions (self->client) : 0;

  cloche_dbus_bundle_call_remove (self->bundle, open > 0, NULL, cloche_bundle_page_removed_cb,
                                  cloche_bundle_page_removing_new (
                                    self, &cloche_bundle_page_bundle_removal));
}

static char *
cloche_bundle_page_remove_body (ClocheBundlePage *self)
{
  g_autofree char *size =
    cloche_bundle_page_format_size (cloche_dbus_bundle_get_size (self->bundle)
                                    + cloche_dbus_bundle_get_snapshot_size (self->bundle));
  guint open = self->client != NULL ? cloche_client_get_open_sessions (self->client) : 0;
  g_autofree char *body = g_strdup_printf (
    _("This frees %s at %s.\n\nSessions and their files stay. Agent mode cannot open "
      "until a bundle is installed again."),
    size, cloche_dbus_bundle_get_location (self->bundle));

  if (open == 0)
    return g_steal_pointer (&body);
  return g_strdup_printf (ngettext ("%s\n\nThe open session will be closed, and the VM stopped.",
                                    "%s\n\nThe %u open sessions will be closed, and the VM "
                                    "stopped.", open),
                          body, open);
}

static void
cloche_bundle_page_remove_action (GtkWidget  *widget,
                                  const char *action_name,
                                  GVariant   *parameter)
{
  ClocheBundlePage *self = CLOCHE_BUNDLE_PAGE (widget);
  g_autofree char *body = cloche_bundle_page_remove_body (self);

  cloche_confirm_removal (widget, _("Remove the Sandbox Bundle?"), body,
                          G_CALLBACK (cloche_bundle_page_start_remove_cb), self);
}

static void
cloche_bundle_page_start_remove_tools_cb (ClocheBundlePage *self)
{
  cloche_dbus_bundle_call_remove_tools (self->bundle, NULL, cloche_bundle_page_removed_cb,
                                        cloche_bundle_page_removing_new (
                                          self, &cloche_bundle_page_tools_removal));
}

static void
cloche_bundle_page_remove_tools_action (GtkWidget  *widget,
                                        const char *action_name,
                                        GVariant   *parameter)
{
  ClocheBundlePage *self = CLOCHE_BUNDLE_PAGE (widget);
  g_autofree char *size =
    cloche_bundle_page_format_size (cloche_dbus_bundle_get_tools_size (self->bundle));
  g_autofree char *body = g_strdup_printf (
    _("This frees %s: every agent installed in the sandbox, with Node.js and npm. Open "
      "sessions no longer find them. Install an agent again with “clochectl agent install "
      "NAME”."), size);

  cloche_confirm_removal (widget, _("Remove the Installed Agents?"), body,
                          G_CALLBACK (cloche_bundle_page_start_remove_tools_cb), self);
}

/* Folders: a chosen folder that is empty holds the bundle itself; in any
 * other the bundle gets a folder of its own, so nothing else is mixed in. */

static char *
cloche_bundle_page_bundle_folder_in (GFile *folder)
{
  g_autofree char *path = g_file_get_path (folder);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);

  if (dir != NULL && g_dir_read_name (dir) == NULL)
    return g_steal_pointer (&path);
  return g_build_filename (path, "cloche-bundle", NULL);
}

/* The user's last bundle folder, or NULL (the daemon's default). */
static char *
cloche_bundle_page_remembered_location (ClocheBundlePage *self)
{
  g_autofree char *location = NULL;

  if (self->settings != NULL)
    location = g_settings_get_string (self->settings, "bundle-location");
  if (location == NULL || location[0] == '\0')
    return NULL;
  return g_steal_pointer (&location);
}

static void
cloche_bundle_page_remember_location (ClocheBundlePage *self,
                                      const char       *location)
{
  if (self->settings != NULL && location != NULL && location[0] != '\0')
    g_settings_set_string (self->settings, "bundle-location", location);
}

/* Where the next install goes: the folder just chosen, else the last one. */
static char *
cloche_bundle_page_install_location (ClocheBundlePage *self)
{
  if (self->location != NULL)
    return g_strdup (self->location);
  return cloche_bundle_page_remembered_location (self);
}

typedef void (*FolderChosen) (ClocheBundlePage *self, GFile *folder);

static void
cloche_bundle_page_chooser_response_cb (GtkNativeDialog *chooser,
                                        int              response,
                                        gpointer         user_data)
{
  ClocheBundlePage *self = g_object_get_data (G_OBJECT (chooser), "page");
  FolderChosen chosen = user_data;
  g_autoptr(GFile) folder = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (folder != NULL && g_file_get_path (folder) != NULL)
    chosen (self, folder);
  g_object_unref (chooser);
}

static void
cloche_bundle_page_choose_folder (ClocheBundlePage *self,
                                  const char       *title,
                                  const char       *accept,
                                  FolderChosen      chosen)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *chooser;

  g_autofree char *remembered = cloche_bundle_page_remembered_location (self);

  chooser = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, accept, NULL);
  /* Beside the remembered bundle folder: it is the one to pick again. */
  if (remembered != NULL)
    {
      g_autoptr(GFile) bundle = g_file_new_for_path (remembered);
      g_autoptr(GFile) parent = g_file_get_parent (bundle);

      if (parent != NULL)
        gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), parent, NULL);
    }
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data_full (G_OBJECT (chooser), "page", g_object_ref (self), g_object_unref);
  g_signal_connect (chooser, "response", G_CALLBACK (cloche_bundle_page_chooser_response_cb),
                    chosen);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Relocate */

static void
cloche_bundle_page_relocated_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(ClocheBundlePage) self = user_data;
  g_autoptr(GError) error = NULL;
  if (cloche_dbus_bundle_call_relocate_finish (CLOCHE_DBUS_BUNDLE (object), result, &error))
    {
      cloche_bundle_page_remember_location (self, self->requested);
      cloche_bundle_page_show_message (self, _("The bundle was moved; the old copy is gone."),
                                       FALSE);
    }
  else
    cloche_bundle_page_show_error (self, _("The bundle was not moved"), error);
}

static void
cloche_bundle_page_relocate_to (ClocheBundlePage *self,
                                GFile            *folder)
{
  g_autofree char *target = cloche_bundle_page_bundle_folder_in (folder);

  cloche_bundle_page_show_message (self, NULL, FALSE);
  g_free (self->requested);
  self->requested = g_strdup (target);
  cloche_dbus_bundle_call_relocate (self->bundle, target, NULL, cloche_bundle_page_relocated_cb,
                                    g_object_ref (self));
}

static void
cloche_bundle_page_relocate_action (GtkWidget  *widget,
                                    const char *action_name,
                                    GVariant   *parameter)
{
  cloche_bundle_page_choose_folder (CLOCHE_BUNDLE_PAGE (widget), _("Move the Bundle To"),
                                    _("_Move Here"),
                                    cloche_bundle_page_relocate_to);
}

/* Install: inspect, say the size and the place, then install */

static void cloche_bundle_page_inspect (ClocheBundlePage *self);
static void cloche_bundle_page_forget_built (ClocheBundlePage *self);

static char *
cloche_bundle_page_source_text (ClocheBundlePage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (
                                        GTK_EDITABLE (self->source_row))));

  if (text[0] == '\0' || g_str_has_prefix (text, "http://")
      || g_str_has_prefix (text, "https://"))
    return g_steal_pointer (&text);
  return g_canonicalize_filename (text, NULL);
}

static void
cloche_bundle_page_installed_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(ClocheBundlePage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (cloche_dbus_bundle_call_install_finish (CLOCHE_DBUS_BUNDLE (object), result, &error))
    {
      cloche_bundle_page_remember_location (self, self->requested);
      cloche_bundle_page_forget_built (self);
      cloche_bundle_page_show_message (self,
                                       _("The sandbox bundle is installed, and every file was "
                                         "checked."),
                                       FALSE);
    }
  else
    cloche_bundle_page_show_error (self, _("The bundle was not installed"), error);
}

static void
cloche_bundle_page_install_into (ClocheBundlePage *self,
                                 GFile            *folder)
{
  g_free (self->location);
  self->location = cloche_bundle_page_bundle_folder_in (folder);
  cloche_bundle_page_inspect (self);
}

static void
cloche_bundle_page_install_response_cb (ClocheBundlePage *self,
                                        const char       *response)
{
  g_autofree char *source = cloche_bundle_page_source_text (self);
  g_autofree char *location = cloche_bundle_page_install_location (self);

  if (g_str_equal (response, "choose"))
    cloche_bundle_page_choose_folder (self, _("Install the Bundle In"), _("_Select"),
                                      cloche_bundle_page_install_into);
  else if (g_str_equal (response, "install"))
    {
      gtk_progress_bar_set_fraction (self->progress_bar, 0);
      g_free (self->requested);
      self->requested = g_strdup (location);
      cloche_dbus_bundle_call_install (self->bundle, source, location != NULL ? location : "",
                                       NULL, cloche_bundle_page_installed_cb, g_object_ref (self));
    }
}

static AdwMessageDialog *
cloche_bundle_page_install_dialog (ClocheBundlePage *self,
                                   GVariant         *info)
{
  const char *name = "", *version = "", *target = "";
  guint64 size = 0, free_bytes = 0;
  g_autofree char *size_text = NULL, *free_text = NULL, *body = NULL;
  AdwMessageDialog *dialog;

  g_variant_lookup (info, "name", "&s", &name);
  g_variant_lookup (info, "version", "&s", &version);
  g_variant_lookup (info, "location", "&s", &target);
  g_variant_lookup (info, "size", "t", &size);
  g_variant_lookup (info, "free", "t", &free_bytes);
  size_text = cloche_bundle_page_format_size (size);
  free_text = g_format_size (free_bytes);
  body = g_strdup_printf (_("%s %s takes %s.\n\nIt goes to %s, on a disk with %s free."),
                          name, version, size_text, target, free_text);
  dialog = cloche_message_dialog_new (GTK_WIDGET (self), _("Install the Sandbox Bundle?"), body);
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"),
                                    "choose", _("Choose _Folder…"),
                                    "install", _("_Install"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "install", ADW_RESPONSE_SUGGESTED);
  /* The daemon refuses it too; saying so here saves a round trip. */
  adw_message_dialog_set_response_enabled (dialog, "install", size <= free_bytes);
  adw_message_dialog_set_default_response (dialog, "install");
  adw_message_dialog_set_close_response (dialog, "cancel");
  return dialog;
}

static void
cloche_bundle_page_inspected_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(ClocheBundlePage) self = user_data;
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;
  AdwMessageDialog *dialog;

  if (!cloche_dbus_bundle_call_inspect_finish (CLOCHE_DBUS_BUNDLE (object), &info, result,
                                               &error))
    {
      cloche_bundle_page_show_error (self, _("Cannot install from there"), error);
      return;
    }
  dialog = cloche_bundle_page_install_dialog (self, info);
  g_signal_connect_object (dialog, "response", G_CALLBACK (cloche_bundle_page_install_response_cb),
                           self,
                           G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
cloche_bundle_page_inspect (ClocheBundlePage *self)
{
  g_autofree char *source = cloche_bundle_page_source_text (self);
  g_autofree char *location = cloche_bundle_page_install_location (self);

  cloche_bundle_page_show_message (self, NULL, FALSE);
  if (source[0] == '\0')
    {
      cloche_bundle_page_show_message (self,
                                       _("Give the bundle’s source first: a bundle folder, or the "
                                         "web address of its manifest.json."), TRUE);
      return;
    }
  cloche_dbus_bundle_call_inspect (self->bundle, source, location != NULL ? location : "",
                                   NULL, cloche_bundle_page_inspected_cb, g_object_ref (self));
}

static void
cloche_bundle_page_install_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *parameter)
{
  cloche_bundle_page_inspect (CLOCHE_BUNDLE_PAGE (widget));
}

static void
cloche_bundle_page_source_chosen (ClocheBundlePage *self,
                                  GFile            *folder)
{
  g_autofree char *path = g_file_get_path (folder);

  gtk_editable_set_text (GTK_EDITABLE (self->source_row), path);
}

static void
cloche_bundle_page_choose_source_action (GtkWidget  *widget,
                                         const char *action_name,
                                         GVariant   *parameter)
{
  cloche_bundle_page_choose_folder (CLOCHE_BUNDLE_PAGE (widget), _("Choose a Bundle Folder"),
                                    _("_Select"),
                                    cloche_bundle_page_source_chosen);
}

/* The default bundle: built here from Debian's packages by the installed
 * tools/build-bundle (cloche-bundle-builder.c), then installed from there
 * like any folder, with the same size-and-place dialog first. */

static void
cloche_bundle_page_build_status_cb (ClocheBundlePage *self)
{
  const char *status = cloche_bundle_builder_get_status (self->builder);

  gtk_progress_bar_pulse (self->progress_bar);
  gtk_label_set_label (self->progress_label, status != NULL ? status : "");
}

static void
cloche_bundle_page_built_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr(ClocheBundlePage) self = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_object (&self->build_cancellable);
  if (!cloche_bundle_builder_run_finish (CLOCHE_BUNDLE_BUILDER (object), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        cloche_bundle_page_show_message (self,
                                         _("Cancelled. Nothing was installed; the packages "
                                           "downloaded so far are kept for the next build."),
                                         FALSE);
      else
        cloche_bundle_page_show_error (self, _("The default bundle was not built"), error);
      return;
    }
  gtk_editable_set_text (GTK_EDITABLE (self->source_row),
                         cloche_bundle_builder_get_output (self->builder));
  cloche_bundle_page_inspect (self);
}

static void
cloche_bundle_page_build_default_action (GtkWidget  *widget,
                                         const char *action_name,
                                         GVariant   *parameter)
{
  ClocheBundlePage *self = CLOCHE_BUNDLE_PAGE (widget);

  if (cloche_bundle_builder_get_running (self->builder))
    return;
  cloche_bundle_page_show_message (self, NULL, FALSE);
  /* No fraction to show: the bar moves with each line the script prints. */
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_progress_bar_set_text (self->progress_bar, "");
  gtk_label_set_label (self->progress_label, "");
  self->build_cancellable = g_cancellable_new ();
  cloche_bundle_builder_run_async (self->builder, self->build_cancellable,
                                   cloche_bundle_page_built_cb,
                                   g_object_ref (self));
}

/* Once installed, the built copy goes: the bundle is on the disk once. */
static void
cloche_bundle_page_forget_built (ClocheBundlePage *self)
{
  g_autofree char *source = cloche_bundle_page_source_text (self);

  if (g_strcmp0 (source, cloche_bundle_builder_get_output (self->builder)) != 0)
    return;
  gtk_editable_set_text (GTK_EDITABLE (self->source_row), "");
  cloche_bundle_builder_clean_async (self->builder, NULL, NULL);
}

/* GObject */

static void
cloche_bundle_page_dispose (GObject *object)
{
  ClocheBundlePage *self = CLOCHE_BUNDLE_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* A build still running is stopped: nobody would install what it makes. */
  g_cancellable_cancel (self->build_cancellable);
  g_clear_object (&self->build_cancellable);
  if (self->builder != NULL)
    g_signal_handlers_disconnect_by_data (self->builder, self);
  g_clear_object (&self->builder);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_BUNDLE_PAGE);
  /* The proxy is the client's, and outlives the page. */
  if (self->bundle != NULL)
    g_signal_handlers_disconnect_by_data (self->bundle, self);
  g_clear_object (&self->bundle);
  g_clear_object (&self->client);
  g_clear_pointer (&self->location, g_free);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->requested, g_free);

  G_OBJECT_CLASS (cloche_bundle_page_parent_class)->dispose (object);
}

static void
cloche_bundle_page_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ClocheBundlePage *self = CLOCHE_BUNDLE_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      g_value_set_object (value, self->client);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_bundle_page_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  ClocheBundlePage *self = CLOCHE_BUNDLE_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      cloche_bundle_page_set_client (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_bundle_page_class_init (ClocheBundlePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_bundle_page_dispose;
  object_class->get_property = cloche_bundle_page_get_property;
  object_class->set_property = cloche_bundle_page_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CLOCHE_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-bundle-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, message_revealer);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, message_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, state_stack);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, location_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, version_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, size_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, snapshot_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, tools_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, verified_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, build_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, build_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, source_row);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, busy_page);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, ClocheBundlePage, progress_label);

  gtk_widget_class_install_action (widget_class, "bundle.verify", NULL,
                                   cloche_bundle_page_verify_action);
  gtk_widget_class_install_action (widget_class, "bundle.remove", NULL,
                                   cloche_bundle_page_remove_action);
  gtk_widget_class_install_action (widget_class, "bundle.remove-tools", NULL,
                                   cloche_bundle_page_remove_tools_action);
  gtk_widget_class_install_action (widget_class, "bundle.relocate", NULL,
                                   cloche_bundle_page_relocate_action);
  gtk_widget_class_install_action (widget_class, "bundle.install", NULL,
                                   cloche_bundle_page_install_action);
  gtk_widget_class_install_action (widget_class, "bundle.choose-source", NULL,
                                   cloche_bundle_page_choose_source_action);
  gtk_widget_class_install_action (widget_class, "bundle.cancel", NULL,
                                   cloche_bundle_page_cancel_action);
  gtk_widget_class_install_action (widget_class, "bundle.build-default", NULL,
                                   cloche_bundle_page_build_default_action);
}

static void
cloche_bundle_page_init (ClocheBundlePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = cloche_settings_new ();
  self->builder = cloche_bundle_builder_new ();
  g_signal_connect_swapped (self->builder, "notify::running",
                            G_CALLBACK (cloche_bundle_page_update_cb), self);
  g_signal_connect_swapped (self->builder, "notify::status",
                            G_CALLBACK (cloche_bundle_page_build_status_cb), self);
}
