/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The audit log's events as OpenTelemetry logs, OTLP/HTTP with a JSON body
 * (POST /v1/logs), for whoever collects logs centrally. Called from the
 * audit log's writer thread, after the lines are in the file: it blocks on
 * the network (5 s at most), and a collector that is down costs the file
 * nothing. Plain http:// only (a local collector or agent); the body is
 * small, so HTTP/1.1 is written by hand rather than pulling in an HTTP
 * library.
 *
 * Each event is one logRecord: body = the event name, timeUnixNano from
 * "time", attributes cloche.session, cloche.pid and cloche.<field> for each
 * field, typed (strings, ints, bools, doubles, arrays, objects).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>

#include <json-glib/json-glib.h>

#include "cloche-audit-otlp.h"
#include "cloche-audit-reader.h"
#include "cloche-error.h"

#define TIMEOUT_S 5

struct _ClocheAuditOtlp
{
  GObject  parent_instance;
  char    *endpoint;
  char    *host;
  guint16  port;
  char    *path;
};

G_DEFINE_FINAL_TYPE (ClocheAuditOtlp, cloche_audit_otlp, G_TYPE_OBJECT)

/* Body */

static void cloche_audit_otlp_add_any_value (JsonBuilder *builder, JsonNode *node);

static void
cloche_audit_otlp_add_array_value (JsonBuilder *builder,
                                   JsonArray   *array)
{
  json_builder_set_member_name (builder, "arrayValue");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "values");
  json_builder_begin_array (builder);
  for (guint i = 0; i < json_array_get_length (array); i++)
    cloche_audit_otlp_add_any_value (builder, json_array_get_element (array, i));
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

static void
cloche_audit_otlp_add_key_values (JsonBuilder *builder,
                                  JsonObject  *object,
                                  const char  *prefix)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      g_autofree char *key = g_strconcat (prefix, l->data, NULL);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "key");
      json_builder_add_string_value (builder, key);
      json_builder_set_member_name (builder, "value");
      cloche_audit_otlp_add_any_value (builder, json_object_get_member (object, l->data));
      json_builder_end_object (builder);
    }
}

/* An OTLP AnyValue; int64 as a string, as the protobuf JSON mapping has it. */
static void
cloche_audit_otlp_add_any_value (JsonBuilder *builder,
                                 JsonNode    *node)
{
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;

  json_builder_begin_object (builder);
  if (JSON_NODE_HOLDS_ARRAY (node))
    cloche_audit_otlp_add_array_value (builder, json_node_get_array (node));
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      json_builder_set_member_name (builder, "kvlistValue");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "values");
      json_builder_begin_array (builder);
      cloche_audit_otlp_add_key_values (builder, json_node_get_object (node), "");
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  else if (type == G_TYPE_INT64)
    {
      g_autofree char *text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));

      json_builder_set_member_name (builder, "intValue");
      json_builder_add_string_value (builder, text);
    }
  else if (type == G_TYPE_BOOLEAN)
    {
      json_builder_set_member_name (builder, "boolValue");
      json_builder_add_boolean_value (builder, json_node_get_boolean (node));
    }
  else if (type == G_TYPE_DOUBLE)
    {
      json_builder_set_member_name (builder, "doubleValue");
      json_builder_add_double_value (builder, json_node_get_double (node));
    }
  else
    {
      json_builder_set_member_name (builder, "stringValue");
      json_builder_add_string_value (builder, type == G_TYPE_STRING ? json_node_get_string (node) : "");
    }
  json_builder_end_object (builder);
}

static void
cloche_audit_otlp_add_attribute (JsonBuilder *builder,
                                 const char  *key,
                                 JsonNode    *value)
{
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "key");
  json_builder_add_string_value (builder, key);
  json_builder_set_member_name (builder, "value");
  cloche_audit_otlp_add_any_value (builder, value);
  json_builder_end_object (builder);
}

static void
cloche_audit_otlp_add_record (JsonBuilder *builder,
                              JsonObject  *event)
{
  g_autofree char *nanos = g_strdup_printf ("%" G_GINT64_FORMAT "000",
                                            cloche_audit_event_time (event));
  JsonObject *fields = json_object_get_object_member (event, "fields");

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "timeUnixNano");
  json_builder_add_string_value (builder, nanos);
  json_builder_set_member_name (builder, "severityNumber");
  json_builder_add_int_value (builder, 9);     /* INFO */
  json_builder_set_member_name (builder, "severityText");
  json_builder_add_string_value (builder, "INFO");
  json_builder_set_member_name (builder, "body");
  cloche_audit_otlp_add_any_value (builder, json_object_get_member (event, "event"));
  json_builder_set_member_name (builder, "attributes");
  json_builder_begin_array (builder);
  if (json_object_has_member (event, "session"))
    cloche_audit_otlp_add_attribute (builder, "cloche.session",
                                     json_object_get_member (event, "session"));
  if (json_object_has_member (event, "pid"))
    cloche_audit_otlp_add_attribute (builder, "cloche.pid", json_object_get_member (event, "pid"));
  if (fields != NULL)
    cloche_audit_otlp_add_key_values (builder, fields, "cloche.");
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

static void
cloche_audit_otlp_add_resource (JsonBuilder *builder)
{
  g_autoptr(JsonNode) name = json_node_init_string (json_node_alloc (), "cloche-daemon");

  json_builder_set_member_name (builder, "resource");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "attributes");
  json_builder_begin_array (builder);
  cloche_audit_otlp_add_attribute (builder, "service.name", name);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
}

/**
 * cloche_audit_otlp_build_body:
 * @lines: (element-type utf8): audit log lines; ones that do not parse are left out
 *
 * Returns: (transfer full): an OTLP ExportLogsServiceRequest as JSON
 */
char *
cloche_audit_otlp_build_body (GPtrArray *lines)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "resourceLogs");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  cloche_audit_otlp_add_resource (builder);
  json_builder_set_member_name (builder, "scopeLogs");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "scope");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, "io.github.cloche.audit");
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "logRecords");
  json_builder_begin_array (builder);
  for (guint i = 0; i < lines->len; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonNode *node;

      if (json_parser_load_from_data (parser, lines->pdata[i], -1, NULL)
          && (node = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (node))
        cloche_audit_otlp_add_record (builder, json_node_get_object (node));
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

/* HTTP */

static gboolean
cloche_audit_otlp_read_status (GInputStream  *input,
                               GError       **error)
{
  g_autoptr(GDataInputStream) data = g_data_input_stream_new (input);
  g_autofree char *line = NULL;
  guint code = 0;

  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (data), FALSE);
  line = g_data_input_stream_read_line_utf8 (data, NULL, NULL, error);
  if (line == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FAILED,
                     _("the collector closed without answering"));
      return FALSE;
    }
  if (sscanf (line, "HTTP/%*d.%*d %u", &code) != 1 || code < 200 || code >= 300)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FAILED, _("the collector answered \"%s\""),
                   g_strchomp (line));
      return FALSE;
    }
  return TRUE;
}

/**
 * cloche_audit_otlp_export:
 *
 * Posts @lines to the collector and waits for its answer. Blocks: call it
 * from a worker thread.
 */
gboolean
cloche_audit_otlp_export (ClocheAuditOtlp  *self,
                          GPtrArray        *lines,
                          GError          **error)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autofree char *body = cloche_audit_otlp_build_body (lines);
  g_autofree char *request = NULL;
  GOutputStream *output;

  g_return_val_if_fail (CLOCHE_IS_AUDIT_OTLP (self), FALSE);

  g_socket_client_set_timeout (client, TIMEOUT_S);
  /* Straight to the collector named: audit events do not take a detour
   * through whatever proxy the desktop has set. */
  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, self->host, self->port, NULL, error);
  if (connection == NULL)
    return FALSE;
  request = g_strdup_printf ("POST %s HTTP/1.1\r\nHost: %s:%u\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n%s",
                             self->path, self->host, self->port, strlen (body), body);
  output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  if (!g_output_stream_write_all (output, request, strlen (request), NULL, NULL, error))
    return FALSE;
  return cloche_audit_otlp_read_status (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                        error);
}

/* Object */

static void
cloche_audit_otlp_finalize (GObject *object)
{
  ClocheAuditOtlp *self = CLOCHE_AUDIT_OTLP (object);

  g_free (self->endpoint);
  g_free (self->host);
  g_free (self->path);

  G_OBJECT_CLASS (cloche_audit_otlp_parent_class)->finalize (object);
}

static void
cloche_audit_otlp_class_init (ClocheAuditOtlpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_audit_otlp_finalize;
}

static void
cloche_audit_otlp_init (ClocheAuditOtlp *self)
{
}

/**
 * cloche_audit_otlp_new:
 * @endpoint: the collector's logs URL, e.g. http://127.0.0.1:4318/v1/logs
 *   (a URL with no path gets /v1/logs, OTLP's default)
 */
ClocheAuditOtlp *
cloche_audit_otlp_new (const char  *endpoint,
                       GError     **error)
{
  g_autoptr(GUri) uri = g_uri_parse (endpoint, G_URI_FLAGS_NONE, NULL);
  ClocheAuditOtlp *self;

  if (uri == NULL || g_strcmp0 (g_uri_get_scheme (uri), "http") != 0
      || g_uri_get_host (uri) == NULL || g_uri_get_host (uri)[0] == '\0')
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("\"%s\" is not an OTLP/HTTP endpoint: give one as "
                     "http://HOST:PORT/v1/logs (plain http, e.g. a local collector)"), endpoint);
      return NULL;
    }
  self = g_object_new (CLOCHE_TYPE_AUDIT_OTLP, NULL);
  self->endpoint = g_strdup (endpoint);
  self->host = g_strdup (g_uri_get_host (uri));
  self->port = g_uri_get_port (uri) > 0 ? g_uri_get_port (uri) : 4318;
  self->path = g_strdup (g_uri_get_path (uri)[0] != '\0' && !g_str_equal (g_uri_get_path (uri), "/")
                         ? g_uri_get_path (uri) : "/v1/logs");
  return self;
}
