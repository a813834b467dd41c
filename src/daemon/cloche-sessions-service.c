/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Sessions: ListSessions and Cleanup with their sessions
 * packed into one "ay" (see data/io.github.cloche.Sessions.xml and
 * cloche-session-pack.c). What is listed or removed is the sandbox's, the
 * very calls io.github.cloche.Daemon makes; only the wire format differs.
 */
#include "config.h"

#include "cloche-dbus-generated.h"
#include "cloche-session-pack.h"
#include "cloche-sessions-service.h"
#include "cloche-sessions-terminals.h"

struct _ClocheSessionsService
{
  GObject             parent_instance;
  ClocheSandbox      *sandbox;
  ClocheDbusSessions *skeleton;
};

G_DEFINE_FINAL_TYPE (ClocheSessionsService, cloche_sessions_service, G_TYPE_OBJECT)

typedef struct
{
  ClocheSessionsService *self;
  GDBusMethodInvocation *invocation;
  gboolean               stale_only;
} Call;

static Call *
call_new (ClocheSessionsService *self,
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

/* Returns: (transfer floating): "ay" */
static GVariant *
packed (GPtrArray *entries)
{
  g_autoptr(GBytes) bytes = cloche_session_infos_pack (entries);

  return g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, bytes, TRUE);
}

static void
keep_stale (GPtrArray *entries)
{
  for (guint i = entries->len; i > 0; i--)
    if (!((ClocheSessionEntry *) g_ptr_array_index (entries, i - 1))->stale)
      g_ptr_array_remove_index (entries, i - 1);
}

static void
on_listed (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) error = NULL;

  entries = cloche_sandbox_list_sessions_finish (CLOCHE_SANDBOX (object), result, &error);
  if (entries == NULL)
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      return;
    }
  if (call->stale_only)
    keep_stale (entries);
  cloche_dbus_sessions_complete_list (call->self->skeleton, call->invocation, packed (entries));
}

static gboolean
handle_list (ClocheSessionsService *self,
             GDBusMethodInvocation *invocation,
             GVariant              *options)
{
  Call *call = call_new (self, invocation);

  g_variant_lookup (options, "stale-only", "b", &call->stale_only);
  cloche_sandbox_list_sessions_async (self->sandbox, NULL, on_listed, call);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Progress goes out where every client of cleanups listens, whichever
 * interface started it. */
static void
on_cleanup_progress (guint    done,
                     guint    total,
                     guint64  freed,
                     gpointer user_data)
{
  ClocheSessionsService *self = user_data;
  GDBusInterfaceSkeleton *skeleton = G_DBUS_INTERFACE_SKELETON (self->skeleton);
  GDBusConnection *connection = g_dbus_interface_skeleton_get_connection (skeleton);

  if (connection == NULL)
    return;
  g_dbus_connection_emit_signal (connection, NULL,
                                 g_dbus_interface_skeleton_get_object_path (skeleton),
                                 cloche_dbus_daemon_interface_info ()->name, "CleanupProgress",
                                 g_variant_new ("(uut)", done, total, freed), NULL);
}

static void
on_cleaned_up (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GPtrArray) removed = NULL;
  g_autoptr(GError) error = NULL;
  guint64 freed = 0;

  removed = cloche_sandbox_cleanup_finish (CLOCHE_SANDBOX (object), result, &freed, &error);
  if (removed == NULL)
    g_dbus_method_invocation_return_gerror (call->invocation, error);
  else
    cloche_dbus_sessions_complete_cleanup (call->self->skeleton, call->invocation,
                                           packed (removed), freed);
}

static gboolean
handle_cleanup (ClocheSessionsService *self,
                GDBusMethodInvocation *invocation,
                GVariant              *options)
{
  gboolean dry_run = FALSE;
  gint32 older_than = -1;

  g_variant_lookup (options, "dry-run", "b", &dry_run);
  g_variant_lookup (options, "older-than-days", "i", &older_than);
  cloche_sandbox_cleanup_async (self->sandbox, older_than, dry_run, on_cleanup_progress, self,
                                NULL, on_cleaned_up, call_new (self, invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

gboolean
cloche_sessions_service_export (ClocheSessionsService  *self,
                                GDBusConnection        *connection,
                                GError                **error)
{
  g_return_val_if_fail (CLOCHE_IS_SESSIONS_SERVICE (self), FALSE);

  return g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                           connection, DAEMON_OBJECT_PATH, error);
}

void
cloche_sessions_service_unexport (ClocheSessionsService *self)
{
  g_return_if_fail (CLOCHE_IS_SESSIONS_SERVICE (self));

  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
}

static void
cloche_sessions_service_dispose (GObject *object)
{
  ClocheSessionsService *self = CLOCHE_SESSIONS_SERVICE (object);

  g_clear_object (&self->skeleton);
  g_clear_object (&self->sandbox);

  G_OBJECT_CLASS (cloche_sessions_service_parent_class)->dispose (object);
}

static void
cloche_sessions_service_class_init (ClocheSessionsServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_sessions_service_dispose;
}

static void
cloche_sessions_service_init (ClocheSessionsService *self)
{
  self->skeleton = cloche_dbus_sessions_skeleton_new ();
}

ClocheSessionsService *
cloche_sessions_service_new (ClocheSandbox *sandbox)
{
  ClocheSessionsService *self;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (sandbox), NULL);

  self = g_object_new (CLOCHE_TYPE_SESSIONS_SERVICE, NULL);
  self->sandbox = g_object_ref (sandbox);
  g_signal_connect_swapped (self->skeleton, "handle-list", G_CALLBACK (handle_list), self);
  g_signal_connect_swapped (self->skeleton, "handle-cleanup", G_CALLBACK (handle_cleanup), self);
  cloche_sessions_terminals_serve (self->skeleton, sandbox);
  return self;
}
