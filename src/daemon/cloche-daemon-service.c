/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Daemon: the VM. A subclass of the generated skeleton,
 * its properties kept in step with the VM and the sandbox, StopVm handed to
 * the VM. Sessions are io.github.cloche.Sessions' (cloche-sessions-service.c).
 * No logic of its own lives here, so everything it serves can be tested
 * without a bus too.
 */
#include "config.h"

#include "cloche-daemon-service.h"
#include "cloche-dbus-generated.h"

struct _ClocheDaemonService
{
  ClocheDbusDaemonSkeleton  parent_instance;
  ClocheSandbox            *sandbox;
};

static void cloche_daemon_service_daemon_iface_init (ClocheDbusDaemonIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ClocheDaemonService, cloche_daemon_service,
                               CLOCHE_DBUS_TYPE_DAEMON_SKELETON,
                               G_IMPLEMENT_INTERFACE (CLOCHE_DBUS_TYPE_DAEMON,
                                                      cloche_daemon_service_daemon_iface_init))

static void
cloche_daemon_service_sync_properties_cb (ClocheDaemonService *self)
{
  ClocheDbusDaemon *skeleton = CLOCHE_DBUS_DAEMON (self);
  ClocheVm *vm = cloche_sandbox_get_vm (self->sandbox);
  const char *reason = cloche_vm_get_state_reason (vm);

  /* The skeleton only emits PropertiesChanged for values that differ. */
  cloche_dbus_daemon_set_state (skeleton, cloche_vm_state_to_string (cloche_vm_get_state (vm)));
  cloche_dbus_daemon_set_state_reason (skeleton, reason != NULL ? reason : "");
  cloche_dbus_daemon_set_console_tail (skeleton, cloche_vm_get_console_tail (vm));
  cloche_dbus_daemon_set_accelerator (skeleton, cloche_vm_get_accelerator (vm));
  cloche_dbus_daemon_set_accelerator_reason (skeleton, cloche_vm_get_accelerator_reason (vm));
  cloche_dbus_daemon_set_accelerator_fallback (skeleton,
                                               cloche_vm_get_accelerator_fallback (vm));
  cloche_dbus_daemon_set_booted_at (skeleton, cloche_vm_get_booted_at (vm));
  cloche_dbus_daemon_set_bundle_path (skeleton, cloche_vm_get_bundle_path (vm));
  cloche_dbus_daemon_set_open_sessions (skeleton,
                                        cloche_sandbox_get_open_sessions (self->sandbox));
  cloche_dbus_daemon_set_idle_timeout (skeleton, cloche_sandbox_get_idle_timeout (self->sandbox));
  cloche_dbus_daemon_set_idle_stop_at (skeleton, cloche_sandbox_get_idle_stop_at (self->sandbox));
}

/* StopVm */

static void
cloche_daemon_service_vm_stopped_cb (GObject      *object,
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
cloche_daemon_service_handle_stop_vm (ClocheDbusDaemon      *object,
                                      GDBusMethodInvocation *invocation)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

  cloche_vm_stop_async (cloche_sandbox_get_vm (self->sandbox), "user", NULL,
                        cloche_daemon_service_vm_stopped_cb, g_object_ref (invocation));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* GObject */

static void
cloche_daemon_service_dispose (GObject *object)
{
  ClocheDaemonService *self = CLOCHE_DAEMON_SERVICE (object);

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
}

static void
cloche_daemon_service_daemon_iface_init (ClocheDbusDaemonIface *iface)
{
  iface->handle_stop_vm = cloche_daemon_service_handle_stop_vm;
}

ClocheDaemonService *
cloche_daemon_service_new (ClocheSandbox *sandbox)
{
  ClocheDaemonService *self;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (sandbox), NULL);

  self = g_object_new (CLOCHE_TYPE_DAEMON_SERVICE, NULL);
  self->sandbox = g_object_ref (sandbox);
  g_signal_connect_object (cloche_sandbox_get_vm (sandbox), "notify",
                           G_CALLBACK (cloche_daemon_service_sync_properties_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (sandbox, "notify", G_CALLBACK (cloche_daemon_service_sync_properties_cb),
                           self,
                           G_CONNECT_SWAPPED);
  cloche_daemon_service_sync_properties_cb (self);
  return self;
}
