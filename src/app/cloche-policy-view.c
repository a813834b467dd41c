/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The egress part of the policy in force, from io.github.cloche.Policy: the
 * deny rules, the allow rules and the default, in the order they are
 * looked at, each with the layer it came from and a lock where the
 * administrator locked it, and the reason a policy file was refused. It
 * follows the daemon's changes as they come; it decides nothing.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-policy-rule-row.h"
#include "cloche-policy-view.h"

struct _ClochePolicyView
{
  AdwPreferencesGroup  parent_instance;
  ClocheDbusPolicy    *policy;
  GSignalGroup        *signals;
  GPtrArray           *rule_rows;

  AdwActionRow        *refusal_row;
  AdwActionRow        *offline_row;
};

enum {
  PROP_0,
  PROP_POLICY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ClochePolicyView, cloche_policy_view, ADW_TYPE_PREFERENCES_GROUP)

/* The file a layer was read from, from the Layers property. */
static char *
cloche_policy_view_layer_path (ClocheDbusPolicy *policy,
                               const char       *layer)
{
  GVariant *layers = cloche_dbus_policy_get_layers (policy);
  GVariantIter iter;
  GVariant *entry;

  if (layers == NULL)
    return g_strdup ("");
  g_variant_iter_init (&iter, layers);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *name = "", *path = "";
      gboolean match;

      g_variant_lookup (entry, "layer", "&s", &name);
      g_variant_lookup (entry, "path", "&s", &path);
      match = g_str_equal (name, layer);
      if (match)
        {
          char *found = g_strdup (path);

          g_variant_unref (entry);
          return found;
        }
      g_variant_unref (entry);
    }
  return g_strdup ("");
}

static void
cloche_policy_view_add_row (ClochePolicyView *self,
                            const char       *rule,
                            gboolean          allowed,
                            const char       *key,
                            const char       *layer)
{
  const char * const *locked = cloche_dbus_policy_get_locked (self->policy);
  g_autofree char *path = cloche_policy_view_layer_path (self->policy, layer);
  GtkWidget *row = cloche_policy_rule_row_new ();

  cloche_policy_rule_row_set_rule (CLOCHE_POLICY_RULE_ROW (row), rule, allowed);
  cloche_policy_rule_row_set_origin (CLOCHE_POLICY_RULE_ROW (row), layer, path,
                                     locked != NULL && g_strv_contains (locked, key));
  adw_preferences_group_add (ADW_PREFERENCES_GROUP (self), row);
  g_ptr_array_add (self->rule_rows, row);
}

static void
cloche_policy_view_add_rules (ClochePolicyView *self,
                              GVariant         *effective,
                              const char       *key,
                              gboolean          allowed)
{
  g_autoptr(GVariant) value = NULL;
  g_autofree const char **rules = NULL;
  const char *layer = "default";

  if (!g_variant_lookup (effective, key, "(v&s)", &value, &layer))
    return;
  rules = g_variant_get_strv (value, NULL);
  for (guint i = 0; rules[i] != NULL; i++)
    cloche_policy_view_add_row (self, rules[i], allowed, key, layer);
}

static void
cloche_policy_view_clear_rows (ClochePolicyView *self)
{
  for (guint i = 0; i < self->rule_rows->len; i++)
    adw_preferences_group_remove (ADW_PREFERENCES_GROUP (self),
                                  g_ptr_array_index (self->rule_rows, i));
  g_ptr_array_set_size (self->rule_rows, 0);
}

static void
cloche_policy_view_update_refusal (ClochePolicyView *self)
{
  const char *refusal = self->policy != NULL
                        ? cloche_dbus_policy_get_last_refusal (self->policy) : NULL;
  gboolean refused = refusal != NULL && *refusal != '\0';
  g_autofree char *first_line = refused ? g_strndup (refusal, strcspn (refusal, "\n")) : NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->refusal_row), refused);
  adw_action_row_set_subtitle (self->refusal_row, refused ? first_line : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->refusal_row), refused ? refusal : NULL);
}

static void
cloche_policy_view_update_cb (ClochePolicyView *self)
{
  GVariant *effective = self->policy != NULL ? cloche_dbus_policy_get_effective (self->policy)
                        : NULL;
  g_autoptr(GVariant) fallback = NULL;
  const char *layer = "default";

  cloche_policy_view_clear_rows (self);
  cloche_policy_view_update_refusal (self);
  gtk_widget_set_visible (GTK_WIDGET (self->offline_row), effective == NULL);
  if (effective == NULL)
    return;
  cloche_policy_view_add_rules (self, effective, "egress.deny", FALSE);
  cloche_policy_view_add_rules (self, effective, "egress.allow", TRUE);
  if (g_variant_lookup (effective, "egress.default", "(v&s)", &fallback, &layer))
    cloche_policy_view_add_row (self, NULL,
                                g_str_equal (g_variant_get_string (fallback, NULL), "allow"),
                                "egress.default", layer);
}

/**
 * cloche_policy_view_set_policy:
 * @policy: (nullable): a proxy (#ClocheDbusPolicyProxy) for
 *   io.github.cloche.Policy
 */
void
cloche_policy_view_set_policy (ClochePolicyView *self,
                               ClocheDbusPolicy *policy)
{
  g_return_if_fail (CLOCHE_IS_POLICY_VIEW (self));

  if (!g_set_object (&self->policy, policy))
    return;
  g_signal_group_set_target (self->signals, policy);
  cloche_policy_view_update_cb (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POLICY]);
}

static void
cloche_policy_view_dispose (GObject *object)
{
  ClochePolicyView *self = CLOCHE_POLICY_VIEW (object);

  g_clear_object (&self->signals);
  g_clear_object (&self->policy);
  g_clear_pointer (&self->rule_rows, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), CLOCHE_TYPE_POLICY_VIEW);
  G_OBJECT_CLASS (cloche_policy_view_parent_class)->dispose (object);
}

static void
cloche_policy_view_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ClochePolicyView *self = CLOCHE_POLICY_VIEW (object);

  switch (prop_id)
    {
    case PROP_POLICY:
      g_value_set_object (value, self->policy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_policy_view_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  ClochePolicyView *self = CLOCHE_POLICY_VIEW (object);

  switch (prop_id)
    {
    case PROP_POLICY:
      cloche_policy_view_set_policy (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_policy_view_class_init (ClochePolicyViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cloche_policy_view_dispose;
  object_class->get_property = cloche_policy_view_get_property;
  object_class->set_property = cloche_policy_view_set_property;

  properties[PROP_POLICY] =
    g_param_spec_object ("policy", NULL, NULL, CLOCHE_DBUS_TYPE_POLICY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (CLOCHE_TYPE_POLICY_RULE_ROW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/cloche/Cloche/cloche-policy-view.ui");
  gtk_widget_class_bind_template_child (widget_class, ClochePolicyView, refusal_row);
  gtk_widget_class_bind_template_child (widget_class, ClochePolicyView, offline_row);
}

static void
cloche_policy_view_init (ClochePolicyView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->rule_rows = g_ptr_array_new ();
  self->signals = g_signal_group_new (G_TYPE_DBUS_PROXY);
  /* A proxy reports every property change, and losing its owner. */
  g_signal_group_connect_swapped (self->signals, "g-properties-changed",
                                  G_CALLBACK (cloche_policy_view_update_cb), self);
  g_signal_group_connect_swapped (self->signals, "notify::g-name-owner",
                                  G_CALLBACK (cloche_policy_view_update_cb), self);
  cloche_policy_view_update_cb (self);
}

GtkWidget *
cloche_policy_view_new (ClocheDbusPolicy *policy)
{
  return g_object_new (CLOCHE_TYPE_POLICY_VIEW, "policy", policy, NULL);
}
