/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One egress rule, or the default, in a ClochePolicyView: what it lets
 * through or keeps out, the layer it came from and, when the administrator
 * locked it, a lock. The tooltip names the file.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-policy-rule-row.h"

struct _ClochePolicyRuleRow
{
  AdwActionRow  parent_instance;
  char         *layer;
  gboolean      locked;

  GtkImage     *verdict_icon;
  GtkLabel     *layer_label;
  GtkImage     *lock_icon;
};

G_DEFINE_FINAL_TYPE (ClochePolicyRuleRow, cloche_policy_rule_row, ADW_TYPE_ACTION_ROW)

static void
cloche_policy_rule_row_finalize (GObject *object)
{
  ClochePolicyRuleRow *self = CLOCHE_POLICY_RULE_ROW (object);

  g_free (self->layer);
  G_OBJECT_CLASS (cloche_policy_rule_row_parent_class)->finalize (object);
}

static void
cloche_policy_rule_row_class_init (ClochePolicyRuleRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cloche_policy_rule_row_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-policy-rule-row.ui");
  gtk_widget_class_bind_template_child (widget_class, ClochePolicyRuleRow, verdict_icon);
  gtk_widget_class_bind_template_child (widget_class, ClochePolicyRuleRow, layer_label);
  gtk_widget_class_bind_template_child (widget_class, ClochePolicyRuleRow, lock_icon);
}

static void
cloche_policy_rule_row_init (ClochePolicyRuleRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
cloche_policy_rule_row_new (void)
{
  return g_object_new (CLOCHE_TYPE_POLICY_RULE_ROW, NULL);
}

/**
 * cloche_policy_rule_row_set_rule:
 * @rule: the rule as written ("pypi.org:443"), or %NULL for the default
 * @allowed: whether it lets requests through
 */
void
cloche_policy_rule_row_set_rule (ClochePolicyRuleRow *self,
                                 const char          *rule,
                                 gboolean             allowed)
{
  GtkWidget *icon = GTK_WIDGET (self->verdict_icon);

  g_return_if_fail (CLOCHE_IS_POLICY_RULE_ROW (self));

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self),
                                 rule != NULL ? rule : _("Everything else"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), allowed ? _("Allowed") : _("Denied"));
  gtk_image_set_from_icon_name (self->verdict_icon,
                                allowed ? "emblem-ok-symbolic" : "action-unavailable-symbolic");
  gtk_widget_remove_css_class (icon, allowed ? "error" : "success");
  gtk_widget_add_css_class (icon, allowed ? "success" : "error");
}

static char *
cloche_policy_rule_row_describe_origin (const char *layer,
                                        const char *path,
                                        gboolean    locked)
{
  g_autofree char *from = NULL;

  if (g_str_equal (layer, "admin"))
    from = g_strdup_printf (_("From the administrator’s policy, %s."), path);
  else if (g_str_equal (layer, "user"))
    from = g_strdup_printf (_("From your policy file, %s."), path);
  else
    from = g_strdup (_("Built in: no policy file sets it."));
  if (!locked)
    return g_steal_pointer (&from);
  return g_strconcat (from, " ", _("Locked by the administrator: your policy file cannot change it."),
                      NULL);
}

/**
 * cloche_policy_rule_row_set_origin:
 * @layer: "default", "admin" or "user", as io.github.cloche.Policy says
 * @path: the file of that layer
 * @locked: whether the administrator locked the key
 */
void
cloche_policy_rule_row_set_origin (ClochePolicyRuleRow *self,
                                   const char          *layer,
                                   const char          *path,
                                   gboolean             locked)
{
  g_autofree char *tooltip = NULL;

  g_return_if_fail (CLOCHE_IS_POLICY_RULE_ROW (self));

  g_free (self->layer);
  self->layer = g_strdup (layer);
  self->locked = locked;
  gtk_label_set_label (self->layer_label,
                       g_str_equal (layer, "admin") ? _("Administrator")
                       : g_str_equal (layer, "user") ? _("Your policy")
                       : _("Built in"));
  gtk_widget_set_visible (GTK_WIDGET (self->lock_icon), locked);
  tooltip = cloche_policy_rule_row_describe_origin (layer, path, locked);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self), tooltip);
}

gboolean
cloche_policy_rule_row_get_locked (ClochePolicyRuleRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY_RULE_ROW (self), FALSE);
  return self->locked;
}

const char *
cloche_policy_rule_row_get_layer (ClochePolicyRuleRow *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY_RULE_ROW (self), NULL);
  return self->layer;
}
