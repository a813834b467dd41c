/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl egress log [--follow] [--json]: the egress proxy's decisions,
 * one a line, oldest first; with --follow, then each new one as it is
 * final (a denial at once, an allowed connection when it closes, with its
 * bytes). --json prints JSON Lines with the keys of io.github.cloche.Egress.
 *
 * clochectl egress status [--json]: the rules in force and the counters.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <stdlib.h>

#include "clochectl.h"

typedef struct
{
  GMainLoop *loop;
  gboolean   json;
  GHashTable *printed;  /* ids printed ended by GetDecisions */
  int        status;
} Follow;

static char *
clochectl_egress_format_time (gint64 timestamp)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_local (timestamp / G_USEC_PER_SEC);

  return time != NULL ? g_date_time_format (time, "%Y-%m-%d %H:%M:%S") : g_strdup ("-");
}

static char *
clochectl_egress_format_bytes (guint64 bytes)
{
  return g_format_size (bytes);
}

static void
clochectl_egress_print_decision_text (GVariant *value)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (value);
  const char *session = "", *method = "", *host = "", *rule = "", *error = NULL;
  guint64 in = 0, out = 0;
  gint64 timestamp = 0;
  gboolean allowed = FALSE, ended = FALSE;
  guint16 port = 0;
  g_autofree char *time = NULL, *in_text = NULL, *out_text = NULL, *target = NULL;

  g_variant_dict_lookup (&dict, "time", "x", &timestamp);
  g_variant_dict_lookup (&dict, "session", "&s", &session);
  g_variant_dict_lookup (&dict, "method", "&s", &method);
  g_variant_dict_lookup (&dict, "host", "&s", &host);
  g_variant_dict_lookup (&dict, "port", "q", &port);
  g_variant_dict_lookup (&dict, "allowed", "b", &allowed);
  g_variant_dict_lookup (&dict, "rule", "&s", &rule);
  g_variant_dict_lookup (&dict, "bytes-in", "t", &in);
  g_variant_dict_lookup (&dict, "bytes-out", "t", &out);
  g_variant_dict_lookup (&dict, "ended", "b", &ended);
  g_variant_dict_lookup (&dict, "error", "&s", &error);
  time = clochectl_egress_format_time (timestamp);
  in_text = clochectl_egress_format_bytes (in);
  out_text = clochectl_egress_format_bytes (out);
  /* A refusal of a head that named no host has none ("-"). */
  target = host[0] == '\0' ? g_strdup ("-")
           : strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%u", host, port)
           : g_strdup_printf ("%s:%u", host, port);
  g_print ("%s  %-7s %-8s %s  session %s  rule \"%s\"", time, allowed ? "allowed" : "DENIED",
           method[0] != '\0' ? method : "-", target, session[0] != '\0' ? session : "-", rule);
  if (allowed)
    g_print ("  in %s out %s%s", in_text, out_text, ended ? "" : " (open)");
  if (error != NULL)
    g_print (_("  failed: %s"), error);
  g_print ("\n");
}

static void
clochectl_egress_print_decision (GVariant *decision,
                                 gboolean  json)
{
  if (json)
    {
      g_autoptr(JsonNode) node = json_gvariant_serialize (decision);
      g_autofree char *text = json_to_string (node, FALSE);

      g_print ("%s\n", text);
    }
  else
    clochectl_egress_print_decision_text (decision);
  /* A pipe would otherwise hold the lines until it fills. */
  fflush (stdout);
}

static guint64
clochectl_egress_decision_id (GVariant *decision)
{
  guint64 id = 0;

  g_variant_lookup (decision, "id", "t", &id);
  return id;
}

static ClocheDbusEgress *
clochectl_egress_connect_egress (ClocheDbusDaemon  *daemon,
                                 GError           **error)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (daemon));

  if (owner == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EGRESS_UNAVAILABLE,
                   _("the Cloche service (%s) is not running and could not be started"),
                   DAEMON_BUS_NAME);
      return NULL;
    }
  return cloche_dbus_egress_proxy_new_sync (g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon)),
                                            G_DBUS_PROXY_FLAGS_NONE, DAEMON_BUS_NAME,
                                            DAEMON_OBJECT_PATH, NULL, error);
}

/* The kept decisions, printed; those already final go into @printed. */
static gboolean
clochectl_egress_print_kept (ClocheDbusEgress  *egress,
                             gboolean           json,
                             GHashTable        *printed,
                             GError           **error)
{
  g_autoptr(GVariant) decisions = NULL;
  GVariantIter iter;
  GVariant *decision;

  if (!cloche_dbus_egress_call_get_decisions_sync (egress, 0, &decisions, NULL, error))
    return FALSE;
  g_variant_iter_init (&iter, decisions);
  while ((decision = g_variant_iter_next_value (&iter)) != NULL)
    {
      gboolean ended = FALSE;

      clochectl_egress_print_decision (decision, json);
      g_variant_lookup (decision, "ended", "b", &ended);
      if (ended)
        g_hash_table_add (printed,
                          g_memdup2 (&(guint64) { clochectl_egress_decision_id (decision) },
                                     sizeof (guint64)));
      g_variant_unref (decision);
    }
  return TRUE;
}

/* Only final decisions: an allowed one is signalled again, ended, with
 * its bytes, and that is the one printed (GetDecisions may have shown it
 * open). Signals that came while GetDecisions ran are not printed twice. */
static void
clochectl_egress_decision_cb (ClocheDbusEgress *egress,
                              GVariant         *decision,
                              Follow           *follow)
{
  gboolean ended = FALSE;
  guint64 id = clochectl_egress_decision_id (decision);

  g_variant_lookup (decision, "ended", "b", &ended);
  if (ended && !g_hash_table_contains (follow->printed, &id))
    clochectl_egress_print_decision (decision, follow->json);
}

static void
clochectl_egress_owner_changed_cb (GDBusProxy *proxy,
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
clochectl_egress_log (ClocheDbusEgress *egress,
                      gboolean          json,
                      gboolean          follow_on)
{
  g_autoptr(GHashTable) printed = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                         g_free, NULL);
  Follow follow = { NULL, json, printed, EXIT_SUCCESS };
  g_autoptr(GError) error = NULL;

  /* Subscribed before asking, so that nothing decided in between is lost. */
  if (follow_on)
    {
      follow.loop = g_main_loop_new (NULL, FALSE);
      g_signal_connect (egress, "decision", G_CALLBACK (clochectl_egress_decision_cb), &follow);
      g_signal_connect (egress, "notify::g-name-owner",
                        G_CALLBACK (clochectl_egress_owner_changed_cb), &follow);
    }
  if (!clochectl_egress_print_kept (egress, json, printed, &error))
    return clochectl_fail (_("cannot read the egress decisions"), error);
  if (!follow_on)
    return EXIT_SUCCESS;
  g_main_loop_run (follow.loop);
  g_signal_handlers_disconnect_by_data (egress, &follow);
  g_main_loop_unref (follow.loop);
  return follow.status;
}

static JsonNode *
clochectl_egress_status_to_json (ClocheDbusEgress *egress)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const char * const *rules = cloche_dbus_egress_get_rules (egress);
  GVariant *sessions = cloche_dbus_egress_get_session_bytes (egress);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "default");
  json_builder_add_string_value (builder, cloche_dbus_egress_get_default_rule (egress));
  json_builder_set_member_name (builder, "rules");
  json_builder_begin_array (builder);
  for (guint i = 0; rules != NULL && rules[i] != NULL; i++)
    json_builder_add_string_value (builder, rules[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "socket");
  json_builder_add_string_value (builder, cloche_dbus_egress_get_socket_path (egress));
  json_builder_set_member_name (builder, "bytes-in");
  json_builder_add_int_value (builder, cloche_dbus_egress_get_bytes_in (egress));
  json_builder_set_member_name (builder, "bytes-out");
  json_builder_add_int_value (builder, cloche_dbus_egress_get_bytes_out (egress));
  json_builder_set_member_name (builder, "connections");
  json_builder_add_int_value (builder, cloche_dbus_egress_get_connections (egress));
  json_builder_set_member_name (builder, "sessions");
  json_builder_add_value (builder, sessions != NULL ? json_gvariant_serialize (sessions)
                                                    : json_node_new (JSON_NODE_NULL));
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
clochectl_egress_print_status_text (ClocheDbusEgress *egress)
{
  const char * const *rules = cloche_dbus_egress_get_rules (egress);
  GVariant *sessions = cloche_dbus_egress_get_session_bytes (egress);
  const char *socket = cloche_dbus_egress_get_socket_path (egress);
  g_autofree char *in = clochectl_egress_format_bytes (cloche_dbus_egress_get_bytes_in (egress));
  g_autofree char *out = clochectl_egress_format_bytes (cloche_dbus_egress_get_bytes_out (egress));
  GVariantIter iter;
  const char *session;
  guint64 session_in, session_out;

  g_print (_("Rules (first match decides):\n"));
  for (guint i = 0; rules != NULL && rules[i] != NULL; i++)
    g_print ("  %s\n", rules[i]);
  g_print (_("  default %s\n"), cloche_dbus_egress_get_default_rule (egress));
  g_print (_("Proxy: %s\n"), socket != NULL && socket[0] != '\0' ? socket
                                                             : "not listening: the VM has no network");
  g_print (_("Traffic: in %s, out %s, %u connections open\n"), in, out,
           cloche_dbus_egress_get_connections (egress));
  if (sessions == NULL)
    return;
  g_variant_iter_init (&iter, sessions);
  while (g_variant_iter_next (&iter, "{&s(tt)}", &session, &session_in, &session_out))
    {
      g_autofree char *s_in = clochectl_egress_format_bytes (session_in);
      g_autofree char *s_out = clochectl_egress_format_bytes (session_out);

      g_print (_("  session %s: in %s, out %s\n"), session[0] != '\0' ? session : "(none named)",
               s_in, s_out);
    }
}

static int
clochectl_egress_status (ClocheDbusEgress *egress,
                         gboolean          json)
{
  if (json)
    {
      g_autoptr(JsonNode) root = clochectl_egress_status_to_json (egress);

      clochectl_print_json (root);
    }
  else
    clochectl_egress_print_status_text (egress);
  return EXIT_SUCCESS;
}

int
clochectl_egress (ClocheDbusDaemon  *daemon,
                  int                argc,
                  char             **argv)
{
  g_autoptr(ClocheDbusEgress) egress = NULL;
  g_autoptr(GError) error = NULL;
  gboolean json = FALSE, follow = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON (one object a line for log)", NULL },
    { "follow", 'f', 0, G_OPTION_ARG_NONE, &follow, "log: keep printing decisions as they come",
      NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries,
                                "log|status - what the sandbox may reach, and what it tried"))
    return 2;
  if (argc != 2 || (!g_str_equal (argv[1], "log") && !g_str_equal (argv[1], "status"))
      || (follow && !g_str_equal (argv[1], "log")))
    return clochectl_usage ();
  egress = clochectl_egress_connect_egress (daemon, &error);
  if (egress == NULL)
    return clochectl_fail (_("cannot reach the egress proxy"), error);
  if (g_str_equal (argv[1], "status"))
    return clochectl_egress_status (egress, json);
  return clochectl_egress_log (egress, json, follow);
}
