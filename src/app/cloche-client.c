/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The app's one connection to the daemon: ClocheApplication owns it (agents
 * outlive windows), and every page takes what it needs from it. It holds a
 * generated proxy for each interface the daemon serves on its object path,
 * all on one bus connection, each made once, and mirrors the Daemon
 * interface's properties as GObject properties. Each proxy keeps the call
 * timeout its longest call needs; the listeners (monitor, egress, policy)
 * never start the daemon by themselves.
 */
#include "config.h"

#include "cloche-client.h"
#include "cloche-dbus-generated.h"
#include "cloche-error.h"

/* Sessions.Open returns once the guest agent answers, which takes seconds under
 * software emulation and longer on a loaded machine: the D-Bus default of 25 s
 * would report a boot that is merely slow as a failure. Longer than the
 * daemon's own 120 s wait for the agent, so that its error, which names the
 * cause, arrives before a bare D-Bus timeout. */
#define CLOCHE_CLIENT_CALL_TIMEOUT_MSEC (180 * 1000)

typedef void (*ProxyNewFunc) (GDBusConnection     *connection,
                              GDBusProxyFlags      flags,
                              const char          *name,
                              const char          *object_path,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data);

/* The interfaces besides io.github.cloche.Daemon, in ClocheClientService's
 * order: how each proxy is made and how long its calls may take. */
static const struct
{
  ProxyNewFunc new_func;
  gboolean     auto_start;
  int          timeout_msec;
} services[] = {
  /* Install and relocate copy or download the whole bundle. */
  [CLOCHE_CLIENT_BUNDLE] = { (ProxyNewFunc) cloche_dbus_bundle_proxy_new, TRUE, G_MAXINT },
  /* Checks hash the bundle and run QEMU: seconds under load. */
  [CLOCHE_CLIENT_DOCTOR] = { (ProxyNewFunc) cloche_dbus_doctor_proxy_new, TRUE, 120 * 1000 },
  [CLOCHE_CLIENT_MONITOR] = { (ProxyNewFunc) cloche_dbus_monitor_proxy_new, FALSE, -1 },
  [CLOCHE_CLIENT_EGRESS] = { (ProxyNewFunc) cloche_dbus_egress_proxy_new, FALSE, -1 },
  [CLOCHE_CLIENT_POLICY] = { (ProxyNewFunc) cloche_dbus_policy_proxy_new, FALSE, -1 },
  [CLOCHE_CLIENT_SESSIONS] = { (ProxyNewFunc) cloche_dbus_sessions_proxy_new, TRUE,
                               CLOCHE_CLIENT_CALL_TIMEOUT_MSEC },
  /* Set and Remove wait for the keyring, which may ask to be unlocked. */
  [CLOCHE_CLIENT_SECRETS] = { (ProxyNewFunc) cloche_dbus_secrets_proxy_new, TRUE,
                              CLOCHE_CLIENT_CALL_TIMEOUT_MSEC },
};

struct _ClocheClient
{
  GObject           parent_instance;

  ClocheDbusDaemon *proxy;
  GDBusProxy       *services[CLOCHE_CLIENT_N_SERVICES];

  ClocheVmState     state;
  char             *state_reason;
  GStrv             console_tail;
  char             *accelerator;
  char             *accelerator_reason;
  gint64            booted_at;
  guint             open_sessions;
  guint             service_running : 1;
  guint             accelerator_fallback : 1;
};

G_DEFINE_FINAL_TYPE (ClocheClient, cloche_client, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SERVICE_RUNNING,
  PROP_STATE,
  PROP_STATE_REASON,
  PROP_CONSOLE_TAIL,
  PROP_ACCELERATOR,
  PROP_ACCELERATOR_REASON,
  PROP_BOOTED_AT,
  PROP_OPEN_SESSIONS,
  PROP_ACCELERATOR_FALLBACK,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cloche_client_set_string (ClocheClient  *self,
                          char         **field,
                          const char    *value,
                          guint          prop_id)
{
  if (value == NULL)
    value = "";
  if (g_strcmp0 (*field, value) == 0)
    return;

  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
cloche_client_set_console_tail (ClocheClient       *self,
                                const char * const *lines)
{
  static const char * const empty[] = { NULL };

  if (lines == NULL)
    lines = empty;
  if (self->console_tail != NULL
      && g_strv_equal ((const char * const *) self->console_tail, lines))
    return;

  g_strfreev (self->console_tail);
  self->console_tail = g_strdupv ((char **) lines);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONSOLE_TAIL]);
}

static ClocheVmState
cloche_client_read_state (ClocheClient *self)
{
  const char *name = cloche_dbus_daemon_get_state (self->proxy);
  ClocheVmState state = CLOCHE_VM_STATE_STOPPED;

  /* No cached value means the daemon is gone; a name we do not know comes
   * from a newer daemon. Neither is worth more than a debug line. */
  if (name != NULL && !cloche_vm_state_from_string (name, &state))
    g_debug ("Unknown VM state “%s” from the daemon", name);

  return state;
}

static void
cloche_client_sync_numbers (ClocheClient *self)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (self->proxy));
  ClocheVmState state = cloche_client_read_state (self);
  gint64 booted_at = cloche_dbus_daemon_get_booted_at (self->proxy);
  guint open_sessions = cloche_dbus_daemon_get_open_sessions (self->proxy);
  gboolean fallback = cloche_dbus_daemon_get_accelerator_fallback (self->proxy);

  if (self->service_running != (owner != NULL))
    {
      self->service_running = owner != NULL;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVICE_RUNNING]);
    }
  if (self->state != state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
  if (self->booted_at != booted_at)
    {
      self->booted_at = booted_at;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BOOTED_AT]);
    }
  if (self->open_sessions != open_sessions)
    {
      self->open_sessions = open_sessions;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPEN_SESSIONS]);
    }
  if (self->accelerator_fallback != fallback)
    {
      self->accelerator_fallback = fallback;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCELERATOR_FALLBACK]);
    }
}

static void
cloche_client_sync_console_tail (ClocheClient *self)
{
  g_autoptr(GVariant) value = NULL;
  g_autofree const char **lines = NULL;

  /* Read GDBusProxy's own cache: the generated getter keeps a copy of a
   * strv that it refreshes only after the signal handlers have run, and
   * never when the daemon leaves the bus. */
  value = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (self->proxy), "ConsoleTail");
  if (value != NULL)
    lines = g_variant_get_strv (value, NULL);
  cloche_client_set_console_tail (self, lines);
}

static void
cloche_client_sync (ClocheClient *self)
{
  /* Frozen so that a listener sees the state and its reason together. */
  g_object_freeze_notify (G_OBJECT (self));

  cloche_client_sync_numbers (self);
  cloche_client_set_string (self, &self->state_reason,
                            cloche_dbus_daemon_get_state_reason (self->proxy),
                            PROP_STATE_REASON);
  cloche_client_sync_console_tail (self);
  cloche_client_set_string (self, &self->accelerator,
                            cloche_dbus_daemon_get_accelerator (self->proxy),
                            PROP_ACCELERATOR);
  cloche_client_set_string (self, &self->accelerator_reason,
                            cloche_dbus_daemon_get_accelerator_reason (self->proxy),
                            PROP_ACCELERATOR_REASON);

  g_object_thaw_notify (G_OBJECT (self));
}

static void
cloche_client_properties_changed_cb (ClocheClient       *self,
                                     GVariant           *changed,
                                     const char * const *invalidated,
                                     GDBusProxy         *proxy)
{
  cloche_client_sync (self);
}

static void
cloche_client_name_owner_cb (ClocheClient *self,
                             GParamSpec   *pspec,
                             GDBusProxy   *proxy)
{
  /* The proxy clears its cache when the daemon leaves the bus and reloads it
   * when the daemon comes back, without a properties-changed signal. */
  cloche_client_sync (self);
}

static ClocheClient *
cloche_client_new_for_proxy (ClocheDbusDaemon *proxy)
{
  ClocheClient *self = g_object_new (CLOCHE_TYPE_CLIENT, NULL);

  self->proxy = g_object_ref (proxy);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy),
                                    CLOCHE_CLIENT_CALL_TIMEOUT_MSEC);
  /* After the generated class handler, which drops its stale copies. */
  g_signal_connect_object (proxy, "g-properties-changed",
                           G_CALLBACK (cloche_client_properties_changed_cb),
                           self, G_CONNECT_SWAPPED | G_CONNECT_AFTER);
  g_signal_connect_object (proxy, "notify::g-name-owner",
                           G_CALLBACK (cloche_client_name_owner_cb),
                           self, G_CONNECT_SWAPPED);
  cloche_client_sync (self);

  return self;
}

static void
cloche_client_dispose (GObject *object)
{
  ClocheClient *self = (ClocheClient *) object;

  if (self->proxy != NULL)
    g_signal_handlers_disconnect_by_data (self->proxy, self);
  g_clear_object (&self->proxy);
  for (guint i = 0; i < CLOCHE_CLIENT_N_SERVICES; i++)
    g_clear_object (&self->services[i]);

  G_OBJECT_CLASS (cloche_client_parent_class)->dispose (object);
}

static void
cloche_client_finalize (GObject *object)
{
  ClocheClient *self = (ClocheClient *) object;

  g_clear_pointer (&self->state_reason, g_free);
  g_clear_pointer (&self->console_tail, g_strfreev);
  g_clear_pointer (&self->accelerator, g_free);
  g_clear_pointer (&self->accelerator_reason, g_free);

  G_OBJECT_CLASS (cloche_client_parent_class)->finalize (object);
}

static void
cloche_client_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  ClocheClient *self = CLOCHE_CLIENT (object);

  switch (prop_id)
    {
    case PROP_SERVICE_RUNNING:
      g_value_set_boolean (value, self->service_running);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATE_REASON:
      g_value_set_string (value, self->state_reason);
      break;
    case PROP_CONSOLE_TAIL:
      g_value_set_boxed (value, self->console_tail);
      break;
    case PROP_ACCELERATOR:
      g_value_set_string (value, self->accelerator);
      break;
    case PROP_ACCELERATOR_REASON:
      g_value_set_string (value, self->accelerator_reason);
      break;
    case PROP_BOOTED_AT:
      g_value_set_int64 (value, self->booted_at);
      break;
    case PROP_OPEN_SESSIONS:
      g_value_set_uint (value, self->open_sessions);
      break;
    case PROP_ACCELERATOR_FALLBACK:
      g_value_set_boolean (value, self->accelerator_fallback);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_client_class_init (ClocheClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = cloche_client_dispose;
  object_class->finalize = cloche_client_finalize;
  object_class->get_property = cloche_client_get_property;

  properties[PROP_SERVICE_RUNNING] =
    g_param_spec_boolean ("service-running", NULL, NULL, FALSE, flags);
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       CLOCHE_TYPE_VM_STATE, CLOCHE_VM_STATE_STOPPED, flags);
  properties[PROP_STATE_REASON] =
    g_param_spec_string ("state-reason", NULL, NULL, "", flags);
  properties[PROP_CONSOLE_TAIL] =
    g_param_spec_boxed ("console-tail", NULL, NULL, G_TYPE_STRV, flags);
  properties[PROP_ACCELERATOR] =
    g_param_spec_string ("accelerator", NULL, NULL, "", flags);
  properties[PROP_ACCELERATOR_REASON] =
    g_param_spec_string ("accelerator-reason", NULL, NULL, "", flags);
  properties[PROP_BOOTED_AT] =
    g_param_spec_int64 ("booted-at", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_OPEN_SESSIONS] =
    g_param_spec_uint ("open-sessions", NULL, NULL, 0, G_MAXUINT, 0, flags);
  /* TCG because KVM failed a boot in this daemon: a notice, not an error. */
  properties[PROP_ACCELERATOR_FALLBACK] =
    g_param_spec_boolean ("accelerator-fallback", NULL, NULL, FALSE, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Registers the error domain with GDBus, so that the daemon's errors
   * arrive as CLOCHE_ERROR codes before the first call can fail. */
  cloche_error_quark ();
}

static void
cloche_client_init (ClocheClient *self)
{
  self->state_reason = g_strdup ("");
  self->console_tail = g_new0 (char *, 1);
  self->accelerator = g_strdup ("");
  self->accelerator_reason = g_strdup ("");
}

static void
cloche_client_return_error (GTask  *task,
                            GError *error)
{
  /* The daemon's messages name the cause; the D-Bus error name in front of
   * them only gets in the reader's way. */
  g_dbus_error_strip_remote_error (error);
  g_task_return_error (task, error);
}

/* One service proxy made: the client is returned once all are. */
typedef struct
{
  GTask             *task;    /* its data: the ClocheClient being made */
  ClocheClientService which;
} ServiceSlot;

static guint
cloche_client_missing_services (ClocheClient *self)
{
  guint missing = 0;

  for (guint i = 0; i < CLOCHE_CLIENT_N_SERVICES; i++)
    missing += self->services[i] == NULL;
  return missing;
}

static void
cloche_client_service_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  ServiceSlot *slot = user_data;
  g_autoptr(GTask) task = slot->task;
  ClocheClient *self = g_task_get_task_data (task);
  GError *error = NULL;
  GObject *proxy = g_async_initable_new_finish (G_ASYNC_INITABLE (object), result, &error);
  ClocheClientService which = slot->which;

  g_free (slot);
  if (g_task_had_error (task))
    {
      g_clear_object (&proxy);
      g_clear_error (&error);
      return;
    }
  if (proxy == NULL)
    {
      cloche_client_return_error (task, error);
      return;
    }
  self->services[which] = G_DBUS_PROXY (proxy);
  if (services[which].timeout_msec != -1)
    g_dbus_proxy_set_default_timeout (self->services[which], services[which].timeout_msec);
  if (cloche_client_missing_services (self) == 0)
    g_task_return_pointer (task, g_object_ref (self), g_object_unref);
}

static void
cloche_client_make_services (GTask            *task,
                             ClocheDbusDaemon *daemon)
{
  GDBusProxy *proxy = G_DBUS_PROXY (daemon);

  for (guint i = 0; i < CLOCHE_CLIENT_N_SERVICES; i++)
    {
      ServiceSlot *slot = g_new0 (ServiceSlot, 1);

      slot->task = g_object_ref (task);
      slot->which = i;
      services[i].new_func (g_dbus_proxy_get_connection (proxy),
                            services[i].auto_start ? G_DBUS_PROXY_FLAGS_NONE
                                                   : G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                            g_dbus_proxy_get_name (proxy), g_dbus_proxy_get_object_path (proxy),
                            g_task_get_cancellable (task), cloche_client_service_cb, slot);
    }
}

static void
cloche_client_proxy_cb (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(ClocheDbusDaemon) proxy = NULL;
  GError *error = NULL;

  proxy = cloche_dbus_daemon_proxy_new_finish (result, &error);
  if (proxy == NULL)
    {
      cloche_client_return_error (task, error);
      return;
    }
  g_task_set_task_data (task, cloche_client_new_for_proxy (proxy), g_object_unref);
  cloche_client_make_services (task, proxy);
}

static void
cloche_client_ping_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GVariant) reply = NULL;
  GDBusConnection *connection = G_DBUS_CONNECTION (object);
  GError *error = NULL;

  reply = g_dbus_connection_call_finish (connection, result, &error);
  if (reply == NULL)
    {
      cloche_client_return_error (task, error);
      return;
    }

  cloche_dbus_daemon_proxy_new (connection, G_DBUS_PROXY_FLAGS_NONE,
                                DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                g_task_get_cancellable (task),
                                cloche_client_proxy_cb, g_object_ref (task));
}

static void
cloche_client_bus_cb (GObject      *object,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GDBusConnection) connection = NULL;
  GError *error = NULL;

  connection = g_bus_get_finish (result, &error);
  if (connection == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* A proxy is happily created for a name nobody owns. Pinging the name
   * first starts the daemon by D-Bus activation, and when that is not
   * possible the bus says why, which is what the user needs to read. */
  g_dbus_connection_call (connection, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                          "org.freedesktop.DBus.Peer", "Ping",
                          NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1,
                          g_task_get_cancellable (task),
                          cloche_client_ping_cb, g_object_ref (task));
}

/**
 * cloche_client_new_async:
 *
 * Connects to the daemon on the session bus, starting it if needed, and
 * makes the proxy of each of its interfaces. Fails with the bus's own
 * explanation when the daemon cannot be reached.
 */
void
cloche_client_new_async (GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_client_new_async);
  g_bus_get (G_BUS_TYPE_SESSION, cancellable, cloche_client_bus_cb,
             g_steal_pointer (&task));
}

ClocheClient *
cloche_client_new_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
cloche_client_get_service_running (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), FALSE);

  return self->service_running;
}

ClocheVmState
cloche_client_get_state (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), CLOCHE_VM_STATE_STOPPED);

  return self->state;
}

const char *
cloche_client_get_state_reason (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), NULL);

  return self->state_reason;
}

const char * const *
cloche_client_get_console_tail (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), NULL);

  return (const char * const *) self->console_tail;
}

const char *
cloche_client_get_accelerator (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), NULL);

  return self->accelerator;
}

const char *
cloche_client_get_accelerator_reason (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), NULL);

  return self->accelerator_reason;
}

gboolean
cloche_client_get_accelerator_fallback (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), FALSE);

  return self->accelerator_fallback;
}

gint64
cloche_client_get_booted_at (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), 0);

  return self->booted_at;
}

guint
cloche_client_get_open_sessions (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), 0);

  return self->open_sessions;
}

static void
cloche_client_open_session_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autofree char *id = NULL;
  GError *error = NULL;

  if (!cloche_dbus_sessions_call_open_finish (CLOCHE_DBUS_SESSIONS (object), &id, result,
                                              &error))
    cloche_client_return_error (task, error);
  else
    g_task_return_pointer (task, g_steal_pointer (&id), g_free);
}

/**
 * cloche_client_get_proxy:
 *
 * Returns: (transfer none) (nullable): io.github.cloche.Daemon's generated
 *   proxy (the VM)
 */
ClocheDbusDaemon *
cloche_client_get_proxy (ClocheClient *self)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), NULL);

  return self->proxy;
}

/**
 * cloche_client_get_service:
 * @which: which interface
 *
 * Returns: (transfer none): the generated proxy of @which on the daemon's
 *   object path, on the client's connection
 */
GDBusProxy *
cloche_client_get_service (ClocheClient        *self,
                           ClocheClientService  which)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), NULL);
  g_return_val_if_fail (which < CLOCHE_CLIENT_N_SERVICES, NULL);

  return self->services[which];
}

ClocheDbusBundle *
cloche_client_get_bundle (ClocheClient *self)
{
  return CLOCHE_DBUS_BUNDLE (cloche_client_get_service (self, CLOCHE_CLIENT_BUNDLE));
}

ClocheDbusDoctor *
cloche_client_get_doctor (ClocheClient *self)
{
  return CLOCHE_DBUS_DOCTOR (cloche_client_get_service (self, CLOCHE_CLIENT_DOCTOR));
}

ClocheDbusMonitor *
cloche_client_get_monitor (ClocheClient *self)
{
  return CLOCHE_DBUS_MONITOR (cloche_client_get_service (self, CLOCHE_CLIENT_MONITOR));
}

ClocheDbusEgress *
cloche_client_get_egress (ClocheClient *self)
{
  return CLOCHE_DBUS_EGRESS (cloche_client_get_service (self, CLOCHE_CLIENT_EGRESS));
}

ClocheDbusPolicy *
cloche_client_get_policy (ClocheClient *self)
{
  return CLOCHE_DBUS_POLICY (cloche_client_get_service (self, CLOCHE_CLIENT_POLICY));
}

/**
 * cloche_client_get_sessions:
 *
 * Returns: (transfer none): the io.github.cloche.Sessions proxy, with the
 *   daemon proxy's long timeout (a cleanup of thousands takes a while)
 */
ClocheDbusSessions *
cloche_client_get_sessions (ClocheClient *self)
{
  return CLOCHE_DBUS_SESSIONS (cloche_client_get_service (self, CLOCHE_CLIENT_SESSIONS));
}

ClocheDbusSecrets *
cloche_client_get_secrets (ClocheClient *self)
{
  return CLOCHE_DBUS_SECRETS (cloche_client_get_service (self, CLOCHE_CLIENT_SECRETS));
}

/**
 * cloche_client_open_session_async:
 *
 * @mounts: (nullable): a(sb), the host folders to mount and whether
 *   read-only, as io.github.cloche.Sessions.Open takes them
 * @egress_allow: (nullable): hosts the session adds to the egress rules
 *   for itself (an agent's API hosts; refused while the administrator
 *   locks egress)
 *
 * Opens agent mode, booting the VM when it is not running; completes once
 * the guest agent answers. The session stays open when the app leaves
 * (its last window closed, or a crash): what runs in it, an agent above
 * all, goes on, and a window opened later takes its terminal again
 * (cloche-terminals-page.c). It is closed from the Overview or the
 * Sessions page.
 */
void
cloche_client_open_session_async (ClocheClient        *self,
                                  const char          *title,
                                  GVariant            *mounts,
                                  const char * const  *egress_allow,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GVariantDict options;

  g_return_if_fail (CLOCHE_IS_CLIENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_client_open_session_async);
  g_variant_dict_init (&options, NULL);
  if (mounts != NULL)
    g_variant_dict_insert_value (&options, "mounts", mounts);
  if (egress_allow != NULL && egress_allow[0] != NULL)
    g_variant_dict_insert_value (&options, "egress-allow", g_variant_new_strv (egress_allow, -1));
  g_variant_dict_insert (&options, "keep-open", "b", TRUE);
  g_variant_dict_insert (&options, "client", "s", "Cloche");
  cloche_dbus_sessions_call_open (cloche_client_get_sessions (self), title != NULL ? title : "",
                                  g_variant_dict_end (&options), cancellable,
                                  cloche_client_open_session_cb, g_steal_pointer (&task));
}

/**
 * cloche_client_open_session_finish:
 *
 * Returns: (transfer full): the id of the new session, or %NULL
 */
char *
cloche_client_open_session_finish (ClocheClient  *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
cloche_client_close_session_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!cloche_dbus_sessions_call_close_finish (CLOCHE_DBUS_SESSIONS (object), result, &error))
    cloche_client_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

void
cloche_client_close_session_async (ClocheClient        *self,
                                   const char          *id,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHE_IS_CLIENT (self));
  g_return_if_fail (id != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_client_close_session_async);
  cloche_dbus_sessions_call_close (cloche_client_get_sessions (self), id, cancellable,
                                   cloche_client_close_session_cb, g_steal_pointer (&task));
}

gboolean
cloche_client_close_session_finish (ClocheClient  *self,
                                    GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (CLOCHE_IS_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
