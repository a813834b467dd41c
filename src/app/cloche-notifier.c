/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tells the user about what happens while they look elsewhere: the VM
 * failing to start or stopping on its own, which an agent working in the
 * background would otherwise report as a vague error of its own. Nothing is
 * sent while the window is active (the Overview already says it), and a
 * notification is withdrawn when the user comes back to the window.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "cloche-notifier.h"

struct _ClocheNotifier
{
  GObject        parent_instance;
  GtkWindow     *window;     /* weak: the window owns the notifier */
  GSettings     *settings;   /* NULL when the schema is not installed */
  GSignalGroup  *client_signals;
  ClocheVmState  last_state;
};

G_DEFINE_FINAL_TYPE (ClocheNotifier, cloche_notifier, G_TYPE_OBJECT)

static gboolean
cloche_notifier_enabled (ClocheNotifier *self)
{
  return self->settings == NULL
         || g_settings_get_boolean (self->settings, "show-notifications");
}

static GApplication *
cloche_notifier_get_application (ClocheNotifier *self)
{
  GtkApplication *app = self->window != NULL ? gtk_window_get_application (self->window) : NULL;

  return app != NULL ? G_APPLICATION (app) : g_application_get_default ();
}

static void
cloche_notifier_send_failure (ClocheNotifier *self,
                              ClocheVmState   previous,
                              const char     *reason)
{
  GApplication *app = cloche_notifier_get_application (self);
  g_autoptr(GNotification) notification = NULL;

  if (app == NULL || !cloche_notifier_enabled (self)
      || (self->window != NULL && gtk_window_is_active (self->window)))
    return;

  notification = g_notification_new (previous == CLOCHE_VM_STATE_STARTING
                                     ? _("The agent sandbox could not start")
                                     : _("The agent sandbox stopped unexpectedly"));
  g_notification_set_body (notification, reason != NULL && *reason != '\0'
                           ? reason : _("Open Cloche to see what happened."));
  g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
  g_notification_set_default_action_and_target (notification, "app.show-page", "s", "overview");
  g_application_send_notification (app, CLOCHE_NOTIFICATION_VM_FAILED, notification);
}

static void
cloche_notifier_state_cb (ClocheNotifier *self,
                          GParamSpec     *pspec,
                          ClocheClient   *client)
{
  ClocheVmState state = cloche_client_get_state (client);
  ClocheVmState previous = self->last_state;

  self->last_state = state;
  /* Only a change seen happening: a daemon that had crashed before the
   * app started is on the Overview, not news. */
  if (state == CLOCHE_VM_STATE_CRASHED
      && (previous == CLOCHE_VM_STATE_STARTING || previous == CLOCHE_VM_STATE_RUNNING))
    cloche_notifier_send_failure (self, previous, cloche_client_get_state_reason (client));
}

static void
cloche_notifier_active_cb (ClocheNotifier *self,
                           GParamSpec     *pspec,
                           GtkWindow      *window)
{
  GApplication *app = cloche_notifier_get_application (self);

  if (app != NULL && gtk_window_is_active (window))
    g_application_withdraw_notification (app, CLOCHE_NOTIFICATION_VM_FAILED);
}

static void
cloche_notifier_dispose (GObject *object)
{
  ClocheNotifier *self = CLOCHE_NOTIFIER (object);

  g_clear_weak_pointer (&self->window);
  g_clear_object (&self->client_signals);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (cloche_notifier_parent_class)->dispose (object);
}

static void
cloche_notifier_class_init (ClocheNotifierClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_notifier_dispose;
}

static void
cloche_notifier_init (ClocheNotifier *self)
{
  self->client_signals = g_signal_group_new (CLOCHE_TYPE_CLIENT);
  g_signal_group_connect_object (self->client_signals, "notify::state",
                                 G_CALLBACK (cloche_notifier_state_cb), self,
                                 G_CONNECT_SWAPPED);
}

/**
 * cloche_notifier_new:
 * @window: the window whose being active makes notifications unneeded
 * @settings: (nullable): the app's settings, for "show-notifications"
 */
ClocheNotifier *
cloche_notifier_new (GtkWindow *window,
                     GSettings *settings)
{
  ClocheNotifier *self = g_object_new (CLOCHE_TYPE_NOTIFIER, NULL);

  g_set_weak_pointer (&self->window, window);
  g_set_object (&self->settings, settings);
  g_signal_connect_object (window, "notify::is-active",
                           G_CALLBACK (cloche_notifier_active_cb), self, G_CONNECT_SWAPPED);
  return self;
}

void
cloche_notifier_set_client (ClocheNotifier *self,
                            ClocheClient   *client)
{
  g_return_if_fail (CLOCHE_IS_NOTIFIER (self));

  self->last_state = client != NULL ? cloche_client_get_state (client) : CLOCHE_VM_STATE_STOPPED;
  g_signal_group_set_target (self->client_signals, client);
}
