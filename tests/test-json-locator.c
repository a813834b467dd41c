/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "cloche-json-locator.h"

static void assert_syntax_error (const char *text,
                                 guint       line,
                                 guint       column,
                                 const char *path,
                                 const char *message);

static void
assert_at (const char *text,
           const char *path,
           guint       key_line,
           guint       key_column,
           guint       value_line,
           guint       value_column)
{
  ClocheJsonPosition key = { 0, 0 }, value = { 0, 0 };

  g_assert_true (cloche_json_locate (text, strlen (text), path, &key, &value));
  g_assert_cmpuint (key.line, ==, key_line);
  g_assert_cmpuint (key.column, ==, key_column);
  g_assert_cmpuint (value.line, ==, value_line);
  g_assert_cmpuint (value.column, ==, value_column);
}

static void
test_locate (void)
{
  const char *text = "{\n"
                     "  \"version\": 1,\n"
                     "  \"egress\": {\n"
                     "    \"allow\": [\"a.org\", \"b.org\",\n"
                     "              \"c.org\"]\n"
                     "  },\n"
                     "  \"a\\u00e9\": { \"x\": [[1], {\"y\": null}] }\n"
                     "}\n";

  assert_at (text, "", 1, 1, 1, 1);
  assert_at (text, "version", 2, 3, 2, 14);
  assert_at (text, "egress", 3, 3, 3, 13);
  assert_at (text, "egress.allow", 4, 5, 4, 14);
  assert_at (text, "egress.allow[0]", 4, 15, 4, 15);
  assert_at (text, "egress.allow[2]", 5, 15, 5, 15);
  /* An escaped name is found by what it means. */
  assert_at (text, "aé.x[1].y", 7, 28, 7, 33);
  assert_at (text, "aé.x[0][0]", 7, 23, 7, 23);
  g_assert_false (cloche_json_locate (text, strlen (text), "egress.allow[3]", NULL, NULL));
  g_assert_false (cloche_json_locate (text, strlen (text), "egress.deny", NULL, NULL));
  g_assert_false (cloche_json_locate (text, strlen (text), "egress.allow.0", NULL, NULL));
}

/* json-glib keeps the last of two members with one name, so the first is
 * silently dead in a file someone edits: a name given twice is an error at
 * the second, which says where the first is. Locating stops there. */
static void
test_duplicate_names (void)
{
  const char *text = "{\"a\": 1,\n \"a\": 2}";
  const char *nested = "{\"s\": {\"x\": 1, \"y\": [{\"x\": 1}, {\"x\": 2}], \"x\": 3}}";

  assert_syntax_error (text, 2, 2, "a",
                       "“a” is given twice in this object (first at line 1, column 2): keep "
                       "one of them");
  assert_at (text, "a", 1, 2, 1, 7);
  /* One name in different objects is no repetition. */
  assert_syntax_error (nested, 1, 43, "s.x",
                       "“x” is given twice in this object (first at line 1, column 8): keep "
                       "one of them");
}

/* json-glib reads a whole number past 64 bits as -1 and a larger double as
 * inf, silently: the scanner refuses them, quoting what was written. */
static void
test_number_range (void)
{
  const char *fits = "[9223372036854775807, -9223372036854775808, 1e308, 1e-400]";

  g_assert_true (cloche_json_check_syntax (fits, strlen (fits), NULL, NULL, NULL));
  assert_syntax_error ("{\"n\": 9223372036854775808}", 1, 7, "n",
                       "the number 9223372036854775808 is out of range: whole numbers here go "
                       "from -9223372036854775808 to 9223372036854775807");
  assert_syntax_error ("[1, -99999999999999999999999]", 1, 5, "[1]",
                       "the number -99999999999999999999999 is out of range: whole numbers here "
                       "go from -9223372036854775808 to 9223372036854775807");
  assert_syntax_error ("{\"n\": -1.5e999}", 1, 7, "n",
                       "the number -1.5e999 is out of range: it is too large to be read");
}

/* Surrogates come in pairs: json-glib leaks the string of a high one
 * followed by another escape and passes a lone one on as bytes that are
 * not UTF-8 (tests/fuzz/bundle-manifest found the leak). */
static void
test_surrogates (void)
{
  const char *pair = "{\"a\": \"\\ud83d\\ude00\", \"\\ud83d\\ude00\": 1}";

  g_assert_true (cloche_json_check_syntax (pair, strlen (pair), NULL, NULL, NULL));
  assert_at (pair, "\xf0\x9f\x98\x80", 1, 23, 1, 39);
  assert_syntax_error ("\"\\ud800\\ud800\"", 1, 4, "",
                       "an unpaired UTF-16 surrogate \\uD800: write the character itself, or "
                       "both halves of its pair");
  assert_syntax_error ("{\"a\": \"\\ud800\\u0041\"}", 1, 10, "a",
                       "an unpaired UTF-16 surrogate \\uD800: write the character itself, or "
                       "both halves of its pair");
  assert_syntax_error ("{\"a\": \"x\\ud800\"}", 1, 11, "a",
                       "an unpaired UTF-16 surrogate \\uD800: write the character itself, or "
                       "both halves of its pair");
  assert_syntax_error ("[\"\\udc00\"]", 1, 5, "[0]",
                       "an unpaired UTF-16 surrogate \\uDC00: write the character itself, or "
                       "both halves of its pair");
}

static void
test_length_is_respected (void)
{
  const char *text = "{\"a\": 1}{\"b\": 2}";

  g_assert_true (cloche_json_check_syntax (text, 8, NULL, NULL, NULL));
  g_assert_false (cloche_json_locate (text, 8, "b", NULL, NULL));
  g_assert_false (cloche_json_check_syntax (text, 5, NULL, NULL, NULL));
  g_assert_false (cloche_json_check_syntax (NULL, 0, NULL, NULL, NULL));
}

static void
assert_syntax_error (const char *text,
                     guint       line,
                     guint       column,
                     const char *path,
                     const char *message)
{
  ClocheJsonPosition where = { 0, 0 };
  g_autofree char *error_path = NULL;
  g_autofree char *error_message = NULL;

  g_assert_false (cloche_json_check_syntax (text, strlen (text), &where, &error_path,
                                            &error_message));
  g_assert_cmpstr (error_message, ==, message);
  g_assert_cmpstr (error_path, ==, path);
  g_assert_cmpuint (where.line, ==, line);
  g_assert_cmpuint (where.column, ==, column);
}

static void
test_syntax (void)
{
  const char *valid = "\xef\xbb\xbf {\"a\": [1.5e-3, -0, true, \"\\u00e9\\n\"]}\n";

  g_assert_true (cloche_json_check_syntax (valid, strlen (valid), NULL, NULL, NULL));
  assert_syntax_error ("{\"a\" 1}", 1, 6, "", "expected “:” after the name “a”, found “1”");
  assert_syntax_error ("{\"a\": [1 2]}", 1, 10, "a[0]", "expected “,” or “]” after this element, found “2”");
  assert_syntax_error ("{\"a\": 1.}", 1, 9, "a", "expected a digit after the decimal point, found “}”");
  assert_syntax_error ("{\"a\": \"\\q\"}", 1, 9, "a",
                       "expected one of “\"\\/bfnrtu” after a backslash, found “q”");
  assert_syntax_error ("{\"a\": \"\\u12g4\"}", 1, 12, "a",
                       "expected four hexadecimal digits after “\\u”, found “g”");
  assert_syntax_error ("{\"a\": \"x\ty\"}", 1, 9, "a",
                       "expected a character of a string (write control characters as escapes), "
                       "found the control character 0x09");
  assert_syntax_error ("{a: 1}", 1, 2, "", "expected a member name in double quotes, found “a”");
  assert_syntax_error ("{\"a\": truex}", 1, 7, "a",
                       "expected a value (a string in double quotes, a number, true, false, "
                       "null, an object or an array), found “t”");
  assert_syntax_error ("{\"a\":", 1, 6, "a", "expected a value, found the end of the file");
  assert_syntax_error ("  \n\t ", 2, 3, "", "the file is empty");
}

/* Whatever the bytes, the scanner ends, within the text: a libFuzzer
 * harness can call these two as they are; this is its poor cousin. */
static void
test_garbage (void)
{
  static const char alphabet[] = "{}[],:\"\\ \n\tu0123456789-+.eEtrufalsn\x80\xc3\xa9\xff";
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);

  for (guint round = 0; round < 20000; round++)
    {
      guint length = g_rand_int_range (rand, 0, 48);
      g_autofree char *text = g_malloc (length + 1);
      g_autofree char *path = NULL;
      g_autofree char *message = NULL;
      ClocheJsonPosition where;

      for (guint i = 0; i < length; i++)
        text[i] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
      /* No terminator where the scanner could find one by mistake. */
      text[length] = '{';
      if (!cloche_json_check_syntax (text, length, &where, &path, &message))
        {
          g_assert_nonnull (message);
          g_assert_cmpuint (where.line, >=, 1);
          g_assert_cmpuint (where.column, >=, 1);
        }
      cloche_json_locate (text, length, "a[0]", NULL, NULL);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json-locator/locate", test_locate);
  g_test_add_func ("/json-locator/duplicate-names", test_duplicate_names);
  g_test_add_func ("/json-locator/number-range", test_number_range);
  g_test_add_func ("/json-locator/surrogates", test_surrogates);
  g_test_add_func ("/json-locator/length", test_length_is_respected);
  g_test_add_func ("/json-locator/syntax", test_syntax);
  g_test_add_func ("/json-locator/garbage", test_garbage);
  return g_test_run ();
}
