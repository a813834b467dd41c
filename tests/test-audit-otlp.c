/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * OTLP/HTTP JSON export of the audit log to a receiver on 127.0.0.1 (a
 * plain socket in a thread of this test answering like a collector): every
 * event arrives as a logRecord with its fields as typed attributes, and a
 * collector that is down costs the file nothing.
 */
#include "config.h"

#include <json-glib/json-glib.h>

#include "cloche-audit-log.h"
#include "cloche-audit-otlp.h"
#include "cloche-audit-reader.h"
#include "cloche-error.h"

typedef struct
{
  GSocketListener *listener;
  guint16          port;
  GMutex           mutex;
  GPtrArray       *bodies;       /* one JSON body per request */
  GPtrArray       *request_lines;
} Receiver;

static char *
read_request (GSocketConnection *connection,
              char             **request_line)
{
  g_autoptr(GDataInputStream) input =
    g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (connection)));
  gsize length = 0;
  char *line;
  char *body;

  *request_line = g_data_input_stream_read_line_utf8 (input, NULL, NULL, NULL);
  while ((line = g_data_input_stream_read_line_utf8 (input, NULL, NULL, NULL)) != NULL
         && g_strchomp (line)[0] != '\0')
    {
      if (g_ascii_strncasecmp (line, "Content-Length:", 15) == 0)
        length = g_ascii_strtoull (line + 15, NULL, 10);
      g_free (line);
    }
  g_free (line);
  body = g_malloc0 (length + 1);
  g_input_stream_read_all (G_INPUT_STREAM (input), body, length, NULL, NULL, NULL);
  return body;
}

static gpointer
receive (gpointer data)
{
  Receiver *receiver = data;
  GSocketConnection *connection;

  while ((connection = g_socket_listener_accept (receiver->listener, NULL, NULL, NULL)) != NULL)
    {
      const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
      char *request_line = NULL;
      char *body = read_request (connection, &request_line);

      /* Kept before the answer: the exporter's flush returns once it has
       * the answer, and the test reads the bodies right after. */
      g_mutex_lock (&receiver->mutex);
      g_ptr_array_add (receiver->bodies, body);
      g_ptr_array_add (receiver->request_lines, request_line);
      g_mutex_unlock (&receiver->mutex);
      g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                 ok, strlen (ok), NULL, NULL, NULL);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      g_object_unref (connection);
    }
  return NULL;
}

static Receiver *
receiver_start (void)
{
  Receiver *receiver = g_new0 (Receiver, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  receiver->listener = g_socket_listener_new ();
  g_socket_listener_add_address (receiver->listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  receiver->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  receiver->bodies = g_ptr_array_new_with_free_func (g_free);
  receiver->request_lines = g_ptr_array_new_with_free_func (g_free);
  g_mutex_init (&receiver->mutex);
  g_thread_unref (g_thread_new ("receiver", receive, receiver));
  return receiver;
}

/* All logRecords received so far. */
static JsonArray *
received_records (Receiver   *receiver,
                  JsonParser *parsers[],
                  guint       max)
{
  JsonArray *all = json_array_new ();

  g_mutex_lock (&receiver->mutex);
  for (guint i = 0; i < receiver->bodies->len && i < max; i++)
    {
      JsonObject *root;
      JsonArray *records;

      parsers[i] = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parsers[i], receiver->bodies->pdata[i], -1, NULL));
      root = json_node_get_object (json_parser_get_root (parsers[i]));
      root = json_array_get_object_element (json_object_get_array_member (root, "resourceLogs"), 0);
      g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (
                           json_array_get_object_element (
                             json_object_get_array_member (
                               json_object_get_object_member (root, "resource"), "attributes"), 0),
                           "value"), "stringValue"), ==, "cloche-daemon");
      root = json_array_get_object_element (json_object_get_array_member (root, "scopeLogs"), 0);
      records = json_object_get_array_member (root, "logRecords");
      for (guint j = 0; j < json_array_get_length (records); j++)
        json_array_add_element (all, json_node_copy (json_array_get_element (records, j)));
      g_assert_cmpstr (receiver->request_lines->pdata[i], ==, "POST /v1/logs HTTP/1.1\r");
    }
  g_mutex_unlock (&receiver->mutex);
  return all;
}

static JsonObject *
attribute (JsonObject *record,
           const char *key)
{
  JsonArray *attributes = json_object_get_array_member (record, "attributes");

  for (guint i = 0; i < json_array_get_length (attributes); i++)
    {
      JsonObject *attr = json_array_get_object_element (attributes, i);

      if (g_str_equal (json_object_get_string_member (attr, "key"), key))
        return json_object_get_object_member (attr, "value");
    }
  g_error ("No attribute %s", key);
}

static void
test_export (void)
{
  Receiver *receiver = receiver_start ();
  g_autofree char *dir = g_dir_make_tmp ("cloche-otlp-XXXXXX", NULL);
  g_autofree char *endpoint = g_strdup_printf ("http://127.0.0.1:%u", receiver->port);
  g_autoptr(ClocheAuditOtlp) exporter = NULL;
  g_autoptr(ClocheAuditLog) log = cloche_audit_log_new (dir, 0, 2);
  g_autoptr(JsonArray) records = NULL;
  g_autoptr(GError) error = NULL;
  JsonParser *parsers[16] = { NULL };
  const char *argv[] = { "make", "check", NULL };
  JsonObject *record;

  exporter = cloche_audit_otlp_new (endpoint, &error);
  g_assert_no_error (error);
  cloche_audit_log_set_exporter (log, exporter);
  cloche_audit_log_open (log, &error);
  g_assert_no_error (error);
  cloche_audit_log_append (log, "command", "abc123",
                           "argv", g_variant_new_strv (argv, -1),
                           "exit-code", g_variant_new_int32 (2),
                           "allowed", g_variant_new_boolean (TRUE), NULL);
  cloche_audit_log_append (log, "vm.start", NULL, "reason", g_variant_new_string ("open"), NULL);
  /* flush waits for the export too. */
  cloche_audit_log_flush (log);

  records = received_records (receiver, parsers, G_N_ELEMENTS (parsers));
  g_assert_cmpuint (json_array_get_length (records), ==, 2);
  record = json_array_get_object_element (records, 0);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (record, "body"),
                                                  "stringValue"), ==, "command");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (record, "timeUnixNano"), "000"));
  g_assert_cmpstr (json_object_get_string_member (attribute (record, "cloche.session"), "stringValue"),
                   ==, "abc123");
  g_assert_cmpstr (json_object_get_string_member (attribute (record, "cloche.exit-code"), "intValue"),
                   ==, "2");
  g_assert_true (json_object_get_boolean_member (attribute (record, "cloche.allowed"), "boolValue"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_object_get_object_member (attribute (record, "cloche.argv"), "arrayValue"),
                      "values")), ==, 2);
  for (guint i = 0; i < G_N_ELEMENTS (parsers); i++)
    g_clear_object (&parsers[i]);
}

static void
count_event (JsonObject *event,
             const char *line,
             gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* Nobody listens: the events are in the file all the same, and one warning says so. */
static void
test_collector_down (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cloche-otlp-XXXXXX", NULL);
  g_autoptr(ClocheAuditOtlp) exporter = NULL;
  g_autoptr(ClocheAuditLog) log = cloche_audit_log_new (dir, 0, 2);
  g_autoptr(ClocheAuditReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  guint events = 0;

  /* Port 9 (discard) on loopback: nothing listens there in a test machine. */
  exporter = cloche_audit_otlp_new ("http://127.0.0.1:9/v1/logs", &error);
  g_assert_no_error (error);
  cloche_audit_log_set_exporter (log, exporter);
  cloche_audit_log_open (log, &error);
  g_test_expect_message ("Cloche", G_LOG_LEVEL_WARNING, "*not reaching the OTLP collector*");
  for (guint i = 0; i < 3; i++)
    {
      cloche_audit_log_append (log, "vm.start", NULL, "n", g_variant_new_uint32 (i), NULL);
      cloche_audit_log_flush (log);
    }
  g_test_assert_expected_messages ();

  reader = cloche_audit_reader_new (dir, NULL, count_event, &events);
  g_assert_true (cloche_audit_reader_read_all (reader, &error));
  g_assert_cmpuint (events, ==, 3);
}

static void
test_bad_endpoint (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheAuditOtlp) exporter = cloche_audit_otlp_new ("https://collector:4318", &error);

  g_assert_null (exporter);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "http://HOST:PORT/v1/logs"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/audit-otlp/export", test_export);
  g_test_add_func ("/audit-otlp/collector-down", test_collector_down);
  g_test_add_func ("/audit-otlp/bad-endpoint", test_bad_endpoint);

  return g_test_run ();
}
