/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One open session on the Overview: its title, who opened it and when,
 * and each folder it mounts with its mode written out beside it, never
 * behind a tooltip. A read-write folder is what a user must not miss (the
 * agent can change their files): its mode is a warning-coloured pill with
 * an edit icon, and the row starts with the same icon. Built once from the
 * struct the daemon lists (CLOCHE_SESSION_INFO_TYPE); the Overview makes
 * new rows when the list changes.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-open-session-row.h"
#include "cloche-session-codec.h"

struct _ClocheOpenSessionRow
{
  AdwActionRow parent_instance;
  gboolean     writable;
};

G_DEFINE_FINAL_TYPE (ClocheOpenSessionRow, cloche_open_session_row, ADW_TYPE_ACTION_ROW)

static char *
cloche_open_session_row_format_age (gint64 created)
{
  gint64 minutes = MAX (0, (g_get_real_time () - created) / G_USEC_PER_SEC / 60);

  if (minutes < 1)
    return g_strdup (_("opened just now"));
  if (minutes < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "opened %d minute ago",
                                         "opened %d minutes ago", minutes), (int) minutes);
  if (minutes < 48 * 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "opened %d hour ago",
                                         "opened %d hours ago", minutes / 60),
                            (int) (minutes / 60));
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "opened %d day ago",
                                       "opened %d days ago", minutes / 1440),
                          (int) (minutes / 1440));
}

/* ~/src/project for a folder under home: the part a user recognises. */
static char *
cloche_open_session_row_display_path (const char *path)
{
  const char *home = g_get_home_dir ();
  gsize length = strlen (home);

  if (length > 1 && g_str_has_prefix (path, home) && (path[length] == '/' || path[length] == '\0'))
    return g_strconcat ("~", path + length, NULL);
  return g_strdup (path);
}

/* A session tied to its caller records the caller's unique bus name
 * (":1.42"): the app's own is "this app", another is a D-Bus client. */
static const char *
cloche_open_session_row_client_name (const char *client,
                                     const char *own_name)
{
  if (*client == '\0')
    return _("unknown client");
  if (g_strcmp0 (client, own_name) == 0)
    return _("this app");
  if (client[0] == ':')
    return _("a D-Bus client");
  return client;
}

static GtkWidget *
cloche_open_session_row_mode_pill (gboolean readonly)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  GtkWidget *icon = gtk_image_new_from_icon_name (readonly ? "changes-prevent-symbolic"
                                                           : "document-edit-symbolic");
  GtkWidget *label = gtk_label_new (readonly ? _("read-only") : _("read-write"));

  gtk_accessible_update_property (GTK_ACCESSIBLE (icon), GTK_ACCESSIBLE_PROPERTY_LABEL, "", -1);
  gtk_box_append (GTK_BOX (box), icon);
  gtk_box_append (GTK_BOX (box), label);
  gtk_widget_add_css_class (box, "folder-mode");
  gtk_widget_add_css_class (box, readonly ? "read-only" : "read-write");
  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  return box;
}

static GtkWidget *
cloche_open_session_row_folder_line (const char *path,
                                     gboolean    readonly)
{
  g_autofree char *shown = cloche_open_session_row_display_path (path);
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *label = gtk_label_new (shown);

  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 28);
  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_set_tooltip_text (label, path);
  gtk_box_append (GTK_BOX (line), label);
  gtk_box_append (GTK_BOX (line), cloche_open_session_row_mode_pill (readonly));
  return line;
}

/* The folders, one line each, as the row's suffix. */
static void
cloche_open_session_row_add_folders (ClocheOpenSessionRow *self,
                                     GVariant             *mounts)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly, any = FALSE;

  gtk_widget_set_valign (box, GTK_ALIGN_CENTER);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    {
      gtk_box_append (GTK_BOX (box), cloche_open_session_row_folder_line (path, readonly));
      self->writable |= !readonly;
      any = TRUE;
    }
  if (!any)
    {
      GtkWidget *none = gtk_label_new (_("No folders"));

      gtk_widget_add_css_class (none, "dim-label");
      gtk_box_append (GTK_BOX (box), none);
    }
  adw_action_row_add_suffix (ADW_ACTION_ROW (self), box);
}

static void
cloche_open_session_row_class_init (ClocheOpenSessionRowClass *klass)
{
}

static void
cloche_open_session_row_init (ClocheOpenSessionRow *self)
{
  gtk_widget_add_css_class (GTK_WIDGET (self), "open-session");
}

/**
 * cloche_open_session_row_new:
 * @info: CLOCHE_SESSION_INFO_TYPE, as io.github.cloche.Sessions lists it
 * @own_name: (nullable): the app's unique name on the bus
 *
 * Returns: (transfer floating): the row
 */
GtkWidget *
cloche_open_session_row_new (GVariant   *info,
                             const char *own_name)
{
  ClocheOpenSessionRow *self = g_object_new (CLOCHE_TYPE_OPEN_SESSION_ROW,
                                             "use-markup", FALSE, NULL);
  g_auto(ClocheSessionInfo) session = { 0 };
  g_autofree char *age = NULL;
  g_autofree char *subtitle = NULL;
  GtkWidget *icon;

  cloche_session_info_init (&session, info);
  age = cloche_open_session_row_format_age (session.created);
  /* Translators: who opened a session, and when, e.g. “clochectl · opened 5 minutes ago” */
  subtitle =
    g_strdup_printf (_("%s · %s"), cloche_open_session_row_client_name (session.client, own_name),
                     age);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self),
                                 *session.title != '\0' ? session.title : _("Untitled session"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
  gtk_widget_set_name (GTK_WIDGET (self), session.id);
  cloche_open_session_row_add_folders (self, session.mounts);

  icon = gtk_image_new_from_icon_name (self->writable ? "document-edit-symbolic"
                                                      : "folder-symbolic");
  gtk_widget_add_css_class (icon, self->writable ? "warning" : "dim-label");
  gtk_widget_set_tooltip_text (icon, self->writable ? _("Can change files on this computer")
                                                    : NULL);
  adw_action_row_add_prefix (ADW_ACTION_ROW (self), icon);
  return GTK_WIDGET (self);
}

/* Whether any of the session's folders is mounted read-write. */
gboolean
cloche_open_session_row_get_writable (ClocheOpenSessionRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_OPEN_SESSION_ROW (self), FALSE);

  return self->writable;
}
