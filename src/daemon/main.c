/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cloche-daemon: owns the daemon's name (DAEMON_BUS_NAME) on the session
 * bus. Starting it boots nothing; the VM waits for the first session. This
 * file reads the command line; ClocheDaemon (cloche-daemon.c) is the daemon.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <signal.h>
#include <stdlib.h>

#include "cloche-daemon.h"
#include "cloche-egress-rules.h"
#include "cloche-i18n.h"
#include "cloche-lifetime.h"
#include "cloche-policy-schema.h"

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

/* A whole-number option in its range; 0 always means "not given". Says
 * what was given, the range, and what 0 does. */
static gboolean
check_range (const char *option,
             int         value,
             gint64      min,
             gint64      max,
             const char *zero)
{
  if (value == 0 || (value >= min && value <= max))
    return TRUE;
  /* %lld, not G_GINT64_FORMAT: xgettext cannot see through a macro pasted
   * into the message, and would cut it there. */
  g_printerr (_("cloche-daemon: --%s %d is out of range: give a whole number from "
                "%lld to %lld, or 0 for %s\n"),
              option, value, (long long) min, (long long) max, zero);
  return FALSE;
}

static gboolean
check_numbers (const ClocheDaemonOptions *options)
{
  gint64 memory_min, memory_max, idle_min, idle_max;

  cloche_policy_schema_get_range ("vm.memory_mib", &memory_min, &memory_max);
  cloche_policy_schema_get_range ("vm.idle_timeout_s", &idle_min, &idle_max);
  return check_range ("memory-mib", options->memory_mib, memory_min, memory_max,
                      _("the policy's"))
         && check_range ("idle-timeout", options->idle_timeout, idle_min, idle_max,
                         _("the policy's"))
         && check_range ("agent-timeout", options->agent_timeout, 1, 3600, _("120 s"))
         && check_range ("exit-after", options->exit_after, 1, 7 * 86400,
                         _("staying until stopped"));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheDaemon) daemon = NULL;
  g_autofree char *bundle_path = NULL;
  g_autofree char *otlp_endpoint = NULL;
  g_auto(GStrv) egress_allow = NULL;
  ClocheDaemonOptions options = { .exit_after = CLOCHE_DEFAULT_EXIT_AFTER_S };
  const GOptionEntry entries[] = {
    { "bundle", 0, 0, G_OPTION_ARG_FILENAME, &bundle_path,
      "The bundle folder (default: $XDG_DATA_HOME/cloche/bundle)", "DIR" },
    { "idle-timeout", 0, 0, G_OPTION_ARG_INT, &options.idle_timeout,
      "Seconds the VM keeps running with no session (default: the policy's, 300)", "SECONDS" },
    { "agent-timeout", 0, 0, G_OPTION_ARG_INT, &options.agent_timeout,
      "Seconds to wait for the guest agent at boot (default 120)", "SECONDS" },
    { "memory-mib", 0, 0, G_OPTION_ARG_INT, &options.memory_mib,
      "Guest memory in MiB (default: the policy's, else a quarter of the host's, 1 to 4 GiB)", "MIB" },
    { "exit-after", 0, 0, G_OPTION_ARG_INT, &options.exit_after,
      "Seconds unused (no VM, no session, no app) before the daemon exits; "
      "0 stays (default 300)", "SECONDS" },
    { "egress-allow", 0, 0, G_OPTION_ARG_STRING_ARRAY, &egress_allow,
      "Also let the guest reach RULE (host, *.domain or *, optionally :port), on top of "
      "the policy's egress rules; repeatable", "RULE" },
    { "otlp-endpoint", 0, 0, G_OPTION_ARG_STRING, &otlp_endpoint,
      "Also send audit events to this OTLP/HTTP collector", "http://HOST:PORT/v1/logs" },
    { "replace", 0, 0, G_OPTION_ARG_NONE, &options.replace,
      "Take the bus name over from a running daemon", NULL },
    { NULL }
  };

  cloche_i18n_init ();
  /* A file grown past the file size limit is a failed write to report (a
   * record a Close could not write), not a reason to die. */
  signal (SIGXFSZ, SIG_IGN);
  context = g_option_context_new ("- the Cloche sandbox service");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("cloche-daemon: %s\n", error->message);
      return EXIT_FAILURE;
    }

  if (!check_numbers (&options) || !check_egress_allow ((const char * const *) egress_allow))
    return EXIT_FAILURE;

  options.egress_allow = (const char * const *) egress_allow;
  options.bundle_path = bundle_path;
  options.otlp_endpoint = otlp_endpoint;
  daemon = cloche_daemon_new (&options);
  return cloche_daemon_run (daemon);
}
