/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl monitor: the daemon's resource samples, one a line, as they
 * come (or the newest with --once). --json prints JSON Lines with the keys
 * of io.github.cloche.Monitor.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <stdlib.h>

#include <json-glib/json-glib.h>

#include "clochectl.h"

typedef struct
{
  GMainLoop *loop;
  gboolean   json;
  int        status;
} Follow;

static char *
clochectl_monitor_format_bytes (GVariantDict *sample,
                                const char   *key)
{
  guint64 bytes;

  if (!g_variant_dict_lookup (sample, key, "t", &bytes))
    return g_strdup ("-");
  return g_format_size (bytes);
}

static char *
clochectl_monitor_format_time (gint64 timestamp)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (timestamp / G_USEC_PER_SEC);

  return time != NULL ? g_date_time_format (time, "%H:%M:%S") : g_strdup ("-");
}

static void
clochectl_monitor_print_text (GVariant *value)
{
  g_auto(GVariantDict) sample = G_VARIANT_DICT_INIT (value);
  g_autofree char *time = NULL;
  g_autofree char *rss = clochectl_monitor_format_bytes (&sample, "host-rss");
  g_autofree char *pss = clochectl_monitor_format_bytes (&sample, "host-pss");
  g_autofree char *used = clochectl_monitor_format_bytes (&sample, "guest-used");
  g_autofree char *total = clochectl_monitor_format_bytes (&sample, "guest-total");
  g_autofree char *bundle = clochectl_monitor_format_bytes (&sample, "disk-bundle");
  g_autofree char *sessions = clochectl_monitor_format_bytes (&sample, "disk-sessions");
  g_autofree char *in = clochectl_monitor_format_bytes (&sample, "egress-in");
  g_autofree char *out = clochectl_monitor_format_bytes (&sample, "egress-out");
  gint64 timestamp = 0;
  double cpu = 0;
  guint open = 0;

  g_variant_dict_lookup (&sample, "timestamp", "x", &timestamp);
  g_variant_dict_lookup (&sample, "cpu-percent", "d", &cpu);
  g_variant_dict_lookup (&sample, "open-sessions", "u", &open);
  time = clochectl_monitor_format_time (timestamp);
  g_print ("%s  cpu %5.1f%%  host %s (pss %s)  guest %s of %s  "
           "disk bundle %s, sessions %s  egress in %s out %s  sessions %u\n",
           time, cpu, rss, pss, used, total, bundle, sessions, in, out, open);
}

static void
clochectl_monitor_print_json (GVariant *value)
{
  g_autoptr(JsonNode) node = json_gvariant_serialize (value);
  g_autofree char *text = json_to_string (node, FALSE);

  g_print ("%s\n", text);
}

static void
clochectl_monitor_print_sample (GVariant *sample,
                                gboolean  json)
{
  if (json)
    clochectl_monitor_print_json (sample);
  else
    clochectl_monitor_print_text (sample);
  /* A pipe would otherwise hold the lines until it fills. */
  fflush (stdout);
}

static int
clochectl_monitor_print_newest (ClocheDbusMonitor *monitor,
                                gboolean           json)
{
  g_autoptr(GVariant) samples = NULL;
  g_autoptr(GVariant) newest = NULL;
  g_autoptr(GError) error = NULL;
  gsize n;

  if (!cloche_dbus_monitor_call_get_samples_sync (monitor, 0, &samples, NULL, &error))
    return clochectl_fail (_("cannot read the samples"), error);
  n = g_variant_n_children (samples);
  if (n == 0)
    {
      g_printerr (_("clochectl: no samples: the monitor samples only while the VM runs, "
                    "and it has not run since the service started\n"));
      return EXIT_FAILURE;
    }
  newest = g_variant_get_child_value (samples, n - 1);
  clochectl_monitor_print_sample (newest, json);
  return EXIT_SUCCESS;
}

static void
clochectl_monitor_sample_cb (ClocheDbusMonitor *monitor,
                             GVariant          *sample,
                             Follow            *follow)
{
  clochectl_monitor_print_sample (sample, follow->json);
}

static void
clochectl_monitor_owner_changed_cb (GDBusProxy *proxy,
                                    GParamSpec *pspec,
                                    Follow     *follow)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (proxy);

  if (owner != NULL)
    return;
  g_printerr (_("clochectl: the Cloche service exited\n"));
  follow->status = EXIT_FAILURE;
  g_main_loop_quit (follow->loop);
}

static int
clochectl_monitor_follow_samples (ClocheDbusMonitor *monitor,
                                  gboolean           json)
{
  Follow follow = { g_main_loop_new (NULL, FALSE), json, EXIT_SUCCESS };

  g_signal_connect (monitor, "sample", G_CALLBACK (clochectl_monitor_sample_cb), &follow);
  g_signal_connect (monitor, "notify::g-name-owner",
                    G_CALLBACK (clochectl_monitor_owner_changed_cb), &follow);
  g_main_loop_run (follow.loop);
  g_signal_handlers_disconnect_by_data (monitor, &follow);
  g_main_loop_unref (follow.loop);
  return follow.status;
}

int
clochectl_monitor (ClocheDbusDaemon  *daemon,
                   int                argc,
                   char             **argv)
{
  g_autoptr(ClocheDbusMonitor) monitor = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *owner = NULL;
  gboolean json = FALSE, once = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON, one object a line", NULL },
    { "once", 0, 0, G_OPTION_ARG_NONE, &once, "Print the newest sample and exit", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- print resource samples as they come"))
    return 2;
  if (argc != 1)
    return clochectl_usage ();
  monitor = cloche_dbus_monitor_proxy_new_sync (g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon)),
                                                G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                                                DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                                NULL, &error);
  if (monitor == NULL)
    return clochectl_fail (_("cannot reach the Cloche service"), error);
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (daemon));
  if (owner == NULL)
    {
      g_printerr (_("clochectl: the Cloche service (%s) is not running and could not be started\n"),
                  DAEMON_BUS_NAME);
      return EXIT_FAILURE;
    }
  if (once)
    return clochectl_monitor_print_newest (monitor, json);
  return clochectl_monitor_follow_samples (monitor, json);
}
