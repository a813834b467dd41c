/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The JSON-RPC 2.0 messages of MCP's stdio transport, one a line: a line
 * read → a request, a notification or a response, or the JSON-RPC error to
 * answer it with; and the lines we write. Pure functions over bytes, for a
 * fuzzer (tests/fuzz/fuzz-mcp-message.c) and the protocol tests.
 *
 * Rules, from the MCP revision 2025-06-18 on: a message is an object (a
 * batch, an array, is refused: batching was removed in that revision); a
 * request's id is a string or an integer, never null; params, when there,
 * are an object. Input is untrusted: the line is checked against the JSON
 * grammar with bounded nesting (cloche-json.c) before json-glib reads it,
 * must be UTF-8 and hold no NUL. What we write never holds a newline.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-json.h"
#include "clochectl-mcp-message.h"

G_DEFINE_QUARK (clochectl-mcp-error-quark, clochectl_mcp_error)

void
clochectl_mcp_message_clear (ClochectlMcpMessage *message)
{
  g_clear_pointer (&message->root, json_node_unref);
  memset (message, 0, sizeof *message);
}

gboolean
clochectl_mcp_id_is_valid (JsonNode *id)
{
  return id != NULL && JSON_NODE_HOLDS_VALUE (id)
         && (json_node_get_value_type (id) == G_TYPE_STRING
             || json_node_get_value_type (id) == G_TYPE_INT64);
}

gboolean
clochectl_mcp_id_equal (JsonNode *a,
                        JsonNode *b)
{
  if (!clochectl_mcp_id_is_valid (a) || !clochectl_mcp_id_is_valid (b)
      || json_node_get_value_type (a) != json_node_get_value_type (b))
    return FALSE;
  if (json_node_get_value_type (a) == G_TYPE_STRING)
    return g_strcmp0 (json_node_get_string (a), json_node_get_string (b)) == 0;
  return json_node_get_int (a) == json_node_get_int (b);
}

static gboolean
clochectl_mcp_message_fail (GError     **error,
                            int          code,
                            const char  *message)
{
  g_set_error_literal (error, CLOCHECTL_MCP_ERROR, code, message);
  return FALSE;
}

/* The text as JSON: UTF-8, no NUL, the grammar with bounded nesting. */
static JsonNode *
clochectl_mcp_message_parse_json (const char  *data,
                                  gsize        length,
                                  GError     **error)
{
  g_autofree char *line = NULL;
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (memchr (data, '\0', length) != NULL)
    {
      clochectl_mcp_message_fail (error, CLOCHECTL_MCP_ERROR_PARSE,
                                  "Parse error: the message holds a NUL byte");
      return NULL;
    }
  if (!g_utf8_validate (data, length, NULL))
    {
      clochectl_mcp_message_fail (error, CLOCHECTL_MCP_ERROR_PARSE,
                                  "Parse error: the message is not UTF-8");
      return NULL;
    }
  line = g_strndup (data, length);
  root = cloche_json_parse_value (line, "The MCP client", CLOCHE_ERROR_INVALID_ARGUMENT,
                                  &local_error);
  if (root == NULL)
    g_set_error (error, CLOCHECTL_MCP_ERROR, CLOCHECTL_MCP_ERROR_PARSE, "Parse error: %s",
                 local_error->message);
  return root;
}

static gboolean
clochectl_mcp_message_read_id (JsonObject  *object,
                               JsonNode   **id,
                               GError     **error)
{
  *id = json_object_get_member (object, "id");
  if (*id == NULL || clochectl_mcp_id_is_valid (*id))
    return TRUE;
  *id = NULL;
  return clochectl_mcp_message_fail (error, CLOCHECTL_MCP_ERROR_INVALID_REQUEST,
                                     "Invalid Request: \"id\" must be a string or an integer (MCP "
                                     "allows no null id)");
}

static gboolean
clochectl_mcp_message_read_request (JsonObject           *object,
                                    ClochectlMcpMessage  *message,
                                    GError              **error)
{
  JsonNode *method = json_object_get_member (object, "method");
  JsonNode *params = json_object_get_member (object, "params");

  if (!JSON_NODE_HOLDS_VALUE (method) || json_node_get_value_type (method) != G_TYPE_STRING)
    return clochectl_mcp_message_fail (error, CLOCHECTL_MCP_ERROR_INVALID_REQUEST,
                                       "Invalid Request: \"method\" must be a string");
  if (params != NULL && !JSON_NODE_HOLDS_OBJECT (params))
    return clochectl_mcp_message_fail (error, CLOCHECTL_MCP_ERROR_INVALID_PARAMS,
                                       "Invalid params: \"params\" must be an object");
  message->method = json_node_get_string (method);
  message->params = params != NULL ? json_node_get_object (params) : NULL;
  message->kind = message->id != NULL ? CLOCHECTL_MCP_REQUEST : CLOCHECTL_MCP_NOTIFICATION;
  return TRUE;
}

static gboolean
clochectl_mcp_message_read_response (JsonObject           *object,
                                     ClochectlMcpMessage  *message,
                                     GError              **error)
{
  gboolean has_result = json_object_has_member (object, "result");
  gboolean has_error = json_object_has_member (object, "error");

  if (message->id == NULL || has_result == has_error)
    return clochectl_mcp_message_fail (error, CLOCHECTL_MCP_ERROR_INVALID_REQUEST,
                                       "Invalid Request: a message needs a \"method\", or an "
                                       "\"id\" with either \"result\" or \"error\"");
  message->kind = CLOCHECTL_MCP_RESPONSE;
  return TRUE;
}

static gboolean
clochectl_mcp_message_read_object (JsonNode             *root,
                                   ClochectlMcpMessage  *message,
                                   GError              **error)
{
  JsonObject *object;

  if (JSON_NODE_HOLDS_ARRAY (root))
    return clochectl_mcp_message_fail (error, CLOCHECTL_MCP_ERROR_INVALID_REQUEST,
                                       "Invalid Request: JSON-RPC batches are not supported (MCP "
                                       "removed them in revision 2025-06-18); send one message "
                                       "per line");
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return clochectl_mcp_message_fail (error, CLOCHECTL_MCP_ERROR_INVALID_REQUEST,
                                       "Invalid Request: a message must be a JSON object");
  object = json_node_get_object (root);
  /* The id first: an error about the rest is answered with it. */
  if (!clochectl_mcp_message_read_id (object, &message->id, error))
    return FALSE;
  if (g_strcmp0 (cloche_json_get_string (object, "jsonrpc", NULL), "2.0") != 0)
    return clochectl_mcp_message_fail (error, CLOCHECTL_MCP_ERROR_INVALID_REQUEST,
                                       "Invalid Request: \"jsonrpc\" must be \"2.0\"");
  if (json_object_has_member (object, "method"))
    return clochectl_mcp_message_read_request (object, message, error);
  return clochectl_mcp_message_read_response (object, message, error);
}

/**
 * clochectl_mcp_message_parse:
 * @error_id: (out) (transfer full) (nullable): on failure, the id to
 *   answer with when the message had a valid one, else %NULL (answer with
 *   a null id)
 *
 * Returns: %TRUE with @message filled (clear it), or %FALSE with an error
 *   in CLOCHECTL_MCP_ERROR whose code is the JSON-RPC error code.
 */
gboolean
clochectl_mcp_message_parse (const char          *data,
                             gsize                length,
                             ClochectlMcpMessage *message,
                             JsonNode           **error_id,
                             GError             **error)
{
  memset (message, 0, sizeof *message);
  *error_id = NULL;
  message->root = clochectl_mcp_message_parse_json (data, length, error);
  if (message->root == NULL)
    return FALSE;
  if (clochectl_mcp_message_read_object (message->root, message, error))
    return TRUE;
  if (message->id != NULL)
    *error_id = json_node_copy (message->id);
  clochectl_mcp_message_clear (message);
  return FALSE;
}

static char *
clochectl_mcp_message_line_of (JsonObject *object)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_node_set_object (root, object);
  json_generator_set_root (generator, root);
  /* Not pretty: a string's newlines are escaped, so the line holds none. */
  return json_generator_to_data (generator, NULL);
}

static JsonObject *
clochectl_mcp_message_envelope (JsonNode *id)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "jsonrpc", "2.0");
  if (id != NULL)
    json_object_set_member (object, "id", json_node_copy (id));
  else
    json_object_set_null_member (object, "id");
  return object;
}

char *
clochectl_mcp_result_line (JsonNode   *id,
                           JsonObject *result)
{
  g_autoptr(JsonObject) object = clochectl_mcp_message_envelope (id);

  json_object_set_object_member (object, "result", json_object_ref (result));
  return clochectl_mcp_message_line_of (object);
}

/**
 * clochectl_mcp_error_line:
 * @id: (nullable): the request's id; %NULL answers with a null id
 */
char *
clochectl_mcp_error_line (JsonNode   *id,
                          int         code,
                          const char *message)
{
  g_autoptr(JsonObject) object = clochectl_mcp_message_envelope (id);
  JsonObject *error = json_object_new ();

  json_object_set_int_member (error, "code", code);
  json_object_set_string_member (error, "message", message);
  json_object_set_object_member (object, "error", error);
  return clochectl_mcp_message_line_of (object);
}

char *
clochectl_mcp_notification_line (const char *method,
                                 JsonObject *params)
{
  g_autoptr(JsonObject) object = json_object_new ();

  json_object_set_string_member (object, "jsonrpc", "2.0");
  json_object_set_string_member (object, "method", method);
  if (params != NULL)
    json_object_set_object_member (object, "params", json_object_ref (params));
  return clochectl_mcp_message_line_of (object);
}
