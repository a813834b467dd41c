/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Secrets: the bindings in force with what the keyring
 * holds for each, and Set and Remove, which hand over to
 * cloche-secret-admin.c. A subclass of the generated skeleton, as every
 * service of the daemon.
 *
 * A caller is checked at depth before anything changes: the binding by
 * the policy's own parser (cloche_secret_binding_new(): the name, 1 to 32
 * hosts, the header, the format), the value by cloche_secret_value_check()
 * (what a header can carry, at most 8 KiB). No reply, error or signal
 * holds a value: errors name the secret and what is wrong, never quote it.
 */
#include "config.h"

#include "cloche-dbus-generated.h"
#include "cloche-error.h"
#include "cloche-secret-admin.h"
#include "cloche-secrets-service.h"

struct _ClocheSecretsService
{
  ClocheDbusSecretsSkeleton  parent_instance;
  ClochePolicy              *policy;
  ClocheSecretStore         *store;
};

static void cloche_secrets_service_secrets_iface_init (ClocheDbusSecretsIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ClocheSecretsService, cloche_secrets_service,
                               CLOCHE_DBUS_TYPE_SECRETS_SKELETON,
                               G_IMPLEMENT_INTERFACE (CLOCHE_DBUS_TYPE_SECRETS,
                                                      cloche_secrets_service_secrets_iface_init))

typedef struct
{
  ClocheSecretsService  *self;
  GDBusMethodInvocation *invocation;
} Call;

static Call *
cloche_secrets_service_call_new (ClocheSecretsService  *self,
                                 GDBusMethodInvocation *invocation)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  return call;
}

static void
cloche_secrets_service_call_free (Call *call)
{
  g_object_unref (call->self);
  g_object_unref (call->invocation);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, cloche_secrets_service_call_free)

/* List */

static GVariant *
cloche_secrets_service_list_to_variant (ClochePolicy       *policy,
                                        const char * const *stored)
{
  g_autoptr(GPtrArray) bindings = cloche_policy_dup_secret_bindings (policy);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sasssbb)"));
  for (guint i = 0; i < bindings->len; i++)
    {
      const ClocheSecretBinding *binding = bindings->pdata[i];
      g_autofree char *key = g_strdup_printf ("secrets.%s", binding->name);

      g_variant_builder_add (&builder, "(s^asssbb)", binding->name, binding->hosts,
                             binding->header, binding->format,
                             stored != NULL && g_strv_contains (stored, binding->name),
                             cloche_policy_is_locked (policy, key));
    }
  return g_variant_builder_end (&builder);
}

static void
cloche_secrets_service_listed_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) stored = cloche_secret_store_list_finish (CLOCHE_SECRET_STORE (object), result,
                                                          &error);
  GVariant *list =
    cloche_secrets_service_list_to_variant (call->self->policy, (const char * const *) stored);

  cloche_dbus_secrets_complete_list (CLOCHE_DBUS_SECRETS (call->self), call->invocation, list,
                                     error != NULL ? error->message : "");
}

static gboolean
cloche_secrets_service_handle_list (ClocheDbusSecrets     *object,
                                    GDBusMethodInvocation *invocation)
{
  ClocheSecretsService *self = CLOCHE_SECRETS_SERVICE (object);

  cloche_secret_store_list_async (self->store, NULL, cloche_secrets_service_listed_cb,
                                  cloche_secrets_service_call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Set and Remove */

/* The binding's checks are the policy file's, whose code is PolicyInvalid;
 * from a caller, what it gave is an invalid argument. */
static void
cloche_secrets_service_return_invalid (GDBusMethodInvocation *invocation,
                                       GError                *error)
{
  if (error->domain == CLOCHE_ERROR)
    error->code = CLOCHE_ERROR_INVALID_ARGUMENT;
  g_dbus_method_invocation_return_gerror (invocation, error);
}

static void
cloche_secrets_service_changed_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_secret_admin_finish (CLOCHE_POLICY (object), result, &error))
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (call->invocation, NULL);
  cloche_dbus_secrets_emit_changed (CLOCHE_DBUS_SECRETS (call->self));
}

static gboolean
cloche_secrets_service_handle_set (ClocheDbusSecrets     *object,
                                   GDBusMethodInvocation *invocation,
                                   const char            *name,
                                   const char * const    *hosts,
                                   const char            *header,
                                   const char            *format,
                                   const char            *value)
{
  ClocheSecretsService *self = CLOCHE_SECRETS_SERVICE (object);
  g_autoptr(ClocheSecretBinding) binding = NULL;
  g_autoptr(GError) error = NULL;

  binding = cloche_secret_binding_new (name, hosts,
                                       header[0] != '\0' ? header : CLOCHE_SECRET_DEFAULT_HEADER,
                                       format[0] != '\0' ? format : CLOCHE_SECRET_DEFAULT_FORMAT,
                                       &error);
  if (binding == NULL || !cloche_secret_value_check (value, strlen (value), &error))
    {
      cloche_secrets_service_return_invalid (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  cloche_secret_admin_set_async (self->policy, self->store, binding, value,
                                 cloche_secrets_service_changed_cb,
                                 cloche_secrets_service_call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
cloche_secrets_service_handle_remove (ClocheDbusSecrets     *object,
                                      GDBusMethodInvocation *invocation,
                                      const char            *name)
{
  ClocheSecretsService *self = CLOCHE_SECRETS_SERVICE (object);
  g_autoptr(GError) error = NULL;

  if (!cloche_secret_name_check (name, &error))
    {
      cloche_secrets_service_return_invalid (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  cloche_secret_admin_remove_async (self->policy, self->store, name,
                                    cloche_secrets_service_changed_cb,
                                    cloche_secrets_service_call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* An administrator's or a user's edit of the files changes the list too. */
static void
cloche_secrets_service_policy_changed_cb (ClocheSecretsService *self)
{
  cloche_dbus_secrets_emit_changed (CLOCHE_DBUS_SECRETS (self));
}

static void
cloche_secrets_service_dispose (GObject *object)
{
  ClocheSecretsService *self = CLOCHE_SECRETS_SERVICE (object);

  g_clear_object (&self->policy);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (cloche_secrets_service_parent_class)->dispose (object);
}

static void
cloche_secrets_service_class_init (ClocheSecretsServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_secrets_service_dispose;
}

static void
cloche_secrets_service_secrets_iface_init (ClocheDbusSecretsIface *iface)
{
  iface->handle_list = cloche_secrets_service_handle_list;
  iface->handle_set = cloche_secrets_service_handle_set;
  iface->handle_remove = cloche_secrets_service_handle_remove;
}

static void
cloche_secrets_service_init (ClocheSecretsService *self)
{
}

ClocheSecretsService *
cloche_secrets_service_new (ClochePolicy      *policy,
                            ClocheSecretStore *store)
{
  ClocheSecretsService *self;

  g_return_val_if_fail (CLOCHE_IS_POLICY (policy), NULL);
  g_return_val_if_fail (CLOCHE_IS_SECRET_STORE (store), NULL);

  self = g_object_new (CLOCHE_TYPE_SECRETS_SERVICE, NULL);
  self->policy = g_object_ref (policy);
  self->store = g_object_ref (store);
  g_signal_connect_object (policy, "changed", G_CALLBACK (cloche_secrets_service_policy_changed_cb),
                           self,
                           G_CONNECT_SWAPPED);
  return self;
}
