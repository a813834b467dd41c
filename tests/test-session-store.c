/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-session-codec.h"
#include "cloche-session-store.h"
#include "cloche-session-store-private.h"
#include "cloche-test-util.h"

#define DAY_S (24 * 3600)

/* The sessions the daemon has open; others recorded "open" are leftovers. */
static const char * const open_ids[] = { "333333333333", NULL };

typedef struct
{
  char               *dir;       /* holds sessions/ and outside/ */
  char               *root;
  ClocheSessionStore *store;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("cloche-store-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->root = g_build_filename (fixture->dir, "sessions", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->root, 0700), ==, 0);
  fixture->store = cloche_session_store_new (fixture->root);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", fixture->dir);

  g_clear_object (&fixture->store);
  g_assert_cmpint (system (command), ==, 0);
  g_free (fixture->root);
  g_free (fixture->dir);
}

static char *
write_file (const char *dir,
            const char *name,
            const char *contents)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* A session.json written as an older daemon or a crash left it. */
static void
write_record (Fixture    *fixture,
              const char *id,
              const char *state,
              int         days_idle,
              gboolean    pinned)
{
  g_autofree char *dir = g_build_filename (fixture->root, id, "work", NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) then = g_date_time_add_days (now, -days_idle);
  g_autofree char *when = g_date_time_format_iso8601 (then);
  g_autofree char *json = g_strdup_printf (
    "{\"version\": 1, \"id\": \"%s\", \"title\": \"t\", \"client\": \":1.1\",\n"
    " \"created\": \"%s\", \"last_active\": \"%s\", \"state\": \"%s\",\n"
    " \"pinned\": %s, \"mounts\": []}\n",
    id, when, when, state, pinned ? "true" : "false");
  g_autofree char *parent = g_path_get_dirname (dir);
  g_autofree char *path = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  path = write_file (parent, "session.json", json);
}

/* @id's record as on disk now, read as the store reads it. */
static ClocheSession *
load (Fixture    *fixture,
      const char *id)
{
  int root_fd = open (fixture->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ClocheStamp stamp;
  ClocheSession *session;

  g_assert_cmpint (root_fd, >=, 0);
  session = cloche_session_index_read (root_fd, id, &stamp);
  close (root_fd);
  return session;
}

static GPtrArray *
list (Fixture *fixture)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *entries;

  cloche_session_store_list_async (fixture->store, open_ids, 7, NULL, cloche_test_store_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  entries = cloche_session_store_list_finish (fixture->store, result, &error);
  g_assert_no_error (error);
  return entries;
}

static GAsyncResult *
wait_result (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

static void
create (Fixture       *fixture,
        ClocheSession *session)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cloche_session_store_create_async (fixture->store, session, NULL, cloche_test_store_result,
                                     &result);
  cloche_session_store_create_finish (fixture->store, wait_result (&result), &error);
  g_assert_no_error (error);
}

static const char *
entry_id (ClocheSessionEntry *entry)
{
  return cloche_session_get_id (entry->session);
}

/* What a list sends (the struct), not only the record behind it. */
static gboolean
entry_pinned (ClocheSessionEntry *entry)
{
  gboolean pinned = FALSE;

  g_variant_get_child (entry->info, 7, "b", &pinned);
  g_assert_cmpint (pinned, ==, cloche_session_get_pinned (entry->session));
  return pinned;
}

static ClocheSessionEntry *
find (GPtrArray  *entries,
      const char *id)
{
  for (guint i = 0; i < entries->len; i++)
    {
      ClocheSessionEntry *entry = g_ptr_array_index (entries, i);

      if (g_str_equal (entry_id (entry), id))
        return entry;
    }
  return NULL;
}

static void
test_roundtrip (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(ClocheSession) session = cloche_session_new ("refactor", ":1.42");
  g_autoptr(ClocheSession) loaded = NULL;
  g_autofree char *work = NULL;
  ClocheSessionMount *mount;

  cloche_session_add_mount (session, cloche_session_mount_new ("/home/u/src", "src", TRUE));
  cloche_session_set_pinned (session, TRUE);
  create (fixture, session);
  work = cloche_session_store_dup_work_dir (fixture->store, cloche_session_get_id (session));
  g_assert_true (g_file_test (work, G_FILE_TEST_IS_DIR));

  loaded = load (fixture, cloche_session_get_id (session));
  g_assert_cmpint (cloche_session_get_state (loaded), ==, CLOCHE_SESSION_STATE_OPEN);
  g_assert_cmpstr (cloche_session_get_title (loaded), ==, "refactor");
  g_assert_cmpstr (cloche_session_get_client (loaded), ==, ":1.42");
  g_assert_true (cloche_session_get_pinned (loaded));
  g_assert_cmpint (cloche_session_get_created (loaded) / G_USEC_PER_SEC, ==,
                   cloche_session_get_created (session) / G_USEC_PER_SEC);
  g_assert_cmpuint (cloche_session_get_mounts (loaded)->len, ==, 1);
  mount = g_ptr_array_index (cloche_session_get_mounts (loaded), 0);
  g_assert_cmpstr (mount->path, ==, "/home/u/src");
  g_assert_true (mount->readonly);
}

/* Saving goes through a temporary file: none is left, the record is whole,
 * and the last one asked for is the one on disk. */
static void
test_save_is_atomic (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(ClocheSession) session = cloche_session_new ("t", NULL);
  g_autoptr(ClocheSession) loaded = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GDir) listing = NULL;
  const char *name;
  guint files = 0;

  create (fixture, session);
  for (guint i = 0; i < 21; i++)
    {
      cloche_session_set_state (session, i % 2 ? CLOCHE_SESSION_STATE_OPEN
                                               : CLOCHE_SESSION_STATE_CLOSED);
      cloche_session_set_pinned (session, i == 20);
      cloche_session_store_save (fixture->store, session);
    }
  cloche_session_store_flush (fixture->store);
  loaded = load (fixture, cloche_session_get_id (session));
  g_assert_cmpint (cloche_session_get_state (loaded), ==, CLOCHE_SESSION_STATE_CLOSED);
  g_assert_true (cloche_session_get_pinned (loaded));
  dir = g_build_filename (fixture->root, cloche_session_get_id (session), NULL);
  listing = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_assert_true (g_str_equal (name, "session.json") || g_str_equal (name, "work"));
      files++;
    }
  g_assert_cmpuint (files, ==, 2);
}

typedef struct
{
  guint   calls;
  guint   last_done;
  guint   last_total;
} ProgressLog;

static GPtrArray *cleanup (Fixture     *fixture,
                           gboolean     dry_run,
                           guint64     *freed,
                           ProgressLog *log);

static void
assert_damaged (Fixture    *fixture,
                const char *id,
                const char *reason_part)
{
  g_autoptr(ClocheSession) session = load (fixture, id);

  g_assert_cmpint (cloche_session_get_state (session), ==, CLOCHE_SESSION_STATE_DAMAGED);
  if (strstr (cloche_session_get_damage (session), reason_part) == NULL)
    g_error ("damage \"%s\" does not say \"%s\"", cloche_session_get_damage (session),
             reason_part);
}

static void
test_damaged (Fixture       *fixture,
              gconstpointer  data)
{
  const char *ids[] = { "aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "dddddddddddd" };
  g_autoptr(GPtrArray) entries = NULL;
  ProgressLog log = { 0 };
  guint64 freed = 0;

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *dir = g_build_filename (fixture->root, ids[i], NULL);
      g_mkdir_with_parents (dir, 0700);
    }
  g_free (write_file (fixture->root, "aaaaaaaaaaaa/session.json", "{\"id\": \"aaaaaaaaaaaa\",\n \"sta"));
  g_free (write_file (fixture->root, "bbbbbbbbbbbb/session.json", ""));
  g_free (write_file (fixture->root, "dddddddddddd/session.json",
                      "{\"id\": \"somethingelse\", \"state\": \"open\"}"));

  assert_damaged (fixture, "aaaaaaaaaaaa", "2:");
  assert_damaged (fixture, "bbbbbbbbbbbb", "not a JSON object");
  assert_damaged (fixture, "cccccccccccc", "cannot be read");
  assert_damaged (fixture, "dddddddddddd", "does not match");

  /* Listing shows them, and neither it nor a cleanup deletes them for
   * being unreadable: their folders are new, so they are not stale. */
  entries = list (fixture);
  g_assert_cmpuint (entries->len, ==, 4);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      ClocheSessionEntry *entry = find (entries, ids[i]);

      g_assert_cmpint (cloche_session_get_state (entry->session), ==,
                       CLOCHE_SESSION_STATE_DAMAGED);
      g_assert_false (entry->stale);
    }
  g_ptr_array_unref (cleanup (fixture, FALSE, &freed, &log));
  g_assert_cmpuint (freed, ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autofree char *dir = g_build_filename (fixture->root, ids[i], NULL);
      g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
    }
}

static void
set_folder_age (Fixture    *fixture,
                const char *id,
                int         days)
{
  g_autofree char *dir = g_build_filename (fixture->root, id, NULL);
  struct timespec times[2];

  times[0].tv_sec = times[1].tv_sec = time (NULL) - days * DAY_S;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  g_assert_cmpint (utimensat (AT_FDCWD, dir, times, 0), ==, 0);
}

static void
test_stale (Fixture       *fixture,
            gconstpointer  data)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autofree char *dir = g_build_filename (fixture->root, "eeeeeeeeeeee", NULL);
  g_autofree char *big = NULL;
  g_autofree char *work = g_build_filename (fixture->root, "111111111111", "work", NULL);
  g_autofree char *blob = g_strnfill (64 * 1024, 'x');

  write_record (fixture, "111111111111", "closed", 8, FALSE);
  write_record (fixture, "222222222222", "closed", 2, FALSE);
  write_record (fixture, "333333333333", "open", 30, FALSE);
  write_record (fixture, "444444444444", "closed", 30, TRUE);
  write_record (fixture, "666666666666", "open", 30, FALSE);
  g_mkdir_with_parents (dir, 0700);
  set_folder_age (fixture, "eeeeeeeeeeee", 9);
  big = write_file (work, "data.bin", blob);

  entries = list (fixture);
  g_assert_cmpuint (entries->len, ==, 6);
  /* Recorded open by a daemon that is gone: closed, and stale. */
  g_assert_cmpint (cloche_session_get_state (find (entries, "666666666666")->session),
                   ==, CLOCHE_SESSION_STATE_CLOSED);
  g_assert_true (find (entries, "666666666666")->stale);
  g_assert_true (find (entries, "111111111111")->stale);
  g_assert_false (find (entries, "222222222222")->stale);
  g_assert_false (find (entries, "333333333333")->stale);   /* open */
  g_assert_false (find (entries, "444444444444")->stale);   /* pinned */
  g_assert_true (find (entries, "eeeeeeeeeeee")->stale);    /* damaged, old */
  g_assert_cmpuint (find (entries, "111111111111")->size, >=, 64 * 1024);
}

static void
on_progress (guint    done,
             guint    total,
             guint64  freed,
             gpointer user_data)
{
  ProgressLog *log = user_data;

  log->calls++;
  log->last_done = done;
  log->last_total = total;
}

static GPtrArray *
cleanup (Fixture     *fixture,
         gboolean     dry_run,
         guint64     *freed,
         ProgressLog *log)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *removed;

  cloche_session_store_cleanup_async (fixture->store, open_ids, 7, dry_run, on_progress, log, NULL,
                                      cloche_test_store_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  removed = cloche_session_store_cleanup_finish (fixture->store, result, freed, &error);
  g_assert_no_error (error);
  return removed;
}

/* Only stale sessions go; a link out of a session is removed as a link,
 * and a link in the sessions folder itself is not a session at all. */
static void
test_cleanup (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *outside = g_build_filename (fixture->dir, "outside", NULL);
  g_autofree char *precious = NULL;
  g_autofree char *link_in_work = g_build_filename (fixture->root, "111111111111", "work",
                                                    "escape", NULL);
  g_autofree char *link_in_root = g_build_filename (fixture->root, "555555555555", NULL);
  g_autofree char *old = g_build_filename (fixture->root, "111111111111", NULL);
  g_autofree char *kept = g_build_filename (fixture->root, "444444444444", NULL);
  g_autoptr(GPtrArray) dry = NULL;
  g_autoptr(GPtrArray) removed = NULL;
  ProgressLog log = { 0 };
  guint64 dry_freed = 0, freed = 0;

  g_mkdir_with_parents (outside, 0700);
  precious = write_file (outside, "precious.txt", "keep me");
  write_record (fixture, "111111111111", "closed", 8, FALSE);
  write_record (fixture, "333333333333", "open", 30, FALSE);
  write_record (fixture, "444444444444", "closed", 30, TRUE);
  g_assert_cmpint (symlink (outside, link_in_work), ==, 0);
  g_assert_cmpint (symlink (outside, link_in_root), ==, 0);
  set_folder_age (fixture, "111111111111", 8);

  dry = cleanup (fixture, TRUE, &dry_freed, &log);
  g_assert_cmpuint (dry->len, ==, 1);
  g_assert_true (g_file_test (old, G_FILE_TEST_IS_DIR));
  g_assert_cmpuint (dry_freed, >, 0);

  removed = cleanup (fixture, FALSE, &freed, &log);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_cmpstr (cloche_session_get_id (((ClocheSessionEntry *) removed->pdata[0])->session),
                   ==, "111111111111");
  g_assert_cmpuint (freed, ==, dry_freed);
  g_assert_false (g_file_test (old, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (kept, G_FILE_TEST_IS_DIR));
  g_assert_true (g_file_test (precious, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (link_in_root, G_FILE_TEST_IS_SYMLINK));
  g_assert_cmpuint (log.calls, >=, 1);
  g_assert_cmpuint (log.last_done, ==, log.last_total);
}

/* Writes are queued; none is lost when the store goes, even on a slow disk. */
static void
test_queued_writes_survive (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(ClocheSession) session = cloche_session_new ("slow", NULL);
  g_autoptr(ClocheSession) loaded = NULL;
  g_autofree char *id = NULL;

  create (fixture, session);
  id = g_strdup (cloche_session_get_id (session));
  /* A store of its own: the first one's last reference may still be with
   * the create call's result, and this one must go when the test says. */
  g_clear_object (&fixture->store);
  fixture->store = cloche_session_store_new (fixture->root);
  _cloche_session_store_set_write_delay (fixture->store, 300);

  cloche_session_set_state (session, CLOCHE_SESSION_STATE_CLOSED);
  cloche_session_set_pinned (session, TRUE);
  cloche_session_store_save (fixture->store, session);
  g_clear_object (&fixture->store);

  fixture->store = cloche_session_store_new (fixture->root);
  loaded = load (fixture, id);
  g_assert_cmpint (cloche_session_get_state (loaded), ==, CLOCHE_SESSION_STATE_CLOSED);
  g_assert_true (cloche_session_get_pinned (loaded));
}

static void
edit_record (Fixture    *fixture,
             const char *id,
             const char *from,
             const char *to)
{
  g_autofree char *path = g_build_filename (fixture->root, id, "session.json", NULL);
  g_autofree char *json = NULL;
  g_autofree char *edited = NULL;
  g_auto(GStrv) parts = NULL;

  g_assert_true (g_file_get_contents (path, &json, NULL, NULL));
  parts = g_strsplit (json, from, -1);
  g_assert_cmpuint (g_strv_length (parts), ==, 2);
  edited = g_strjoinv (to, parts);
  g_assert_true (g_file_set_contents (path, edited, -1, NULL));
}

/* The index follows what changed on disk behind the daemon's back: a
 * folder added, one removed, a record pinned by hand (which cleanup then
 * spares), a file added to a work folder. */
static void
test_index_follows_disk (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *gone = g_build_filename (fixture->root, "222222222222", NULL);
  g_autofree char *work = g_build_filename (fixture->root, "888888888888", "work", NULL);
  g_autofree char *pinned = g_build_filename (fixture->root, "111111111111", NULL);
  g_autofree char *blob = g_strnfill (256 * 1024, 'x');
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GPtrArray) removed = NULL;
  ProgressLog log = { 0 };
  guint64 freed = 0, size_before;
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", gone);

  write_record (fixture, "111111111111", "closed", 30, FALSE);
  write_record (fixture, "222222222222", "closed", 30, FALSE);
  write_record (fixture, "888888888888", "closed", 1, FALSE);
  before = list (fixture);
  g_assert_cmpuint (before->len, ==, 3);
  size_before = find (before, "888888888888")->size;
  /* Times within a tick of the file system's clock prove nothing, so the
   * index only trusts them once they are older: past that, listing again
   * is what sees the changes below. */
  g_usleep (2100 * 1000);
  g_ptr_array_unref (list (fixture));

  write_record (fixture, "777777777777", "closed", 30, FALSE);
  g_assert_cmpint (system (command), ==, 0);
  edit_record (fixture, "111111111111", "\"pinned\": false", "\"pinned\": true");
  g_free (write_file (work, "added.bin", blob));

  /* A list answers from memory and has the disk checked behind it, at
   * most every 2 s (folders that came and went show at once): past that,
   * the list after the next one shows what changed. */
  g_usleep (2100 * 1000);
  g_ptr_array_unref (list (fixture));
  after = list (fixture);
  g_assert_cmpuint (after->len, ==, 3);
  g_assert_nonnull (find (after, "777777777777"));
  g_assert_null (find (after, "222222222222"));
  g_assert_true (cloche_session_get_pinned (find (after, "111111111111")->session));
  g_assert_cmpuint (find (after, "888888888888")->size, >=, size_before + 256 * 1024);

  removed = cleanup (fixture, FALSE, &freed, &log);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_true (g_file_test (pinned, G_FILE_TEST_IS_DIR));
}

/* A file with a name outside the session frees nothing when the session
 * goes: neither the dry run nor the cleanup counts it. */
static void
test_hard_link_counts_nothing (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autofree char *outside = g_build_filename (fixture->dir, "outside", NULL);
  g_autofree char *work = g_build_filename (fixture->root, "111111111111", "work", NULL);
  g_autofree char *blob = g_strnfill (1024 * 1024, 'x');
  g_autofree char *kept = NULL;
  g_autofree char *second = g_build_filename (work, "linked.bin", NULL);
  g_autoptr(GPtrArray) dry = NULL;
  g_autoptr(GPtrArray) removed = NULL;
  ProgressLog log = { 0 };
  guint64 dry_freed = 0, freed = 0;

  g_mkdir_with_parents (outside, 0700);
  kept = write_file (outside, "big.bin", blob);
  write_record (fixture, "111111111111", "closed", 30, FALSE);
  g_assert_cmpint (link (kept, second), ==, 0);

  dry = cleanup (fixture, TRUE, &dry_freed, &log);
  removed = cleanup (fixture, FALSE, &freed, &log);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_cmpuint (freed, ==, dry_freed);
  g_assert_cmpuint (freed, <, 1024 * 1024);
  g_assert_true (g_file_test (kept, G_FILE_TEST_IS_REGULAR));
}

static char *
find_bytes (char       *haystack,
            gsize       length,
            const char *needle,
            gsize       needle_length)
{
  for (gsize i = 0; i + needle_length <= length; i++)
    if (memcmp (haystack + i, needle, needle_length) == 0)
      return haystack + i;
  return NULL;
}

/* A work folder of more names than one read of a folder brings (removal
 * reads it in several batches), and folders nested deep: all of it goes,
 * and cleanup frees what its dry run measured. */
static void
test_cleanup_many_names (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *work = g_build_filename (fixture->root, "111111111111", "work", NULL);
  g_autofree char *folder = g_build_filename (fixture->root, "111111111111", NULL);
  g_autoptr(GString) deep = g_string_new (work);
  g_autoptr(GPtrArray) dry = NULL;
  g_autoptr(GPtrArray) removed = NULL;
  ProgressLog log = { 0 };
  guint64 dry_freed = 0, freed = 0;

  write_record (fixture, "111111111111", "closed", 30, FALSE);
  for (guint i = 0; i < 3000; i++)
    {
      g_autofree char *name = g_strdup_printf ("a-rather-long-file-name-to-fill-the-buffer-%04u", i);

      g_free (write_file (work, name, "x"));
    }
  for (guint i = 0; i < 40; i++)
    g_string_append (deep, "/d");
  g_assert_cmpint (g_mkdir_with_parents (deep->str, 0700), ==, 0);
  g_free (write_file (deep->str, "bottom", "y"));

  dry = cleanup (fixture, TRUE, &dry_freed, &log);
  removed = cleanup (fixture, FALSE, &freed, &log);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_cmpuint (freed, ==, dry_freed);
  g_assert_cmpuint (freed, >=, 3000 * 512);
  g_assert_false (g_file_test (folder, G_FILE_TEST_EXISTS));
}

/* @depth folders, one in the other, in @dir, a file at the bottom: made
 * relative to the fd of each, as a guest would in its work folder. */
static void
make_deep_tree (const char *dir,
                guint       depth)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  for (guint i = 0; i < depth; i++)
    {
      int next;

      g_assert_cmpint (mkdirat (fd, "d", 0700), ==, 0);
      next = openat (fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      g_assert_cmpint (next, >=, 0);
      close (fd);
      fd = next;
    }
  g_assert_cmpint (close (openat (fd, "bottom", O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), ==, 0);
  close (fd);
}

/* A guest that builds a tree deeper than the daemon may hold folders open
 * (1,100 folders under a limit of 256 fds here; 1,024 is the usual one)
 * once made every later cleanup fail with EMFILE, and the other stale
 * sessions stayed. Measuring and removing it now needs a few fds. */
static void
test_deep_tree (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *work = g_build_filename (fixture->root, "111111111111", "work", NULL);
  g_autofree char *deep = g_build_filename (fixture->root, "111111111111", NULL);
  g_autoptr(GPtrArray) dry = NULL;
  g_autoptr(GPtrArray) removed = NULL;
  struct rlimit saved, low;
  ProgressLog log = { 0 };
  guint64 dry_freed = 0, freed = 0;

  write_record (fixture, "111111111111", "closed", 30, FALSE);
  write_record (fixture, "222222222222", "closed", 30, FALSE);
  write_record (fixture, "444444444444", "closed", 30, FALSE);
  make_deep_tree (work, 1100);
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  low.rlim_cur = 256;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);

  dry = cleanup (fixture, TRUE, &dry_freed, &log);
  removed = cleanup (fixture, FALSE, &freed, &log);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  g_assert_cmpuint (removed->len, ==, 3);
  g_assert_cmpuint (freed, ==, dry_freed);
  /* 1,100 folders of one block each at least. */
  g_assert_cmpuint (freed, >=, 1100 * 512);
  g_assert_false (g_file_test (deep, G_FILE_TEST_EXISTS));
}

/* Makes @path unremovable for real: immutable for root (who passes
 * permission checks), its folder read-only for anyone else. */
static gboolean
make_unremovable (const char *path,
                  gboolean    fixed)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  int flags = 0;
  gboolean ok;

  if (geteuid () != 0)
    {
      g_autofree char *dir = g_path_get_dirname (path);

      close (fd);
      return g_chmod (dir, fixed ? 0500 : 0700) == 0;
    }
  ok = fd >= 0 && ioctl (fd, FS_IOC_GETFLAGS, &flags) == 0;
  flags = fixed ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
  ok = ok && ioctl (fd, FS_IOC_SETFLAGS, &flags) == 0;
  if (fd >= 0)
    close (fd);
  return ok;
}

/* A stale session that cannot be removed stays, and the cleanup says so,
 * naming it: the other stale sessions still go. */
static void
test_one_bad_session (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autofree char *work = g_build_filename (fixture->root, "222222222222", "work", NULL);
  g_autofree char *stuck = NULL;
  g_autofree char *kept = g_build_filename (fixture->root, "222222222222", NULL);
  g_autofree char *gone = g_build_filename (fixture->root, "111111111111", NULL);
  g_autofree char *also_gone = g_build_filename (fixture->root, "444444444444", NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) removed = NULL;
  g_autoptr(GError) error = NULL;
  guint64 freed = 0;

  write_record (fixture, "111111111111", "closed", 30, FALSE);
  write_record (fixture, "222222222222", "closed", 30, FALSE);
  write_record (fixture, "444444444444", "closed", 30, FALSE);
  stuck = write_file (work, "stuck", "x");
  if (!make_unremovable (stuck, TRUE))
    {
      g_test_skip ("No way here to make a file unremovable (immutable flag refused)");
      return;
    }
  cloche_session_store_cleanup_async (fixture->store, open_ids, 7, FALSE, NULL, NULL, NULL,
                                      cloche_test_store_result, &result);
  removed = cloche_session_store_cleanup_finish (fixture->store, wait_result (&result), &freed,
                                                 &error);
  g_assert_true (make_unremovable (stuck, FALSE));
  g_assert_null (removed);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "removed 2 of 3"));
  g_assert_nonnull (strstr (error->message, "222222222222"));
  g_assert_false (g_file_test (gone, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (also_gone, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (kept, G_FILE_TEST_IS_DIR));
}

/* A new store on the same folder, its first sync done: what it had to read
 * and measure. */
static void
reopen (Fixture *fixture,
        int     *reads,
        int     *measures)
{
  ClocheSessionIndex *index;

  g_clear_object (&fixture->store);
  fixture->store = cloche_session_store_new (fixture->root);
  cloche_session_store_flush (fixture->store);
  index = _cloche_session_store_get_index (fixture->store);
  *reads = index->reads;
  *measures = index->measures;
}

static void
assert_same_lists (GPtrArray *a,
                   GPtrArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    {
      ClocheSessionEntry *x = g_ptr_array_index (a, i);
      ClocheSessionEntry *y = find (b, cloche_session_get_id (x->session));
      g_autofree char *x_json = cloche_session_to_json (x->session);
      g_autofree char *y_json = NULL;

      g_assert_nonnull (y);
      y_json = cloche_session_to_json (y->session);
      g_assert_cmpstr (x_json, ==, y_json);
      g_assert_cmpuint (x->size, ==, y->size);
      g_assert_cmpint (x->stale, ==, y->stale);
    }
}

/* A daemon that starts again reads nothing whose stamps still match its
 * cache file, and everything that changed by hand since; a cache file that
 * is damaged, cut short, garbage or another folder's is ignored whole. */
static void
test_index_cache (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *cache = g_strconcat (fixture->root, ".index", NULL);
  g_autofree char *work = g_build_filename (fixture->root, "888888888888", "work", NULL);
  g_autofree char *other = g_build_filename (fixture->dir, "other", NULL);
  g_autofree char *other_cache = g_strconcat (other, ".index", NULL);
  g_autofree char *blob = g_strnfill (256 * 1024, 'x');
  g_autofree char *contents = NULL;
  g_autofree char *copy = NULL;
  char *title;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(ClocheSessionStore) other_store = NULL;
  gsize length = 0;
  int reads = -1, measures = -1;

  write_record (fixture, "111111111111", "closed", 30, FALSE);
  write_record (fixture, "222222222222", "closed", 1, FALSE);
  write_record (fixture, "888888888888", "closed", 30, FALSE);
  g_free (write_file (work, "notes.txt", "notes"));
  /* Stamps younger than 2 s are never kept (see cloche-session-index.c). */
  g_usleep (2100 * 1000);

  reopen (fixture, &reads, &measures);
  g_assert_cmpint (reads, ==, 3);
  g_assert_true (g_file_test (cache, G_FILE_TEST_IS_REGULAR));
  before = list (fixture);

  reopen (fixture, &reads, &measures);
  g_assert_cmpint (reads, ==, 0);
  g_assert_cmpint (measures, ==, 0);
  after = list (fixture);
  assert_same_lists (before, after);
  g_clear_pointer (&after, g_ptr_array_unref);

  /* Changed while no daemon ran. */
  edit_record (fixture, "111111111111", "\"pinned\": false", "\"pinned\": true");
  g_free (write_file (work, "added.bin", blob));
  g_usleep (2100 * 1000);
  reopen (fixture, &reads, &measures);
  g_assert_cmpint (reads, ==, 1);
  after = list (fixture);
  g_assert_true (cloche_session_get_pinned (find (after, "111111111111")->session));
  g_assert_cmpuint (find (after, "888888888888")->size, >=,
                    find (before, "888888888888")->size + 256 * 1024);
  g_clear_pointer (&before, g_ptr_array_unref);
  before = g_steal_pointer (&after);

  /* One letter of a title changed (the stamps still match), then cut
   * short, then not an index at all: each time every record is read again. */
  g_assert_true (g_file_get_contents (cache, &contents, &length, NULL));
  title = find_bytes (contents, length, "888888888888\0t\0", 15);
  g_assert_nonnull (title);
  title[13] = 'u';
  g_assert_true (g_file_set_contents (cache, contents, length, NULL));
  reopen (fixture, &reads, &measures);
  g_assert_cmpint (reads, ==, 3);
  after = list (fixture);
  assert_same_lists (before, after);
  g_clear_pointer (&after, g_ptr_array_unref);
  g_clear_pointer (&contents, g_free);

  g_assert_true (g_file_get_contents (cache, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (cache, contents, length / 2, NULL));
  reopen (fixture, &reads, &measures);
  g_assert_cmpint (reads, ==, 3);

  g_assert_true (g_file_set_contents (cache, "not an index", -1, NULL));
  reopen (fixture, &reads, &measures);
  g_assert_cmpint (reads, ==, 3);
  after = list (fixture);
  assert_same_lists (before, after);
  g_clear_pointer (&after, g_ptr_array_unref);

  /* Another folder's, sound in itself. */
  copy = g_strdup_printf ("cp -a '%s/222222222222' '%s/'", fixture->root, other);
  g_assert_cmpint (g_mkdir_with_parents (other, 0700), ==, 0);
  g_assert_cmpint (system (copy), ==, 0);
  other_store = cloche_session_store_new (other);
  cloche_session_store_flush (other_store);
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (other_cache, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (cache, contents, length, NULL));
  reopen (fixture, &reads, &measures);
  g_assert_cmpint (reads, ==, 3);
  after = list (fixture);
  assert_same_lists (before, after);
}

/* Records a hand, a bug or an attacker left: each is listed as damaged with
 * a reason naming what is wrong, and neither listing, writing the index
 * file nor starting again on it crashes (each of these once did, at every
 * start). A folder whose name cannot be an id is not a session; a record
 * without its optional members (mounts here) is read with their defaults. */
static const struct
{
  const char *id;
  const char *member;    /* replaced by @value (dropped when it is NULL) */
  const char *value;
  const char *reason;    /* NULL: read, not damaged */
} hostile[] = {
  { "a00000000001", "title", "5", "\"title\"" },
  { "a00000000002", "title", "\"\\ud800\"", "surrogate" },
  { "a00000000003", "title", NULL /* 100,000 '[' */, "nesting" },
  { "a00000000004", "mounts", NULL, NULL },
  { "a00000000005", "id", "5", "\"id\"" },
  { "a00000000006", "pinned", "\"yes\"", "\"pinned\"" },
  { "a00000000007", "mounts", "[5]", "mount 0" },
  { "a00000000008", "created", "5", "\"created\"" },
  { "a00000000009", "mounts", "[{\"path\": \"/p\", \"name\": 7}]", "mount 0" },
  { "a0000000000a", "version", "9", "\"version\"" },
  { "a0000000000b", "state", "\"damaged\"", "\"state\"" },
  { "a0000000000c", "last_active", "\"0001-01-01T00:00:00Z\"", "\"last_active\"" },
  { "a0000000000d", "mounts", "[{\"path\": \"/p\", \"name\": \"..\"}]", "mount 0" },
  { "a0000000000e", "mounts", "{}", "\"mounts\"" },
  { "a0000000000f", NULL, "[1, 2]", "not a JSON object" },
  { "a00000000010", NULL, "{\"id\": \"a00000000010\"} {}", "more than one" },
};

/* A whole record of @id with @member's value replaced (the whole text
 * when @member is NULL). */
static char *
hostile_record (guint i)
{
  const char *members[][2] = {
    { "version", "1" }, { "id", NULL }, { "title", "\"t\"" }, { "client", "\"c\"" },
    { "created", "\"2020-01-01T00:00:00Z\"" }, { "last_active", "\"2020-01-01T00:00:00Z\"" },
    { "state", "\"closed\"" }, { "pinned", "false" }, { "mounts", "[]" },
  };
  g_autofree char *id = g_strdup_printf ("\"%s\"", hostile[i].id);
  g_autofree char *deep = g_strnfill (100000, '[');
  GString *json;

  if (hostile[i].member == NULL)
    return g_strdup (hostile[i].value);
  json = g_string_new ("{");
  for (guint m = 0; m < G_N_ELEMENTS (members); m++)
    {
      const char *value = members[m][1] != NULL ? members[m][1] : id;

      if (g_str_equal (members[m][0], hostile[i].member))
        value = hostile[i].value != NULL ? hostile[i].value
                : g_str_equal (hostile[i].member, "title") ? deep : NULL;
      if (value != NULL)
        g_string_append_printf (json, "%s\"%s\": %s", json->len > 1 ? ", " : "", members[m][0],
                                value);
    }
  g_string_append (json, "}");
  return g_string_free (json, FALSE);
}

static void
write_hostile (Fixture *fixture)
{
  g_autofree char *not_utf8 = g_build_filename (fixture->root, "\xff\xfe", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autofree char *dir = g_build_filename (fixture->root, hostile[i].id, "work", NULL);
      g_autofree char *parent = g_path_get_dirname (dir);
      g_autofree char *json = hostile_record (i);

      g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
      g_free (write_file (parent, "session.json", json));
    }
  g_assert_cmpint (g_mkdir_with_parents (not_utf8, 0700), ==, 0);
  g_free (write_file (not_utf8, "session.json", "{\"id\": \"\xff\xfe\"}"));
  write_record (fixture, "111111111111", "closed", 1, FALSE);
}

static void
assert_hostile_listed (GPtrArray *entries)
{
  g_assert_cmpuint (entries->len, ==, G_N_ELEMENTS (hostile) + 1);
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      ClocheSessionEntry *entry = find (entries, hostile[i].id);
      const char *damage;

      g_assert_nonnull (entry);
      if (hostile[i].reason == NULL)
        {
          g_assert_cmpint (cloche_session_get_state (entry->session), ==,
                           CLOCHE_SESSION_STATE_CLOSED);
          continue;
        }
      g_assert_cmpint (cloche_session_get_state (entry->session), ==,
                       CLOCHE_SESSION_STATE_DAMAGED);
      damage = cloche_session_get_damage (entry->session);
      if (strstr (damage, hostile[i].reason) == NULL)
        g_error ("%s: damage \"%s\" does not say \"%s\"", hostile[i].id, damage,
                 hostile[i].reason);
    }
  g_assert_cmpint (cloche_session_get_state (find (entries, "111111111111")->session), ==,
                   CLOCHE_SESSION_STATE_CLOSED);
}

static void
test_hostile_records (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) entries = NULL;
  int reads = -1, measures = -1;

  write_hostile (fixture);
  entries = list (fixture);
  assert_hostile_listed (entries);
  g_clear_pointer (&entries, g_ptr_array_unref);

  /* The index file is written at exit and read at the next start. */
  g_usleep (2100 * 1000);
  reopen (fixture, &reads, &measures);
  reopen (fixture, &reads, &measures);
  entries = list (fixture);
  assert_hostile_listed (entries);
}

/* A store made again on the same folder whose checks of every stamp wait
 * until released. */
static void
reopen_held (Fixture *fixture)
{
  g_clear_object (&fixture->store);
  fixture->store = _cloche_session_store_new_held (fixture->root);
}

static gboolean
listed_pinned (Fixture    *fixture,
               const char *id)
{
  g_autoptr(GPtrArray) entries = list (fixture);

  return entry_pinned (find (entries, id));
}

/* A session's folder, record and empty work folder, gone by hand. */
static void
remove_record (Fixture    *fixture,
               const char *id)
{
  g_autofree char *dir = g_build_filename (fixture->root, id, NULL);
  g_autofree char *record = g_build_filename (dir, "session.json", NULL);
  g_autofree char *work = g_build_filename (dir, "work", NULL);

  g_assert_cmpint (g_remove (record), ==, 0);
  g_assert_cmpint (g_rmdir (work), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* A store that starts again answers a list from the index it kept on disk
 * before checking it (the check held back here): the cached record, not
 * the one edited by hand while no store ran; but the folders that came
 * and went meanwhile as they are (the sessions folder is read at the
 * start, the new folder's record with it). Once the check runs, the edit
 * shows within a bounded number of lists. */
static void
test_list_before_check (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) early = NULL;
  int reads = -1, measures = -1;
  gboolean pinned = FALSE;

  write_record (fixture, "111111111111", "closed", 30, FALSE);
  write_record (fixture, "222222222222", "closed", 30, FALSE);
  write_record (fixture, "333333333333", "closed", 30, FALSE);
  g_usleep (2100 * 1000);
  reopen (fixture, &reads, &measures);
  edit_record (fixture, "111111111111", "\"pinned\": false", "\"pinned\": true");
  remove_record (fixture, "333333333333");
  write_record (fixture, "444444444444", "closed", 30, FALSE);
  /* Settled, so that nothing but the start itself reads the folder. */
  g_usleep (2100 * 1000);

  reopen_held (fixture);
  early = list (fixture);
  g_assert_cmpuint (early->len, ==, 3);
  g_assert_false (entry_pinned (find (early, "111111111111")));
  g_assert_true (find (early, "111111111111")->stale);
  g_assert_null (find (early, "333333333333"));
  g_assert_nonnull (find (early, "444444444444"));
  /* The new record only. */
  g_assert_cmpint (_cloche_session_store_get_index (fixture->store)->reads, ==, 1);

  _cloche_session_store_release_checks (fixture->store);
  for (guint i = 0; i < 1000 && !pinned; i++)
    if (!(pinned = listed_pinned (fixture, "111111111111")))
      g_usleep (10 * 1000);
  g_assert_true (pinned);
}

/* A cleanup asked right after a start, before the kept index is checked:
 * it waits for the check, and spares what the cache calls stale but was
 * pinned, or used, by hand while no store ran. */
static void
test_cleanup_waits_for_check (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autofree char *pinned = g_build_filename (fixture->root, "111111111111", NULL);
  g_autofree char *used = g_build_filename (fixture->root, "222222222222", NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) early = NULL;
  g_autoptr(GPtrArray) removed = NULL;
  g_autoptr(GError) error = NULL;
  int reads = -1, measures = -1;
  guint64 freed = 0;

  write_record (fixture, "111111111111", "closed", 30, FALSE);
  write_record (fixture, "222222222222", "closed", 30, FALSE);
  write_record (fixture, "444444444444", "closed", 30, FALSE);
  g_usleep (2100 * 1000);
  reopen (fixture, &reads, &measures);
  edit_record (fixture, "111111111111", "\"pinned\": false", "\"pinned\": true");
  write_record (fixture, "222222222222", "closed", 0, FALSE);

  reopen_held (fixture);
  early = list (fixture);
  for (guint i = 0; i < early->len; i++)
    g_assert_true (((ClocheSessionEntry *) g_ptr_array_index (early, i))->stale);
  cloche_session_store_cleanup_async (fixture->store, open_ids, 7, FALSE, NULL, NULL, NULL,
                                      cloche_test_store_result, &result);
  removed = cloche_session_store_cleanup_finish (fixture->store, wait_result (&result), &freed,
                                                 &error);
  g_assert_no_error (error);
  g_assert_cmpuint (removed->len, ==, 1);
  g_assert_nonnull (find (removed, "444444444444"));
  g_assert_true (g_file_test (pinned, G_FILE_TEST_IS_DIR));
  g_assert_true (g_file_test (used, G_FILE_TEST_IS_DIR));
}

/* A list from the wire or a file is checked once as a whole: in normal form
 * it is read where it is, else as GVariant's normal form of it (never past
 * its bytes, whatever its framing says). */
static void
test_checked_list (void)
{
  g_autoptr(GPtrArray) infos = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GBytes) packed = NULL;
  g_autoptr(GBytes) broken = NULL;
  g_autoptr(GVariant) list = NULL;
  g_autoptr(GVariant) damaged = NULL;
  g_autofree guint8 *bytes = NULL;
  gconstpointer data;
  gsize length = 0;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *id = g_strdup_printf ("%012x", i + 1);
      g_autoptr(ClocheSession) session =
        cloche_session_new_record (id, "t", "c", 1, 2, CLOCHE_SESSION_STATE_CLOSED, FALSE);

      g_ptr_array_add (infos, cloche_session_to_info (session, FALSE, 0));
    }
  packed = cloche_session_infos_pack (infos);
  list = cloche_session_variant_new_checked (G_VARIANT_TYPE (CLOCHE_SESSION_INFOS_TYPE), packed);
  g_assert_cmpuint (g_variant_n_children (list), ==, 3);
  g_assert_true (g_variant_get_data (list) == g_bytes_get_data (packed, NULL)
                 || G_BYTE_ORDER == G_BIG_ENDIAN);

  /* The last framing offset (the end of the last struct) pointing past the end. */
  data = g_bytes_get_data (packed, &length);
  bytes = g_memdup2 (data, length);
  bytes[length - 1] = 0xff;
  broken = g_bytes_new (bytes, length);
  damaged = cloche_session_variant_new_checked (G_VARIANT_TYPE (CLOCHE_SESSION_INFOS_TYPE), broken);
  g_assert_true (g_variant_is_normal_form (damaged));
  g_assert_true (g_variant_get_data (damaged) != g_bytes_get_data (broken, NULL));
  for (gsize i = 0; i < g_variant_n_children (damaged); i++)
    {
      g_autoptr(GVariant) info = g_variant_get_child_value (damaged, i);
      g_auto(ClocheSessionInfo) fields = { 0 };

      cloche_session_info_init (&fields, info);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/session-store/roundtrip", test_roundtrip);
  ADD ("/session-store/save-is-atomic", test_save_is_atomic);
  ADD ("/session-store/damaged", test_damaged);
  ADD ("/session-store/stale", test_stale);
  ADD ("/session-store/cleanup", test_cleanup);
  ADD ("/session-store/queued-writes-survive", test_queued_writes_survive);
  ADD ("/session-store/index-follows-disk", test_index_follows_disk);
  ADD ("/session-store/hard-link-counts-nothing", test_hard_link_counts_nothing);
  ADD ("/session-store/index-cache", test_index_cache);
  ADD ("/session-store/cleanup-many-names", test_cleanup_many_names);
  ADD ("/session-store/list-before-check", test_list_before_check);
  ADD ("/session-store/cleanup-waits-for-check", test_cleanup_waits_for_check);
  ADD ("/session-store/hostile-records", test_hostile_records);
  ADD ("/session-store/deep-tree", test_deep_tree);
  ADD ("/session-store/one-bad-session", test_one_bad_session);
#undef ADD
  g_test_add_func ("/session-store/checked-list", test_checked_list);

  return g_test_run ();
}
