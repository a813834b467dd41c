/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon as one object: it builds the sandbox and what watches it
 * (policy, bundle manager, monitor, doctor, egress proxy, audit log), the
 * D-Bus services that publish them, and the lifetime that decides when the
 * daemon may leave. cloche_daemon_run() owns the bus name, exports every
 * service on the daemon's object path, runs until SIGTERM, SIGINT, the
 * lifetime's ::expired or a lost name, then takes it all down in order.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <glib-unix.h>
#include <stdlib.h>

#include "cloche-audit-events.h"
#include "cloche-bundle-service.h"
#include "cloche-daemon.h"
#include "cloche-daemon-service.h"
#include "cloche-doctor-service.h"
#include "cloche-egress-service.h"
#include "cloche-lifetime.h"
#include "cloche-monitor-service.h"
#include "cloche-policy-apply.h"
#include "cloche-policy-service.h"
#include "cloche-secrets-service.h"
#include "cloche-sessions-service.h"

struct _ClocheDaemon
{
  GObject               parent_instance;

  /* What the services publish */
  ClocheBundleManager  *bundle_manager;
  ClocheSandbox        *sandbox;
  ClochePolicy         *policy;
  ClocheAuditLog       *audit;       /* NULL when it could not be opened */
  ClocheEgressProxy    *egress;
  ClocheSecrets        *secrets;
  ClocheSecretStore    *secret_store;
  ClocheMonitor        *monitor;
  ClocheDoctor         *doctor;
  GStrv                 egress_allow;

  /* On the bus: a GDBusInterfaceSkeleton each, exported on one path */
  GPtrArray            *services;

  ClocheLifetime       *lifetime;
  gboolean              bundle_held;
  gboolean              replace;
  GMainLoop            *loop;
  int                   exit_status;
};

G_DEFINE_FINAL_TYPE (ClocheDaemon, cloche_daemon, G_TYPE_OBJECT)

static void
cloche_daemon_quit (ClocheDaemon *self,
                    int           exit_status)
{
  if (exit_status != EXIT_SUCCESS)
    self->exit_status = exit_status;
  g_main_loop_quit (self->loop);
}

/* Building */

static ClocheSandbox *
cloche_daemon_make_sandbox (const char *bundle_path,
                            int         agent_timeout)
{
  g_autofree char *sessions_root = cloche_session_store_default_root ();
  g_autoptr(ClocheVm) vm = cloche_vm_new (bundle_path);
  g_autoptr(ClocheSessionStore) store = cloche_session_store_new (sessions_root);
  ClocheSandbox *sandbox = cloche_sandbox_new (vm, store);

  if (agent_timeout > 0)
    cloche_vm_set_agent_timeout (vm, agent_timeout);
  return sandbox;
}

/* The policy files are read before the bus name is taken, so that nothing
 * runs under the built-in defaults first; a refused file is logged here and
 * published on io.github.cloche.Policy. */
static ClochePolicy *
cloche_daemon_make_policy (void)
{
  ClochePolicy *policy = cloche_policy_new (NULL, NULL);
  g_autoptr(GError) error = NULL;

  cloche_policy_load (policy);
  if (cloche_policy_get_last_refusal (policy)[0] != '\0')
    g_warning ("Policy refused at start; the refused file is not applied:\n%s",
               cloche_policy_get_last_refusal (policy));
  if (!cloche_policy_watch (policy, &error))
    g_warning ("The policy files are not watched, changes need a restart: %s", error->message);
  return policy;
}

/* The audit log is worth having, not worth refusing to run for: without
 * it the daemon says why on stderr and goes on. */
static ClocheAuditLog *
cloche_daemon_open_audit_log (ClocheSandbox *sandbox,
                              const char    *otlp_endpoint)
{
  g_autoptr(ClocheAuditLog) audit = cloche_audit_log_new (NULL, 0, CLOCHE_AUDIT_LOG_DEFAULT_KEEP);
  g_autoptr(GError) error = NULL;

  /* The endpoint is the daemon's option (--otlp-endpoint, set where an
   * admin starts it); the policy has no key for it. */
  if (otlp_endpoint != NULL)
    {
      g_autoptr(ClocheAuditOtlp) exporter = cloche_audit_otlp_new (otlp_endpoint, &error);

      if (exporter == NULL)
        {
          g_printerr ("cloche-daemon: --otlp-endpoint: %s\n", error->message);
          g_clear_error (&error);
        }
      cloche_audit_log_set_exporter (audit, exporter);
    }
  if (!cloche_audit_log_open (audit, &error))
    {
      g_printerr (_("cloche-daemon: no audit log: %s\n"), error->message);
      return NULL;
    }
  cloche_audit_events_attach (audit, sandbox);
  cloche_audit_log_append (audit, "daemon.start", NULL,
                           "version", g_variant_new_string (PACKAGE_VERSION), NULL);
  return g_steal_pointer (&audit);
}

/* The policy's egress rules, with what --egress-allow adds. A rule that
 * does not parse was refused when the options were read. */
static ClocheEgressRules *
cloche_daemon_egress_rules (ClocheDaemon *self)
{
  ClocheEgressRules *base = cloche_policy_get_egress_rules (self->policy);

  if (self->egress_allow == NULL)
    return g_object_ref (base);
  return cloche_egress_rules_new_with_allowed (base, (const char * const *) self->egress_allow,
                                               NULL);
}

static void
cloche_daemon_policy_changed_cb (ClocheDaemon *self)
{
  g_autoptr(ClocheEgressRules) rules = cloche_daemon_egress_rules (self);
  g_autoptr(GPtrArray) bindings = cloche_policy_dup_secret_bindings (self->policy);
  g_autoptr(GError) error = NULL;

  cloche_egress_proxy_set_rules (self->egress, rules);
  /* An admin lock that came into force takes the sessions' additions away
   * at once (open tunnels stay, like any rule change). */
  if (g_hash_table_size (cloche_egress_proxy_get_session_allow (self->egress)) > 0
      && !cloche_policy_allows_session_egress (self->policy, NULL, &error))
    {
      g_printerr ("cloche-daemon: %s; dropped\n", error->message);
      cloche_egress_proxy_clear_session_allow (self->egress);
    }
  cloche_secrets_set_bindings (self->secrets, bindings);
}

/* What the tests' own HTTPS servers are signed by (CLOCHE_TEST_UPSTREAM_CA,
 * docs/secrets.md), trusted instead of this host's store; NULL: the store. */
static GTlsDatabase *
cloche_daemon_test_upstream_database (void)
{
  const char *path = g_getenv (CLOCHE_TEST_UPSTREAM_CA_ENV);
  g_autoptr(GError) error = NULL;
  GTlsDatabase *database;

  if (path == NULL || path[0] == '\0')
    return NULL;
  database = g_tls_file_database_new (path, &error);
  if (database == NULL)
    g_printerr (_("cloche-daemon: %s=%s cannot be read (%s): hosts bound to a secret are "
                  "verified against this host's trust store\n"), CLOCHE_TEST_UPSTREAM_CA_ENV,
                path, error->message);
  else
    g_printerr (_("cloche-daemon: %s is set: hosts bound to a secret are verified against "
                  "%s alone (a test-only setting)\n"), CLOCHE_TEST_UPSTREAM_CA_ENV, path);
  return database;
}

/* Secrets (issue 20): the bindings the policy holds, the values in the
 * user's keyring, the installation's CA; hosts bound to a secret are
 * intercepted by the proxy from now on. */
static void
cloche_daemon_set_up_secrets (ClocheDaemon *self)
{
  g_autoptr(GPtrArray) bindings = cloche_policy_dup_secret_bindings (self->policy);
  g_autofree char *folder = cloche_egress_ca_default_folder ();
  g_autoptr(ClocheEgressCa) ca = cloche_egress_ca_new (folder);
  g_autoptr(GTlsDatabase) upstream = cloche_daemon_test_upstream_database ();

  self->secrets = cloche_secrets_new ();
  self->secret_store = cloche_secret_store_new ();
  cloche_secrets_set_bindings (self->secrets, bindings);
  cloche_egress_proxy_set_secrets (self->egress, self->secrets, self->secret_store, ca);
  /* The same placeholders in the guest, and the same CA trusted there. */
  cloche_sandbox_set_secrets (self->sandbox, self->secrets, ca);
  if (upstream != NULL)
    cloche_egress_proxy_set_upstream_database (self->egress, upstream);
}

/* The guest's only way out. If it cannot be set up the daemon still runs
 * the VM, with no network at all, and says why. */
static void
cloche_daemon_start_egress (ClocheEgressProxy *proxy,
                            ClocheVm          *vm)
{
  g_autofree char *socket_path = cloche_egress_proxy_default_socket_path ();
  const char *relay = g_getenv ("CLOCHE_EGRESS_RELAY");
  g_autoptr(GError) error = NULL;

  if (relay == NULL)
    relay = LIBEXECDIR "/cloche-egress-relay";
  if (!g_file_test (relay, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr (_("cloche-daemon: %s is missing: the VM will have no network "
                    "(reinstall Cloche, or set CLOCHE_EGRESS_RELAY)\n"), relay);
      return;
    }
  if (!cloche_egress_proxy_listen (proxy, socket_path, &error))
    {
      g_printerr (_("cloche-daemon: %s: the VM will have no network\n"), error->message);
      return;
    }
  cloche_vm_set_egress (vm, relay, socket_path);
}

static void
cloche_daemon_session_closed_cb (ClocheSandbox     *sandbox,
                                 const char        *id,
                                 ClocheEgressProxy *egress)
{
  cloche_egress_proxy_set_session_allow (egress, id, NULL, NULL);
}

/* The engine: the sandbox and what works on it, none of it on the bus. */
static void
cloche_daemon_build_engine (ClocheDaemon              *self,
                            const ClocheDaemonOptions *options)
{
  g_autoptr(ClocheEgressRules) rules = NULL;
  ClocheVm *vm;

  /* The manager knows where the bundle is: --bundle, else where the user
   * last installed or moved it, else the default. */
  self->bundle_manager = cloche_bundle_manager_new (options->bundle_path);
  self->sandbox =
    cloche_daemon_make_sandbox (cloche_bundle_manager_get_location (self->bundle_manager),
                                options->agent_timeout);
  vm = cloche_sandbox_get_vm (self->sandbox);
  cloche_bundle_manager_set_sandbox (self->bundle_manager, self->sandbox);
  self->policy = cloche_daemon_make_policy ();
  /* --memory-mib and --idle-timeout win over the policy. */
  cloche_policy_apply_to_sandbox (self->policy, self->sandbox, options->memory_mib,
                                  MAX (options->idle_timeout, 0));
  self->audit = cloche_daemon_open_audit_log (self->sandbox, options->otlp_endpoint);
  self->egress_allow = g_strdupv ((char **) options->egress_allow);
  rules = cloche_daemon_egress_rules (self);
  self->egress = cloche_egress_proxy_new (rules);
  /* A session's egress additions last as long as it is open. */
  g_signal_connect_object (self->sandbox, "session-closed",
                           G_CALLBACK (cloche_daemon_session_closed_cb),
                           self->egress, 0);
  cloche_daemon_set_up_secrets (self);
  g_signal_connect_object (self->policy, "changed", G_CALLBACK (cloche_daemon_policy_changed_cb),
                           self,
                           G_CONNECT_SWAPPED);
  cloche_daemon_start_egress (self->egress, vm);
  self->monitor = cloche_monitor_new (self->sandbox, NULL);
  cloche_monitor_set_egress_proxy (self->monitor, self->egress);
  if (self->audit != NULL)
    {
      cloche_audit_events_attach_policy (self->audit, self->policy);
      cloche_audit_events_attach_egress (self->audit, self->egress);
    }
  self->doctor = cloche_doctor_new (self->sandbox);
  cloche_doctor_set_policy (self->doctor, self->policy);
}

/* An install or a move can outlast any call and runs with the VM stopped:
 * the daemon stays until it is over. */
static void
cloche_daemon_bundle_operation_cb (ClocheDaemon *self)
{
  gboolean busy = cloche_bundle_manager_get_operation (self->bundle_manager) != NULL;

  if (busy == self->bundle_held)
    return;
  self->bundle_held = busy;
  if (busy)
    cloche_lifetime_hold (self->lifetime);
  else
    cloche_lifetime_release (self->lifetime);
}

static void
cloche_daemon_expired_cb (ClocheDaemon *self)
{
  cloche_daemon_quit (self, EXIT_SUCCESS);
}

/* The services, and the lifetime their long operations hold. */
static void
cloche_daemon_build_services (ClocheDaemon *self,
                              int           exit_after)
{
  ClocheVm *vm = cloche_sandbox_get_vm (self->sandbox);
  ClocheBundleService *bundle_service;
  ClocheSessionsService *sessions_service;

  self->lifetime = cloche_lifetime_new (self->sandbox, exit_after);
  g_signal_connect_object (self->lifetime, "expired", G_CALLBACK (cloche_daemon_expired_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->bundle_manager, "notify::operation",
                           G_CALLBACK (cloche_daemon_bundle_operation_cb), self, G_CONNECT_SWAPPED);
  bundle_service = cloche_bundle_service_new (self->bundle_manager);
  cloche_bundle_service_set_audit_log (bundle_service, self->audit);

  self->services = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (self->services, cloche_daemon_service_new (self->sandbox));
  sessions_service = cloche_sessions_service_new (self->sandbox);
  cloche_sessions_service_set_egress (sessions_service, self->policy, self->egress);
  g_ptr_array_add (self->services, sessions_service);
  g_ptr_array_add (self->services, cloche_monitor_service_new (self->monitor));
  g_ptr_array_add (self->services, cloche_policy_service_new (self->policy));
  g_ptr_array_add (self->services, bundle_service);
  g_ptr_array_add (self->services, cloche_doctor_service_new (self->doctor, vm));
  g_ptr_array_add (self->services, cloche_egress_service_new (self->egress));
  g_ptr_array_add (self->services, cloche_secrets_service_new (self->policy,
                                                               self->secret_store));
}

/**
 * cloche_daemon_new:
 *
 * Builds everything, reading the policy files and opening the audit log,
 * but takes no bus name yet: cloche_daemon_run() does.
 */
ClocheDaemon *
cloche_daemon_new (const ClocheDaemonOptions *options)
{
  ClocheDaemon *self = g_object_new (CLOCHE_TYPE_DAEMON, NULL);

  self->replace = options->replace;
  cloche_daemon_build_engine (self, options);
  cloche_daemon_build_services (self, options->exit_after);
  return self;
}

/* On the bus */

static gboolean
cloche_daemon_export_services (ClocheDaemon     *self,
                               GDBusConnection  *connection,
                               GError          **error)
{
  for (guint i = 0; i < self->services->len; i++)
    if (!g_dbus_interface_skeleton_export (g_ptr_array_index (self->services, i), connection,
                                           DAEMON_OBJECT_PATH, error))
      return FALSE;
  return TRUE;
}

static void
cloche_daemon_unexport_services (ClocheDaemon *self)
{
  for (guint i = 0; i < self->services->len; i++)
    g_dbus_interface_skeleton_unexport (g_ptr_array_index (self->services, i));
}

static void
cloche_daemon_bus_acquired_cb (GDBusConnection *connection,
                               const char      *name,
                               gpointer         user_data)
{
  ClocheDaemon *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_daemon_export_services (self, connection, &error))
    {
      g_printerr (_("cloche-daemon: cannot export %s: %s\n"), DAEMON_OBJECT_PATH, error->message);
      cloche_daemon_quit (self, EXIT_FAILURE);
      return;
    }
  cloche_lifetime_watch (self->lifetime, connection);
}

static void
cloche_daemon_name_lost_cb (GDBusConnection *connection,
                            const char      *name,
                            gpointer         user_data)
{
  ClocheDaemon *self = user_data;

  if (connection == NULL)
    g_printerr (_("cloche-daemon: cannot connect to the session bus\n"));
  else
    g_printerr (_("cloche-daemon: %s is owned by another process "
                  "(another cloche-daemon is running; use --replace to take over)\n"), name);
  cloche_daemon_quit (self, EXIT_FAILURE);
}

static gboolean
cloche_daemon_terminate_cb (gpointer user_data)
{
  cloche_daemon_quit (user_data, EXIT_SUCCESS);
  return G_SOURCE_CONTINUE;
}

/**
 * cloche_daemon_run:
 *
 * Owns the bus name and serves until told to stop or unused for long
 * enough, then leaves the bus first and takes the services down.
 *
 * Returns: the process's exit status
 */
int
cloche_daemon_run (ClocheDaemon *self)
{
  guint owner_id, term_id, int_id;

  g_return_val_if_fail (CLOCHE_IS_DAEMON (self), EXIT_FAILURE);

  self->loop = g_main_loop_new (NULL, FALSE);
  owner_id = g_bus_own_name (G_BUS_TYPE_SESSION, DAEMON_BUS_NAME,
                             G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT
                             | (self->replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                             cloche_daemon_bus_acquired_cb, NULL, cloche_daemon_name_lost_cb, self,
                             NULL);
  term_id = g_unix_signal_add (SIGTERM, cloche_daemon_terminate_cb, self);
  int_id = g_unix_signal_add (SIGINT, cloche_daemon_terminate_cb, self);

  g_main_loop_run (self->loop);

  g_source_remove (term_id);
  g_source_remove (int_id);
  /* The name goes first: a call made from now on starts a new daemon
   * instead of reaching one on its way out. */
  g_bus_unown_name (owner_id);
  cloche_daemon_unexport_services (self);
  /* Records the last moments changed (a session closed) reach the disk. */
  cloche_session_store_flush (cloche_sandbox_get_store (self->sandbox));
  g_clear_pointer (&self->loop, g_main_loop_unref);
  return self->exit_status;
}

/* GObject: the services go before what they publish, the audit log's
 * last line before the objects it follows. */

static void
cloche_daemon_dispose (GObject *object)
{
  ClocheDaemon *self = CLOCHE_DAEMON (object);

  if (self->bundle_manager != NULL)
    g_signal_handlers_disconnect_by_data (self->bundle_manager, self);
  g_clear_pointer (&self->services, g_ptr_array_unref);
  g_clear_object (&self->lifetime);
  if (self->policy != NULL)
    g_signal_handlers_disconnect_by_data (self->policy, self);
  g_clear_object (&self->egress);
  g_clear_object (&self->secrets);
  g_clear_object (&self->secret_store);
  g_clear_pointer (&self->egress_allow, g_strfreev);
  if (self->audit != NULL)
    cloche_audit_log_append_fields (self->audit, "daemon.stop", NULL, NULL);
  g_clear_object (&self->doctor);
  g_clear_object (&self->audit);
  g_clear_object (&self->bundle_manager);
  g_clear_object (&self->policy);
  g_clear_object (&self->monitor);
  g_clear_object (&self->sandbox);

  G_OBJECT_CLASS (cloche_daemon_parent_class)->dispose (object);
}

static void
cloche_daemon_class_init (ClocheDaemonClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cloche_daemon_dispose;
}

static void
cloche_daemon_init (ClocheDaemon *self)
{
  self->exit_status = EXIT_SUCCESS;
}
