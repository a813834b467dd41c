/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Policy: the ClochePolicy in force, each value with its
 * layer, the locks, and why a file was refused. Nothing is decided here.
 * A subclass of the generated skeleton, as every service of the daemon.
 */
#include "config.h"

#include "cloche-dbus-generated.h"
#include "cloche-policy-service.h"

struct _ClochePolicyService
{
  ClocheDbusPolicySkeleton  parent_instance;
  ClochePolicy             *policy;
};

static void cloche_policy_service_policy_iface_init (ClocheDbusPolicyIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ClochePolicyService, cloche_policy_service,
                               CLOCHE_DBUS_TYPE_POLICY_SKELETON,
                               G_IMPLEMENT_INTERFACE (CLOCHE_DBUS_TYPE_POLICY,
                                                      cloche_policy_service_policy_iface_init))

static GVariant *
cloche_policy_service_effective_to_variant (ClochePolicy *policy)
{
  g_auto(GStrv) keys = cloche_policy_dup_keys (policy);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{s(vs)}"));
  for (guint i = 0; keys[i] != NULL; i++)
    {
      ClochePolicyLayer layer;
      GVariant *value = cloche_policy_lookup (policy, keys[i], &layer);

      g_variant_builder_add (&builder, "{s(vs)}", keys[i], value,
                             cloche_policy_layer_to_string (layer));
    }
  return g_variant_builder_end (&builder);
}

/* A named section ("secrets") and its keys locked by name also lock what
 * no layer sets yet: they are listed as the admin file writes them. */
static void
cloche_policy_service_add_named_locks (ClochePolicy *policy,
                                       GPtrArray    *locked)
{
  ClochePolicyDocument *admin = cloche_policy_get_document (policy, CLOCHE_POLICY_LAYER_ADMIN);
  const char * const *entries = admin != NULL ? cloche_policy_document_get_locked (admin) : NULL;

  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    if ((cloche_policy_schema_is_named_section (entries[i])
         || cloche_policy_schema_is_named_key (entries[i]))
        && !g_ptr_array_find_with_equal_func (locked, entries[i], g_str_equal, NULL))
      g_ptr_array_add (locked, (gpointer) entries[i]);
}

static GStrv
cloche_policy_service_dup_locked (ClochePolicy *policy)
{
  g_auto(GStrv) keys = cloche_policy_dup_keys (policy);
  g_autoptr(GPtrArray) locked = g_ptr_array_new ();

  for (guint i = 0; keys[i] != NULL; i++)
    if (cloche_policy_is_locked (policy, keys[i]))
      g_ptr_array_add (locked, keys[i]);
  cloche_policy_service_add_named_locks (policy, locked);
  g_ptr_array_add (locked, NULL);
  return g_strdupv ((char **) locked->pdata);
}

static GVariant *
cloche_policy_service_layer_to_variant (ClochePolicy      *policy,
                                        ClochePolicyLayer  layer)
{
  ClochePolicyDocument *document = cloche_policy_get_document (policy, layer);
  g_auto(GStrv) keys = document != NULL ? cloche_policy_document_dup_keys (document) : NULL;
  const char *path = layer == CLOCHE_POLICY_LAYER_USER ? cloche_policy_get_user_path (policy)
                     : layer == CLOCHE_POLICY_LAYER_ADMIN ? cloche_policy_get_admin_path (policy)
                     : "";
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  const char * const none[] = { NULL };
  GVariantBuilder values;

  /* Built in the schema's order, which a dictionary would not keep. */
  g_variant_builder_init (&values, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; document != NULL && keys[i] != NULL; i++)
    {
      GVariant *value = cloche_policy_document_lookup (document, keys[i]);

      if (value != NULL)
        g_variant_builder_add (&values, "{sv}", keys[i], value);
    }
  g_variant_dict_insert (&dict, "layer", "s", cloche_policy_layer_to_string (layer));
  g_variant_dict_insert (&dict, "path", "s", path);
  g_variant_dict_insert (&dict, "present", "b", document != NULL);
  g_variant_dict_insert_value (&dict, "values", g_variant_builder_end (&values));
  g_variant_dict_insert_value (&dict, "locked",
                               g_variant_new_strv (document != NULL
                                                   ? cloche_policy_document_get_locked (document)
                                                   : none, -1));
  return g_variant_dict_end (&dict);
}

static void
cloche_policy_service_sync_properties_cb (ClochePolicyService *self)
{
  /* In the order they apply: a user value beats an admin value that is
   * not locked. */
  static const ClochePolicyLayer order[] = {
    CLOCHE_POLICY_LAYER_DEFAULT, CLOCHE_POLICY_LAYER_ADMIN, CLOCHE_POLICY_LAYER_USER
  };
  ClocheDbusPolicy *skeleton = CLOCHE_DBUS_POLICY (self);
  g_auto(GStrv) locked = cloche_policy_service_dup_locked (self->policy);
  GVariantBuilder layers;

  g_variant_builder_init (&layers, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    g_variant_builder_add_value (&layers,
                                 cloche_policy_service_layer_to_variant (self->policy, order[i]));
  cloche_dbus_policy_set_effective (skeleton,
                                    cloche_policy_service_effective_to_variant (self->policy));
  cloche_dbus_policy_set_locked (skeleton, (const char * const *) locked);
  cloche_dbus_policy_set_layers (skeleton, g_variant_builder_end (&layers));
  cloche_dbus_policy_set_notices (skeleton, cloche_policy_get_notices (self->policy));
  cloche_dbus_policy_set_last_refusal (skeleton, cloche_policy_get_last_refusal (self->policy));
}

static void
cloche_policy_service_reloaded_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (cloche_policy_reload_finish (CLOCHE_POLICY (object), result, &error))
    g_dbus_method_invocation_return_value (invocation, NULL);
  else
    g_dbus_method_invocation_return_gerror (invocation, error);
}

static gboolean
cloche_policy_service_handle_reload (ClocheDbusPolicy      *object,
                                     GDBusMethodInvocation *invocation)
{
  ClochePolicyService *self = CLOCHE_POLICY_SERVICE (object);

  cloche_policy_reload_async (self->policy, NULL, cloche_policy_service_reloaded_cb,
                              g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
cloche_policy_service_dispose (GObject *object)
{
  ClochePolicyService *self = CLOCHE_POLICY_SERVICE (object);

  g_clear_object (&self->policy);

  G_OBJECT_CLASS (cloche_policy_service_parent_class)->dispose (object);
}

static void
cloche_policy_service_class_init (ClochePolicyServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_policy_service_dispose;
}

static void
cloche_policy_service_policy_iface_init (ClocheDbusPolicyIface *iface)
{
  iface->handle_reload = cloche_policy_service_handle_reload;
}

static void
cloche_policy_service_init (ClochePolicyService *self)
{
}

ClochePolicyService *
cloche_policy_service_new (ClochePolicy *policy)
{
  ClochePolicyService *self;

  g_return_val_if_fail (CLOCHE_IS_POLICY (policy), NULL);

  self = g_object_new (CLOCHE_TYPE_POLICY_SERVICE, NULL);
  self->policy = g_object_ref (policy);
  g_signal_connect_object (policy, "changed", G_CALLBACK (cloche_policy_service_sync_properties_cb),
                           self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (policy, "notify::last-refusal",
                           G_CALLBACK (cloche_policy_service_sync_properties_cb), self,
                           G_CONNECT_SWAPPED);
  cloche_policy_service_sync_properties_cb (self);
  return self;
}
