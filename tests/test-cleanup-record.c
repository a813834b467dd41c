/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The last cleanup's record on disk (src/core/cloche-cleanup-record.c):
 * written and read back whole; no file reads as "never"; a file that is
 * not a record (too large, not JSON, a number out of range or of another
 * type, a link) is refused naming the file and the key, real files each.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "cloche-cleanup-record.h"
#include "cloche-error.h"

static char *dir;

static char *
scratch_file (const char *name)
{
  if (dir == NULL)
    dir = g_dir_make_tmp ("cloche-cleanup-record-XXXXXX", NULL);
  return g_build_filename (dir, name, NULL);
}

static void
test_round_trip (void)
{
  g_autofree char *path = scratch_file ("round-trip.json");
  g_autoptr(GVariant) record = NULL;
  g_autoptr(GError) error = NULL;
  gint64 time = 0;
  guint removed = 0;
  guint64 freed = 0;

  record = cloche_cleanup_record_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (record), ==, 0);
  g_clear_pointer (&record, g_variant_unref);

  g_assert_true (cloche_cleanup_record_save (path, 1765100000000000, 3, 1234567, &error));
  g_assert_no_error (error);
  record = cloche_cleanup_record_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (record, "time", "x", &time));
  g_assert_true (g_variant_lookup (record, "removed", "u", &removed));
  g_assert_true (g_variant_lookup (record, "freed", "t", &freed));
  g_assert_cmpint (time, ==, 1765100000000000);
  g_assert_cmpuint (removed, ==, 3);
  g_assert_cmpuint (freed, ==, 1234567);
}

static void
assert_refused (const char *name,
                const char *contents,
                const char *in_message)
{
  g_autofree char *path = scratch_file (name);
  g_autoptr(GVariant) record = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  record = cloche_cleanup_record_load (path, &error);
  g_assert_null (record);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, in_message));
}

static void
test_hostile (void)
{
  g_autofree char *huge = g_strnfill (CLOCHE_CLEANUP_RECORD_MAX_BYTES + 1, ' ');
  g_autofree char *target = scratch_file ("target.json");
  g_autofree char *link = scratch_file ("link.json");
  g_autoptr(GVariant) record = NULL;
  g_autoptr(GError) error = NULL;

  assert_refused ("huge.json", huge, "larger than");
  assert_refused ("garbage.json", "{\"time\": ", "not JSON");
  assert_refused ("array.json", "[1, 2]", "not a JSON object");
  assert_refused ("negative.json", "{\"time\": -1, \"removed\": 1, \"freed\": 1}", "\"time\"");
  assert_refused ("too-many.json", "{\"time\": 1, \"removed\": 4294967296, \"freed\": 1}",
                  "\"removed\"");
  assert_refused ("string.json", "{\"time\": 1, \"removed\": 1, \"freed\": \"1\"}", "\"freed\"");
  assert_refused ("missing.json", "{\"time\": 1, \"removed\": 1}", "\"freed\"");

  /* A link is not followed, even to a good record. */
  g_assert_true (cloche_cleanup_record_save (target, 1, 1, 1, NULL));
  g_assert_cmpint (symlink (target, link), ==, 0);
  record = cloche_cleanup_record_load (link, &error);
  g_assert_null (record);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, link));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/cleanup-record/round-trip", test_round_trip);
  g_test_add_func ("/cleanup-record/hostile", test_hostile);
  status = g_test_run ();
  if (dir != NULL)
    {
      const char *argv_rm[] = { "rm", "-rf", dir, NULL };

      g_spawn_sync (NULL, (char **) argv_rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                    NULL, NULL);
    }
  return status;
}
