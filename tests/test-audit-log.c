/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The audit log on real files: the line format, rotation, two processes
 * writing at once, a line cut short by a crash, following.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-audit-log.h"
#include "cloche-audit-reader.h"
#include "cloche-error.h"

#define WRITER_EVENTS 1500

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("cloche-audit-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *argv[] = { "rm", "-rf", fixture->dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  g_free (fixture->dir);
}

static ClocheAuditLog *
open_log (const char *dir,
          guint64     max_bytes,
          guint       keep)
{
  ClocheAuditLog *log = cloche_audit_log_new (dir, max_bytes, keep);
  g_autoptr(GError) error = NULL;

  cloche_audit_log_open (log, &error);
  g_assert_no_error (error);
  return log;
}

static void
collect (JsonObject *event,
         const char *line,
         gpointer    user_data)
{
  g_ptr_array_add (user_data, json_object_ref (event));
}

/* Every event of the log in @dir, oldest first. */
static GPtrArray *
read_events (const char *dir,
             guint      *damaged)
{
  GPtrArray *events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(ClocheAuditReader) reader = cloche_audit_reader_new (dir, NULL, collect, events);
  g_autoptr(GError) error = NULL;

  cloche_audit_reader_read_all (reader, &error);
  g_assert_no_error (error);
  if (damaged != NULL)
    *damaged = cloche_audit_reader_get_damaged (reader);
  return events;
}

static JsonObject *
fields_of (GPtrArray *events,
           guint      i)
{
  return json_object_get_object_member (g_ptr_array_index (events, i), "fields");
}

static void
test_line_format (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(ClocheAuditLog) log = open_log (fixture->dir, 0, 2);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GRegex) rfc3339 = g_regex_new ("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$",
                                            0, 0, NULL);
  const char *argv[] = { "ls", "-l", NULL };
  JsonObject *event, *fields;
  gint64 before = g_get_real_time ();

  cloche_audit_log_append (log, "command.exit", "abc123",
                           "argv", g_variant_new_strv (argv, -1),
                           "cwd", NULL,
                           "exit-code", g_variant_new_int32 (2),
                           "duration-ms", g_variant_new_uint64 (1500),
                           "allowed", g_variant_new_boolean (FALSE),
                           NULL);
  cloche_audit_log_append_fields (log, "vm.start", NULL, NULL);
  cloche_audit_log_flush (log);

  events = read_events (fixture->dir, NULL);
  g_assert_cmpuint (events->len, ==, 2);
  event = g_ptr_array_index (events, 0);
  g_assert_cmpint (json_object_get_int_member (event, "v"), ==, CLOCHE_AUDIT_SCHEMA_VERSION);
  g_assert_true (g_regex_match (rfc3339, json_object_get_string_member (event, "time"), 0, NULL));
  g_assert_cmpint (cloche_audit_event_time (event), >=, before / 1000 * 1000);
  g_assert_cmpstr (json_object_get_string_member (event, "event"), ==, "command.exit");
  g_assert_cmpstr (json_object_get_string_member (event, "session"), ==, "abc123");
  g_assert_cmpint (json_object_get_int_member (event, "pid"), ==, getpid ());
  fields = fields_of (events, 0);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (fields, "argv"), 1),
                   ==, "-l");
  g_assert_false (json_object_has_member (fields, "cwd"));
  g_assert_cmpint (json_object_get_int_member (fields, "exit-code"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (fields, "duration-ms"), ==, 1500);
  g_assert_false (json_object_get_boolean_member (fields, "allowed"));
  /* No session: the key is absent, and fields is an empty object. */
  event = g_ptr_array_index (events, 1);
  g_assert_false (json_object_has_member (event, "session"));
  g_assert_cmpuint (json_object_get_size (fields_of (events, 1)), ==, 0);
}

static void
append_numbered (ClocheAuditLog *log,
                 const char     *writer,
                 guint           count)
{
  for (guint i = 0; i < count; i++)
    cloche_audit_log_append (log, "test.numbered", NULL,
                             "writer", g_variant_new_string (writer),
                             "n", g_variant_new_uint32 (i),
                             NULL);
  cloche_audit_log_flush (log);
}

static guint64
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (guint64) st.st_size : 0;
}

static void
test_rotation (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(ClocheAuditLog) log = open_log (fixture->dir, 4096, 2);
  g_autoptr(GPtrArray) events = NULL;
  guint damaged = 99;
  gint64 first, last;

  append_numbered (log, "a", 300);

  for (guint generation = 0; generation <= 3; generation++)
    {
      g_autofree char *path = cloche_audit_log_dup_path (log, generation);

      /* Two rotated files kept, the third dropped; none past the limit. */
      g_assert_cmpint (g_file_test (path, G_FILE_TEST_EXISTS), ==, generation <= 2);
      g_assert_cmpuint (file_size (path), <=, 4096);
    }
  events = read_events (fixture->dir, &damaged);
  g_assert_cmpuint (damaged, ==, 0);
  /* What is kept is the newest events, in order, with no gap. */
  g_assert_cmpuint (events->len, >, 40);
  g_assert_cmpuint (events->len, <, 300);
  first = json_object_get_int_member (fields_of (events, 0), "n");
  last = json_object_get_int_member (fields_of (events, events->len - 1), "n");
  g_assert_cmpint (last, ==, 299);
  g_assert_cmpint (last - first + 1, ==, events->len);
  for (guint i = 1; i < events->len; i++)
    g_assert_cmpint (json_object_get_int_member (fields_of (events, i), "n"), ==, first + i);
}

/* The child of test_concurrent_writers: WRITER_EVENTS events, then exit. */
static int
run_writer (const char *dir,
            const char *name)
{
  g_autoptr(ClocheAuditLog) log = open_log (dir, 16384, 1000);

  append_numbered (log, name, WRITER_EVENTS);
  return 0;
}

static void
test_concurrent_writers (Fixture       *fixture,
                         gconstpointer  data)
{
  const char *self = g_getenv ("CLOCHE_TEST_AUDIT_SELF");
  g_autoptr(GSubprocess) a = NULL;
  g_autoptr(GSubprocess) b = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  guint next[2] = { 0, 0 };
  guint damaged = 99;

  g_assert_nonnull (self);
  /* Two processes, each with its own log object, its own writer thread and
   * its own descriptor, rotating under each other every ~200 lines. */
  a = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, self, "--writer", fixture->dir, "a", NULL);
  g_assert_no_error (error);
  b = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, self, "--writer", fixture->dir, "b", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (a, NULL, &error));
  g_assert_true (g_subprocess_wait_check (b, NULL, &error));

  /* Rotation under the lock: no file ever grew past the limit, which two
   * writers deciding on their own would make happen. */
  for (guint generation = 0;; generation++)
    {
      g_autofree char *path = generation == 0
                              ? g_build_filename (fixture->dir, "audit.jsonl", NULL)
                              : g_strdup_printf ("%s/audit.jsonl.%u", fixture->dir, generation);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        break;
      g_assert_cmpuint (file_size (path), <=, 16384);
    }
  events = read_events (fixture->dir, &damaged);
  g_assert_cmpuint (damaged, ==, 0);
  g_assert_cmpuint (events->len, ==, 2 * WRITER_EVENTS);
  /* Each writer's lines are all there, whole, in the order it wrote them. */
  for (guint i = 0; i < events->len; i++)
    {
      JsonObject *fields = fields_of (events, i);
      guint w = g_str_equal (json_object_get_string_member (fields, "writer"), "a") ? 0 : 1;

      g_assert_cmpint (json_object_get_int_member (fields, "n"), ==, next[w]);
      next[w]++;
    }
}

static void
test_cut_line (Fixture       *fixture,
               gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "audit.jsonl", NULL);
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  const char *cut = "{\"v\":1,\"time\":\"2024-05-01T09:";
  gsize before_length;
  JsonObject *fields;
  guint damaged = 0;

  {
    g_autoptr(ClocheAuditLog) log = open_log (fixture->dir, 0, 2);
    append_numbered (log, "a", 3);
  }
  /* A crash in the middle of the next write. */
  g_file_get_contents (path, &before, &before_length, &error);
  g_assert_no_error (error);
  {
    g_autofree char *broken = g_strconcat (before, cut, NULL);
    g_file_set_contents (path, broken, -1, &error);
    g_assert_no_error (error);
  }

  g_test_expect_message ("Cloche", G_LOG_LEVEL_WARNING, "*cut short at byte*");
  {
    g_autoptr(ClocheAuditLog) log = open_log (fixture->dir, 0, 2);
    append_numbered (log, "b", 1);
  }
  g_test_assert_expected_messages ();

  /* Nothing written before was lost or changed; the cut line was ended. */
  g_file_get_contents (path, &after, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (strncmp (after, before, before_length) == 0);
  g_assert_true (g_str_has_prefix (after + before_length, cut));
  g_assert_cmpint (after[before_length + strlen (cut)], ==, '\n');

  events = read_events (fixture->dir, &damaged);
  g_assert_cmpuint (damaged, ==, 1);
  g_assert_cmpuint (events->len, ==, 5);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (events, 3), "event"),
                   ==, "audit.damaged");
  fields = fields_of (events, 3);
  g_assert_cmpint (json_object_get_int_member (fields, "offset"), ==, before_length);
  g_assert_cmpstr (json_object_get_string_member (fields, "partial"), ==, cut);
  g_assert_cmpstr (json_object_get_string_member (fields_of (events, 4), "writer"), ==, "b");
}

static void
test_filter (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(ClocheAuditLog) log = open_log (fixture->dir, 0, 2);
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(ClocheAuditReader) reader = NULL;
  g_autoptr(GError) error = NULL;
  ClocheAuditFilter filter = { 0 };
  gint64 since = 0;

  cloche_audit_log_append_fields (log, "session.open", "one", NULL);
  cloche_audit_log_append_fields (log, "session.open", "two", NULL);
  cloche_audit_log_append_fields (log, "vm.start", NULL, NULL);
  cloche_audit_log_flush (log);

  filter.session = "two";
  reader = cloche_audit_reader_new (fixture->dir, &filter, collect, events);
  g_assert_true (cloche_audit_reader_read_all (reader, &error));
  g_assert_cmpuint (events->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (events, 0), "session"),
                   ==, "two");

  g_clear_object (&reader);
  g_ptr_array_set_size (events, 0);
  filter.session = NULL;
  filter.since_us = g_get_real_time () + 60 * G_USEC_PER_SEC;
  reader = cloche_audit_reader_new (fixture->dir, &filter, collect, events);
  g_assert_true (cloche_audit_reader_read_all (reader, &error));
  g_assert_cmpuint (events->len, ==, 0);

  g_assert_true (cloche_audit_parse_since ("10m", 1000 * G_USEC_PER_SEC, &since, &error));
  g_assert_cmpint (since, ==, 400 * G_USEC_PER_SEC);
  g_assert_true (cloche_audit_parse_since ("1970-01-01T00:01:00.5Z", 0, &since, &error));
  g_assert_cmpint (since, ==, 60 * G_USEC_PER_SEC + 500000);
  g_assert_false (cloche_audit_parse_since ("yesterday", 0, &since, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "\"yesterday\" is not a time"));
}

static void
test_follow (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(ClocheAuditLog) log = open_log (fixture->dir, 2048, 3);
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(ClocheAuditReader) reader = cloche_audit_reader_new (fixture->dir, NULL, collect, events);
  g_autoptr(GError) error = NULL;

  append_numbered (log, "old", 5);
  /* Following starts at the end: the old events are not repeated. */
  g_assert_true (cloche_audit_reader_read_new (reader, &error));
  g_assert_cmpuint (events->len, ==, 0);

  /* Enough to rotate once or twice between two reads: nothing is missed. */
  append_numbered (log, "new", 30);
  g_assert_true (cloche_audit_reader_read_new (reader, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (events->len, ==, 30);
  for (guint i = 0; i < events->len; i++)
    g_assert_cmpint (json_object_get_int_member (fields_of (events, i), "n"), ==, i);
}

/* audit.jsonl (or audit.lock) replaced by a symbolic link: the log must
 * never write through it, wherever it points. The link is replaced by a
 * file of the log's own, so that nothing is lost from the log either. */
static void
test_no_follow (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *outside = g_build_filename (fixture->dir, "outside", NULL);
  g_autofree char *target = g_build_filename (outside, "victim", NULL);
  g_autofree char *lock_target = g_build_filename (outside, "lock-victim", NULL);
  g_autofree char *path = g_build_filename (fixture->dir, "log", "audit.jsonl", NULL);
  g_autofree char *lock = g_build_filename (fixture->dir, "log", "audit.lock", NULL);
  g_autofree char *log_dir = g_path_get_dirname (path);
  g_autofree char *victim = NULL;
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_assert_cmpint (g_mkdir_with_parents (outside, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (log_dir, 0700), ==, 0);
  g_file_set_contents (target, "precious\n", -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (symlink (target, path), ==, 0);
  g_assert_cmpint (symlink (lock_target, lock), ==, 0);

  g_test_expect_message ("Cloche", G_LOG_LEVEL_WARNING, "*audit.lock is a symbolic link*");
  g_test_expect_message ("Cloche", G_LOG_LEVEL_WARNING, "*audit.jsonl is a symbolic link*");
  {
    g_autoptr(ClocheAuditLog) log = open_log (log_dir, 0, 2);
    append_numbered (log, "a", 2);
  }
  g_test_assert_expected_messages ();

  g_file_get_contents (target, &victim, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (victim, ==, "precious\n");
  g_assert_false (g_file_test (lock_target, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_lstat (path, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (g_lstat (lock, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  events = read_events (log_dir, NULL);
  g_assert_cmpuint (events->len, ==, 2);
}

/* Lines that are no event of ours, as someone with the folder could write
 * them: each is counted as damaged and skipped, and the reader neither
 * crashes (json-glib recurses once per level), logs a critical (a member of
 * another type) nor hangs (a FIFO among the rotated files). */
static void
test_hostile_lines (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "audit.jsonl", NULL);
  g_autofree char *fifo = g_build_filename (fixture->dir, "audit.jsonl.1", NULL);
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GError) error = NULL;
  guint damaged = 0;

  g_string_append (text, "{\"v\":1,\"time\":\"2024-05-01T09:00:00.000Z\",\"event\":\"a\"}\n");
  g_string_append_printf (text, "%s\n", deep);
  g_string_append (text, "{\"v\":1,\"time\":{},\"event\":\"b\"}\n");
  g_string_append (text, "{\"v\":1,\"time\":\"2024-05-01T09:00:00.000Z\",\"event\":7}\n");
  g_string_append (text, "{\"v\":1,\"time\":\"2024-05-01T09:00:00.000Z\",\"event\":\"c\","
                         "\"session\":[1],\"fields\":\"x\"}\n");
  g_string_append (text, "{\"v\":1,\"time\":\"2024-05-01T09:00:00.000Z\",\"event\":\"d\","
                         "\"fields\":[]}\n");
  g_string_append (text, "{\"v\":1,\"time\":\"2024-05-01T09:00:01.000Z\",\"event\":\"e\","
                         "\"session\":\"s\",\"fields\":{\"n\":1}}\n");
  g_file_set_contents (path, text->str, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  events = read_events (fixture->dir, &damaged);
  g_assert_cmpuint (events->len, ==, 2);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (events, 0), "event"), ==, "a");
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (events, 1), "event"), ==, "e");
  /* Five lines and the FIFO. */
  g_assert_cmpuint (damaged, ==, 6);
}

int
main (int   argc,
      char *argv[])
{
  if (argc == 4 && g_str_equal (argv[1], "--writer"))
    return run_writer (argv[2], argv[3]);

  g_setenv ("CLOCHE_TEST_AUDIT_SELF", argv[0], TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/audit/line-format", test_line_format);
  ADD ("/audit/rotation", test_rotation);
  ADD ("/audit/concurrent-writers", test_concurrent_writers);
  ADD ("/audit/cut-line", test_cut_line);
  ADD ("/audit/filter", test_filter);
  ADD ("/audit/follow", test_follow);
  ADD ("/audit/no-follow", test_no_follow);
  ADD ("/audit/hostile-lines", test_hostile_lines);
#undef ADD

  return g_test_run ();
}
