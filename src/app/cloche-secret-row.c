/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One secret on the Secrets page, as io.github.cloche.Secrets lists it:
 * its name (the variable the guest sees), where it goes, whether the
 * keyring holds its value, and a lock when the administrator locks it, in
 * which case it has no Remove button; Set Value… is there either way (the
 * administrator decides where a key goes, the user brings the key). It never holds a value: the daemon
 * never sends one.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-secret-row.h"

struct _ClocheSecretRow
{
  AdwActionRow  parent_instance;
  char         *name;
  gboolean      locked;
  gboolean      has_value;

  GtkLabel     *value_label;
  GtkImage     *lock_icon;
  GtkButton    *value_button;
  GtkButton    *remove_button;
};

G_DEFINE_FINAL_TYPE (ClocheSecretRow, cloche_secret_row, ADW_TYPE_ACTION_ROW)

static void
cloche_secret_row_finalize (GObject *object)
{
  ClocheSecretRow *self = CLOCHE_SECRET_ROW (object);

  g_free (self->name);
  G_OBJECT_CLASS (cloche_secret_row_parent_class)->finalize (object);
}

static void
cloche_secret_row_class_init (ClocheSecretRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cloche_secret_row_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-secret-row.ui");
  gtk_widget_class_bind_template_child (widget_class, ClocheSecretRow, value_label);
  gtk_widget_class_bind_template_child (widget_class, ClocheSecretRow, lock_icon);
  gtk_widget_class_bind_template_child (widget_class, ClocheSecretRow, value_button);
  gtk_widget_class_bind_template_child (widget_class, ClocheSecretRow, remove_button);
}

static void
cloche_secret_row_init (ClocheSecretRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/* "api.example.com, *.example.org · x-api-key: {}" */
static char *
cloche_secret_row_describe (const char * const *hosts,
                            const char         *header,
                            const char         *format)
{
  g_autofree char *joined = g_strjoinv (", ", (char **) hosts);

  /* TRANSLATORS: hosts, then the header and how the value is written in it */
  return g_strdup_printf (_("%s · %s: %s"), joined, header, format);
}

static void
cloche_secret_row_show_state (ClocheSecretRow *self)
{
  g_autofree char *remove_label = g_strdup_printf (_("Remove %s"), self->name);
  g_autofree char *value_label = g_strdup_printf (_("Set the value of %s"), self->name);

  gtk_label_set_label (self->value_label,
                       self->has_value ? _("In the keyring") : _("No value"));
  if (self->has_value)
    gtk_widget_remove_css_class (GTK_WIDGET (self->value_label), "warning");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->value_label), "warning");
  gtk_widget_set_visible (GTK_WIDGET (self->lock_icon), self->locked);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->lock_icon),
                               self->locked ? _("Locked by the administrator: it cannot be "
                                                "changed or removed here")
                                            : NULL);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->value_button), "s", self->name);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->value_button), value_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->value_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, value_label, -1);
  gtk_widget_set_visible (GTK_WIDGET (self->remove_button), !self->locked);
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->remove_button), "s", self->name);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->remove_button), remove_label);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->remove_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, remove_label, -1);
}

/**
 * cloche_secret_row_new:
 * @binding: one element of io.github.cloche.Secrets.List, `(sasssbb)`
 */
GtkWidget *
cloche_secret_row_new (GVariant *binding)
{
  ClocheSecretRow *self = g_object_new (CLOCHE_TYPE_SECRET_ROW, NULL);
  g_autofree const char **hosts = NULL;
  g_autofree char *subtitle = NULL;
  const char *name, *header, *format;

  g_variant_get (binding, "(&s^a&s&s&sbb)", &name, &hosts, &header, &format, &self->has_value,
                 &self->locked);
  self->name = g_strdup (name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), name);
  subtitle = cloche_secret_row_describe (hosts, header, format);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
  cloche_secret_row_show_state (self);
  return GTK_WIDGET (self);
}

const char *
cloche_secret_row_get_name (ClocheSecretRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_SECRET_ROW (self), NULL);
  return self->name;
}

gboolean
cloche_secret_row_get_locked (ClocheSecretRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_SECRET_ROW (self), FALSE);
  return self->locked;
}

gboolean
cloche_secret_row_get_has_value (ClocheSecretRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_SECRET_ROW (self), FALSE);
  return self->has_value;
}
