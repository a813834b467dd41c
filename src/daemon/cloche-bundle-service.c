/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Bundle: the ClocheBundleManager on the bus. Methods
 * reply when their operation ends; Progress relays the manager's signal.
 * The dictionaries' keys are listed in data/io.github.cloche.Bundle.xml.
 */
#include "config.h"

#include "cloche-bundle-service.h"
#include "cloche-dbus-generated.h"

struct _ClocheBundleService
{
  ClocheDbusBundleSkeleton  parent_instance;
  ClocheBundleManager      *manager;
  ClocheAuditLog           *audit;     /* nullable */
};

/* A changing operation's call, kept until it ends, for its reply and its
 * line in the audit log. */
typedef struct
{
  ClocheBundleService   *self;
  GDBusMethodInvocation *invocation;
  char                  *event;
  char                  *target;    /* the source or the new location */
} Operation;

static Operation *
cloche_bundle_service_operation_new (ClocheBundleService   *self,
                                     GDBusMethodInvocation *invocation,
                                     const char            *event,
                                     const char            *target)
{
  Operation *op = g_new0 (Operation, 1);

  op->self = g_object_ref (self);
  op->invocation = g_object_ref (invocation);
  op->event = g_strdup (event);
  op->target = g_strdup (target);
  return op;
}

static void
cloche_bundle_service_operation_free (Operation *op)
{
  g_object_unref (op->self);
  g_object_unref (op->invocation);
  g_free (op->event);
  g_free (op->target);
  g_free (op);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Operation, cloche_bundle_service_operation_free)

static void
cloche_bundle_service_operation_audit (Operation    *op,
                                       const GError *error,
                                       guint64       freed)
{
  g_auto(GVariantBuilder) fields = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  if (op->target != NULL)
    g_variant_builder_add (&fields, "{sv}", "target", g_variant_new_string (op->target));
  g_variant_builder_add (&fields, "{sv}", "location",
                         g_variant_new_string (cloche_bundle_manager_get_location (op->self->manager)));
  g_variant_builder_add (&fields, "{sv}", "ok", g_variant_new_boolean (error == NULL));
  if (error != NULL)
    g_variant_builder_add (&fields, "{sv}", "error", g_variant_new_string (error->message));
  if (g_str_has_suffix (op->event, ".remove") && error == NULL)
    g_variant_builder_add (&fields, "{sv}", "bytes-freed", g_variant_new_uint64 (freed));
  cloche_audit_log_append_fields (op->self->audit, op->event, NULL,
                                  g_variant_builder_end (&fields));
}

static void cloche_bundle_service_bundle_iface_init (ClocheDbusBundleIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ClocheBundleService, cloche_bundle_service,
                               CLOCHE_DBUS_TYPE_BUNDLE_SKELETON,
                               G_IMPLEMENT_INTERFACE (CLOCHE_DBUS_TYPE_BUNDLE,
                                                      cloche_bundle_service_bundle_iface_init))

static const char *
cloche_bundle_service_or_empty (const char *text)
{
  return text != NULL ? text : "";
}

static GVariant *
cloche_bundle_service_files_to_variant (ClocheBundleInfo *info)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < cloche_bundle_info_get_n_files (info); i++)
    {
      const ClocheBundleFileInfo *file = cloche_bundle_info_get_file (info, i);
      g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);

      g_variant_dict_insert (&dict, "path", "s", file->path);
      g_variant_dict_insert (&dict, "size", "t", file->size);
      g_variant_dict_insert (&dict, "allocated", "t", file->allocated);
      g_variant_dict_insert (&dict, "present", "b", file->present);
      g_variant_builder_add_value (&builder, g_variant_dict_end (&dict));
    }
  return g_variant_builder_end (&builder);
}

static GVariant *
cloche_bundle_service_info_to_variant (ClocheBundleInfo *info,
                                       const char       *source,
                                       guint64           snapshot,
                                       guint64           tools)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  const char *problem = cloche_bundle_info_get_problem (info);

  g_variant_dict_insert (&dict, "installed", "b", cloche_bundle_info_get_installed (info));
  g_variant_dict_insert (&dict, "location", "s", cloche_bundle_info_get_location (info));
  g_variant_dict_insert (&dict, "name", "s",
                         cloche_bundle_service_or_empty (cloche_bundle_info_get_name (info)));
  g_variant_dict_insert (&dict, "version", "s",
                         cloche_bundle_service_or_empty (cloche_bundle_info_get_version (info)));
  g_variant_dict_insert (&dict, "size", "t", cloche_bundle_info_get_size (info));
  g_variant_dict_insert (&dict, "allocated", "t", cloche_bundle_info_get_allocated (info));
  g_variant_dict_insert (&dict, "snapshot", "t", snapshot);
  g_variant_dict_insert (&dict, "tools", "t", tools);
  g_variant_dict_insert (&dict, "partial", "t", cloche_bundle_info_get_partial (info));
  g_variant_dict_insert (&dict, "last-verified", "x",
                         cloche_bundle_info_get_last_verified (info));
  if (problem != NULL)
    g_variant_dict_insert (&dict, "problem", "s", problem);
  if (source != NULL)
    g_variant_dict_insert (&dict, "source", "s", source);
  g_variant_dict_insert_value (&dict, "files", cloche_bundle_service_files_to_variant (info));
  return g_variant_dict_end (&dict);
}

static GVariant *
cloche_bundle_service_manifest_to_variant (ClocheBundleManifest *manifest,
                                           const char           *target,
                                           guint64               free_bytes)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  GVariantBuilder files;

  g_variant_builder_init (&files, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < cloche_bundle_manifest_get_n_files (manifest); i++)
    {
      const ClocheBundleFile *file = cloche_bundle_manifest_get_file (manifest, i);
      g_auto(GVariantDict) entry = G_VARIANT_DICT_INIT (NULL);

      g_variant_dict_insert (&entry, "path", "s", file->path);
      g_variant_dict_insert (&entry, "size", "t", file->size);
      g_variant_builder_add_value (&files, g_variant_dict_end (&entry));
    }
  g_variant_dict_insert (&dict, "name", "s", cloche_bundle_manifest_get_name (manifest));
  g_variant_dict_insert (&dict, "version", "s", cloche_bundle_manifest_get_version (manifest));
  g_variant_dict_insert (&dict, "size", "t", cloche_bundle_manifest_get_total_size (manifest));
  g_variant_dict_insert_value (&dict, "files", g_variant_builder_end (&files));
  g_variant_dict_insert (&dict, "location", "s", target);
  g_variant_dict_insert (&dict, "free", "t", free_bytes);
  return g_variant_dict_end (&dict);
}

/* Info, Inspect */

static void
cloche_bundle_service_info_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  ClocheBundleManager *manager = CLOCHE_BUNDLE_MANAGER (object);
  g_autoptr(ClocheBundleInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *dict;

  info = cloche_bundle_manager_info_finish (manager, result, &error);
  if (info == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  dict = cloche_bundle_service_info_to_variant (info, cloche_bundle_manager_get_source (manager),
                                                cloche_bundle_manager_get_snapshot_size (manager),
                                                cloche_bundle_manager_get_tools_size (manager));
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(@a{sv})", dict));
}

static gboolean
cloche_bundle_service_handle_info (ClocheDbusBundle      *object,
                                   GDBusMethodInvocation *invocation)
{
  ClocheBundleService *self = CLOCHE_BUNDLE_SERVICE (object);

  cloche_bundle_manager_info_async (self->manager, NULL, cloche_bundle_service_info_cb,
                                    g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
cloche_bundle_service_inspected_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(ClocheBundleManifest) manifest = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *target = NULL;
  guint64 free_bytes = 0;

  manifest = cloche_bundle_manager_inspect_finish (CLOCHE_BUNDLE_MANAGER (object), result,
                                                   &target, &free_bytes, &error);
  if (manifest == NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (
      invocation, g_variant_new ("(@a{sv})",
                                 cloche_bundle_service_manifest_to_variant (manifest, target,
                                                                            free_bytes)));
}

static gboolean
cloche_bundle_service_handle_inspect (ClocheDbusBundle      *object,
                                      GDBusMethodInvocation *invocation,
                                      const char            *source,
                                      const char            *location)
{
  ClocheBundleService *self = CLOCHE_BUNDLE_SERVICE (object);

  cloche_bundle_manager_inspect_async (self->manager, source, location, NULL,
                                       cloche_bundle_service_inspected_cb,
                                       g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Verify, Install, Relocate: cloche_bundle_service_reply () or the error */

static void
cloche_bundle_service_reply (GDBusMethodInvocation *invocation,
                             gboolean               ok,
                             GError                *error)
{
  if (ok)
    g_dbus_method_invocation_return_value (invocation, NULL);
  else
    g_dbus_method_invocation_return_gerror (invocation, error);
}

static void
cloche_bundle_service_verified_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = cloche_bundle_manager_verify_finish (CLOCHE_BUNDLE_MANAGER (object), result, &error);
  cloche_bundle_service_reply (invocation, ok, error);
}

static gboolean
cloche_bundle_service_handle_verify (ClocheDbusBundle      *object,
                                     GDBusMethodInvocation *invocation)
{
  ClocheBundleService *self = CLOCHE_BUNDLE_SERVICE (object);

  cloche_bundle_manager_verify_async (self->manager, NULL, cloche_bundle_service_verified_cb,
                                      g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
cloche_bundle_service_installed_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(Operation) op = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = cloche_bundle_manager_install_finish (CLOCHE_BUNDLE_MANAGER (object), result, &error);
  cloche_bundle_service_operation_audit (op, error, 0);
  cloche_bundle_service_reply (op->invocation, ok, error);
}

static gboolean
cloche_bundle_service_handle_install (ClocheDbusBundle      *object,
                                      GDBusMethodInvocation *invocation,
                                      const char            *source,
                                      const char            *location)
{
  ClocheBundleService *self = CLOCHE_BUNDLE_SERVICE (object);

  cloche_bundle_manager_install_async (self->manager, source, location, NULL,
                                       cloche_bundle_service_installed_cb,
                                       cloche_bundle_service_operation_new (self, invocation,
                                                                            "bundle.install",
                                                                            source));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
cloche_bundle_service_relocated_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(Operation) op = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = cloche_bundle_manager_relocate_finish (CLOCHE_BUNDLE_MANAGER (object), result, &error);
  cloche_bundle_service_operation_audit (op, error, 0);
  cloche_bundle_service_reply (op->invocation, ok, error);
}

static gboolean
cloche_bundle_service_handle_relocate (ClocheDbusBundle      *object,
                                       GDBusMethodInvocation *invocation,
                                       const char            *location)
{
  ClocheBundleService *self = CLOCHE_BUNDLE_SERVICE (object);
  Operation *operation = cloche_bundle_service_operation_new (self, invocation, "bundle.relocate",
                                                              location);

  cloche_bundle_manager_relocate_async (self->manager, location, NULL,
                                        cloche_bundle_service_relocated_cb, operation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Remove, Cancel */

/* Remove and RemoveTools: the manager's removal or the sandbox's (the
 * tools folder), the same reply (the bytes freed) and audit line. */
static void
cloche_bundle_service_removed_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(Operation) op = user_data;
  g_autoptr(GError) error = NULL;
  guint64 freed = 0;
  gboolean ok;

  if (CLOCHE_IS_SANDBOX (object))
    ok = cloche_sandbox_remove_tools_finish (CLOCHE_SANDBOX (object), result, &freed, &error);
  else
    ok = cloche_bundle_manager_remove_finish (CLOCHE_BUNDLE_MANAGER (object), result, &freed,
                                              &error);
  cloche_bundle_service_operation_audit (op, error, freed);
  if (!ok)
    g_dbus_method_invocation_return_gerror (op->invocation, error);
  else
    g_dbus_method_invocation_return_value (op->invocation, g_variant_new ("(t)", freed));
}

static gboolean
cloche_bundle_service_handle_remove (ClocheDbusBundle      *object,
                                     GDBusMethodInvocation *invocation,
                                     gboolean               force)
{
  ClocheBundleService *self = CLOCHE_BUNDLE_SERVICE (object);

  cloche_bundle_manager_remove_async (self->manager, force, NULL, cloche_bundle_service_removed_cb,
                                      cloche_bundle_service_operation_new (self, invocation,
                                                                           "bundle.remove", NULL));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The tools folder is the sandbox's; it is shown and removed beside the
 * bundle (not with it: agents outlive a bundle's update). */
static gboolean
cloche_bundle_service_handle_remove_tools (ClocheDbusBundle      *object,
                                           GDBusMethodInvocation *invocation)
{
  ClocheBundleService *self = CLOCHE_BUNDLE_SERVICE (object);
  ClocheSandbox *sandbox = cloche_bundle_manager_get_sandbox (self->manager);
  Operation *operation;

  /* Without a sandbox (the bundle's tests) no folder is Cloche's tools. */
  if (sandbox == NULL)
    {
      cloche_dbus_bundle_complete_remove_tools (object, invocation, 0);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  operation = cloche_bundle_service_operation_new (self, invocation, "tools.remove",
                                                   cloche_sandbox_get_tools_dir (sandbox));
  cloche_sandbox_remove_tools_async (sandbox, NULL, cloche_bundle_service_removed_cb, operation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
cloche_bundle_service_handle_cancel (ClocheDbusBundle      *object,
                                     GDBusMethodInvocation *invocation)
{
  ClocheBundleService *self = CLOCHE_BUNDLE_SERVICE (object);
  gboolean cancelled = cloche_bundle_manager_cancel (self->manager);

  cloche_dbus_bundle_complete_cancel (object, invocation, cancelled);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Properties and progress */

static void
cloche_bundle_service_progress_cb (ClocheBundleService *self,
                                   const char          *operation,
                                   const char          *phase,
                                   const char          *file,
                                   guint64              done,
                                   guint64              total)
{
  cloche_dbus_bundle_emit_progress (CLOCHE_DBUS_BUNDLE (self), operation, phase, file, done, total);
}

static void
cloche_bundle_service_sync_properties_cb (ClocheBundleService *self)
{
  ClocheBundleManager *manager = self->manager;
  ClocheDbusBundle *skeleton = CLOCHE_DBUS_BUNDLE (self);
  const char *name = cloche_bundle_service_or_empty (cloche_bundle_manager_get_name (manager));
  const char *version =
    cloche_bundle_service_or_empty (cloche_bundle_manager_get_version (manager));
  const char *operation =
    cloche_bundle_service_or_empty (cloche_bundle_manager_get_operation (manager));

  cloche_dbus_bundle_set_installed (skeleton, cloche_bundle_manager_get_installed (manager));
  cloche_dbus_bundle_set_location (skeleton, cloche_bundle_manager_get_location (manager));
  cloche_dbus_bundle_set_name (skeleton, name);
  cloche_dbus_bundle_set_version (skeleton, version);
  cloche_dbus_bundle_set_size (skeleton, cloche_bundle_manager_get_size (manager));
  cloche_dbus_bundle_set_snapshot_size (skeleton,
                                        cloche_bundle_manager_get_snapshot_size (manager));
  cloche_dbus_bundle_set_tools_size (skeleton, cloche_bundle_manager_get_tools_size (manager));
  cloche_dbus_bundle_set_last_verified (skeleton,
                                        cloche_bundle_manager_get_last_verified (manager));
  cloche_dbus_bundle_set_operation (skeleton, operation);
}

static void
cloche_bundle_service_dispose (GObject *object)
{
  ClocheBundleService *self = CLOCHE_BUNDLE_SERVICE (object);

  g_clear_object (&self->manager);
  g_clear_object (&self->audit);

  G_OBJECT_CLASS (cloche_bundle_service_parent_class)->dispose (object);
}

static void
cloche_bundle_service_class_init (ClocheBundleServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_bundle_service_dispose;
}

static void
cloche_bundle_service_bundle_iface_init (ClocheDbusBundleIface *iface)
{
  iface->handle_info = cloche_bundle_service_handle_info;
  iface->handle_inspect = cloche_bundle_service_handle_inspect;
  iface->handle_verify = cloche_bundle_service_handle_verify;
  iface->handle_install = cloche_bundle_service_handle_install;
  iface->handle_relocate = cloche_bundle_service_handle_relocate;
  iface->handle_remove = cloche_bundle_service_handle_remove;
  iface->handle_remove_tools = cloche_bundle_service_handle_remove_tools;
  iface->handle_cancel = cloche_bundle_service_handle_cancel;
}

static void
cloche_bundle_service_init (ClocheBundleService *self)
{
}

ClocheBundleService *
cloche_bundle_service_new (ClocheBundleManager *manager)
{
  ClocheBundleService *self;

  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (manager), NULL);

  self = g_object_new (CLOCHE_TYPE_BUNDLE_SERVICE, NULL);
  self->manager = g_object_ref (manager);
  g_signal_connect_object (manager, "progress", G_CALLBACK (cloche_bundle_service_progress_cb),
                           self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (manager, "notify", G_CALLBACK (cloche_bundle_service_sync_properties_cb),
                           self,
                           G_CONNECT_SWAPPED);
  cloche_bundle_service_sync_properties_cb (self);
  return self;
}

/**
 * cloche_bundle_service_set_audit_log:
 * @audit: (nullable): where installs, moves and removals are recorded
 */
void
cloche_bundle_service_set_audit_log (ClocheBundleService *self,
                                     ClocheAuditLog      *audit)
{
  g_return_if_fail (CLOCHE_IS_BUNDLE_SERVICE (self));

  g_set_object (&self->audit, audit);
}
