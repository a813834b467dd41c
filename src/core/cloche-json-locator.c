/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Where things are in a JSON text. json-glib builds a tree without
 * positions and reports a syntax error at the token before the one that is
 * wrong ("{"a": 1 "b": 2}" is blamed on the 1), so a message that must point
 * at line and column in a user's file needs its own scanner: this one. It
 * reads strict JSON (RFC 8259) as bytes, never past @length, never deeper
 * than CLOCHE_JSON_MAX_DEPTH, and keeps no state between calls, so that a
 * fuzzer can be pointed at both functions as they are.
 *
 * A key path is the members' names joined by "." with array indices in
 * brackets: "egress.allow[2]". The root is "".
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cloche-json-locator.h"

#define END_OF_TEXT (-1)

typedef struct
{
  const char        *text;
  gsize              length;
  gsize              pos;
  ClocheJsonPosition here;
  guint              depth;
  GString           *path;
  ClocheJsonPosition member_key;   /* the key of the value about to be read */

  const char        *target;       /* cloche_json_locate()'s path, or NULL */
  gboolean           found;
  ClocheJsonPosition found_key;
  ClocheJsonPosition found_value;

  char              *error;        /* the first syntax error, or NULL */
  char              *error_path;
  ClocheJsonPosition error_where;
} Scanner;

static void
cloche_json_scanner_init (Scanner    *s,
                          const char *text,
                          gsize       length)
{
  memset (s, 0, sizeof *s);
  s->text = text;
  s->length = text != NULL ? length : 0;
  s->here = (ClocheJsonPosition) { 1, 1 };
  s->path = g_string_new (NULL);
  /* A byte order mark is no character of the document. */
  if (s->length >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    s->pos = 3;
}

static void
cloche_json_scanner_clear (Scanner *s)
{
  g_string_free (s->path, TRUE);
  g_free (s->error);
  g_free (s->error_path);
}

static int
cloche_json_peek (Scanner *s)
{
  return s->pos < s->length ? (guchar) s->text[s->pos] : END_OF_TEXT;
}

/* The column counts characters: a continuation byte of UTF-8 moves it not. */
static void
cloche_json_advance (Scanner *s)
{
  guchar c;

  if (s->pos >= s->length)
    return;
  c = (guchar) s->text[s->pos++];
  if (c == '\n')
    s->here = (ClocheJsonPosition) { s->here.line + 1, 1 };
  else if ((c & 0xc0) != 0x80)
    s->here.column++;
}

static void
cloche_json_advance_char (Scanner *s)
{
  cloche_json_advance (s);
  while (s->pos < s->length && ((guchar) s->text[s->pos] & 0xc0) == 0x80)
    cloche_json_advance (s);
}

/* What was found instead, for a message: “x”, or a word for the rest. */
static char *
cloche_json_describe_here (Scanner *s)
{
  int c = cloche_json_peek (s);

  if (c == END_OF_TEXT)
    return g_strdup ("the end of the file");
  if (c == '\n' || c == '\r')
    return g_strdup ("the end of the line");
  if (c >= 0x20 && c < 0x7f)
    return g_strdup_printf ("“%c”", c);
  if (c < 0x20 || c == 0x7f)
    return g_strdup_printf ("the control character 0x%02x", c);
  {
    gunichar u = g_utf8_get_char_validated (s->text + s->pos, s->length - s->pos);
    char buffer[8] = { 0 };

    if (u == (gunichar) -1 || u == (gunichar) -2)
      return g_strdup_printf ("the byte 0x%02x, which is not UTF-8", c);
    g_unichar_to_utf8 (u, buffer);
    return g_strdup_printf ("“%s”", buffer);
  }
}

static gboolean G_GNUC_PRINTF (2, 3)
cloche_json_fail (Scanner    *s,
                  const char *format,
                  ...)
{
  va_list args;

  if (s->error != NULL)
    return FALSE;
  va_start (args, format);
  s->error = g_strdup_vprintf (format, args);
  va_end (args);
  s->error_path = g_strdup (s->path->str);
  s->error_where = s->here;
  return FALSE;
}

static gboolean
cloche_json_fail_expected (Scanner    *s,
                           const char *expected)
{
  g_autofree char *found = cloche_json_describe_here (s);

  return cloche_json_fail (s, "expected %s, found %s", expected, found);
}

static void
cloche_json_skip_space (Scanner *s)
{
  for (int c = cloche_json_peek (s); c == ' ' || c == '\t' || c == '\n'
       || c == '\r'; c = cloche_json_peek (s))
    cloche_json_advance (s);
}

static int
cloche_json_hex_value (int c)
{
  return g_ascii_isxdigit (c) ? g_ascii_xdigit_value ((char) c) : -1;
}

static gboolean
cloche_json_read_hex4 (Scanner  *s,
                       gunichar *u)
{
  *u = 0;
  for (int i = 0; i < 4; i++)
    {
      int digit = cloche_json_hex_value (cloche_json_peek (s));

      if (digit < 0)
        return cloche_json_fail_expected (s, "four hexadecimal digits after “\\u”");
      *u = *u * 16 + (gunichar) digit;
      cloche_json_advance (s);
    }
  return TRUE;
}

/* A UTF-16 surrogate must come as a pair, high then low: json-glib leaks
 * the string of a high one followed by another escape ("\ud800\ud800",
 * tests/fuzz/bundle-manifest) and passes a lone one on as bytes that are
 * not UTF-8. */
static gboolean
cloche_json_read_unicode_escape (Scanner *s,
                                 GString *out)
{
  ClocheJsonPosition start = s->here;
  gunichar u, low = 0;

  if (!cloche_json_read_hex4 (s, &u))
    return FALSE;
  if (u >= 0xd800 && u <= 0xdbff && cloche_json_peek (s) == '\\' && s->pos + 1 < s->length
      && s->text[s->pos + 1] == 'u')
    {
      cloche_json_advance (s);
      cloche_json_advance (s);
      if (!cloche_json_read_hex4 (s, &low))
        return FALSE;
    }
  if ((u >= 0xd800 && u <= 0xdbff && (low < 0xdc00 || low > 0xdfff))
      || (u >= 0xdc00 && u <= 0xdfff))
    {
      s->here = start;
      return cloche_json_fail (s,
                               "an unpaired UTF-16 surrogate \\u%04X: write the character itself, "
                      "or both halves of its pair", u);
    }
  if (low != 0)
    u = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
  if (out != NULL)
    g_string_append_unichar (out, g_unichar_validate (u) ? u : 0xfffd);
  return TRUE;
}

static gboolean
cloche_json_read_escape (Scanner *s,
                         GString *out)
{
  static const char from[] = "\"\\/bfnrt";
  static const char to[] = "\"\\/\b\f\n\r\t";
  int c = cloche_json_peek (s);
  const char *hit = c > 0 ? strchr (from, c) : NULL;

  if (c == 'u')
    {
      cloche_json_advance (s);
      return cloche_json_read_unicode_escape (s, out);
    }
  if (hit == NULL || c == 0)
    return cloche_json_fail_expected (s, "one of “\"\\/bfnrtu” after a backslash");
  if (out != NULL)
    g_string_append_c (out, to[hit - from]);
  cloche_json_advance (s);
  return TRUE;
}

/* A string from its opening quote; its text goes to @out unless NULL. */
static gboolean
cloche_json_read_string (Scanner *s,
                         GString *out)
{
  ClocheJsonPosition start = s->here;

  cloche_json_advance (s);
  for (;;)
    {
      int c = cloche_json_peek (s);

      if (c == '"')
        {
          cloche_json_advance (s);
          return TRUE;
        }
      /* Pointed at where the string starts: its end is not there. */
      if (c == END_OF_TEXT || c == '\n')
        {
          s->here = start;
          return cloche_json_fail (s, "this string has no closing “\"”");
        }
      if (c < 0x20)
        return cloche_json_fail_expected (s,
                                          "a character of a string (write control characters as "
                                          "escapes)");
      if (c == '\\')
        {
          cloche_json_advance (s);
          if (!cloche_json_read_escape (s, out))
            return FALSE;
          continue;
        }
      if (c >= 0x80)
        {
          gunichar u = g_utf8_get_char_validated (s->text + s->pos, s->length - s->pos);

          if (u == (gunichar) -1 || u == (gunichar) -2)
            return cloche_json_fail_expected (s, "text in UTF-8");
          if (out != NULL)
            g_string_append_unichar (out, u);
          cloche_json_advance_char (s);
          continue;
        }
      if (out != NULL)
        g_string_append_c (out, (char) c);
      cloche_json_advance (s);
    }
}

static gboolean
cloche_json_read_digits (Scanner    *s,
                         const char *after)
{
  g_autofree char *expected = g_strdup_printf ("a digit %s", after);

  if (!g_ascii_isdigit (cloche_json_peek (s)))
    return cloche_json_fail_expected (s, expected);
  while (g_ascii_isdigit (cloche_json_peek (s)))
    cloche_json_advance (s);
  return TRUE;
}

static gboolean
cloche_json_read_number_text (Scanner  *s,
                              gboolean *whole)
{
  if (cloche_json_peek (s) == '-')
    cloche_json_advance (s);
  if (cloche_json_peek (s) == '0')
    {
      cloche_json_advance (s);
      if (g_ascii_isdigit (cloche_json_peek (s)))
        return cloche_json_fail (s,
                                 "a number cannot start with 0 (write it without leading zeros)");
    }
  else if (!cloche_json_read_digits (s, "in a number"))
    return FALSE;
  if (cloche_json_peek (s) == '.')
    {
      *whole = FALSE;
      cloche_json_advance (s);
      if (!cloche_json_read_digits (s, "after the decimal point"))
        return FALSE;
    }
  if (cloche_json_peek (s) == 'e' || cloche_json_peek (s) == 'E')
    {
      *whole = FALSE;
      cloche_json_advance (s);
      if (cloche_json_peek (s) == '+' || cloche_json_peek (s) == '-')
        cloche_json_advance (s);
      if (!cloche_json_read_digits (s, "in the exponent"))
        return FALSE;
    }
  return TRUE;
}

/* JSON sets no limit on numbers; json-glib does, and silently: a whole
 * number beyond 64 bits comes out as -1 and one beyond a double as inf, so
 * "99999999999999999999999" would be checked, and reported, as -1. Such a
 * number is refused here, quoted as written. */
static gboolean
cloche_json_check_number_range (Scanner                  *s,
                                gsize                     start,
                                const ClocheJsonPosition *where,
                                gboolean                  whole)
{
  g_autofree char *token = g_strndup (s->text + start, s->pos - start);
  gboolean ok;

  if (whole)
    ok = g_ascii_string_to_signed (token, 10, G_MININT64, G_MAXINT64, NULL, NULL);
  else
    ok = isfinite (g_ascii_strtod (token, NULL));
  if (ok)
    return TRUE;
  s->here = *where;
  return cloche_json_fail (s, whole ? "the number %s is out of range: whole numbers here go from "
                          "-9223372036854775808 to 9223372036854775807"
                        : "the number %s is out of range: it is too large to be read", token);
}

static gboolean
cloche_json_read_number (Scanner *s)
{
  ClocheJsonPosition where = s->here;
  gsize start = s->pos;
  gboolean whole = TRUE;

  if (!cloche_json_read_number_text (s, &whole))
    return FALSE;
  return cloche_json_check_number_range (s, start, &where, whole);
}

static gboolean
cloche_json_read_word (Scanner *s)
{
  static const char * const words[] = { "true", "false", "null" };
  gsize available = s->length - s->pos;

  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    {
      gsize length = strlen (words[i]);

      if (available >= length && memcmp (s->text + s->pos, words[i], length) == 0
          && (available == length || !g_ascii_isalnum (s->text[s->pos + length])))
        {
          for (gsize j = 0; j < length; j++)
            cloche_json_advance (s);
          return TRUE;
        }
    }
  return cloche_json_fail_expected (s, "a value (a string in double quotes, a number, true, false, "
                           "null, an object or an array)");
}

static gboolean cloche_json_read_value (Scanner *s);

static void
cloche_json_note_target (Scanner                  *s,
                         const ClocheJsonPosition *key)
{
  if (s->target == NULL || !g_str_equal (s->path->str, s->target))
    return;
  s->found = TRUE;
  s->found_key = *key;
  s->found_value = s->here;
}

/* RFC 8259 leaves a name given twice to the reader; json-glib keeps the
 * last one. In a file a person edits, the first one is then silently dead
 * (a second "egress" section that drops the first one's rules), so it is
 * an error, pointed at the second. */
static gboolean
cloche_json_check_unique (Scanner                  *s,
                          GHashTable               *seen,
                          const char               *name,
                          const ClocheJsonPosition *key)
{
  ClocheJsonPosition *first = g_hash_table_lookup (seen, name);

  if (first == NULL)
    {
      g_hash_table_insert (seen, g_strdup (name), g_memdup2 (key, sizeof *key));
      return TRUE;
    }
  if (s->path->len > 0)
    g_string_append_c (s->path, '.');
  g_string_append (s->path, name);
  s->here = *key;
  return cloche_json_fail (s,
                           "“%s” is given twice in this object (first at line %u, column %u): keep "
                  "one of them", name, first->line, first->column);
}

static gboolean
cloche_json_read_member (Scanner    *s,
                         GHashTable *seen)
{
  g_autoptr(GString) name = g_string_new (NULL);
  ClocheJsonPosition key = s->here;
  gsize parent_length = s->path->len;
  gboolean ok;

  if (cloche_json_peek (s) == '}')
    return cloche_json_fail (s, "a comma before “}”: JSON allows none after the last member");
  if (cloche_json_peek (s) != '"')
    return cloche_json_fail_expected (s, "a member name in double quotes");
  if (!cloche_json_read_string (s, name))
    return FALSE;
  cloche_json_skip_space (s);
  if (cloche_json_peek (s) != ':')
    {
      g_autofree char *found = cloche_json_describe_here (s);

      return cloche_json_fail (s, "expected “:” after the name “%s”, found %s", name->str, found);
    }
  if (!cloche_json_check_unique (s, seen, name->str, &key))
    return FALSE;
  cloche_json_advance (s);
  if (parent_length > 0)
    g_string_append_c (s->path, '.');
  g_string_append (s->path, name->str);
  s->member_key = key;
  ok = cloche_json_read_value (s);
  if (ok)
    {
      cloche_json_skip_space (s);
      if (cloche_json_peek (s) != ',' && cloche_json_peek (s) != '}')
        ok = cloche_json_fail_expected (s, "“,” or “}” after this member");
    }
  if (ok)
    g_string_truncate (s->path, parent_length);
  return ok;
}

static gboolean
cloche_json_read_object (Scanner *s)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  cloche_json_advance (s);
  cloche_json_skip_space (s);
  if (cloche_json_peek (s) == '}')
    {
      cloche_json_advance (s);
      return TRUE;
    }
  for (;;)
    {
      cloche_json_skip_space (s);
      if (!cloche_json_read_member (s, seen))
        return FALSE;
      if (cloche_json_peek (s) == '}')
        {
          cloche_json_advance (s);
          return TRUE;
        }
      cloche_json_advance (s);
    }
}

static gboolean
cloche_json_read_array (Scanner *s)
{
  gsize parent_length = s->path->len;

  cloche_json_advance (s);
  cloche_json_skip_space (s);
  if (cloche_json_peek (s) == ']')
    {
      cloche_json_advance (s);
      return TRUE;
    }
  for (guint index = 0;; index++)
    {
      cloche_json_skip_space (s);
      if (cloche_json_peek (s) == ']' && index > 0)
        return cloche_json_fail (s, "a comma before “]”: JSON allows none after the last element");
      g_string_append_printf (s->path, "[%u]", index);
      s->member_key = s->here;
      if (!cloche_json_read_value (s))
        return FALSE;
      cloche_json_skip_space (s);
      if (cloche_json_peek (s) != ',' && cloche_json_peek (s) != ']')
        return cloche_json_fail_expected (s, "“,” or “]” after this element");
      g_string_truncate (s->path, parent_length);
      if (cloche_json_peek (s) == ']')
        {
          cloche_json_advance (s);
          return TRUE;
        }
      cloche_json_advance (s);
    }
}

static gboolean
cloche_json_read_nested (Scanner *s,
                         gboolean object)
{
  gboolean ok;

  if (s->depth >= CLOCHE_JSON_MAX_DEPTH)
    return cloche_json_fail (s, "nested deeper than %d levels", CLOCHE_JSON_MAX_DEPTH);
  s->depth++;
  ok = object ? cloche_json_read_object (s) : cloche_json_read_array (s);
  s->depth--;
  return ok;
}

static gboolean
cloche_json_read_value (Scanner *s)
{
  ClocheJsonPosition key;
  int c;

  cloche_json_skip_space (s);
  key = s->member_key;
  cloche_json_note_target (s, &key);
  c = cloche_json_peek (s);
  if (c == '{' || c == '[')
    return cloche_json_read_nested (s, c == '{');
  if (c == '"')
    return cloche_json_read_string (s, NULL);
  if (c == '-' || (c != END_OF_TEXT && g_ascii_isdigit (c)))
    return cloche_json_read_number (s);
  if (c == END_OF_TEXT)
    return cloche_json_fail (s, "expected a value, found the end of the file");
  return cloche_json_read_word (s);
}

static gboolean
cloche_json_read_document (Scanner *s)
{
  cloche_json_skip_space (s);
  if (cloche_json_peek (s) == END_OF_TEXT)
    return cloche_json_fail (s, "the file is empty");
  s->member_key = s->here;
  if (!cloche_json_read_value (s))
    return FALSE;
  cloche_json_skip_space (s);
  if (cloche_json_peek (s) != END_OF_TEXT)
    {
      g_autofree char *found = cloche_json_describe_here (s);

      g_string_truncate (s->path, 0);
      return cloche_json_fail (s, "expected the end of the file after the document, found %s",
                               found);
    }
  return TRUE;
}

/**
 * cloche_json_check_syntax:
 * @text: (array length=length): the document's bytes, not necessarily
 *   NUL-terminated
 * @where: (out) (optional): the line and column of the first error
 * @path: (out) (optional) (transfer full): the key path being read there
 * @message: (out) (optional) (transfer full): what is wrong, such as
 *   "expected “,” or “}” after this member, found “"”"
 *
 * Returns: whether @text is one strict JSON document
 */
gboolean
cloche_json_check_syntax (const char          *text,
                          gsize                length,
                          ClocheJsonPosition  *where,
                          char               **path,
                          char               **message)
{
  Scanner s;
  gboolean ok;

  cloche_json_scanner_init (&s, text, length);
  ok = cloche_json_read_document (&s);
  if (!ok && where != NULL)
    *where = s.error_where;
  if (!ok && path != NULL)
    *path = g_steal_pointer (&s.error_path);
  if (!ok && message != NULL)
    *message = g_steal_pointer (&s.error);
  cloche_json_scanner_clear (&s);
  return ok;
}

/**
 * cloche_json_locate:
 * @path: a key path, such as "egress.allow[2]"; "" is the root
 * @key: (out) (optional): where the member's name starts (for an array
 *   element or the root: where the value starts)
 * @value: (out) (optional): where its value starts
 *
 * Finds a value by its key path. The text before a syntax error is
 * searched too (a name given twice is one: the first is found).
 *
 * Returns: whether @path was found
 */
gboolean
cloche_json_locate (const char          *text,
                    gsize                length,
                    const char          *path,
                    ClocheJsonPosition  *key,
                    ClocheJsonPosition  *value)
{
  Scanner s;
  gboolean found;

  g_return_val_if_fail (path != NULL, FALSE);

  cloche_json_scanner_init (&s, text, length);
  s.target = path;
  cloche_json_read_document (&s);
  found = s.found;
  if (found && key != NULL)
    *key = s.found_key;
  if (found && value != NULL)
    *value = s.found_value;
  cloche_json_scanner_clear (&s);
  return found;
}
