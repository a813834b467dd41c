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
/* The code unit of the \uXXXX escape at @p, or -1 when it is not one. */
static int
escaped_unit (const char *p)
{
  int unit = 0;

  if (p[0] != '\\' || p[1] != 'u')
    return -1;
  for (guint i = 2; i < 6; i++)
    {
      if (!g_ascii_isxdigit (p[i]))
        return -1;
      unit = unit * 16 + g_ascii_xdigit_value (p[i]);
    }
  return unit;
}

/* Steps over the escape at @p (a backslash in a string). A surrogate must
 * come in a high-low pair: json-glib 1.6 leaks memory on a high one followed
 * by another escape, and passes a lone one on as invalid UTF-8. */
static gboolean
skip_escape (const char **p)
{
  int unit = escaped_unit (*p);

  if (unit >= 0xD800 && unit <= 0xDBFF)
    {
      int low = escaped_unit (*p + 6);

      if (low < 0xDC00 || low > 0xDFFF)
        return FALSE;
      *p += 11;
      return TRUE;
    }
  if (unit >= 0xDC00 && unit <= 0xDFFF)
    return FALSE;
  if ((*p)[1] != '\0')
    (*p)++;
  return TRUE;
}

/* Returns why json-glib must not read @line, or %NULL. Besides the escapes
 * above: it reads `{…} {…}` as two statements, keeps the last and leaks the
 * others, so a peer repeating that would grow our memory without bound.
 * Only strings and nesting are tracked; the parser judges everything else. */
static const char *
check_line (const char *line)
{
  gboolean in_string = FALSE;
  gboolean seen_value = FALSE;
  guint depth = 0;

  for (const char *p = line; *p != '\0'; p++)
    {
      if (in_string)
        {
          if (*p == '\\' && !skip_escape (&p))
            return "an unpaired UTF-16 surrogate";
          else if (*p == '"')
            in_string = FALSE;
          continue;
        }
      if (depth == 0 && !g_ascii_isspace (*p) && *p != '}' && *p != ']')
        {
          if (seen_value && (*p == '{' || *p == '['))
            return "more than one JSON value";
          seen_value = TRUE;
        }
      if (*p == '"')
        in_string = TRUE;
      else if (*p == '{' || *p == '[')
        depth++;
      else if ((*p == '}' || *p == ']') && depth > 0)
        depth--;
    }
  return NULL;
}

JsonObject *
cloche_json_parse_line (const char  *line,
                        const char  *peer,
                        int          error_code,
                        GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *quoted = NULL;
  const char *unsafe;
  JsonNode *root;

  if ((unsafe = check_line (line)) != NULL)
    {
      quoted = cloche_json_quote (line);
      g_set_error (error, CLOCHE_ERROR, error_code,
                   "%s sent a line with %s: %s", peer, unsafe, quoted);
      return NULL;
    }

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

/* Typed readers for what a peer sent. json-glib's own getters log a critical
 * when a member holds another type than asked for: the peer's mistake would
 * read as ours, and abort under G_DEBUG=fatal-criticals. */

static JsonNode *
get_value (JsonObject *object,
           const char *member,
           GType       type)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != type)
    return NULL;
  return node;
}

/**
 * cloche_json_get_object:
 *
 * Returns: (transfer none) (nullable): @member if it holds an object
 */
JsonObject *
cloche_json_get_object (JsonObject *object,
                        const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

const char *
cloche_json_get_string (JsonObject *object,
                        const char *member,
                        const char *default_value)
{
  JsonNode *node = get_value (object, member, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : default_value;
}

gint64
cloche_json_get_int (JsonObject *object,
                     const char *member,
                     gint64      default_value)
{
  JsonNode *node = get_value (object, member, G_TYPE_INT64);

  return node != NULL ? json_node_get_int (node) : default_value;
}

gboolean
cloche_json_get_boolean (JsonObject *object,
                         const char *member,
                         gboolean    default_value)
{
  JsonNode *node = get_value (object, member, G_TYPE_BOOLEAN);

  return node != NULL ? json_node_get_boolean (node) : default_value;
}
