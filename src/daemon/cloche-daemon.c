/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cloche-daemon: owns io.github.cloche.Cloche.Daemon on the session bus. Starting
 * it boots nothing; the VM waits for the first session.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <glib-unix.h>
#include <stdlib.h>

#include "cloche-audit-events.h"
#include "cloche-bundle.h"
#include "cloche-bundle-service.h"
#include "cloche-doctor-service.h"
#include "cloche-i18n.h"
#include "cloche-egress-service.h"
#include "cloche-lifetime.h"
#include "cloche-monitor-service.h"
#include "cloche-sessions-service.h"
#include "cloche-policy-apply.h"
#include "cloche-policy-service.h"
#include "cloche-sandbox.h"
#include "cloche-service.h"

typedef struct
{
  GMainLoop     *loop;
  ClocheService *service;
  ClocheMonitorService *monitor_service;
  ClocheSessionsService *sessions_service;
  ClocheLifetime *lifetime;
  ClochePolicyService *policy_service;
  ClocheBundleService  *bundle_service;
  gboolean       bundle_held;
  ClocheDoctorService  *doctor_service;
  ClocheEgressService  *egress_service;
  ClocheEgressProxy    *egress;
  GStrv          egress_allow;       /* --egress-allow, on top of the policy's */
  int            exit_status;
} Daemon;

static void
on_bus_acquired (GDBusConnection *connection,
                 const char      *name,
                 gpointer         user_data)
{
  Daemon *daemon = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_service_export (daemon->service, connection, &error)
      || !cloche_monitor_service_export (daemon->monitor_service, connection, &error)
      || !cloche_sessions_service_export (daemon->sessions_service, connection, &error)
      || !cloche_policy_service_export (daemon->policy_service, connection, &error)
      || !cloche_bundle_service_export (daemon->bundle_service, connection, &error)
      || !cloche_doctor_service_export (daemon->doctor_service, connection, &error)
      || !cloche_egress_service_export (daemon->egress_service, connection, &error))
    {
      g_printerr (_("cloche-daemon: cannot export %s: %s\n"), DAEMON_OBJECT_PATH, error->message);
      daemon->exit_status = EXIT_FAILURE;
      g_main_loop_quit (daemon->loop);
      return;
    }
  cloche_lifetime_watch (daemon->lifetime, connection);
}

static void
on_name_lost (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  Daemon *daemon = user_data;

  if (connection == NULL)
    g_printerr (_("cloche-daemon: cannot connect to the session bus\n"));
  else
    g_printerr (_("cloche-daemon: %s is owned by another process "
                  "(another cloche-daemon is running; use --replace to take over)\n"), name);
  daemon->exit_status = EXIT_FAILURE;
  g_main_loop_quit (daemon->loop);
}

static gboolean
on_terminate (gpointer user_data)
{
  Daemon *daemon = user_data;

  g_main_loop_quit (daemon->loop);
  return G_SOURCE_CONTINUE;
}

static void
on_expired (ClocheLifetime *lifetime,
            gpointer        user_data)
{
  Daemon *daemon = user_data;

  g_main_loop_quit (daemon->loop);
}

/* An install or a move can outlast any call and runs with the VM stopped:
 * the daemon stays until it is over. */
static void
on_bundle_operation (ClocheBundleManager *manager,
                     GParamSpec          *pspec,
                     gpointer             user_data)
{
  Daemon *daemon = user_data;
  gboolean busy = cloche_bundle_manager_get_operation (manager) != NULL;

  if (busy == daemon->bundle_held)
    return;
  daemon->bundle_held = busy;
  if (busy)
    cloche_lifetime_hold (daemon->lifetime);
  else
    cloche_lifetime_release (daemon->lifetime);
}

static ClocheSandbox *
make_sandbox (const char *bundle_path,
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
make_policy (void)
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
open_audit_log (ClocheSandbox *sandbox,
                const char    *otlp_endpoint)
{
  g_autoptr(ClocheAuditLog) audit = cloche_audit_log_new (NULL, 0, CLOCHE_AUDIT_LOG_DEFAULT_KEEP);
  g_autoptr(GError) error = NULL;

  /* The policy file (issue 4) will set the endpoint; until then, an option. */
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
egress_rules (Daemon       *daemon,
              ClochePolicy *policy)
{
  ClocheEgressRules *base = cloche_policy_get_egress_rules (policy);

  if (daemon->egress_allow == NULL)
    return g_object_ref (base);
  return cloche_egress_rules_new_with_allowed (base, (const char * const *) daemon->egress_allow,
                                               NULL);
}

static void
on_policy_changed (ClochePolicy *policy,
                   gpointer      user_data)
{
  Daemon *daemon = user_data;
  g_autoptr(ClocheEgressRules) rules = egress_rules (daemon, policy);

  cloche_egress_proxy_set_rules (daemon->egress, rules);
}

/* The guest's only way out. If it cannot be set up the daemon still runs
 * the VM, with no network at all, and says why. */
static void
start_egress (ClocheEgressProxy *proxy,
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

static gboolean
check_egress_allow (const char * const *rules)
{
  for (guint i = 0; rules != NULL && rules[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;

      if (!cloche_egress_rule_check (rules[i], &error))
        {
          g_printerr ("cloche-daemon: --egress-allow: %s\n", error->message);
          return FALSE;
        }
    }
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheSandbox) sandbox = NULL;
  g_autofree char *bundle_path = NULL;
  g_autofree char *otlp_endpoint = NULL;
  gboolean replace = FALSE;
  g_autoptr(ClocheMonitor) monitor = NULL;
  g_autoptr(ClochePolicy) policy = NULL;
  g_autoptr(ClocheBundleManager) bundle_manager = NULL;
  g_autoptr(ClocheAuditLog) audit = NULL;
  g_autoptr(ClocheDoctor) doctor = NULL;
  int idle_timeout = 0, agent_timeout = 0, memory_mib = 0;
  int exit_after = CLOCHE_DEFAULT_EXIT_AFTER_S;
  Daemon daemon = { 0 };
  guint owner_id;
  const GOptionEntry entries[] = {
    { "bundle", 0, 0, G_OPTION_ARG_FILENAME, &bundle_path,
      "The bundle folder (default: $XDG_DATA_HOME/cloche/bundle)", "DIR" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &idle_timeout,
      "Seconds the VM keeps running with no session (default: the policy's, 300)", "SECONDS" },
    { "agent-timeout", 0, 0, G_OPTION_ARG_INT, &agent_timeout,
      "Seconds to wait for the guest agent at boot (default 120)", "SECONDS" },
    { "memory-mib", 0, 0, G_OPTION_ARG_INT, &memory_mib,
      "Guest memory in MiB (default: the policy's, else a quarter of the host's, 1 to 4 GiB)", "MIB" },
    { "exit-after", 0, 0, G_OPTION_ARG_INT, &exit_after,
      "Seconds unused (no VM, no session, no app) before the daemon exits; "
      "0 stays (default 300)", "SECONDS" },
    { "egress-allow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &daemon.egress_allow,
      "Also let the guest reach RULE (host, *.domain or *, optionally :port), on top of "
      "the policy's egress rules; repeatable", "RULE" },
    { "otlp-endpoint", 0, 0, G_OPTION_ARG_STRING, &otlp_endpoint,
      "Also send audit events to this OTLP/HTTP collector", "http://HOST:PORT/v1/logs" },
    { "replace", 0, 0, G_OPTION_ARG_NONE, &replace,
      "Take the bus name over from a running daemon", NULL },
    { NULL }
  };

  cloche_i18n_init ();
  context = g_option_context_new ("- the Cloche sandbox service");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("cloche-daemon: %s\n", error->message);
      return EXIT_FAILURE;
    }

  if (exit_after < 0)
    {
      g_printerr (_("cloche-daemon: --exit-after must be 0 or a positive number of seconds\n"));
      return EXIT_FAILURE;
    }
  if (!check_egress_allow ((const char * const *) daemon.egress_allow))
    return EXIT_FAILURE;
  if (memory_mib < 0)
    {
      g_printerr (_("cloche-daemon: --memory-mib must be a positive number of MiB\n"));
      return EXIT_FAILURE;
    }

  /* The manager knows where the bundle is: --bundle, else where the user
   * last installed or moved it, else the default. */
  bundle_manager = cloche_bundle_manager_new (bundle_path);
  sandbox = make_sandbox (cloche_bundle_manager_get_location (bundle_manager), agent_timeout);
  cloche_bundle_manager_set_sandbox (bundle_manager, sandbox);
  policy = make_policy ();
  /* --memory-mib and --idle-timeout win over the policy. */
  cloche_policy_apply_to_sandbox (policy, sandbox, memory_mib, MAX (idle_timeout, 0));
  audit = open_audit_log (sandbox, otlp_endpoint);
  {
    g_autoptr(ClocheEgressRules) rules = egress_rules (&daemon, policy);

    daemon.egress = cloche_egress_proxy_new (rules);
  }
  g_signal_connect (policy, "changed", G_CALLBACK (on_policy_changed), &daemon);
  start_egress (daemon.egress, cloche_sandbox_get_vm (sandbox));
  monitor = cloche_monitor_new (sandbox, NULL);
  cloche_monitor_set_egress_proxy (monitor, daemon.egress);
  daemon.loop = g_main_loop_new (NULL, FALSE);
  daemon.service = cloche_service_new (sandbox);
  daemon.monitor_service = cloche_monitor_service_new (monitor);
  daemon.sessions_service = cloche_sessions_service_new (sandbox);
  daemon.lifetime = cloche_lifetime_new (sandbox, exit_after);
  g_signal_connect (daemon.lifetime, "expired", G_CALLBACK (on_expired), &daemon);
  g_signal_connect (bundle_manager, "notify::operation", G_CALLBACK (on_bundle_operation), &daemon);
  daemon.policy_service = cloche_policy_service_new (policy);
  daemon.bundle_service = cloche_bundle_service_new (bundle_manager);
  cloche_bundle_service_set_audit_log (daemon.bundle_service, audit);
  if (audit != NULL)
    {
      cloche_audit_events_attach_policy (audit, policy);
      cloche_audit_events_attach_egress (audit, daemon.egress);
    }
  doctor = cloche_doctor_new (sandbox);
  cloche_doctor_set_policy (doctor, policy);
  daemon.doctor_service = cloche_doctor_service_new (doctor, cloche_sandbox_get_vm (sandbox));
  daemon.egress_service = cloche_egress_service_new (daemon.egress);

  owner_id = g_bus_own_name (G_BUS_TYPE_SESSION, DAEMON_BUS_NAME,
                             G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT
                             | (replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                             on_bus_acquired, NULL, on_name_lost, &daemon, NULL);
  g_unix_signal_add (SIGTERM, on_terminate, &daemon);
  g_unix_signal_add (SIGINT, on_terminate, &daemon);

  g_main_loop_run (daemon.loop);

  /* The name goes first: a call made from now on starts a new daemon
   * instead of reaching one on its way out. */
  g_bus_unown_name (owner_id);
  cloche_service_unexport (daemon.service);
  cloche_monitor_service_unexport (daemon.monitor_service);
  cloche_sessions_service_unexport (daemon.sessions_service);
  cloche_policy_service_unexport (daemon.policy_service);
  cloche_bundle_service_unexport (daemon.bundle_service);
  g_clear_object (&daemon.service);
  g_clear_object (&daemon.monitor_service);
  g_clear_object (&daemon.sessions_service);
  /* Records the last moments changed (a session closed) reach the disk. */
  cloche_session_store_flush (cloche_sandbox_get_store (sandbox));
  g_signal_handlers_disconnect_by_data (bundle_manager, &daemon);
  g_clear_object (&daemon.lifetime);
  g_clear_object (&daemon.policy_service);
  g_clear_object (&daemon.bundle_service);
  cloche_doctor_service_unexport (daemon.doctor_service);
  g_clear_object (&daemon.doctor_service);
  cloche_egress_service_unexport (daemon.egress_service);
  g_clear_object (&daemon.egress_service);
  g_signal_handlers_disconnect_by_data (policy, &daemon);
  g_clear_object (&daemon.egress);
  g_clear_pointer (&daemon.egress_allow, g_strfreev);
  cloche_audit_log_append_fields (audit, "daemon.stop", NULL, NULL);
  g_main_loop_unref (daemon.loop);
  return daemon.exit_status;
}
