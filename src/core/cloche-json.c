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

/* What a peer sends is checked against the JSON grammar (RFC 8259) before
 * json-glib reads it. json-glib 1.6 is lenient — comments, single quotes,
 * several values in a row, short \u escapes — and pays for it: it leaks all
 * but the last of several values and the string of a broken surrogate pair,
 * passes a lone surrogate on as invalid UTF-8, and recurses once per level
 * of nesting, so a line of 100,000 '[' overflows the stack. */
#define MAX_DEPTH 64

typedef struct
{
  const char *p;
  guint       depth;
  const char *problem;  /* what was wrong, when more is known than where */
} Checker;

static gboolean cloche_json_check_value (Checker *c);

static void
cloche_json_skip_space (Checker *c)
{
  while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
    c->p++;
}

/* Never steps over the end of the line. */
static gboolean
cloche_json_skip_char (Checker *c,
                       char     expected)
{
  if (*c->p != expected)
    return FALSE;
  c->p++;
  return TRUE;
}

static int
cloche_json_hex4 (const char *p)
{
  int value = 0;

  for (guint i = 0; i < 4; i++)
    {
      if (!g_ascii_isxdigit (p[i]))
        return -1;
      value = value * 16 + g_ascii_xdigit_value (p[i]);
    }
  return value;
}

/* A surrogate escape must be a high one followed by a low one. */
static gboolean
cloche_json_check_unicode_escape (Checker *c)
{
  int unit = cloche_json_hex4 (c->p + 2);
  int low;

  if (unit < 0)
    return FALSE;
  c->p += 6;
  if (unit < 0xD800 || unit > 0xDFFF)
    return TRUE;
  c->problem = "an unpaired UTF-16 surrogate";
  if (unit > 0xDBFF || c->p[0] != '\\' || c->p[1] != 'u')
    return FALSE;
  low = cloche_json_hex4 (c->p + 2);
  if (low < 0xDC00 || low > 0xDFFF)
    return FALSE;
  c->problem = NULL;
  c->p += 6;
  return TRUE;
}

static gboolean
cloche_json_check_string (Checker *c)
{
  for (c->p++; *c->p != '"'; )
    {
      if ((guchar) *c->p < 0x20)
        return FALSE;
      if (*c->p != '\\')
        c->p++;
      else if (c->p[1] == 'u')
        {
          if (!cloche_json_check_unicode_escape (c))
            return FALSE;
        }
      else if (c->p[1] != '\0' && strchr ("\"\\/bfnrt", c->p[1]) != NULL)
        c->p += 2;
      else
        return FALSE;
    }
  c->p++;
  return TRUE;
}

static gboolean
cloche_json_skip_digits (Checker *c)
{
  const char *start = c->p;

  while (g_ascii_isdigit (*c->p))
    c->p++;
  return c->p > start;
}

static gboolean
cloche_json_check_number (Checker *c)
{
  if (*c->p == '-')
    c->p++;
  if (*c->p == '0')
    c->p++;
  else if (!cloche_json_skip_digits (c))
    return FALSE;
  if (*c->p == '.')
    {
      c->p++;
      if (!cloche_json_skip_digits (c))
        return FALSE;
    }
  if (*c->p == 'e' || *c->p == 'E')
    {
      c->p++;
      if (*c->p == '+' || *c->p == '-')
        c->p++;
      if (!cloche_json_skip_digits (c))
        return FALSE;
    }
  return TRUE;
}

/* The members of an object (@keyed) or the elements of an array. */
static gboolean
cloche_json_check_members (Checker *c,
                           char     close,
                           gboolean keyed)
{
  c->p++;
  cloche_json_skip_space (c);
  if (cloche_json_skip_char (c, close))
    return TRUE;
  for (;;)
    {
      cloche_json_skip_space (c);
      if (keyed && (*c->p != '"' || !cloche_json_check_string (c)))
        return FALSE;
      cloche_json_skip_space (c);
      if (keyed && !cloche_json_skip_char (c, ':'))
        return FALSE;
      if (!cloche_json_check_value (c))
        return FALSE;
      if (cloche_json_skip_char (c, close))
        return TRUE;
      if (!cloche_json_skip_char (c, ','))
        return FALSE;
    }
}

static gboolean
cloche_json_check_nested (Checker *c,
                          char     close,
                          gboolean keyed)
{
  gboolean ok;

  if (++c->depth > MAX_DEPTH)
    {
      c->problem = "nesting deeper than " G_STRINGIFY (MAX_DEPTH) " levels";
      return FALSE;
    }
  ok = cloche_json_check_members (c, close, keyed);
  c->depth--;
  return ok;
}

static gboolean
cloche_json_check_literal (Checker    *c,
                           const char *word)
{
  gsize length = strlen (word);

  if (strncmp (c->p, word, length) != 0)
    return FALSE;
  c->p += length;
  return TRUE;
}

static gboolean
cloche_json_check_value (Checker *c)
{
  gboolean ok;

  cloche_json_skip_space (c);
  switch (*c->p)
    {
    case '{': ok = cloche_json_check_nested (c, '}', TRUE); break;
    case '[': ok = cloche_json_check_nested (c, ']', FALSE); break;
    case '"': ok = cloche_json_check_string (c); break;
    case 't': ok = cloche_json_check_literal (c, "true"); break;
    case 'f': ok = cloche_json_check_literal (c, "false"); break;
    case 'n': ok = cloche_json_check_literal (c, "null"); break;
    default: ok = cloche_json_check_number (c); break;
    }
  cloche_json_skip_space (c);
  return ok;
}

/**
 * cloche_json_check:
 * @text: NUL-terminated
 * @offset: (out) (optional): the byte where the problem was found
 *
 * The one check of JSON from outside (a peer's line, a file) before
 * json-glib reads it: the grammar, surrogate pairs, and nesting at most
 * 64 deep (json-glib itself refuses bytes that are not UTF-8).
 *
 * Returns: (nullable): %NULL when @text is one JSON value, else what is
 *   wrong with it (a static string)
 */
const char *
cloche_json_check (const char *text,
                   gsize      *offset)
{
  Checker c = { text, 0, NULL };

  if (cloche_json_check_value (&c))
    {
      if (*c.p == '\0')
        return NULL;
      c.problem = *c.p == '{' || *c.p == '[' ? "more than one JSON value"
                                             : "text after the JSON value";
    }
  if (offset != NULL)
    *offset = c.p - text;
  return c.problem != NULL ? c.problem : "invalid JSON";
}

/* Returns %NULL when @line is one JSON value, or what is wrong with it. */
static char *
cloche_json_check_line (const char *line)
{
  gsize offset = 0;
  const char *problem = cloche_json_check (line, &offset);

  if (problem == NULL)
    return NULL;
  return g_strdup_printf ("%s at byte %" G_GSIZE_FORMAT, problem, offset);
}

/**
 * cloche_json_parse_value:
 * @line: one line as read from the peer
 * @peer: who sent it, for the message ("the guest agent")
 * @error_code: the #ClocheError code to fail with
 *
 * Returns: (transfer full): the JSON value on the line (of any type), or
 *   %NULL with an error that quotes the line — "invalid JSON" alone names
 *   no one.
 */
JsonNode *
cloche_json_parse_value (const char  *line,
                         const char  *peer,
                         int          error_code,
                         GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *quoted = NULL;
  g_autofree char *problem = NULL;
  JsonNode *root;

  if ((problem = cloche_json_check_line (line)) != NULL)
    {
      quoted = cloche_json_quote (line);
      g_set_error (error, CLOCHE_ERROR, error_code,
                   "%s sent a line that is not JSON: %s (%s)", peer, quoted, problem);
      return NULL;
    }

  if (json_parser_load_from_data (parser, line, -1, &local_error)
      && (root = json_parser_get_root (parser)) != NULL)
    return json_node_copy (root);

  quoted = cloche_json_quote (line);
  g_set_error (error, CLOCHE_ERROR, error_code,
               "%s sent a line that is not JSON: %s (%s)",
               peer, quoted, local_error != NULL ? local_error->message : "empty");
  return NULL;
}

/**
 * cloche_json_parse_line:
 *
 * As cloche_json_parse_value(), for peers whose every line is an object.
 *
 * Returns: (transfer full): the object on the line, or %NULL with an error
 */
JsonObject *
cloche_json_parse_line (const char  *line,
                        const char  *peer,
                        int          error_code,
                        GError     **error)
{
  g_autoptr(JsonNode) root = cloche_json_parse_value (line, peer, error_code, error);
  g_autofree char *quoted = NULL;

  if (root == NULL)
    return NULL;
  if (JSON_NODE_HOLDS_OBJECT (root))
    return json_object_ref (json_node_get_object (root));

  quoted = cloche_json_quote (line);
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
cloche_json_get_value (JsonObject *object,
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
  JsonNode *node = cloche_json_get_value (object, member, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : default_value;
}

gint64
cloche_json_get_int (JsonObject *object,
                     const char *member,
                     gint64      default_value)
{
  JsonNode *node = cloche_json_get_value (object, member, G_TYPE_INT64);

  return node != NULL ? json_node_get_int (node) : default_value;
}

gboolean
cloche_json_get_boolean (JsonObject *object,
                         const char *member,
                         gboolean    default_value)
{
  JsonNode *node = cloche_json_get_value (object, member, G_TYPE_BOOLEAN);

  return node != NULL ? json_node_get_boolean (node) : default_value;
}
