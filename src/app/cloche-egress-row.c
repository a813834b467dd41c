/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One decision in the Egress page's list: where the guest wanted to go,
 * whether it could, and the rule that said so. A refusal is as visible as
 * the rule that made it: red mark, "Denied", the rule in the subtitle.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-egress-row.h"

struct _ClocheEgressRow
{
  AdwActionRow      parent_instance;

  ClocheEgressItem *item;

  GtkImage         *icon;
  GtkLabel         *bytes_label;
  GtkLabel         *verdict_label;
};

G_DEFINE_FINAL_TYPE (ClocheEgressRow, cloche_egress_row, ADW_TYPE_ACTION_ROW)

static char *
cloche_egress_row_format_time (gint64 time)
{
  g_autoptr(GDateTime) local = g_date_time_new_from_unix_local (time / G_USEC_PER_SEC);

  return local != NULL ? g_date_time_format (local, "%X") : g_strdup ("");
}

static char *
cloche_egress_row_format_subtitle (ClocheEgressItem *item)
{
  g_autofree char *time = cloche_egress_row_format_time (cloche_egress_item_get_time (item));
  const char *session = cloche_egress_item_get_session (item);
  g_autofree char *who = session[0] != '\0' ? g_strdup_printf (_("session %s"), session)
                                            : g_strdup (_("no session named"));
  const char *error = cloche_egress_item_get_error (item);

  if (error != NULL)
    /* Translators: time · method · session · rule, then why it failed */
    return g_strdup_printf (_("%s · %s · %s · rule “%s” · could not connect: %s"), time,
                            cloche_egress_item_get_method (item), who,
                            cloche_egress_item_get_rule (item), error);
  /* Translators: time · method · session · the rule that decided */
  return g_strdup_printf (_("%s · %s · %s · rule “%s”"), time, cloche_egress_item_get_method (item),
                          who, cloche_egress_item_get_rule (item));
}

static char *
cloche_egress_row_format_bytes (ClocheEgressItem *item)
{
  g_autofree char *in = NULL, *out = NULL;

  if (!cloche_egress_item_get_allowed (item))
    return g_strdup ("");
  in = g_format_size (cloche_egress_item_get_bytes_in (item));
  out = g_format_size (cloche_egress_item_get_bytes_out (item));
  /* Translators: bytes received, bytes sent */
  return g_strdup_printf (_("↓ %s  ↑ %s"), in, out);
}

static void
cloche_egress_row_show_verdict (ClocheEgressRow *self,
                                gboolean         allowed)
{
  GtkWidget *verdict = GTK_WIDGET (self->verdict_label);

  gtk_image_set_from_icon_name (self->icon, allowed ? "emblem-ok-symbolic"
                                                    : "action-unavailable-symbolic");
  gtk_label_set_label (self->verdict_label, allowed ? _("Allowed") : _("Denied"));
  if (allowed)
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self->icon), "error");
      gtk_widget_remove_css_class (verdict, "error");
      gtk_widget_add_css_class (verdict, "dim-label");
    }
  else
    {
      gtk_widget_add_css_class (GTK_WIDGET (self->icon), "error");
      gtk_widget_add_css_class (verdict, "error");
      gtk_widget_remove_css_class (verdict, "dim-label");
    }
}

static void
cloche_egress_row_update_cb (ClocheEgressRow *self)
{
  ClocheEgressItem *item = self->item;
  const char *host = cloche_egress_item_get_host (item);
  g_autofree char *title = strchr (host, ':') != NULL
                           ? g_strdup_printf ("[%s]:%u", host, cloche_egress_item_get_port (item))
                           : g_strdup_printf ("%s:%u", host, cloche_egress_item_get_port (item));
  g_autofree char *subtitle = cloche_egress_row_format_subtitle (item);
  g_autofree char *bytes = cloche_egress_row_format_bytes (item);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
  gtk_label_set_label (self->bytes_label, bytes);
  cloche_egress_row_show_verdict (self, cloche_egress_item_get_allowed (item));
}

static void
cloche_egress_row_dispose (GObject *object)
{
  ClocheEgressRow *self = CLOCHE_EGRESS_ROW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_EGRESS_ROW);
  g_clear_object (&self->item);

  G_OBJECT_CLASS (cloche_egress_row_parent_class)->dispose (object);
}

static void
cloche_egress_row_class_init (ClocheEgressRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cloche_egress_row_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-egress-row.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressRow, icon);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressRow, bytes_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheEgressRow, verdict_label);
}

static void
cloche_egress_row_init (ClocheEgressRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
cloche_egress_row_new (ClocheEgressItem *item)
{
  ClocheEgressRow *self;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_ITEM (item), NULL);

  self = g_object_new (CLOCHE_TYPE_EGRESS_ROW, NULL);
  self->item = g_object_ref (item);
  g_signal_connect_object (item, "changed", G_CALLBACK (cloche_egress_row_update_cb), self,
                           G_CONNECT_SWAPPED);
  cloche_egress_row_update_cb (self);
  return GTK_WIDGET (self);
}

ClocheEgressItem *
cloche_egress_row_get_item (ClocheEgressRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_ROW (self), NULL);

  return self->item;
}
