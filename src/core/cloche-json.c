/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "cloche-error.h"
#include "cloche-json.h"

#define QUOTE_MAX 200

/**
 * cloche_json_quote:
 *
 * Returns: @text escaped and cut to a length that fits an error message, so
 *   the user reads what the other side actually said.
 */
char *
cloche_json_quote (const char *text)
{
  g_autofree char *cut = NULL;
  g_autofree char *escaped = NULL;
  gboolean long_text = strlen (text) > QUOTE_MAX;

  cut = g_utf8_make_valid (text, long_text ? QUOTE_MAX : -1);
  escaped = g_strescape (cut, NULL);
  return g_strdup_printf ("\"%s\"%s", escaped, long_text ? "…" : "");
}

/**
 * cloche_json_parse_line:
 * @line: one line as read from the peer
 * @peer: who sent it, for the message ("the guest agent")
 * @error_code: the #ClocheError code to fail with
 *
 * Returns: (transfer full): the object on the line, or %NULL with an error
 *   that quotes the line — "invalid JSON" alone names no one.
 */
JsonObject *
cloche_json_parse_line (const char  *line,
                        const char  *peer,
                        int          error_code,
                        GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *quoted = NULL;
  JsonNode *root;

  if (json_parser_load_from_data (parser, line, -1, &local_error))
    {
      root = json_parser_get_root (parser);
      if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
        return json_object_ref (json_node_get_object (root));
    }

  quoted = cloche_json_quote (line);
  if (local_error != NULL)
    g_set_error (error, CLOCHE_ERROR, error_code,
                 "%s sent a line that is not JSON: %s (%s)",
                 peer, quoted, local_error->message);
  else
    g_set_error (error, CLOCHE_ERROR, error_code,
                 "%s sent JSON that is not an object: %s", peer, quoted);
  return NULL;
}

/**
 * cloche_json_command_new:
 * @arguments: (nullable) (transfer none)
 *
 * Returns: (transfer full): {"execute": command, "arguments": arguments}
 */
JsonNode *
cloche_json_command_new (const char *command,
                         JsonObject *arguments)
{
  g_autoptr(JsonObject) object = json_object_new ();
  JsonNode *node;

  json_object_set_string_member (object, "execute", command);
  if (arguments != NULL)
    json_object_set_object_member (object, "arguments", json_object_ref (arguments));
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, object);
  return node;
}
