/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One session in the Sessions page: title, id, idle time, folders and
 * their modes, size on disk, stale or pinned, and its menu (the button,
 * a right click, Menu or Shift+F10): details, open the work folder, fork,
 * copy the id, close. Built from the struct the daemon lists
 * (CLOCHE_SESSION_INFO_TYPE). What needs the daemon or the page (details,
 * the folder, close) is asked of the page with ::menu-action; copying the
 * id is the row's own.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-session-row.h"

struct _ClocheSessionRow
{
  AdwActionRow     parent_instance;
  char            *id;
  gboolean         updating;

  GtkLabel        *stale_label;
  GtkLabel        *size_label;
  GtkToggleButton *pin_button;
  GtkMenuButton   *menu_button;
};

enum {
  PIN_TOGGLED,
  MENU_ACTION,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheSessionRow, cloche_session_row, ADW_TYPE_ACTION_ROW)

static void
cloche_session_row_pin_toggled_cb (ClocheSessionRow *self)
{
  if (!self->updating)
    g_signal_emit (self, signals[PIN_TOGGLED], 0, gtk_toggle_button_get_active (self->pin_button));
}

static char *
cloche_session_row_format_idle (gint64 last_active)
{
  gint64 minutes = MAX (0, (g_get_real_time () - last_active) / G_USEC_PER_SEC / 60);

  if (minutes < 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "used %d minute ago",
                                         "used %d minutes ago", minutes), (int) minutes);
  if (minutes < 48 * 60)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "used %d hour ago",
                                         "used %d hours ago", minutes / 60), (int) (minutes / 60));
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "used %d day ago",
                                       "used %d days ago", minutes / 1440), (int) (minutes / 1440));
}

static char *
cloche_session_row_format_mounts (GVariant *mounts)
{
  GString *text = g_string_new (NULL);
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly;

  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    g_string_append_printf (text, "\n%s — %s", path,
                            readonly ? _("read-only") : _("read-write"));
  return g_string_free (text, FALSE);
}

/* The client, when it named itself ("claude-code 1.0.43 (MCP)"); a bare
 * bus name (":1.42") says nothing to a person. */
static const char *
cloche_session_row_client_part (const ClocheSessionInfo *info)
{
  return info->client != NULL && info->client[0] != '\0' && info->client[0] != ':'
         ? info->client : NULL;
}

static char *
cloche_session_row_make_subtitle (const ClocheSessionInfo *info)
{
  g_autofree char *idle = NULL;
  g_autofree char *folders = NULL;
  const char *client = cloche_session_row_client_part (info);

  if (g_str_equal (info->state, "damaged"))
    return g_markup_printf_escaped ("%s · %s", info->id, info->damage);
  idle = cloche_session_row_format_idle (info->last_active);
  folders = cloche_session_row_format_mounts (info->mounts);
  if (client != NULL)
    return g_markup_printf_escaped ("%s · %s · %s%s", info->id, client, idle, folders);
  return g_markup_printf_escaped ("%s · %s%s", info->id, idle, folders);
}

/* Rows are bound to session after session as a list scrolls: each call
 * sets everything. */
/* The toggle's icon is the same either way: its name says what a press
 * does, and to which session, for a screen reader and a tooltip alike. */
static void
cloche_session_row_update_pin_name (ClocheSessionRow *self,
                                    const char       *title,
                                    gboolean          pinned)
{
  g_autofree char *name = NULL;

  /* Translators: %s is a session's title */
  name = g_strdup_printf (pinned ? _("Unpin “%s”") : _("Pin “%s”"), title);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->pin_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->pin_button),
                               pinned ? _("Pinned: never cleaned up. Press to unpin.")
                                      : _("Pin to keep it from cleanup"));
}

void
cloche_session_row_set_info (ClocheSessionRow        *self,
                             const ClocheSessionInfo *info)
{
  g_autofree char *subtitle = cloche_session_row_make_subtitle (info);
  g_autofree char *size_text = g_format_size (info->size);
  const char *title = info->title;

  g_return_if_fail (CLOCHE_IS_SESSION_ROW (self));

  g_free (self->id);
  self->id = g_strdup (info->id);
  if (g_str_equal (info->state, "damaged"))
    title = _("Damaged session");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), title[0] ? title : _("Untitled session"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
  gtk_label_set_label (self->size_label, size_text);
  gtk_widget_set_visible (GTK_WIDGET (self->stale_label), info->stale);
  self->updating = TRUE;
  gtk_toggle_button_set_active (self->pin_button, info->pinned);
  self->updating = FALSE;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.close", g_str_equal (info->state, "open"));
  /* A damaged record has no folders to give a fork. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.fork",
                                 !g_str_equal (info->state, "damaged"));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "row.open-terminal",
                                 g_str_equal (info->state, "open"));
  cloche_session_row_update_pin_name (self, title[0] ? title : _("Untitled session"), info->pinned);
}

const char *
cloche_session_row_get_id (ClocheSessionRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION_ROW (self), NULL);
  return self->id;
}

static void
cloche_session_row_copy_id_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *parameter)
{
  ClocheSessionRow *self = CLOCHE_SESSION_ROW (widget);

  if (self->id != NULL)
    gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), self->id);
}

/* row.open-terminal: the window's (its terminal, or the one whose window
 * was closed). */
static void
cloche_session_row_open_terminal_action (GtkWidget  *widget,
                                         const char *action_name,
                                         GVariant   *parameter)
{
  ClocheSessionRow *self = CLOCHE_SESSION_ROW (widget);

  if (self->id != NULL)
    gtk_widget_activate_action (widget, "win.open-terminal", "s", self->id);
}

/* row.details, row.open-folder, row.fork, row.close: the page's to do. */
static void
cloche_session_row_page_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  ClocheSessionRow *self = CLOCHE_SESSION_ROW (widget);

  if (self->id != NULL)
    g_signal_emit (self, signals[MENU_ACTION], 0, action_name + strlen ("row."));
}

static void
cloche_session_row_menu_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  gtk_menu_button_popup (CLOCHE_SESSION_ROW (widget)->menu_button);
}

static void
cloche_session_row_secondary_click_cb (GtkGestureClick  *gesture,
                                       int               n_press,
                                       double            x,
                                       double            y,
                                       ClocheSessionRow *self)
{
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  gtk_menu_button_popup (self->menu_button);
}

static void
cloche_session_row_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), CLOCHE_TYPE_SESSION_ROW);

  G_OBJECT_CLASS (cloche_session_row_parent_class)->dispose (object);
}

static void
cloche_session_row_finalize (GObject *object)
{
  g_free (CLOCHE_SESSION_ROW (object)->id);

  G_OBJECT_CLASS (cloche_session_row_parent_class)->finalize (object);
}

static void
cloche_session_row_class_init (ClocheSessionRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_session_row_dispose;
  object_class->finalize = cloche_session_row_finalize;

  /**
   * ClocheSessionRow::pin-toggled:
   * @pinned: the new state the user asked for
   */
  signals[PIN_TOGGLED] =
    g_signal_new ("pin-toggled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  /**
   * ClocheSessionRow::menu-action:
   * @action: "details", "open-folder", "fork" or "close"
   */
  signals[MENU_ACTION] =
    g_signal_new ("menu-action", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_install_action (widget_class, "row.copy-id", NULL,
                                   cloche_session_row_copy_id_action);
  gtk_widget_class_install_action (widget_class, "row.details", NULL,
                                   cloche_session_row_page_action);
  gtk_widget_class_install_action (widget_class, "row.open-folder", NULL,
                                   cloche_session_row_page_action);
  gtk_widget_class_install_action (widget_class, "row.fork", NULL, cloche_session_row_page_action);
  gtk_widget_class_install_action (widget_class, "row.close", NULL, cloche_session_row_page_action);
  gtk_widget_class_install_action (widget_class, "row.open-terminal", NULL,
                                   cloche_session_row_open_terminal_action);
  gtk_widget_class_install_action (widget_class, "row.menu", NULL, cloche_session_row_menu_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F10, GDK_SHIFT_MASK, "row.menu", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Menu, 0, "row.menu", NULL);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-session-row.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionRow, stale_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionRow, size_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionRow, pin_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheSessionRow, menu_button);
  gtk_widget_class_bind_template_callback (widget_class, cloche_session_row_pin_toggled_cb);
}

static void
cloche_session_row_init (ClocheSessionRow *self)
{
  GtkGesture *click = gtk_gesture_click_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_SECONDARY);
  g_signal_connect (click, "pressed", G_CALLBACK (cloche_session_row_secondary_click_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}

/* @info: (nullable): what to show; a row for a list view is bound later */
GtkWidget *
cloche_session_row_new (const ClocheSessionInfo *info)
{
  ClocheSessionRow *self = g_object_new (CLOCHE_TYPE_SESSION_ROW, NULL);

  if (info != NULL)
    cloche_session_row_set_info (self, info);
  return GTK_WIDGET (self);
}
