/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * When the daemon may leave. It is D-Bus activated, so there is no reason
 * to keep a process around that nobody uses: once the VM is stopped, no
 * session is open, the app is not running and nothing holds it, the daemon
 * waits exit-after seconds more and then emits ::expired. The next call
 * from the app or from clochectl starts it again.
 *
 * The app counts as a user while it runs, found by its own bus name (a
 * GApplication owns its application id): its window follows the daemon's
 * properties and signals, which a daemon that comes and goes would break.
 */
#include "config.h"

#include "cloche-lifetime.h"

struct _ClocheLifetime
{
  GObject        parent_instance;
  ClocheSandbox *sandbox;
  ClocheVm      *vm;
  guint          exit_after_s;
  guint          holds;
  guint          app_watch_id;
  gboolean       app_running;
  guint          timeout_id;
};

enum { EXPIRED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheLifetime, cloche_lifetime, G_TYPE_OBJECT)

static gboolean
cloche_lifetime_is_unused (ClocheLifetime *self)
{
  ClocheVmState state = cloche_vm_get_state (self->vm);

  /* A crashed VM is not running either; the crash is in the audit log and,
   * while the app runs, on its Overview. */
  return self->holds == 0
         && !self->app_running
         && (state == CLOCHE_VM_STATE_STOPPED || state == CLOCHE_VM_STATE_CRASHED)
         && !cloche_vm_get_preparing (self->vm)
         && cloche_sandbox_get_open_sessions (self->sandbox) == 0
         && !cloche_sandbox_get_cleaning (self->sandbox);
}

static gboolean
cloche_lifetime_timeout_cb (gpointer user_data)
{
  ClocheLifetime *self = user_data;

  self->timeout_id = 0;
  g_debug ("Unused for %u s: leaving", self->exit_after_s);
  g_signal_emit (self, signals[EXPIRED], 0);
  return G_SOURCE_REMOVE;
}

/* Any change starts the wait over: a daemon that was just used is likely
 * to be used again soon. */
static void
cloche_lifetime_update (ClocheLifetime *self)
{
  g_clear_handle_id (&self->timeout_id, g_source_remove);
  if (self->exit_after_s == 0 || !cloche_lifetime_is_unused (self))
    return;
  self->timeout_id = g_timeout_add_seconds (self->exit_after_s,
                                            cloche_lifetime_timeout_cb, self);
}

static void
cloche_lifetime_changed_cb (ClocheLifetime *self)
{
  cloche_lifetime_update (self);
}

static void
cloche_lifetime_app_appeared_cb (GDBusConnection *connection,
                                 const char      *name,
                                 const char      *owner,
                                 gpointer         user_data)
{
  ClocheLifetime *self = user_data;

  self->app_running = TRUE;
  cloche_lifetime_update (self);
}

static void
cloche_lifetime_app_vanished_cb (GDBusConnection *connection,
                                 const char      *name,
                                 gpointer         user_data)
{
  ClocheLifetime *self = user_data;

  self->app_running = FALSE;
  cloche_lifetime_update (self);
}

static void
cloche_lifetime_dispose (GObject *object)
{
  ClocheLifetime *self = CLOCHE_LIFETIME (object);

  g_clear_handle_id (&self->timeout_id, g_source_remove);
  g_clear_handle_id (&self->app_watch_id, g_bus_unwatch_name);
  g_clear_object (&self->vm);
  g_clear_object (&self->sandbox);
  G_OBJECT_CLASS (cloche_lifetime_parent_class)->dispose (object);
}

static void
cloche_lifetime_class_init (ClocheLifetimeClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_lifetime_dispose;

  signals[EXPIRED] = g_signal_new ("expired", G_TYPE_FROM_CLASS (klass),
                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);
}

static void
cloche_lifetime_init (ClocheLifetime *self)
{
}

/**
 * cloche_lifetime_new:
 * @sandbox: the sandbox whose VM and sessions keep the daemon in use
 * @exit_after_s: seconds unused before ::expired; 0 never expires
 *
 * The wait starts with cloche_lifetime_watch(), once the daemon is on the bus.
 */
ClocheLifetime *
cloche_lifetime_new (ClocheSandbox *sandbox,
                     guint          exit_after_s)
{
  ClocheLifetime *self = g_object_new (CLOCHE_TYPE_LIFETIME, NULL);

  self->sandbox = g_object_ref (sandbox);
  self->vm = g_object_ref (cloche_sandbox_get_vm (sandbox));
  self->exit_after_s = exit_after_s;
  g_signal_connect_object (self->vm, "notify::state",
                           G_CALLBACK (cloche_lifetime_changed_cb), self, G_CONNECT_SWAPPED);
  /* A boot checking its bundle is a boot already. */
  g_signal_connect_object (self->vm, "notify::preparing",
                           G_CALLBACK (cloche_lifetime_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (sandbox, "notify::open-sessions",
                           G_CALLBACK (cloche_lifetime_changed_cb), self, G_CONNECT_SWAPPED);
  /* A cleanup may outlast the client that asked for it; leaving half-way
   * would leave half the folders. */
  g_signal_connect_object (sandbox, "notify::cleaning",
                           G_CALLBACK (cloche_lifetime_changed_cb), self, G_CONNECT_SWAPPED);
  return self;
}

void
cloche_lifetime_watch (ClocheLifetime  *self,
                       GDBusConnection *connection)
{
  g_return_if_fail (CLOCHE_IS_LIFETIME (self));
  g_return_if_fail (self->app_watch_id == 0);

  self->app_watch_id =
    g_bus_watch_name_on_connection (connection, APP_ID, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                    cloche_lifetime_app_appeared_cb,
                                    cloche_lifetime_app_vanished_cb, self, NULL);
}

/**
 * cloche_lifetime_hold:
 *
 * Keeps the daemon from expiring during work that outlives a D-Bus call or
 * runs while the VM is stopped, such as a cleanup.
 */
void
cloche_lifetime_hold (ClocheLifetime *self)
{
  g_return_if_fail (CLOCHE_IS_LIFETIME (self));

  self->holds++;
  cloche_lifetime_update (self);
}

void
cloche_lifetime_release (ClocheLifetime *self)
{
  g_return_if_fail (CLOCHE_IS_LIFETIME (self));
  g_return_if_fail (self->holds > 0);

  self->holds--;
  cloche_lifetime_update (self);
}
