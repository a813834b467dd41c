/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Sessions page: every session on disk, open ones first, stale ones
 * marked, what they take on disk, pinning, cleanup with the exact space it
 * frees, and agent mode opened with a host folder, all through the
 * io.github.cloche.Sessions proxy the client holds. Sessions come packed
 * into list models: a list view makes rows only for the closed sessions on
 * screen, so 10,000 of them cost 10,000 small items, not 10,000 rows
 * (docs/performance.md, "Sessions page").
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-agent-mode.h"
#include "cloche-dbus-generated.h"
#include "cloche-page-util.h"
#include "cloche-session-item.h"
#include "cloche-session-row.h"
#include "cloche-sessions-page.h"

struct _ClocheSessionsPage
{
  AdwBin          parent_instance;

  ClocheClient   *client;
  GCancellable   *cancellable;
  GListStore     *open_store;     /* ClocheSessionItem */
  GListStore     *closed_store;   /* ClocheSessionItem, most recently used first */
  guint           stale_count;
  guint64         stale_bytes;
  gboolean        cleaning;

  GtkLabel       *summary_label;
  GtkWidget      *cleanup_button;
  GtkProgressBar *progress_bar;
  GtkLabel       *message_label;
  GtkListBox     *open_list;
  GtkStack       *closed_stack;
  GtkListView    *closed_view;
};

enum {
  PROP_0,
  PROP_CLIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ClocheSessionsPage, cloche_sessions_page, ADW_TYPE_BIN)

static ClocheDbusSessions *
cloche_sessions_page_sessions_cb (ClocheSessionsPage *self)
{
  return self->client != NULL ? cloche_client_get_sessions (self->client) : NULL;
}

static void
cloche_sessions_page_show_message (ClocheSessionsPage *self,
                                   const char         *text,
                                   gboolean            is_error)
{
  cloche_message_label_set (self->message_label, text, is_error);
  gtk_widget_set_visible (GTK_WIDGET (self->message_label), text != NULL);
}

static void
cloche_sessions_page_show_error (ClocheSessionsPage *self,
                                 GError             *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_dbus_error_strip_remote_error (error);
  cloche_sessions_page_show_message (self, error->message, TRUE);
}

static void
cloche_sessions_page_update_actions (ClocheSessionsPage *self)
{
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sessions.cleanup",
                                 cloche_sessions_page_sessions_cb (self) != NULL
                                 && self->stale_count > 0
                                 && !self->cleaning);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sessions.open-folder",
                                 cloche_sessions_page_sessions_cb (self) != NULL);
}

/* Listing */

static void cloche_sessions_page_pin_toggled_cb (ClocheSessionsPage *self,
                                                 gboolean            pinned,
                                                 ClocheSessionRow   *row);

/* A row's menu: details, the work folder, fork, close */

static GVariant *
cloche_sessions_page_find_info (ClocheSessionsPage *self,
                                const char         *id)
{
  GListStore *stores[] = { self->open_store, self->closed_store };

  for (guint s = 0; s < G_N_ELEMENTS (stores); s++)
    for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (stores[s])); i++)
      {
        g_autoptr(ClocheSessionItem) item = g_list_model_get_item (G_LIST_MODEL (stores[s]), i);
        GVariant *info = cloche_session_item_get_info (item);
        const char *item_id = NULL;

        g_variant_get_child (info, 0, "&s", &item_id);
        if (g_strcmp0 (item_id, id) == 0)
          return g_variant_ref (info);
      }
  return NULL;
}

static char *
cloche_sessions_page_format_time (gint64 usec)
{
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local (usec / G_USEC_PER_SEC);

  return when != NULL ? g_date_time_format (when, "%x %X") : g_strdup ("?");
}

/* What the row cannot show in two lines, as plain text. */
static char *
cloche_sessions_page_format_details (const ClocheSessionInfo *info)
{
  g_autofree char *created = cloche_sessions_page_format_time (info->created);
  g_autofree char *used = cloche_sessions_page_format_time (info->last_active);
  g_autofree char *size = g_format_size (info->size);
  GString *text = g_string_new (NULL);
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly;

  g_string_append_printf (text, _("ID: %s\nClient: %s\nState: %s%s\nCreated: %s\n"
                                  "Last used: %s\nSize: %s"),
                          info->id, info->client, info->state,
                          info->pinned ? _(", pinned") : info->stale ? _(", stale") : "",
                          created, used, size);
  g_variant_iter_init (&iter, info->mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    g_string_append_printf (text, _("\nFolder: %s (%s)"), path,
                            readonly ? _("read-only") : _("read-write"));
  return g_string_free (text, FALSE);
}

static void
cloche_sessions_page_show_details (ClocheSessionsPage *self,
                                   const char         *id)
{
  g_autoptr(GVariant) found = cloche_sessions_page_find_info (self, id);
  g_auto(ClocheSessionInfo) info = { 0 };
  g_autofree char *body = NULL;
  AdwMessageDialog *dialog;

  if (found == NULL)
    return;
  cloche_session_info_init (&info, found);
  body = cloche_sessions_page_format_details (&info);
  dialog = cloche_message_dialog_new (GTK_WIDGET (self), *info.title ? info.title
                                                                      : _("Untitled session"),
                                      body);
  adw_message_dialog_add_response (dialog, "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
cloche_sessions_page_folder_launched_cb (GObject      *object,
                                         GAsyncResult *result,
                                         gpointer      user_data)
{
  g_autoptr(ClocheSessionsPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_app_info_launch_default_for_uri_finish (result, &error))
    cloche_sessions_page_show_error (self, error);
}

/* The session's work folder on the host, in the file manager. */
static void
cloche_sessions_page_open_work_folder (ClocheSessionsPage *self,
                                       const char         *id)
{
  const char *root =
    cloche_dbus_sessions_get_sessions_path (cloche_sessions_page_sessions_cb (self));
  g_autofree char *path = g_build_filename (root != NULL ? root : "", id, "work", NULL);
  g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
  g_autoptr(GAppLaunchContext) context = NULL;

  if (root == NULL || uri == NULL)
    return;
  context = G_APP_LAUNCH_CONTEXT (gdk_display_get_app_launch_context (
                                    gtk_widget_get_display (GTK_WIDGET (self))));
  g_app_info_launch_default_for_uri_async (uri, context, NULL,
                                           cloche_sessions_page_folder_launched_cb,
                                           g_object_ref (self));
}

static void
cloche_sessions_page_closed_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheSessionsPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_dbus_sessions_call_close_finish (CLOCHE_DBUS_SESSIONS (object), result, &error))
    cloche_sessions_page_show_error (self, error);
}

/* Fork: the copy's progress in the page's bar; the new session comes with
 * the next list (Changed). Kept open: the app is not its only user. */

#define FORK_TAG "cloche-app"

static void
cloche_sessions_page_fork_progress_cb (ClocheSessionsPage *self,
                                       const char         *id,
                                       const char         *tag,
                                       guint64             copied,
                                       guint64             total)
{
  g_autofree char *copied_text = g_format_size (copied);
  g_autofree char *total_text = g_format_size (total);
  g_autofree char *text = NULL;

  if (!g_str_equal (tag, FORK_TAG))
    return;
  text = g_strdup_printf (_("Copying the work folder: %s of %s"), copied_text, total_text);
  cloche_progress_bar_set (self->progress_bar, copied, total, text);
}

static void
cloche_sessions_page_forked_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheSessionsPage) self = user_data;
  g_autofree char *new_id = NULL;
  g_autoptr(GError) error = NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
  if (!cloche_dbus_sessions_call_fork_finish (CLOCHE_DBUS_SESSIONS (object), &new_id, result,
                                              &error))
    cloche_sessions_page_show_error (self, error);
}

static void
cloche_sessions_page_start_fork (ClocheSessionsPage *self,
                                 const char         *id)
{
  GVariantDict options;

  g_variant_dict_init (&options, NULL);
  g_variant_dict_insert (&options, "keep-open", "b", TRUE);
  g_variant_dict_insert (&options, "client", "s", "Cloche");
  g_variant_dict_insert (&options, "tag", "s", FORK_TAG);
  cloche_sessions_page_show_message (self, NULL, FALSE);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_progress_bar_set_text (self->progress_bar, _("Forking…"));
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  cloche_dbus_sessions_call_fork (cloche_sessions_page_sessions_cb (self), id, "",
                                  g_variant_dict_end (&options), NULL,
                                  cloche_sessions_page_forked_cb, g_object_ref (self));
}

static void
cloche_sessions_page_menu_action_cb (ClocheSessionsPage *self,
                                     const char         *action,
                                     ClocheSessionRow   *row)
{
  const char *id = cloche_session_row_get_id (row);

  if (cloche_sessions_page_sessions_cb (self) == NULL)
    return;
  if (g_str_equal (action, "details"))
    cloche_sessions_page_show_details (self, id);
  else if (g_str_equal (action, "open-folder"))
    cloche_sessions_page_open_work_folder (self, id);
  else if (g_str_equal (action, "fork"))
    cloche_sessions_page_start_fork (self, id);
  else if (g_str_equal (action, "close"))
    cloche_dbus_sessions_call_close (cloche_sessions_page_sessions_cb (self), id, NULL,
                                     cloche_sessions_page_closed_cb,
                                     g_object_ref (self));
}

static GtkWidget *
cloche_sessions_page_new_row (ClocheSessionsPage *self)
{
  GtkWidget *row = cloche_session_row_new (NULL);

  g_signal_connect_object (row, "pin-toggled", G_CALLBACK (cloche_sessions_page_pin_toggled_cb),
                           self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "menu-action", G_CALLBACK (cloche_sessions_page_menu_action_cb),
                           self,
                           G_CONNECT_SWAPPED);
  return row;
}

static void
cloche_sessions_page_show_item (ClocheSessionRow  *row,
                                ClocheSessionItem *item)
{
  g_auto(ClocheSessionInfo) info = { 0 };

  cloche_session_info_init (&info, cloche_session_item_get_info (item));
  cloche_session_row_set_info (row, &info);
}

/* The open ones: a few, in a list box. */
static GtkWidget *
cloche_sessions_page_create_open_row (gpointer item,
                                      gpointer user_data)
{
  GtkWidget *row = cloche_sessions_page_new_row (user_data);

  cloche_sessions_page_show_item (CLOCHE_SESSION_ROW (row), item);
  return row;
}

/* The closed ones, by the thousand: rows for what is on screen, bound to
 * session after session as the list scrolls. */
static void
cloche_sessions_page_setup_row_cb (GtkSignalListItemFactory *factory,
                                   GtkListItem              *list_item,
                                   ClocheSessionsPage       *self)
{
  gtk_list_item_set_activatable (list_item, FALSE);
  gtk_list_item_set_child (list_item, cloche_sessions_page_new_row (self));
}

static void
cloche_sessions_page_bind_row_cb (GtkSignalListItemFactory *factory,
                                  GtkListItem              *list_item,
                                  ClocheSessionsPage       *self)
{
  cloche_sessions_page_show_item (CLOCHE_SESSION_ROW (gtk_list_item_get_child (list_item)),
                                  gtk_list_item_get_item (list_item));
}

static int
cloche_sessions_page_by_last_use (gconstpointer a,
                                  gconstpointer b)
{
  ClocheSessionItem *item_a = *(ClocheSessionItem **) a;
  ClocheSessionItem *item_b = *(ClocheSessionItem **) b;
  gint64 x = cloche_session_item_get_last_active (item_a);
  gint64 y = cloche_session_item_get_last_active (item_b);
  const char *id_a, *id_b;

  if (x != y)
    return x < y ? 1 : -1;
  /* Ties by id: the sort is not stable, and rows must not trade places
   * at every refresh. */
  g_variant_get_child (cloche_session_item_get_info (item_a), 0, "&s", &id_a);
  g_variant_get_child (cloche_session_item_get_info (item_b), 0, "&s", &id_b);
  return strcmp (id_a, id_b);
}

/* One items-changed for the whole list. */
static void
cloche_sessions_page_replace_items (GListStore *store,
                                    GPtrArray  *items)
{
  g_list_store_splice (store, 0, g_list_model_get_n_items (G_LIST_MODEL (store)),
                       items->pdata, items->len);
}

static void
cloche_sessions_page_show_summary (ClocheSessionsPage *self,
                                   guint               count,
                                   guint64             total)
{
  g_autofree char *total_text = g_format_size (total);
  g_autofree char *stale_text = g_format_size (self->stale_bytes);
  g_autofree char *summary = NULL;
  g_autofree char *count_text = NULL;
  g_autofree char *stale_part = NULL;

  count_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u session", "%u sessions", count),
                                count);
  /* Translators: "3 stale (800 MB)" */
  stale_part = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u stale (%s)", "%u stale (%s)",
                                             self->stale_count),
                                self->stale_count, stale_text);
  /* Translators: "12 sessions, 1.2 GB on disk; 3 stale (800 MB)" */
  summary = g_strdup_printf (_("%s, %s on disk; %s"), count_text, total_text, stale_part);
  gtk_label_set_label (self->summary_label, summary);
}

/* @sessions: CLOCHE_SESSION_INFOS_TYPE */
static void
cloche_sessions_page_show_sessions (ClocheSessionsPage *self,
                                    GVariant           *sessions)
{
  guint count = g_variant_n_children (sessions);
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) closed = g_ptr_array_new_full (count, g_object_unref);
  guint64 total = 0;

  self->stale_count = 0;
  self->stale_bytes = 0;
  for (guint i = 0; i < count; i++)
    {
      g_autoptr(GVariant) session = g_variant_get_child_value (sessions, i);
      g_auto(ClocheSessionInfo) info = { 0 };

      cloche_session_info_init (&info, session);
      total += info.size;
      self->stale_count += info.stale;
      self->stale_bytes += info.stale ? info.size : 0;
      g_ptr_array_add (g_str_equal (info.state, "open") ? open : closed,
                       cloche_session_item_new (session));
    }
  g_ptr_array_sort (closed, cloche_sessions_page_by_last_use);
  cloche_sessions_page_replace_items (self->open_store, open);
  cloche_sessions_page_replace_items (self->closed_store, closed);
  gtk_stack_set_visible_child_name (self->closed_stack, closed->len > 0 ? "list" : "empty");
  cloche_sessions_page_show_summary (self, count, total);
  cloche_sessions_page_update_actions (self);
}

/* Callers cancel self->cancellable before @self goes: then nothing here
 * touches it. */
static void
cloche_sessions_page_listed_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  ClocheSessionsPage *self = user_data;
  g_autoptr(GVariant) packed = NULL;
  g_autoptr(GVariant) listed = NULL;
  g_autoptr(GError) error = NULL;

  if (!cloche_dbus_sessions_call_list_finish (CLOCHE_DBUS_SESSIONS (object), &packed, result,
                                              &error))
    {
      cloche_sessions_page_show_error (self, error);
      return;
    }
  listed = cloche_session_infos_unpack (packed);
  cloche_sessions_page_show_sessions (self, listed);
}

void
cloche_sessions_page_refresh (ClocheSessionsPage *self)
{
  g_return_if_fail (CLOCHE_IS_SESSIONS_PAGE (self));

  if (cloche_sessions_page_sessions_cb (self) == NULL)
    return;
  g_cancellable_cancel (self->cancellable);
  g_set_object (&self->cancellable, g_cancellable_new ());
  cloche_dbus_sessions_call_list (cloche_sessions_page_sessions_cb (self),
                                  g_variant_new ("a{sv}", NULL),
                                  self->cancellable, cloche_sessions_page_listed_cb, self);
}

/* Pinning */

static void
cloche_sessions_page_pinned_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheSessionsPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_dbus_sessions_call_set_pinned_finish (CLOCHE_DBUS_SESSIONS (object), result, &error))
    cloche_sessions_page_show_error (self, error);
  cloche_sessions_page_refresh (self);
}

static void
cloche_sessions_page_pin_toggled_cb (ClocheSessionsPage *self,
                                     gboolean            pinned,
                                     ClocheSessionRow   *row)
{
  cloche_dbus_sessions_call_set_pinned (cloche_sessions_page_sessions_cb (self),
                                        cloche_session_row_get_id (row), pinned,
                                        NULL, cloche_sessions_page_pinned_cb, g_object_ref (self));
}

/* Cleanup */

static void
cloche_sessions_page_cleanup_progress_cb (ClocheSessionsPage *self,
                                          guint               done,
                                          guint               total,
                                          guint64             freed)
{
  g_autofree char *freed_text = g_format_size (freed);
  g_autofree char *text = g_strdup_printf (_("Removed %u of %u (%s freed)"), done, total,
                                           freed_text);

  cloche_progress_bar_set (self->progress_bar, done, total, text);
}

static void
cloche_sessions_page_cleaned_up (ClocheSessionsPage *self,
                                 guint               removed,
                                 guint64             freed,
                                 GError             *error)
{
  g_autofree char *freed_text = NULL;
  g_autofree char *text = NULL;

  self->cleaning = FALSE;
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), FALSE);
  if (error != NULL)
    cloche_sessions_page_show_error (self, error);
  else
    {
      freed_text = g_format_size (freed);
      text = g_strdup_printf (_("Removed %u stale sessions and freed %s."), removed, freed_text);
      cloche_sessions_page_show_message (self, text, FALSE);
    }
  cloche_sessions_page_refresh (self);
}

static void
cloche_sessions_page_cleaned_up_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(ClocheSessionsPage) self = user_data;
  g_autoptr(GVariant) packed = NULL;
  g_autoptr(GVariant) removed = NULL;
  g_autoptr(GError) error = NULL;
  guint64 freed = 0;

  if (cloche_dbus_sessions_call_cleanup_finish (CLOCHE_DBUS_SESSIONS (object), &packed, &freed,
                                                result, &error))
    removed = cloche_session_infos_unpack (packed);
  cloche_sessions_page_cleaned_up (self, removed != NULL ? g_variant_n_children (removed) : 0,
                                   freed, error);
}

static void
cloche_sessions_page_start_cleanup_cb (ClocheSessionsPage *self)
{
  self->cleaning = TRUE;
  cloche_sessions_page_update_actions (self);
  cloche_sessions_page_show_message (self, NULL, FALSE);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_progress_bar_set_text (self->progress_bar, _("Cleaning up…"));
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), TRUE);
  cloche_dbus_sessions_call_cleanup (cloche_sessions_page_sessions_cb (self),
                                     g_variant_new ("a{sv}", NULL), NULL,
                                     cloche_sessions_page_cleaned_up_cb, g_object_ref (self));
}

static void
cloche_sessions_page_cleanup_action (GtkWidget  *widget,
                                     const char *action_name,
                                     GVariant   *parameter)
{
  ClocheSessionsPage *self = CLOCHE_SESSIONS_PAGE (widget);
  g_autofree char *bytes = g_format_size (self->stale_bytes);
  g_autofree char *body = NULL;
  guint days;

  days = cloche_dbus_sessions_get_stale_after_days (cloche_sessions_page_sessions_cb (self));
  body = g_strdup_printf (_("%u sessions that were closed and not used for %u days "
                            "will be removed with their folders, freeing %s. Open "
                            "and pinned sessions are kept."),
                          self->stale_count, days, bytes);
  cloche_confirm_removal (widget, _("Clean Up Stale Sessions?"), body,
                          G_CALLBACK (cloche_sessions_page_start_cleanup_cb), self);
}

/* Opening with a folder */

static void
cloche_sessions_page_opened_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheSessionsPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  id = cloche_agent_mode_open_finish (CLOCHE_CLIENT (object), result, &error);
  /* "Starting the sandbox…" ends with the work, either way. */
  if (id == NULL)
    cloche_sessions_page_show_error (self, error);
  else
    cloche_sessions_page_show_message (self, NULL, FALSE);
  cloche_sessions_page_refresh (self);
}

static void
cloche_sessions_page_open_with_folder (ClocheSessionsPage *self,
                                       const char         *path,
                                       gboolean            readonly)
{
  cloche_sessions_page_show_message (self, _("Starting the sandbox…"), FALSE);
  cloche_agent_mode_open_async (self->client, path, readonly, NULL, cloche_sessions_page_opened_cb,
                                g_object_ref (self));
}

static void
cloche_sessions_page_mode_chosen_cb (AdwMessageDialog   *dialog,
                                     const char         *response,
                                     ClocheSessionsPage *self)
{
  const char *path = g_object_get_data (G_OBJECT (dialog), "path");

  if (!g_str_equal (response, "cancel"))
    cloche_sessions_page_open_with_folder (self, path, g_str_equal (response, "ro"));
}

static void
cloche_sessions_page_ask_mode (ClocheSessionsPage *self,
                               const char         *path)
{
  AdwMessageDialog *dialog;

  dialog = cloche_message_dialog_new (GTK_WIDGET (self), _("How May the Agent Use This Folder?"),
                                      NULL);
  adw_message_dialog_format_body (dialog, _("%s will appear in the sandbox. Read-only is "
                                            "enforced on this computer: the agent cannot "
                                            "change it, whatever it tries."), path);
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "rw", _("Read and _Write"),
                                    "ro", _("_Read Only"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "ro", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "ro");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "path", g_strdup (path), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (cloche_sessions_page_mode_chosen_cb),
                           self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
cloche_sessions_page_folder_chosen_cb (GtkNativeDialog    *chooser,
                                       int                 response,
                                       ClocheSessionsPage *self)
{
  g_autoptr(GFile) folder = NULL;
  g_autofree char *path = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (folder != NULL && (path = g_file_get_path (folder)) != NULL)
    cloche_sessions_page_ask_mode (self, path);
  g_object_unref (chooser);
}

static void
cloche_sessions_page_open_folder_action (GtkWidget  *widget,
                                         const char *action_name,
                                         GVariant   *parameter)
{
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Choose a Folder for the Agent"), GTK_WINDOW (root),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _("_Choose"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_object (chooser, "response", G_CALLBACK (cloche_sessions_page_folder_chosen_cb),
                           widget, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* GObject */

static void
cloche_sessions_page_set_client (ClocheSessionsPage *self,
                                 ClocheClient       *client)
{
  if (!g_set_object (&self->client, client))
    return;
  if (client != NULL)
    {
      g_signal_connect_object (client, "notify::open-sessions",
                               G_CALLBACK (cloche_sessions_page_refresh), self, G_CONNECT_SWAPPED);
      if (cloche_sessions_page_sessions_cb (self) != NULL)
        {
          g_signal_connect_object (cloche_sessions_page_sessions_cb (self), "cleanup-progress",
                                   G_CALLBACK (cloche_sessions_page_cleanup_progress_cb), self,
                                   G_CONNECT_SWAPPED);
          g_signal_connect_object (cloche_sessions_page_sessions_cb (self), "fork-progress",
                                   G_CALLBACK (cloche_sessions_page_fork_progress_cb), self,
                                   G_CONNECT_SWAPPED);
          /* Opened, closed, pinned or removed by anyone (clochectl too). */
          g_signal_connect_object (cloche_sessions_page_sessions_cb (self), "changed",
                                   G_CALLBACK (cloche_sessions_page_refresh), self,
                                   G_CONNECT_SWAPPED);
        }
    }
  cloche_sessions_page_update_actions (self);
  cloche_sessions_page_refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT]);
}

static void
cloche_sessions_page_dispose (GObject *object)
{
  ClocheSessionsPage *self = CLOCHE_SESSIONS_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client);
  g_clear_object (&self->open_store);
  g_clear_object (&self->closed_store);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_SESSIONS_PAGE);

  G_OBJECT_CLASS (cloche_sessions_page_parent_class)->dispose (object);
}

static void
cloche_sessions_page_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  ClocheSessionsPage *self = CLOCHE_SESSIONS_PAGE (object);

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
cloche_sessions_page_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  ClocheSessionsPage *self = CLOCHE_SESSIONS_PAGE (object);

  switch (prop_id)
    {
    case PROP_CLIENT:
      cloche_sessions_page_set_client (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_sessions_page_class_init (ClocheSessionsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_sessions_page_dispose;
  object_class->get_property = cloche_sessions_page_get_property;
  object_class->set_property = cloche_sessions_page_set_property;

  properties[PROP_CLIENT] =
    g_param_spec_object ("client", NULL, NULL, CLOCHE_TYPE_CLIENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-sessions-page.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionsPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionsPage, cleanup_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionsPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionsPage, message_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionsPage, open_list);
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionsPage, closed_stack);
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionsPage, closed_view);
  gtk_widget_class_bind_template_callback (widget_class, cloche_sessions_page_setup_row_cb);
  gtk_widget_class_bind_template_callback (widget_class, cloche_sessions_page_bind_row_cb);

  gtk_widget_class_install_action (widget_class, "sessions.cleanup", NULL,
                                   cloche_sessions_page_cleanup_action);
  gtk_widget_class_install_action (widget_class, "sessions.open-folder", NULL,
                                   cloche_sessions_page_open_folder_action);
}

static void
cloche_sessions_page_init (ClocheSessionsPage *self)
{
  g_autoptr(GtkNoSelection) closed = NULL;

  g_type_ensure (CLOCHE_TYPE_SESSION_ROW);
  gtk_widget_init_template (GTK_WIDGET (self));
  self->open_store = g_list_store_new (CLOCHE_TYPE_SESSION_ITEM);
  self->closed_store = g_list_store_new (CLOCHE_TYPE_SESSION_ITEM);
  gtk_list_box_bind_model (self->open_list, G_LIST_MODEL (self->open_store),
                           cloche_sessions_page_create_open_row,
                           self, NULL);
  closed = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->closed_store)));
  gtk_list_view_set_model (self->closed_view, GTK_SELECTION_MODEL (closed));
  cloche_sessions_page_update_actions (self);
}
