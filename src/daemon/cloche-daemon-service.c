/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Daemon: a subclass of the generated skeleton, kept in
 * step with the sandbox, its methods handed to the sandbox. No logic of its own lives
 * here, so everything it serves can be tested without a bus too.
 */
#include "config.h"

#include "cloche-daemon-service.h"
#include "cloche-dbus-generated.h"
#include "cloche-error.h"
#include "cloche-session-codec.h"
#include "cloche-session-variant.h"

struct _ClocheDaemonService
{
  ClocheDbusDaemonSkeleton  parent_instance;
  ClocheSandbox            *sandbox;
  GHashTable               *client_watches;    /* bus name → watch id */
};

static void daemon_iface_init (ClocheDbusDaemonIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ClocheDaemonService, cloche_daemon_service,
                               CLOCHE_DBUS_TYPE_DAEMON_SKELETON,
                               G_IMPLEMENT_INTERFACE (CLOCHE_DBUS_TYPE_DAEMON, daemon_iface_init))

static void
sync_properties (ClocheDaemonService *self)
{
  ClocheDbusDaemon *skeleton = CLOCHE_DBUS_DAEMON (self);
  ClocheVm *vm = cloche_sandbox_get_vm (self->sandbox);
  const char *reason = cloche_vm_get_state_reason (vm);

  /* The skeleton only emits PropertiesChanged for values that differ. */
  cloche_dbus_daemon_set_state (skeleton,
                                cloche_vm_state_to_string (cloche_vm_get_state (vm)));
  cloche_dbus_daemon_set_state_reason (skeleton, reason != NULL ? reason : "");
  cloche_dbus_daemon_set_console_tail (skeleton, cloche_vm_get_console_tail (vm));
  cloche_dbus_daemon_set_accelerator (skeleton, cloche_vm_get_accelerator (vm));
  cloche_dbus_daemon_set_accelerator_reason (skeleton,
                                             cloche_vm_get_accelerator_reason (vm));
  cloche_dbus_daemon_set_booted_at (skeleton, cloche_vm_get_booted_at (vm));
  cloche_dbus_daemon_set_bundle_path (skeleton, cloche_vm_get_bundle_path (vm));
  cloche_dbus_daemon_set_open_sessions (skeleton,
                                        cloche_sandbox_get_open_sessions (self->sandbox));
  cloche_dbus_daemon_set_idle_timeout (skeleton,
                                       cloche_sandbox_get_idle_timeout (self->sandbox));
  cloche_dbus_daemon_set_sessions_path (skeleton,
                                        cloche_session_store_get_root (
                                          cloche_sandbox_get_store (self->sandbox)));
  cloche_dbus_daemon_set_stale_after_days (skeleton,
                                           cloche_sandbox_get_stale_after_days (self->sandbox));
}

/* Clients: a session that was not asked to stay open closes when the
 * client that opened it leaves the bus (it crashed, or forgot). */

static void
unwatch (gpointer watch_id)
{
  g_bus_unwatch_name (GPOINTER_TO_UINT (watch_id));
}

static void
on_client_vanished (GDBusConnection *connection,
                    const char      *name,
                    gpointer         user_data)
{
  ClocheDaemonService *self = user_data;
  guint closed = cloche_sandbox_close_client_sessions (self->sandbox, name);

  if (closed > 0)
    g_message ("%s left the bus: closed its %u session(s)", name, closed);
  g_hash_table_remove (self->client_watches, name);
}

static void
watch_client (ClocheDaemonService         *self,
              GDBusMethodInvocation *invocation)
{
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  guint id;

  if (sender == NULL || g_hash_table_contains (self->client_watches, sender))
    return;
  id = g_bus_watch_name_on_connection (g_dbus_method_invocation_get_connection (invocation),
                                       sender, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                       NULL, on_client_vanished, self, NULL);
  g_hash_table_insert (self->client_watches, g_strdup (sender), GUINT_TO_POINTER (id));
}

/* OpenSession */

static void
on_session_opened (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  id = cloche_sandbox_open_session_finish (CLOCHE_SANDBOX (object), result, &error);
  if (id == NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", id));
}

static gboolean
handle_open_session (ClocheDbusDaemon      *object,
                     GDBusMethodInvocation *invocation,
                     const char            *title,
                     GVariant              *options)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

  g_autoptr(GVariant) mounts_variant = g_variant_lookup_value (options, "mounts", NULL);
  g_autoptr(GPtrArray) mounts = NULL;
  g_autoptr(GError) error = NULL;
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  const char *client = sender;
  gboolean keep_open = FALSE;

  mounts = cloche_session_mounts_from_variant (mounts_variant, &error);
  if (mounts == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_variant_lookup (options, "keep-open", "b", &keep_open);
  g_variant_lookup (options, "client", "&s", &client);
  /* Only a session tied to its caller records the bus name it goes with. */
  if (!keep_open)
    {
      client = sender;
      watch_client (self, invocation);
    }
  cloche_sandbox_open_session_async (self->sandbox, title, client, mounts, NULL,
                                     on_session_opened, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ListSessions, GetSession, SetPinned */

static void
on_sessions_listed (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;

  entries = cloche_sandbox_list_sessions_finish (CLOCHE_SANDBOX (object), result, &error);
  if (entries == NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new_tuple ((GVariant *[]) {
                                             cloche_session_entries_to_variant (entries) }, 1));
}

static gboolean
handle_list_sessions (ClocheDbusDaemon      *object,
                      GDBusMethodInvocation *invocation)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

  cloche_sandbox_list_sessions_async (self->sandbox, NULL, on_sessions_listed,
                                      g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef struct
{
  ClocheDaemonService         *self;
  GDBusMethodInvocation *invocation;
} Call;

static Call *
call_new (ClocheDaemonService         *self,
          GDBusMethodInvocation *invocation)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  return call;
}

static void
call_free (Call *call)
{
  g_object_unref (call->self);
  g_object_unref (call->invocation);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

static void
on_session_got (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  ClocheSessionEntry *entry;
  g_autoptr(GError) error = NULL;

  entry = cloche_sandbox_get_session_finish (CLOCHE_SANDBOX (object), result, &error);
  if (entry == NULL)
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  cloche_dbus_daemon_complete_get_session (CLOCHE_DBUS_DAEMON (call->self),
                                           call->invocation,
                                           cloche_session_to_variant (entry->session,
                                                                      entry->stale, -1));
  cloche_session_entry_free (entry);
}

static gboolean
handle_get_session (ClocheDbusDaemon      *object,
                    GDBusMethodInvocation *invocation,
                    const char            *id)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

  cloche_sandbox_get_session_async (self->sandbox, id, NULL, on_session_got,
                                    call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_pinned (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_sandbox_set_pinned_finish (CLOCHE_SANDBOX (object), result, &error))
    g_dbus_method_invocation_return_gerror (call->invocation, error);
  else
    cloche_dbus_daemon_complete_set_pinned (CLOCHE_DBUS_DAEMON (call->self),
                                            call->invocation);
}

static gboolean
handle_set_pinned (ClocheDbusDaemon      *object,
                   GDBusMethodInvocation *invocation,
                   const char            *id,
                   gboolean               pinned)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

  cloche_sandbox_set_pinned_async (self->sandbox, id, pinned, NULL, on_pinned,
                                   call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Cleanup */

static void
on_cleanup_progress (guint    done,
                     guint    total,
                     guint64  freed,
                     gpointer user_data)
{
  ClocheDaemonService *self = user_data;

  cloche_dbus_daemon_emit_cleanup_progress (CLOCHE_DBUS_DAEMON (self), done, total, freed);
}

static void
on_cleaned_up (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GPtrArray) removed = NULL;
  g_autoptr(GError) error = NULL;
  guint64 freed = 0;

  removed = cloche_sandbox_cleanup_finish (CLOCHE_SANDBOX (object), result, &freed, &error);
  if (removed == NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(@" CLOCHE_SESSION_INFOS_TYPE "t)",
                                                          cloche_session_entries_to_variant (removed),
                                                          freed));
}

static gboolean
handle_cleanup (ClocheDbusDaemon      *object,
                GDBusMethodInvocation *invocation,
                GVariant              *options)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);
  gboolean dry_run = FALSE;
  gint32 older_than = -1;

  g_variant_lookup (options, "dry-run", "b", &dry_run);
  g_variant_lookup (options, "older-than-days", "i", &older_than);
  cloche_sandbox_cleanup_async (self->sandbox, older_than, dry_run,
                                on_cleanup_progress, self, NULL,
                                on_cleaned_up, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* CloseSession */

static gboolean
handle_close_session (ClocheDbusDaemon      *object,
                      GDBusMethodInvocation *invocation,
                      const char            *id)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

  g_autoptr(GError) error = NULL;

  if (!cloche_sandbox_close_session (self->sandbox, id, &error))
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    cloche_dbus_daemon_complete_close_session (CLOCHE_DBUS_DAEMON (self), invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Exec */

static GVariant *
bytes_variant (GBytes *bytes)
{
  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

static void
on_exec_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  int exit_code;

  if (!cloche_sandbox_exec_finish (CLOCHE_SANDBOX (object), result,
                                   &exit_code, &out, &err, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(i@ay@ay)", exit_code,
                                                        bytes_variant (out),
                                                        bytes_variant (err)));
}

static gboolean
handle_exec (ClocheDbusDaemon      *object,
             GDBusMethodInvocation *invocation,
             const char            *id,
             const char * const    *argv,
             const char * const    *env,
             const char            *cwd)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

  cloche_sandbox_exec_async (self->sandbox, id, argv, env, cwd, 0, NULL, NULL,
                             on_exec_done, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* StopVm */

static void
on_vm_stopped (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GDBusMethodInvocation) invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_vm_stop_finish (CLOCHE_VM (object), result, &error))
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static gboolean
handle_stop_vm (ClocheDbusDaemon      *object,
                GDBusMethodInvocation *invocation)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

  cloche_vm_stop_async (cloche_sandbox_get_vm (self->sandbox), "user", NULL,
                        on_vm_stopped, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* GObject */

static void
cloche_daemon_service_dispose (GObject *object)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

  g_clear_pointer (&self->client_watches, g_hash_table_unref);
  g_clear_object (&self->sandbox);

  G_OBJECT_CLASS (cloche_daemon_service_parent_class)->dispose (object);
}

static void
cloche_daemon_service_class_init (ClocheDaemonServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_daemon_service_dispose;
}

static void
cloche_daemon_service_init (ClocheDaemonService *self)
{
  self->client_watches = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                unwatch);
}

static void
daemon_iface_init (ClocheDbusDaemonIface *iface)
{
  iface->handle_open_session = handle_open_session;
  iface->handle_close_session = handle_close_session;
  iface->handle_exec = handle_exec;
  iface->handle_stop_vm = handle_stop_vm;
  iface->handle_list_sessions = handle_list_sessions;
  iface->handle_get_session = handle_get_session;
  iface->handle_set_pinned = handle_set_pinned;
  iface->handle_cleanup = handle_cleanup;
}

static void
watch_sandbox (ClocheDaemonService *self)
{
  g_signal_connect_object (cloche_sandbox_get_vm (self->sandbox), "notify",
                           G_CALLBACK (sync_properties), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->sandbox, "notify",
                           G_CALLBACK (sync_properties), self, G_CONNECT_SWAPPED);
}

ClocheDaemonService *
cloche_daemon_service_new (ClocheSandbox *sandbox)
{
  ClocheDaemonService *self;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (sandbox), NULL);

  self = g_object_new (CLOCHE_TYPE_DAEMON_SERVICE, NULL);
  self->sandbox = g_object_ref (sandbox);
  watch_sandbox (self);
  sync_properties (self);
  return self;
}
