/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cloche-daemon: owns io.github.cloche.Daemon on the session bus. Starting
 * it boots nothing; the VM waits for the first session.
 */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdlib.h>

#include "cloche-bundle.h"
#include "cloche-monitor-service.h"
#include "cloche-sandbox.h"
#include "cloche-service.h"

typedef struct
{
  GMainLoop     *loop;
  ClocheService *service;
  ClocheMonitorService *monitor_service;
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
      || !cloche_monitor_service_export (daemon->monitor_service, connection, &error))
    {
      g_printerr ("cloche-daemon: cannot export %s: %s\n", DAEMON_OBJECT_PATH, error->message);
      daemon->exit_status = EXIT_FAILURE;
      g_main_loop_quit (daemon->loop);
    }
}

static void
on_name_lost (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  Daemon *daemon = user_data;

  if (connection == NULL)
    g_printerr ("cloche-daemon: cannot connect to the session bus\n");
  else
    g_printerr ("cloche-daemon: %s is owned by another process "
                "(another cloche-daemon is running; use --replace to take over)\n", name);
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

static ClocheSandbox *
make_sandbox (const char *bundle_path,
              int         idle_timeout,
              int         agent_timeout)
{
  g_autofree char *default_path = cloche_bundle_default_path ();
  g_autofree char *sessions_root = cloche_session_store_default_root ();
  g_autoptr(ClocheVm) vm = cloche_vm_new (bundle_path != NULL ? bundle_path : default_path);
  g_autoptr(ClocheSessionStore) store = cloche_session_store_new (sessions_root);
  ClocheSandbox *sandbox = cloche_sandbox_new (vm, store);

  if (agent_timeout > 0)
    cloche_vm_set_agent_timeout (vm, agent_timeout);
  if (idle_timeout > 0)
    cloche_sandbox_set_idle_timeout (sandbox, idle_timeout);
  return sandbox;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheSandbox) sandbox = NULL;
  g_autofree char *bundle_path = NULL;
  gboolean replace = FALSE;
  g_autoptr(ClocheMonitor) monitor = NULL;
  int idle_timeout = 0, agent_timeout = 0, memory_mib = 0;
  Daemon daemon = { 0 };
  guint owner_id;
  const GOptionEntry entries[] = {
    { "bundle", 0, 0, G_OPTION_ARG_FILENAME, &bundle_path,
      "The bundle folder (default: $XDG_DATA_HOME/cloche/bundle)", "DIR" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &idle_timeout,
      "Seconds the VM keeps running with no session (default 300)", "SECONDS" },
    { "agent-timeout", 0, 0, G_OPTION_ARG_INT, &agent_timeout,
      "Seconds to wait for the guest agent at boot (default 120)", "SECONDS" },
    { "memory-mib", 0, 0, G_OPTION_ARG_INT, &memory_mib,
      "Guest memory in MiB (default: a quarter of the host's, 1 to 4 GiB)", "MIB" },
    { "replace", 0, 0, G_OPTION_ARG_NONE, &replace,
      "Take the bus name over from a running daemon", NULL },
    { NULL }
  };

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- the Cloche sandbox service");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("cloche-daemon: %s\n", error->message);
      return EXIT_FAILURE;
    }

  if (memory_mib < 0)
    {
      g_printerr ("cloche-daemon: --memory-mib must be a positive number of MiB\n");
      return EXIT_FAILURE;
    }

  sandbox = make_sandbox (bundle_path, idle_timeout, agent_timeout);
  cloche_vm_set_memory_mib (cloche_sandbox_get_vm (sandbox), memory_mib);
  monitor = cloche_monitor_new (sandbox, NULL);
  daemon.loop = g_main_loop_new (NULL, FALSE);
  daemon.service = cloche_service_new (sandbox);
  daemon.monitor_service = cloche_monitor_service_new (monitor);

  owner_id = g_bus_own_name (G_BUS_TYPE_SESSION, DAEMON_BUS_NAME,
                             G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT
                             | (replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                             on_bus_acquired, NULL, on_name_lost, &daemon, NULL);
  g_unix_signal_add (SIGTERM, on_terminate, &daemon);
  g_unix_signal_add (SIGINT, on_terminate, &daemon);

  g_main_loop_run (daemon.loop);

  g_bus_unown_name (owner_id);
  cloche_service_unexport (daemon.service);
  cloche_monitor_service_unexport (daemon.monitor_service);
  g_clear_object (&daemon.service);
  g_clear_object (&daemon.monitor_service);
  /* Records the last moments changed (a session closed) reach the disk. */
  cloche_session_store_flush (cloche_sandbox_get_store (sandbox));
  g_main_loop_unref (daemon.loop);
  return daemon.exit_status;
}
