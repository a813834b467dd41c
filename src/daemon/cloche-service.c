/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Daemon: the generated skeleton kept in step with the
 * sandbox, and its methods handed to the sandbox. No logic of its own lives
 * here, so everything it serves can be tested without a bus too.
 */
#include "config.h"

#include "cloche-dbus-generated.h"
#include "cloche-error.h"
#include "cloche-exec-calls.h"
#include "cloche-service.h"
#include "cloche-session-info.h"
#include "cloche-session-variant.h"

struct _ClocheService
{
  GObject           parent_instance;
  ClocheSandbox    *sandbox;
  ClocheDbusDaemon *skeleton;
  ClocheExecCalls  *exec_calls;
  GHashTable       *client_watches;    /* bus name → watch id */
  GHashTable       *owned;             /* bus name → GPtrArray of session ids */
};

G_DEFINE_FINAL_TYPE (ClocheService, cloche_service, G_TYPE_OBJECT)

static void
sync_properties (ClocheService *self)
{
  ClocheVm *vm = cloche_sandbox_get_vm (self->sandbox);
  const char *reason = cloche_vm_get_state_reason (vm);

  /* The skeleton only emits PropertiesChanged for values that differ. */
  cloche_dbus_daemon_set_state (self->skeleton,
                                cloche_vm_state_to_string (cloche_vm_get_state (vm)));
  cloche_dbus_daemon_set_state_reason (self->skeleton, reason != NULL ? reason : "");
  cloche_dbus_daemon_set_console_tail (self->skeleton, cloche_vm_get_console_tail (vm));
  cloche_dbus_daemon_set_accelerator (self->skeleton, cloche_vm_get_accelerator (vm));
  cloche_dbus_daemon_set_accelerator_reason (self->skeleton,
                                             cloche_vm_get_accelerator_reason (vm));
  cloche_dbus_daemon_set_booted_at (self->skeleton, cloche_vm_get_booted_at (vm));
  cloche_dbus_daemon_set_bundle_path (self->skeleton, cloche_vm_get_bundle_path (vm));
  cloche_dbus_daemon_set_open_sessions (self->skeleton,
                                        cloche_sandbox_get_open_sessions (self->sandbox));
  cloche_dbus_daemon_set_idle_timeout (self->skeleton,
                                       cloche_sandbox_get_idle_timeout (self->sandbox));
  cloche_dbus_daemon_set_sessions_path (self->skeleton,
                                        cloche_session_store_get_root (
                                          cloche_sandbox_get_store (self->sandbox)));
  cloche_dbus_daemon_set_stale_after_days (self->skeleton,
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
  ClocheService *self = user_data;
  GPtrArray *ids = g_hash_table_lookup (self->owned, name);
  guint closed = 0;

  for (guint i = 0; ids != NULL && i < ids->len; i++)
    if (cloche_sandbox_close_session (self->sandbox, g_ptr_array_index (ids, i), NULL))
      closed++;
  g_hash_table_remove (self->owned, name);
  if (closed > 0)
    g_message ("%s left the bus: closed its %u session(s)", name, closed);
  g_hash_table_remove (self->client_watches, name);
}

static void
watch_client (ClocheService         *self,
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

typedef struct
{
  ClocheService         *self;
  GDBusMethodInvocation *invocation;
  gboolean               owned;   /* closes when its caller leaves the bus */
} OpenCall;

/* The caller may have left while the VM booted: then its session closes
 * at once, as it would have a moment later. */
static void
own_session (ClocheService *self,
             const char    *owner,
             const char    *id)
{
  GPtrArray *ids;

  if (!g_hash_table_contains (self->client_watches, owner))
    {
      cloche_sandbox_close_session (self->sandbox, id, NULL);
      return;
    }
  ids = g_hash_table_lookup (self->owned, owner);
  if (ids == NULL)
    {
      ids = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (self->owned, g_strdup (owner), ids);
    }
  g_ptr_array_add (ids, g_strdup (id));
}

static void
on_session_opened (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  OpenCall *call = user_data;
  g_autoptr(GDBusMethodInvocation) invocation = call->invocation;
  g_autoptr(ClocheService) self = call->self;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;

  id = cloche_sandbox_open_session_finish (CLOCHE_SANDBOX (object), result, &error);
  if (id != NULL && call->owned)
    own_session (self, g_dbus_method_invocation_get_sender (invocation), id);
  g_free (call);
  if (id == NULL)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", id));
}

static gboolean
handle_open_session (ClocheService         *self,
                     GDBusMethodInvocation *invocation,
                     const char            *title,
                     GVariant              *options)
{
  g_autoptr(GVariant) mounts_variant = g_variant_lookup_value (options, "mounts", NULL);
  g_autoptr(GPtrArray) mounts = NULL;
  g_autoptr(GError) error = NULL;
  const char *sender = g_dbus_method_invocation_get_sender (invocation);
  const char *client = NULL;
  gboolean keep_open = FALSE;
  OpenCall *call;

  mounts = cloche_session_mounts_from_variant (mounts_variant, &error);
  if (mounts == NULL)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_variant_lookup (options, "keep-open", "b", &keep_open);
  g_variant_lookup (options, "client", "&s", &client);
  /* A session tied to its caller keeps the client name it was given (an
   * MCP server names the agent it serves); the bus name it goes with is
   * kept here, not in its record. */
  if (client == NULL || client[0] == '\0')
    client = sender;
  if (!keep_open)
    watch_client (self, invocation);
  call = g_new0 (OpenCall, 1);
  call->self = g_object_ref (self);
  call->invocation = g_object_ref (invocation);
  call->owned = !keep_open && sender != NULL;
  cloche_sandbox_open_session_async (self->sandbox, title, client, mounts, NULL,
                                     on_session_opened, call);
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
handle_list_sessions (ClocheService         *self,
                      GDBusMethodInvocation *invocation)
{
  cloche_sandbox_list_sessions_async (self->sandbox, NULL, on_sessions_listed,
                                      g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef struct
{
  ClocheService         *self;
  GDBusMethodInvocation *invocation;
} Call;

static Call *
call_new (ClocheService         *self,
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
  g_autoptr(ClocheSession) session = NULL;
  g_autoptr(GError) error = NULL;
  gboolean stale;

  session = cloche_sandbox_get_session_finish (CLOCHE_SANDBOX (object), result, &error);
  if (session == NULL)
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  stale = cloche_session_is_stale (session, g_get_real_time (),
                                   cloche_sandbox_get_stale_after_days (call->self->sandbox));
  cloche_dbus_daemon_complete_get_session (call->self->skeleton,
                                           call->invocation,
                                           cloche_session_to_variant (session, stale, -1));
}

static gboolean
handle_get_session (ClocheService         *self,
                    GDBusMethodInvocation *invocation,
                    const char            *id)
{
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
    cloche_dbus_daemon_complete_set_pinned (call->self->skeleton,
                                            call->invocation);
}

static gboolean
handle_set_pinned (ClocheService         *self,
                   GDBusMethodInvocation *invocation,
                   const char            *id,
                   gboolean               pinned)
{
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
  ClocheService *self = user_data;

  cloche_dbus_daemon_emit_cleanup_progress (self->skeleton, done, total, freed);
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
handle_cleanup (ClocheService         *self,
                GDBusMethodInvocation *invocation,
                GVariant              *options)
{
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
handle_close_session (ClocheService         *self,
                      GDBusMethodInvocation *invocation,
                      const char            *id)
{
  g_autoptr(GError) error = NULL;

  if (!cloche_sandbox_close_session (self->sandbox, id, &error))
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    cloche_dbus_daemon_complete_close_session (self->skeleton, invocation);
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
handle_exec (ClocheService         *self,
             GDBusMethodInvocation *invocation,
             const char            *id,
             const char * const    *argv,
             const char * const    *env,
             const char            *cwd)
{
  cloche_sandbox_exec_async (self->sandbox, id, argv, env, cwd, NULL,
                             on_exec_done, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ExecWithOptions, CancelExec */

static gboolean
handle_exec_with_options (ClocheService         *self,
                          GDBusMethodInvocation *invocation,
                          const char            *id,
                          const char * const    *argv,
                          const char * const    *env,
                          const char            *cwd,
                          GVariant              *options)
{
  cloche_exec_calls_start (self->exec_calls, invocation, id, argv, env, cwd, options);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_cancel_exec (ClocheService         *self,
                    GDBusMethodInvocation *invocation,
                    const char            *tag)
{
  cloche_exec_calls_cancel (self->exec_calls, invocation, tag);
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
handle_stop_vm (ClocheService         *self,
                GDBusMethodInvocation *invocation)
{
  cloche_vm_stop_async (cloche_sandbox_get_vm (self->sandbox), "user", NULL,
                        on_vm_stopped, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Export */

gboolean
cloche_service_export (ClocheService    *self,
                       GDBusConnection  *connection,
                       GError          **error)
{
  g_return_val_if_fail (CLOCHE_IS_SERVICE (self), FALSE);

  return g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                           connection, DAEMON_OBJECT_PATH, error);
}

void
cloche_service_unexport (ClocheService *self)
{
  g_return_if_fail (CLOCHE_IS_SERVICE (self));

  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
}

static void
cloche_service_dispose (GObject *object)
{
  ClocheService *self = CLOCHE_SERVICE (object);

  g_clear_pointer (&self->client_watches, g_hash_table_unref);
  g_clear_pointer (&self->owned, g_hash_table_unref);
  g_clear_object (&self->exec_calls);
  g_clear_object (&self->skeleton);
  g_clear_object (&self->sandbox);

  G_OBJECT_CLASS (cloche_service_parent_class)->dispose (object);
}

static void
cloche_service_class_init (ClocheServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_service_dispose;
}

static void
cloche_service_init (ClocheService *self)
{
  self->skeleton = cloche_dbus_daemon_skeleton_new ();
  self->client_watches = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                unwatch);
  self->owned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_ptr_array_unref);
}

static void
connect_handlers (ClocheService *self)
{
  g_signal_connect_swapped (self->skeleton, "handle-open-session",
                            G_CALLBACK (handle_open_session), self);
  g_signal_connect_swapped (self->skeleton, "handle-close-session",
                            G_CALLBACK (handle_close_session), self);
  g_signal_connect_swapped (self->skeleton, "handle-exec",
                            G_CALLBACK (handle_exec), self);
  g_signal_connect_swapped (self->skeleton, "handle-exec-with-options",
                            G_CALLBACK (handle_exec_with_options), self);
  g_signal_connect_swapped (self->skeleton, "handle-cancel-exec",
                            G_CALLBACK (handle_cancel_exec), self);
  g_signal_connect_swapped (self->skeleton, "handle-stop-vm",
                            G_CALLBACK (handle_stop_vm), self);
  g_signal_connect_swapped (self->skeleton, "handle-list-sessions",
                            G_CALLBACK (handle_list_sessions), self);
  g_signal_connect_swapped (self->skeleton, "handle-get-session",
                            G_CALLBACK (handle_get_session), self);
  g_signal_connect_swapped (self->skeleton, "handle-set-pinned",
                            G_CALLBACK (handle_set_pinned), self);
  g_signal_connect_swapped (self->skeleton, "handle-cleanup",
                            G_CALLBACK (handle_cleanup), self);
  g_signal_connect_object (cloche_sandbox_get_vm (self->sandbox), "notify",
                           G_CALLBACK (sync_properties), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->sandbox, "notify",
                           G_CALLBACK (sync_properties), self, G_CONNECT_SWAPPED);
}

ClocheService *
cloche_service_new (ClocheSandbox *sandbox)
{
  ClocheService *self;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (sandbox), NULL);

  self = g_object_new (CLOCHE_TYPE_SERVICE, NULL);
  self->sandbox = g_object_ref (sandbox);
  self->exec_calls = cloche_exec_calls_new (sandbox);
  connect_handlers (self);
  sync_properties (self);
  return self;
}
