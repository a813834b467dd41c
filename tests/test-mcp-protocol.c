/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The MCP server's protocol, with no daemon and no VM: messages in, answers
 * out, through the real transport and server over in-memory streams.
 * Malformed JSON, unknown methods, batches, ids of every JSON type, a
 * request before initialize, a line too long to keep, version negotiation;
 * and the path rule of the file tools, and output cutting.
 */
#include "config.h"

#include "cloche-error.h"
#include "clochectl-mcp-message.h"
#include "clochectl-mcp-path.h"
#include "clochectl-mcp-server.h"
#include "clochectl-mcp-tool.h"

#define INIT "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":" \
             "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{}," \
             "\"clientInfo\":{\"name\":\"test\",\"version\":\"1\"}}}\n"

static void
on_finished (ClochectlMcpServer *server,
             gboolean           *finished)
{
  *finished = TRUE;
}

/* Feeds @input to a server, runs it to the end of the input, and returns
 * every line it wrote, parsed. */
static GPtrArray *
serve (const char *input,
       gsize       length)
{
  g_autoptr(GInputStream) in = g_memory_input_stream_new_from_data (g_memdup2 (input, length),
                                                                   length, g_free);
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr(ClochectlMcpTransport) transport = clochectl_mcp_transport_new (in, out);
  g_autoptr(ClochectlMcpSandbox) sandbox = clochectl_mcp_sandbox_new (
    "t", g_variant_new_array (G_VARIANT_TYPE ("(sb)"), NULL, 0), NULL);
  g_autoptr(ClochectlMcpTools) tools = clochectl_mcp_tools_new (sandbox);
  g_autoptr(ClochectlMcpServer) server = clochectl_mcp_server_new (transport, tools);
  GPtrArray *replies = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_auto(GStrv) lines = NULL;
  gboolean finished = FALSE;

  g_signal_connect (server, "finished", G_CALLBACK (on_finished), &finished);
  clochectl_mcp_server_start (server);
  while (!finished)
    g_main_context_iteration (NULL, TRUE);

  g_output_stream_write_all (out, "", 1, NULL, NULL, NULL);
  lines = g_strsplit (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out)), "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;

      json_parser_load_from_data (parser, lines[i], -1, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      g_ptr_array_add (replies, json_object_ref (json_node_get_object (json_parser_get_root (parser))));
    }
  return replies;
}

static GPtrArray *
serve_text (const char *input)
{
  return serve (input, strlen (input));
}

static JsonObject *
reply (GPtrArray *replies,
       guint      index)
{
  g_assert_cmpuint (index, <, replies->len);
  return g_ptr_array_index (replies, index);
}

/* Tool calls are answered when they end, not in order: by id. */
static JsonObject *
by_id (GPtrArray *replies,
       gint64     id)
{
  for (guint i = 0; i < replies->len; i++)
    {
      JsonNode *node = json_object_get_member (g_ptr_array_index (replies, i), "id");

      if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
          && json_node_get_value_type (node) == G_TYPE_INT64 && json_node_get_int (node) == id)
        return g_ptr_array_index (replies, i);
    }
  g_assert_not_reached ();
}

static void
assert_error (JsonObject *object,
              int         code,
              const char *contains)
{
  JsonObject *error;

  g_assert_cmpstr (json_object_get_string_member (object, "jsonrpc"), ==, "2.0");
  g_assert_true (json_object_has_member (object, "error"));
  g_assert_false (json_object_has_member (object, "result"));
  error = json_object_get_object_member (object, "error");
  g_assert_cmpint (json_object_get_int_member (error, "code"), ==, code);
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), contains));
}

static void
assert_null_id (JsonObject *object)
{
  g_assert_true (json_object_has_member (object, "id"));
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (object, "id")));
}

static void
test_malformed_json (void)
{
  g_autoptr(GPtrArray) replies = serve_text (
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"\n"        /* cut short */
    "{'jsonrpc': '2.0'}\n"                                      /* not JSON */
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n"
    "\"just a string\"\n"
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n");

  g_assert_cmpuint (replies->len, ==, 5);
  assert_error (reply (replies, 0), CLOCHECTL_MCP_ERROR_PARSE, "Parse error");
  assert_null_id (reply (replies, 0));
  assert_error (reply (replies, 1), CLOCHECTL_MCP_ERROR_PARSE, "Parse error");
  assert_error (reply (replies, 2), CLOCHECTL_MCP_ERROR_PARSE, "nest");
  assert_error (reply (replies, 3), CLOCHECTL_MCP_ERROR_INVALID_REQUEST, "JSON object");
  /* ... and the server goes on. */
  g_assert_cmpint (json_object_get_int_member (reply (replies, 4), "id"), ==, 2);
  g_assert_true (json_object_has_member (reply (replies, 4), "result"));
}

static void
test_not_utf8_or_nul (void)
{
  static const char input[] = "{\"jsonrpc\":\"2.0\",\"id\":\"\xff\",\"method\":\"ping\"}\n"
                              "{\"jsonrpc\":\"2.0\",\"id\":1,\0\"method\":\"ping\"}\n";
  g_autoptr(GPtrArray) replies = serve (input, sizeof input - 1);

  g_assert_cmpuint (replies->len, ==, 2);
  assert_error (reply (replies, 0), CLOCHECTL_MCP_ERROR_PARSE, "UTF-8");
  assert_error (reply (replies, 1), CLOCHECTL_MCP_ERROR_PARSE, "NUL");
}

static void
test_unknown_method (void)
{
  g_autoptr(GPtrArray) replies = serve_text (
    INIT
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"resources/list\"}\n"
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":\"rm_rf\"}}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"run_command\","
    "\"arguments\":[1]}}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\"}\n");

  /* The notification gets no answer. */
  g_assert_cmpuint (replies->len, ==, 5);
  assert_error (by_id (replies, 7), CLOCHECTL_MCP_ERROR_METHOD_NOT_FOUND, "resources/list");
  assert_error (by_id (replies, 8), CLOCHECTL_MCP_ERROR_INVALID_PARAMS, "Unknown tool: rm_rf");
  assert_error (by_id (replies, 9), CLOCHECTL_MCP_ERROR_INVALID_PARAMS, "\"arguments\"");
  assert_error (by_id (replies, 10), CLOCHECTL_MCP_ERROR_INVALID_PARAMS, "\"name\"");
}

static void
test_batch_refused (void)
{
  g_autoptr(GPtrArray) replies = serve_text (
    INIT
    "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]\n"
    "[]\n");

  g_assert_cmpuint (replies->len, ==, 3);
  assert_error (reply (replies, 1), CLOCHECTL_MCP_ERROR_INVALID_REQUEST, "batches");
  assert_null_id (reply (replies, 1));
  assert_error (reply (replies, 2), CLOCHECTL_MCP_ERROR_INVALID_REQUEST, "batches");
}

static void
test_ids (void)
{
  g_autoptr(GPtrArray) replies = serve_text (
    "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"ping\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":-42,\"method\":\"ping\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}\n"
    "{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"ping\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":5}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\",\"params\":[1]}\n"
    /* A response from the client: we asked nothing; no answer. */
    "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{}}\n");
  JsonNode *id;

  g_assert_cmpuint (replies->len, ==, 9);
  id = json_object_get_member (reply (replies, 0), "id");
  g_assert_cmpint (json_node_get_value_type (id), ==, G_TYPE_STRING);
  g_assert_cmpstr (json_node_get_string (id), ==, "abc");
  id = json_object_get_member (reply (replies, 1), "id");
  g_assert_cmpint (json_node_get_value_type (id), ==, G_TYPE_INT64);
  g_assert_cmpint (json_node_get_int (id), ==, -42);
  for (guint i = 2; i <= 5; i++)
    {
      assert_error (reply (replies, i), CLOCHECTL_MCP_ERROR_INVALID_REQUEST, "\"id\"");
      assert_null_id (reply (replies, i));
    }
  assert_error (reply (replies, 6), CLOCHECTL_MCP_ERROR_INVALID_REQUEST, "\"jsonrpc\"");
  /* A valid id is answered with, even when the rest is wrong. */
  g_assert_cmpint (json_object_get_int_member (reply (replies, 6), "id"), ==, 3);
  assert_error (reply (replies, 7), CLOCHECTL_MCP_ERROR_INVALID_REQUEST, "\"method\"");
  g_assert_cmpint (json_object_get_int_member (reply (replies, 7), "id"), ==, 4);
  assert_error (reply (replies, 8), CLOCHECTL_MCP_ERROR_INVALID_PARAMS, "\"params\"");
}

static void
test_before_initialize (void)
{
  g_autoptr(GPtrArray) replies = serve_text (
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"session_info\"}}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}\n"
    INIT
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/list\"}\n");

  g_assert_cmpuint (replies->len, ==, 5);
  assert_error (reply (replies, 0), CLOCHECTL_MCP_ERROR_INVALID_REQUEST, "initialize first");
  assert_error (reply (replies, 1), CLOCHECTL_MCP_ERROR_INVALID_REQUEST, "initialize first");
  g_assert_true (json_object_has_member (reply (replies, 2), "result"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
    json_object_get_object_member (reply (replies, 4), "result"), "tools")), ==, 6);
}

static void
test_huge_line (void)
{
  gsize huge = CLOCHECTL_MCP_LINE_MAX_BYTES + 4096;
  g_autoptr(GString) input = g_string_sized_new (huge + 200);
  g_autoptr(GPtrArray) replies = NULL;

  g_string_append (input, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"pad\":\"");
  while (input->len < huge)
    g_string_append (input, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  g_string_append (input, "\"}}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}\n");
  replies = serve (input->str, input->len);

  g_assert_cmpuint (replies->len, ==, 2);
  assert_error (reply (replies, 0), CLOCHECTL_MCP_ERROR_PARSE, "longer than the 32 MiB");
  assert_null_id (reply (replies, 0));
  g_assert_cmpint (json_object_get_int_member (reply (replies, 1), "id"), ==, 2);
}

static const char *
negotiated (const char *requested)
{
  g_autofree char *input = g_strdup_printf (
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"%s\","
    "\"capabilities\":{},\"clientInfo\":{\"name\":\"n\",\"version\":\"1\"}}}\n", requested);
  g_autoptr(GPtrArray) replies = serve_text (input);
  JsonObject *result = json_object_get_object_member (reply (replies, 0), "result");

  return g_intern_string (json_object_get_string_member (result, "protocolVersion"));
}

static void
test_version_negotiation (void)
{
  g_autoptr(GPtrArray) replies = NULL;
  JsonObject *result;

  g_assert_cmpstr (negotiated ("2025-06-18"), ==, "2025-06-18");
  g_assert_cmpstr (negotiated ("2025-11-25"), ==, "2025-11-25");
  /* A version we do not speak: our newest; the client decides. */
  g_assert_cmpstr (negotiated ("2024-11-05"), ==, "2025-11-25");
  g_assert_cmpstr (negotiated ("2099-01-01"), ==, "2025-11-25");

  replies = serve_text (
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}\n"
    INIT INIT);
  g_assert_cmpuint (replies->len, ==, 3);
  assert_error (reply (replies, 0), CLOCHECTL_MCP_ERROR_INVALID_PARAMS, "protocolVersion");
  result = json_object_get_object_member (reply (replies, 1), "result");
  g_assert_true (json_object_has_member (json_object_get_object_member (result, "capabilities"),
                                         "tools"));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (result,
                                                                                  "serverInfo"),
                                                  "name"), ==, "cloche");
  assert_error (reply (replies, 2), CLOCHECTL_MCP_ERROR_INVALID_REQUEST, "already");
}

/* A cancellation for a request that is not running is ignored; the end of
 * the input ends the server with everything answered. */
static void
test_cancel_unknown (void)
{
  g_autoptr(GPtrArray) replies = serve_text (
    INIT
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":99}}\n"
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":null}}\n"
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}\n"
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");   /* no newline at the end */

  g_assert_cmpuint (replies->len, ==, 2);
  g_assert_cmpint (json_object_get_int_member (reply (replies, 1), "id"), ==, 1);
}

static void
test_tools_list (void)
{
  g_autoptr(GPtrArray) replies = serve_text (INIT "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}\n");
  JsonArray *tools = json_object_get_array_member (json_object_get_object_member (
    reply (replies, 1), "result"), "tools");

  for (guint i = 0; i < json_array_get_length (tools); i++)
    {
      JsonObject *tool = json_array_get_object_element (tools, i);

      g_assert_nonnull (json_object_get_string_member (tool, "description"));
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
        tool, "inputSchema"), "type"), ==, "object");
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (
        tool, "outputSchema"), "type"), ==, "object");
    }
}

/* The path rule */

static void
test_paths (void)
{
  static const struct { const char *path; const char *resolved; } cases[] = {
    { ".", "/sessions/abc" },
    { "notes.txt", "/sessions/abc/notes.txt" },
    { "mnt/proj/src/../README", "/sessions/abc/mnt/proj/README" },
    { "./a//b/./c/", "/sessions/abc/a/b/c" },
    { "/sessions/abc", "/sessions/abc" },
    { "/sessions/abc/mnt/x", "/sessions/abc/mnt/x" },
    { "..", NULL },
    { "../abd/x", NULL },
    { "mnt/../../abc2", NULL },
    { "/sessions/abcd", NULL },
    { "/sessions/abc/../other/file", NULL },
    { "/etc/passwd", NULL },
    { "/", NULL },
    { "", NULL },
    { "a\xff", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *resolved = clochectl_mcp_path_resolve ("/sessions/abc", cases[i].path,
                                                              &error);

      g_assert_cmpstr (resolved, ==, cases[i].resolved);
      if (cases[i].resolved == NULL)
        {
          g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
          g_assert_nonnull (strstr (error->message, "/sessions/abc"));
        }
    }
}

static void
test_path_names (void)
{
  g_autofree char *relative = clochectl_mcp_path_relative ("/sessions/abc", "/sessions/abc/mnt/p/x");
  g_autofree char *top = clochectl_mcp_path_relative ("/sessions/abc", "/sessions/abc");
  g_autofree char *mount = clochectl_mcp_path_mount_of ("/sessions/abc", "/sessions/abc/mnt/p/x");
  g_autofree char *mount_itself = clochectl_mcp_path_mount_of ("/sessions/abc", "/sessions/abc/mnt/p");
  g_autofree char *none = clochectl_mcp_path_mount_of ("/sessions/abc", "/sessions/abc/mntx/p");

  g_assert_cmpstr (relative, ==, "mnt/p/x");
  g_assert_cmpstr (top, ==, ".");
  g_assert_cmpstr (mount, ==, "p");
  g_assert_cmpstr (mount_itself, ==, "p");
  g_assert_null (none);
}

/* Long output keeps its head and tail and says how much went; a UTF-8
 * sequence cut in two does not make invalid text. */
static void
test_text_cut (void)
{
  g_autoptr(GString) long_text = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) short_bytes = g_bytes_new_static ("é\n", 3);
  g_autofree char *cut_text = NULL;
  g_autofree char *short_text = NULL;
  gsize cut = 0;

  for (guint i = 0; i < 10000; i++)
    g_string_append (long_text, "é");
  g_string_append (long_text, "THE END");
  bytes = g_bytes_new (long_text->str, long_text->len);
  cut_text = clochectl_mcp_text_cut (bytes, 1001, &cut);
  g_assert_cmpuint (cut, ==, long_text->len - 1001);
  g_assert_true (g_utf8_validate (cut_text, -1, NULL));
  g_assert_true (g_str_has_suffix (cut_text, "THE END"));
  g_assert_nonnull (strstr (cut_text, "bytes cut here"));
  short_text = clochectl_mcp_text_cut (short_bytes, 1001, &cut);
  g_assert_cmpstr (short_text, ==, "é\n");
  g_assert_cmpuint (cut, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mcp-protocol/malformed-json", test_malformed_json);
  g_test_add_func ("/mcp-protocol/not-utf8-or-nul", test_not_utf8_or_nul);
  g_test_add_func ("/mcp-protocol/unknown-method", test_unknown_method);
  g_test_add_func ("/mcp-protocol/batch-refused", test_batch_refused);
  g_test_add_func ("/mcp-protocol/ids", test_ids);
  g_test_add_func ("/mcp-protocol/before-initialize", test_before_initialize);
  g_test_add_func ("/mcp-protocol/huge-line", test_huge_line);
  g_test_add_func ("/mcp-protocol/version-negotiation", test_version_negotiation);
  g_test_add_func ("/mcp-protocol/cancel-unknown", test_cancel_unknown);
  g_test_add_func ("/mcp-protocol/tools-list", test_tools_list);
  g_test_add_func ("/mcp-protocol/paths", test_paths);
  g_test_add_func ("/mcp-protocol/path-names", test_path_names);
  g_test_add_func ("/mcp-protocol/text-cut", test_text_cut);

  return g_test_run ();
}
