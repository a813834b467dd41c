/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Sessions through the real daemon on a private bus, with
 * session folders written to disk as a user's would be (no VM boots): its
 * packed lists carry every field, Get the same struct, its cleanup removes
 * what the dry run named and frees what it measured, progress comes as
 * CleanupProgress, options are checked, and clochectl's JSON, which reads
 * the packed answer, lists every session. The cases share one daemon and
 * run in order.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "cloche-session-codec.h"
#include "cloche-test-daemon.h"

static ClocheTestDaemon *daemon_under_test;

static char *
sessions_root (void)
{
  return g_build_filename (daemon_under_test->home, "state", "cloche", "sessions", NULL);
}

static void
write_record (const char *id,
              const char *title,
              int         days_idle,
              gboolean    pinned)
{
  g_autofree char *root = sessions_root ();
  g_autofree char *work = g_build_filename (root, id, "work", NULL);
  g_autofree char *path = g_build_filename (root, id, "session.json", NULL);
  g_autofree char *notes = g_build_filename (work, "notes.txt", NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) then = g_date_time_add_days (now, -days_idle);
  g_autofree char *when = g_date_time_format_iso8601 (then);
  g_autofree char *json = g_strdup_printf (
    "{\"version\": 1, \"id\": \"%s\", \"title\": \"%s\", \"client\": \"test\",\n"
    " \"created\": \"%s\", \"last_active\": \"%s\", \"state\": \"closed\",\n"
    " \"pinned\": %s, \"mounts\": [{\"path\": \"/home/u/p\", \"name\": \"p\", \"readonly\": true}]}\n",
    id, title, when, when, pinned ? "true" : "false");

  g_assert_cmpint (g_mkdir_with_parents (work, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  g_assert_true (g_file_set_contents (notes, "some notes", -1, NULL));
}

static GVariant *
list (GVariant *options)
{
  g_autoptr(GVariant) packed = NULL;
  g_autoptr(GError) error = NULL;

  cloche_dbus_sessions_call_list_sync (daemon_under_test->sessions, options, &packed, NULL,
                                       &error);
  g_assert_no_error (error);
  return cloche_session_infos_unpack (packed);
}

static GVariant *
cleanup (GVariant *options,
         guint64  *freed)
{
  g_autoptr(GVariant) packed = NULL;
  g_autoptr(GError) error = NULL;

  cloche_dbus_sessions_call_cleanup_sync (daemon_under_test->sessions, options, &packed, freed,
                                          NULL, &error);
  g_assert_no_error (error);
  return cloche_session_infos_unpack (packed);
}

static GVariant *
options (const char *key,
         GVariant   *value)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  if (key != NULL)
    g_variant_dict_insert_value (&dict, key, value);
  return g_variant_dict_end (&dict);
}

static int
by_text (gconstpointer a,
         gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

/* @sessions printed with its structs sorted, to compare two lists. */
static char *
sorted (GVariant *sessions)
{
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) all = g_string_new (NULL);

  for (gsize i = 0; i < g_variant_n_children (sessions); i++)
    {
      g_autoptr(GVariant) session = g_variant_get_child_value (sessions, i);

      g_ptr_array_add (texts, g_variant_print (session, TRUE));
    }
  g_ptr_array_sort (texts, by_text);
  for (guint i = 0; i < texts->len; i++)
    g_string_append_printf (all, "%s\n", (char *) texts->pdata[i]);
  return g_string_free (g_steal_pointer (&all), FALSE);
}

static gboolean
has (GVariant   *sessions,
     const char *id)
{
  for (gsize i = 0; i < g_variant_n_children (sessions); i++)
    {
      g_autoptr(GVariant) session = g_variant_get_child_value (sessions, i);
      g_auto(ClocheSessionInfo) info = { 0 };

      cloche_session_info_init (&info, session);
      if (g_str_equal (info.id, id))
        return TRUE;
    }
  return FALSE;
}

/* Every field of every session in one packed list, and Get sends each the
 * very struct the list has. */
static void
test_list_and_get (void)
{
  g_autoptr(GVariant) listed = NULL;
  g_autoptr(GVariant) stale = NULL;
  g_autofree char *text = NULL;

  write_record ("aaaaaaaaaaaa", "old", 30, FALSE);
  write_record ("bbbbbbbbbbbb", "old \\\"quoted\\\" é", 30, FALSE);
  write_record ("cccccccccccc", "recent", 1, FALSE);
  write_record ("dddddddddddd", "pinned", 30, TRUE);

  listed = list (options (NULL, NULL));
  g_assert_cmpuint (g_variant_n_children (listed), ==, 4);
  text = sorted (listed);
  g_assert_nonnull (strstr (text, "'old \"quoted\" é'"));
  g_assert_nonnull (strstr (text, "uint64 "));
  for (gsize i = 0; i < g_variant_n_children (listed); i++)
    {
      g_autoptr(GVariant) session = g_variant_get_child_value (listed, i);
      g_autoptr(GVariant) got = NULL;
      g_autoptr(GError) error = NULL;
      const char *id;

      g_variant_get_child (session, 0, "&s", &id);
      cloche_dbus_sessions_call_get_sync (daemon_under_test->sessions, id, &got, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (g_variant_equal (session, got));
    }

  stale = list (options ("stale-only", g_variant_new_boolean (TRUE)));
  g_assert_cmpuint (g_variant_n_children (stale), ==, 2);
  g_assert_true (has (stale, "aaaaaaaaaaaa") && has (stale, "bbbbbbbbbbbb"));
}

/* clochectl reads the packed answer: its JSON has every session, sizes
 * included. */
static void
test_clochectl_json (void)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonParser) parser = NULL;
  const char *argv[] = { g_getenv ("CLOCHE_CTL"), "session", "list", "--json", "--stale", NULL };
  g_autoptr(GError) error = NULL;
  int status = -1;
  JsonArray *array;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  parser = json_parser_new ();
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *session = json_array_get_object_element (array, i);

      g_assert_true (json_object_get_boolean_member (session, "stale"));
      g_assert_cmpint (json_object_get_int_member (session, "size"), >, 0);
    }
}

typedef struct
{
  guint   calls;
  guint   last_done;
  guint   last_total;
  guint64 last_freed;
} Progress;

static void
on_progress (ClocheDbusSessions *proxy,
             guint               done,
             guint               total,
             guint64             freed,
             gpointer            user_data)
{
  Progress *progress = user_data;

  *progress = (Progress) { progress->calls + 1, done, total, freed };
}

/* The dry run names what the cleanup removes and measures what it frees;
 * progress ends at the total. */
static void
test_cleanup_matches (void)
{
  g_autoptr(GVariant) dry = NULL;
  g_autoptr(GVariant) removed = NULL;
  g_autoptr(GVariant) left = NULL;
  g_autofree char *root = sessions_root ();
  g_autofree char *gone = g_build_filename (root, "aaaaaaaaaaaa", NULL);
  g_autofree char *dry_text = NULL;
  g_autofree char *removed_text = NULL;
  guint64 dry_freed = 0, freed = 0;
  Progress progress = { 0 };
  gulong handler;

  dry = cleanup (options ("dry-run", g_variant_new_boolean (TRUE)), &dry_freed);
  g_assert_cmpuint (g_variant_n_children (dry), ==, 2);
  g_assert_true (g_file_test (gone, G_FILE_TEST_IS_DIR));

  handler = g_signal_connect (daemon_under_test->sessions, "cleanup-progress",
                              G_CALLBACK (on_progress), &progress);
  removed = cleanup (options (NULL, NULL), &freed);
  g_assert_cmpuint (g_variant_n_children (removed), ==, 2);
  dry_text = sorted (dry);
  removed_text = sorted (removed);
  g_assert_cmpstr (dry_text, ==, removed_text);
  g_assert_true (has (removed, "aaaaaaaaaaaa") && has (removed, "bbbbbbbbbbbb"));
  g_assert_cmpuint (freed, ==, dry_freed);
  g_assert_cmpuint (freed, >, 0);
  g_assert_false (g_file_test (gone, G_FILE_TEST_EXISTS));
  while (progress.last_total == 0 || progress.last_done < progress.last_total)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (progress.last_total, ==, 2);
  g_assert_cmpuint (progress.last_freed, ==, freed);
  g_signal_handler_disconnect (daemon_under_test->sessions, handler);

  left = list (options (NULL, NULL));
  g_assert_cmpuint (g_variant_n_children (left), ==, 2);
  g_assert_true (has (left, "cccccccccccc") && has (left, "dddddddddddd"));
}

/* A record with a wrong type, a lone surrogate or nesting deep enough to
 * overflow json-glib's stack: listed as damaged, and the daemon goes on
 * (each of these once killed it at the first list, and at every start). */
static void
test_hostile_records (void)
{
  static const char * const records[][2] = {
    { "eeeeeeeeeee1", "{\"id\": \"eeeeeeeeeee1\", \"title\": 5}" },
    { "eeeeeeeeeee2", "{\"id\": \"eeeeeeeeeee2\", \"title\": \"\\ud800\"}" },
    { "eeeeeeeeeee3", NULL },
  };
  g_autofree char *root = sessions_root ();
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autoptr(GVariant) listed = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (records); i++)
    {
      g_autofree char *work = g_build_filename (root, records[i][0], "work", NULL);
      g_autofree char *path = g_build_filename (root, records[i][0], "session.json", NULL);

      g_assert_cmpint (g_mkdir_with_parents (work, 0700), ==, 0);
      g_assert_true (g_file_set_contents (path, records[i][1] != NULL ? records[i][1] : deep,
                                          -1, NULL));
    }
  listed = list (options (NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (records); i++)
    {
      g_auto(ClocheSessionInfo) info = { 0 };
      gboolean found = FALSE;

      for (gsize j = 0; j < g_variant_n_children (listed) && !found; j++)
        {
          g_autoptr(GVariant) session = g_variant_get_child_value (listed, j);

          cloche_session_info_clear (&info);
          cloche_session_info_init (&info, session);
          found = g_str_equal (info.id, records[i][0]);
        }
      g_assert_true (found);
      g_assert_cmpstr (info.state, ==, "damaged");
      g_assert_cmpstr (info.damage, !=, "");
    }
}

static char *
run_clochectl (const char * const *args,
               int                *status)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, (gpointer) g_getenv ("CLOCHE_CTL"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                &err, status, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&err);
}

/* Numbers from a user or a caller are checked before they are used: a
 * threshold of 150,000,000 days once overflowed into one that removed a
 * session a day old, and -5 silently meant the policy's. */
static void
test_cleanup_numbers (void)
{
  const char * const *bad[] = {
    (const char * const[]) { "cleanup", "--older-than", "150000000", NULL },
    (const char * const[]) { "cleanup", "--older-than", "-5", NULL },
  };
  g_autoptr(GVariant) packed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) left = NULL;
  guint64 freed = 0;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      int status = 0;
      g_autofree char *err = run_clochectl (bad[i], &status);

      g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 2);
      g_assert_nonnull (strstr (err, "out of range"));
    }
  cloche_dbus_sessions_call_cleanup_sync (daemon_under_test->sessions,
                                          options ("older-than-days",
                                                   g_variant_new_uint32 (150000000)),
                                          &packed, &freed, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "\"older-than-days\""));
  g_clear_error (&error);
  cloche_dbus_sessions_call_cleanup_sync (daemon_under_test->sessions,
                                          options ("older-than-days", g_variant_new_int32 (5)),
                                          &packed, &freed, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "type u"));
  left = list (options (NULL, NULL));
  g_assert_true (has (left, "cccccccccccc"));
}

/* A title is anyone's text: a terminal gets its control characters as
 * escapes, a script gets it as it is. */
static void
test_title_escapes (void)
{
  g_autofree char *out = NULL;
  g_autofree char *json = NULL;
  g_autoptr(GError) error = NULL;
  const char *table[] = { g_getenv ("CLOCHE_CTL"), "session", "list", NULL };
  const char *as_json[] = { g_getenv ("CLOCHE_CTL"), "session", "show", "ffffffffffff", "--json",
                            NULL };
  int status = -1;

  write_record ("ffffffffffff", "evil\\u001b]0;owned\\u0007\\u001b[2J", 1, FALSE);
  g_spawn_sync (NULL, (char **) table, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_assert_null (strchr (out, '\033'));
  g_assert_null (strchr (out, '\007'));
  g_assert_nonnull (strstr (out, "evil\\x1b]0;owned\\x07\\x1b[2J"));
  g_spawn_sync (NULL, (char **) as_json, NULL, G_SPAWN_DEFAULT, NULL, NULL, &json, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (json, "evil\\u001b]0;owned\\u0007\\u001b[2J"));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  daemon_under_test = cloche_test_daemon_start ((const char *[]) { NULL });

  g_test_add_func ("/sessions-daemon/list-and-get", test_list_and_get);
  g_test_add_func ("/sessions-daemon/clochectl-json", test_clochectl_json);
  g_test_add_func ("/sessions-daemon/cleanup-matches", test_cleanup_matches);
  g_test_add_func ("/sessions-daemon/hostile-records", test_hostile_records);
  g_test_add_func ("/sessions-daemon/cleanup-numbers", test_cleanup_numbers);
  g_test_add_func ("/sessions-daemon/title-escapes", test_title_escapes);
  status = g_test_run ();

  cloche_test_daemon_free (daemon_under_test);
  return status;
}
