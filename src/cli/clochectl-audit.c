/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl audit: the audit log, read from its files ($XDG_STATE_HOME/
 * cloche/audit.jsonl and the rotated ones), not through the daemon. The
 * log is most wanted when the daemon is down or broken; the files hold the
 * lines of every process that writes them; and reading needs no D-Bus API.
 * --follow keeps the file open and looks for new lines four times a
 * second, picking up rotation as it happens.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "cloche-audit-reader.h"
#include "cloche-json.h"
#include "clochectl.h"

#define FOLLOW_INTERVAL_MS 250

typedef struct
{
  gboolean           json;
  ClocheAuditReader *reader;
  GMainLoop         *loop;
  int                status;
} Audit;

static char *
clochectl_audit_format_fields (JsonObject *fields)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GList) members = fields != NULL ? json_object_get_members (fields) : NULL;

  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (fields, l->data);
      g_autofree char *json = NULL;

      if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING)
        json = g_strdup (json_node_get_string (value));
      else
        json = json_to_string (value, FALSE);
      g_string_append_printf (text, "%s%s=%s", text->len > 0 ? " " : "", (char *) l->data, json);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* What the log holds is shown as written, but a terminal must not act on
 * it: an argv or a host name can carry escape sequences. */
static void
clochectl_audit_print_event (JsonObject *event,
                             const char *line,
                             gpointer    user_data)
{
  Audit *audit = user_data;
  g_autofree char *fields = NULL;
  g_autofree char *time = NULL;
  g_autofree char *name = NULL;
  g_autofree char *session = NULL;
  g_autofree char *shown = NULL;

  if (audit->json)
    {
      g_print ("%s\n", line);
      return;
    }
  /* The reader handed over only lines whose envelope has these types. */
  time = clochectl_printable (cloche_json_get_string (event, "time", "?"));
  name = clochectl_printable (cloche_json_get_string (event, "event", "?"));
  session = clochectl_printable (cloche_json_get_string (event, "session", "-"));
  fields = clochectl_audit_format_fields (cloche_json_get_object (event, "fields"));
  shown = clochectl_printable (fields);
  g_print ("%s  %-16s %-12s %s\n", time, name, session, shown);
}

static void
clochectl_audit_report_damage (ClocheAuditReader *reader)
{
  guint damaged = cloche_audit_reader_get_damaged (reader);

  if (damaged > 0)
    g_printerr ("clochectl: %u line%s of the audit log could not be read and %s skipped "
                "(the first at %s; a line cut short by a crash is expected there)\n",
                damaged, damaged == 1 ? "" : "s", damaged == 1 ? "was" : "were",
                cloche_audit_reader_get_first_damage (reader));
}

static gboolean
clochectl_audit_follow_tick_cb (gpointer user_data)
{
  Audit *audit = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_audit_reader_read_new (audit->reader, &error))
    {
      audit->status = clochectl_fail (_("cannot follow the audit log"), error);
      g_main_loop_quit (audit->loop);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static int
clochectl_audit_follow (Audit *audit)
{
  audit->loop = g_main_loop_new (NULL, FALSE);
  g_timeout_add (FOLLOW_INTERVAL_MS, clochectl_audit_follow_tick_cb, audit);
  g_main_loop_run (audit->loop);
  g_main_loop_unref (audit->loop);
  return audit->status;
}

int
clochectl_audit (int    argc,
                 char **argv)
{
  gboolean json = FALSE, follow_flag = FALSE;
  g_autofree char *session = NULL;
  g_autofree char *since = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheAuditReader) reader = NULL;
  ClocheAuditFilter filter = { 0 };
  Audit audit = { 0 };
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the events as JSON Lines, as logged", NULL },
    { "follow", 'f', 0, G_OPTION_ARG_NONE, &follow_flag, "Go on printing events as they come", NULL },
    { "session", 0, 0, G_OPTION_ARG_STRING, &session, "Only the events of this session", "ID" },
    { "since", 0, 0, G_OPTION_ARG_STRING, &since,
      "Only events from this time (RFC 3339) or age (30s, 10m, 2h, 7d) on", "TIME" },
    { "dir", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &dir, NULL, NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- the audit log"))
    return 2;
  if (argc > 1)
    return clochectl_usage ();
  if (since != NULL && !cloche_audit_parse_since (since, g_get_real_time (), &filter.since_us, &error))
    {
      g_printerr ("clochectl: --since: %s\n", error->message);
      return 2;
    }
  filter.session = session;
  audit.json = json;
  reader = cloche_audit_reader_new (dir, &filter, clochectl_audit_print_event, &audit);
  audit.reader = reader;
  if (!cloche_audit_reader_read_all (reader, &error))
    return clochectl_fail (_("cannot read the audit log"), error);
  clochectl_audit_report_damage (reader);
  return follow_flag ? clochectl_audit_follow (&audit) : EXIT_SUCCESS;
}
