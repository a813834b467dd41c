/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Daemon: the generated skeleton kept in step with the
 * sandbox, and its methods handed to the sandbox. No logic of its own lives
 * here, so everything it serves can be tested without a bus too.
 */
#include "config.h"

#include "cloche-dbus-generated.h"
#include "cloche-service.h"

struct _ClocheService
{
  GObject           parent_instance;
  ClocheSandbox    *sandbox;
  ClocheDbusDaemon *skeleton;
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
handle_open_session (ClocheService         *self,
                     GDBusMethodInvocation *invocation,
                     const char            *title)
{
  cloche_sandbox_open_session_async (self->sandbox, title,
                                     g_dbus_method_invocation_get_sender (invocation),
                                     NULL, on_session_opened, g_object_ref (invocation));
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
  g_signal_connect_swapped (self->skeleton, "handle-stop-vm",
                            G_CALLBACK (handle_stop_vm), self);
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
  connect_handlers (self);
  sync_properties (self);
  return self;
}
