/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sys/socket.h>

#include "cloche-error.h"
#include "cloche-qmp-client-private.h"
#include "cloche-test-util.h"

static void
parse_fixture (const char       *name,
               ClocheQmpMessage *message,
               GError          **error)
{
  g_autofree char *line = cloche_test_fixture_line (name);

  cloche_qmp_message_parse (line, message, error);
}

static void
test_parse_greeting (void)
{
  g_auto(ClocheQmpMessage) message = { 0 };
  g_autoptr(GError) error = NULL;
  JsonObject *version;

  parse_fixture ("qmp-greeting.json", &message, &error);
  g_assert_no_error (error);
  g_assert_cmpint (message.kind, ==, CLOCHE_QMP_MESSAGE_GREETING);
  version = json_object_get_object_member (json_node_get_object (message.payload), "version");
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (version, "qemu"),
                                               "major"), ==, 7);
}

static void
test_parse_return (void)
{
  g_auto(ClocheQmpMessage) message = { 0 };
  g_autoptr(GError) error = NULL;

  parse_fixture ("qmp-return.json", &message, &error);
  g_assert_no_error (error);
  g_assert_cmpint (message.kind, ==, CLOCHE_QMP_MESSAGE_RETURN);
  g_assert_cmpint (message.id, ==, 7);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (message.payload),
                                                  "status"), ==, "running");
}

static void
test_parse_error (void)
{
  g_auto(ClocheQmpMessage) message = { 0 };
  g_autoptr(GError) error = NULL;

  parse_fixture ("qmp-error.json", &message, &error);
  g_assert_no_error (error);
  g_assert_cmpint (message.kind, ==, CLOCHE_QMP_MESSAGE_ERROR);
  g_assert_cmpint (message.id, ==, 3);
  g_assert_cmpstr (message.error_class, ==, "CommandNotFound");
  g_assert_true (strstr (message.error_desc, "frobnicate") != NULL);
}

static void
test_parse_event (void)
{
  g_auto(ClocheQmpMessage) message = { 0 };
  g_autoptr(GError) error = NULL;

  parse_fixture ("qmp-event.json", &message, &error);
  g_assert_no_error (error);
  g_assert_cmpint (message.kind, ==, CLOCHE_QMP_MESSAGE_EVENT);
  g_assert_cmpstr (message.event, ==, "VSERPORT_CHANGE");
  g_assert_true (json_object_get_boolean_member (json_node_get_object (message.payload), "open"));
}

/* The error must quote what QEMU said, not just "invalid JSON". */
static void
test_parse_garbage_is_quoted (void)
{
  g_auto(ClocheQmpMessage) message = { 0 };
  g_autoptr(GError) error = NULL;

  parse_fixture ("qmp-garbage.txt", &message, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL);
  g_assert_true (strstr (error->message, "host does not support requested feature") != NULL);
  g_assert_true (strstr (error->message, "not JSON") != NULL);
}

static void
test_parse_unknown_object (void)
{
  g_auto(ClocheQmpMessage) message = { 0 };
  g_autoptr(GError) error = NULL;

  parse_fixture ("qmp-unknown.json", &message, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL);
  g_assert_true (strstr (error->message, "\\\"unexpected\\\"") != NULL);
}

/* json-glib keeps the last of two values on a line and leaks the first:
 * the line is refused before it gets there (tests/fuzz found this). */
static void
test_parse_two_values (void)
{
  g_auto(ClocheQmpMessage) message = { 0 };
  g_autoptr(GError) error = NULL;

  parse_fixture ("qmp-two-values.txt", &message, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL);
  g_assert_true (strstr (error->message, "more than one JSON value") != NULL);
}

/* Members of an unexpected type are a protocol error, not a critical. */
static void
test_parse_wrong_member_types (void)
{
  const char *fixtures[] = { "qmp-error-not-object.json", "qmp-event-no-name.json" };

  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_auto(ClocheQmpMessage) message = { 0 };
      g_autoptr(GError) error = NULL;

      parse_fixture (fixtures[i], &message, &error);
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL);
      g_assert_true (strstr (error->message, "neither a reply nor an event") != NULL);
    }
}

/* Over a socket: greeting, capabilities, a command, an event in between. */

static void
on_event (ClocheQmpClient *client,
          const char      *name,
          JsonObject      *data,
          char           **seen)
{
  *seen = g_strdup (name);
}

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
result_ready (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return TRUE;
}

static void
test_socket_session (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheQmpClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *event = NULL;
  g_autofree char *sent = NULL;

  cloche_test_stream_pair (&stream, &peer);
  client = cloche_qmp_client_new (stream);
  g_signal_connect (client, "event", G_CALLBACK (on_event), &event);

  cloche_qmp_client_handshake_async (client, NULL, on_done, &result);
  cloche_test_peer_write (peer, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n");
  sent = cloche_test_peer_read_line (peer);
  g_assert_true (strstr (sent, "qmp_capabilities") != NULL);
  cloche_test_peer_write (peer, "{\"return\": {}, \"id\": 1}\r\n");
  result_ready (&result);
  g_assert_true (cloche_qmp_client_handshake_finish (client, result, &error));
  g_assert_no_error (error);
  g_clear_object (&result);

  cloche_qmp_client_execute_async (client, "query-status", NULL, NULL, on_done, &result);
  g_clear_pointer (&sent, g_free);
  sent = cloche_test_peer_read_line (peer);
  g_assert_true (strstr (sent, "query-status") != NULL);
  cloche_test_peer_write (peer, "{\"event\": \"RESUME\", \"data\": {}}\r\n"
                                "{\"return\": {\"status\": \"running\"}, \"id\": 2}\r\n");
  result_ready (&result);
  reply = cloche_qmp_client_execute_finish (client, result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (reply), "status"),
                   ==, "running");
  g_assert_cmpstr (event, ==, "RESUME");
  g_clear_object (&result);

  /* QEMU going away fails what is pending instead of leaving it hanging. */
  cloche_qmp_client_execute_async (client, "query-status", NULL, NULL, on_done, &result);
  g_io_stream_close (peer, NULL, NULL);
  result_ready (&result);
  g_assert_null (cloche_qmp_client_execute_finish (client, result, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL);
}

/* QEMU gone before it said anything: nothing was read, nothing is a line. */
static void
test_socket_closed_at_once (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheQmpClient) client = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cloche_test_stream_pair (&stream, &peer);
  g_io_stream_close (peer, NULL, NULL);
  client = cloche_qmp_client_new (stream);
  cloche_qmp_client_handshake_async (client, NULL, on_done, &result);
  result_ready (&result);
  g_assert_false (cloche_qmp_client_handshake_finish (client, result, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL);
  g_assert_true (strstr (error->message, "closed") != NULL);
}

/* A peer that never ends its line cannot take our memory: past 64 MiB the
 * connection is given up, and what waited fails with the reason. The lines
 * before it still arrive. */
static void
test_socket_line_too_long (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheQmpClient) client = NULL;
  g_autoptr(GAsyncResult) written = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *event = NULL;
  gsize length = 65 * 1024 * 1024;
  g_autofree char *flood = g_malloc (length);

  memset (flood, 'x', length);
  cloche_test_stream_pair (&stream, &peer);
  client = cloche_qmp_client_new (stream);
  g_signal_connect (client, "event", G_CALLBACK (on_event), &event);
  cloche_qmp_client_execute_async (client, "query-status", NULL, NULL, on_done, &result);
  cloche_test_peer_write (peer, "{\"event\": \"RESUME\", \"data\": {}}\n");
  g_output_stream_write_all_async (g_io_stream_get_output_stream (peer), flood, length,
                                   G_PRIORITY_DEFAULT, NULL, on_done, &written);
  result_ready (&result);

  g_assert_null (cloche_qmp_client_execute_finish (client, result, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL);
  g_assert_true (strstr (error->message, "longer than 64 MiB") != NULL);
  g_assert_cmpstr (event, ==, "RESUME");
  /* The peer's write fails or ends once we stopped reading; either way done. */
  g_io_stream_close (peer, NULL, NULL);
  result_ready (&written);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/qmp/parse/greeting", test_parse_greeting);
  g_test_add_func ("/qmp/parse/return", test_parse_return);
  g_test_add_func ("/qmp/parse/error", test_parse_error);
  g_test_add_func ("/qmp/parse/event", test_parse_event);
  g_test_add_func ("/qmp/parse/garbage-is-quoted", test_parse_garbage_is_quoted);
  g_test_add_func ("/qmp/parse/unknown-object", test_parse_unknown_object);
  g_test_add_func ("/qmp/parse/two-values", test_parse_two_values);
  g_test_add_func ("/qmp/parse/wrong-member-types", test_parse_wrong_member_types);
  g_test_add_func ("/qmp/socket/session", test_socket_session);
  g_test_add_func ("/qmp/socket/line-too-long", test_socket_line_too_long);
  g_test_add_func ("/qmp/socket/closed-at-once", test_socket_closed_at_once);

  return g_test_run ();
}
