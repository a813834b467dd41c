/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The monitor's parsers on fixtures taken from a real QEMU, its ring, the
 * default memory size, and a monitor that takes no sample while its VM is
 * stopped but still measures disk use.
 */
#include "config.h"

#include <glib/gstdio.h>

#include "cloche-memory.h"
#include "cloche-monitor-private.h"
#include "cloche-test-util.h"

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define GIB (1024 * MIB)

static char *
fixture_contents (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static JsonNode *
fixture_json (const char *name)
{
  g_autofree char *contents = fixture_contents (name);
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (contents, &error);

  g_assert_no_error (error);
  return node;
}

static void
test_stat (void)
{
  g_autofree char *qemu = fixture_contents ("proc-stat.txt");
  g_autofree char *odd = fixture_contents ("proc-stat-odd-name.txt");
  g_autoptr(GError) error = NULL;
  guint64 ticks = 0;

  /* utime 453 + stime 39 */
  g_assert_true (cloche_monitor_parse_stat (qemu, &ticks, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (ticks, ==, 492);

  /* A name with spaces and parentheses does not shift the fields. */
  g_assert_true (cloche_monitor_parse_stat (odd, &ticks, &error));
  g_assert_cmpuint (ticks, ==, 1200 + 345);
}

static void
test_stat_truncated (void)
{
  g_autofree char *truncated = fixture_contents ("proc-stat-truncated.txt");
  g_autoptr(GError) error = NULL;
  guint64 ticks = 7;

  g_assert_false (cloche_monitor_parse_stat (truncated, &ticks, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_cmpuint (ticks, ==, 7);
  g_clear_error (&error);
  g_assert_false (cloche_monitor_parse_stat ("", &ticks, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
test_smaps_rollup (void)
{
  g_autofree char *anonymous = fixture_contents ("smaps-rollup.txt");
  g_autofree char *memfd = fixture_contents ("smaps-rollup-memfd.txt");
  g_autoptr(GError) error = NULL;
  guint64 rss = 0, pss = 0;

  g_assert_true (cloche_monitor_parse_smaps_rollup (anonymous, &rss, &pss, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rss, ==, 239528 * G_GUINT64_CONSTANT (1024));
  g_assert_cmpuint (pss, ==, 237930 * G_GUINT64_CONSTANT (1024));

  /* Guest RAM in a shared memfd (for virtiofs) counts in Rss as well. */
  g_assert_true (cloche_monitor_parse_smaps_rollup (memfd, &rss, &pss, &error));
  g_assert_cmpuint (rss, ==, 235488 * G_GUINT64_CONSTANT (1024));
  g_assert_cmpuint (pss, ==, 196431 * G_GUINT64_CONSTANT (1024));
}

static void
test_smaps_rollup_no_pss (void)
{
  g_autofree char *contents = fixture_contents ("smaps-rollup-no-pss.txt");
  g_autoptr(GError) error = NULL;
  guint64 rss = 0, pss = 0;

  g_assert_false (cloche_monitor_parse_smaps_rollup (contents, &rss, &pss, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "Pss"));
}

static void
test_guest_stats (void)
{
  g_autoptr(JsonNode) node = fixture_json ("guest-stats.json");
  g_autoptr(GError) error = NULL;
  ClocheGuestMemory memory;

  g_assert_true (cloche_monitor_parse_guest_stats (node, &memory, &error));
  g_assert_no_error (error);
  g_assert_true (memory.known);
  g_assert_cmpuint (memory.total, ==, 1020542976);
  g_assert_cmpuint (memory.free, ==, 967131136);
  /* Used is total − available, not total − free. */
  g_assert_cmpuint (memory.used, ==, 1020542976 - 898736128);
}

static void
test_guest_stats_unset (void)
{
  g_autoptr(JsonNode) node = fixture_json ("guest-stats-unset.json");
  g_autoptr(GError) error = NULL;
  ClocheGuestMemory memory;

  /* Before the guest's first answer: not an error, just nothing known. */
  g_assert_true (cloche_monitor_parse_guest_stats (node, &memory, &error));
  g_assert_no_error (error);
  g_assert_false (memory.known);
  g_assert_cmpuint (memory.total, ==, 0);
}

static void
test_guest_stats_no_available (void)
{
  g_autoptr(JsonNode) node = fixture_json ("guest-stats-no-available.json");
  g_autoptr(GError) error = NULL;
  ClocheGuestMemory memory;

  g_assert_true (cloche_monitor_parse_guest_stats (node, &memory, &error));
  g_assert_true (memory.known);
  g_assert_cmpuint (memory.used, ==, 1000000000 - 600000000);
}

static void
test_guest_stats_bad (void)
{
  g_autoptr(JsonNode) node = fixture_json ("guest-stats-bad.json");
  g_autoptr(JsonNode) array = json_from_string ("[1, 2]", NULL);
  g_autoptr(GError) error = NULL;
  ClocheGuestMemory memory;

  g_assert_false (cloche_monitor_parse_guest_stats (node, &memory, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error (&error);
  g_assert_false (cloche_monitor_parse_guest_stats (array, &memory, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
}

static void
test_ring (void)
{
  g_autofree ClocheSampleRing *ring = g_new0 (ClocheSampleRing, 1);
  g_autoptr(GArray) all = NULL;
  g_autoptr(GArray) recent = NULL;
  g_autoptr(GArray) none = NULL;

  for (gint64 t = 1; t <= CLOCHE_MONITOR_HISTORY + 100; t++)
    cloche_sample_ring_push (ring, &(ClocheSample) { .timestamp = t });

  /* The oldest hundred are gone; the rest come oldest first. */
  all = cloche_sample_ring_since (ring, 0);
  g_assert_cmpuint (all->len, ==, CLOCHE_MONITOR_HISTORY);
  g_assert_cmpint (g_array_index (all, ClocheSample, 0).timestamp, ==, 101);
  g_assert_cmpint (g_array_index (all, ClocheSample, all->len - 1).timestamp, ==,
                   CLOCHE_MONITOR_HISTORY + 100);

  recent = cloche_sample_ring_since (ring, CLOCHE_MONITOR_HISTORY + 97);
  g_assert_cmpuint (recent->len, ==, 3);
  g_assert_cmpint (g_array_index (recent, ClocheSample, 0).timestamp, ==,
                   CLOCHE_MONITOR_HISTORY + 98);

  none = cloche_sample_ring_since (ring, CLOCHE_MONITOR_HISTORY + 100);
  g_assert_cmpuint (none->len, ==, 0);
}

static void
test_memory_default (void)
{
  /* A quarter of the host, never under 1 GiB nor over 2 GiB. */
  g_assert_cmpuint (cloche_memory_default_mib (0), ==, 1024);
  g_assert_cmpuint (cloche_memory_default_mib (2 * GIB), ==, 1024);
  g_assert_cmpuint (cloche_memory_default_mib (4 * GIB), ==, 1024);
  g_assert_cmpuint (cloche_memory_default_mib (6 * GIB), ==, 1536);
  g_assert_cmpuint (cloche_memory_default_mib (8 * GIB - 300 * MIB), ==, 1973);
  g_assert_cmpuint (cloche_memory_default_mib (9 * GIB), ==, 2048);
  g_assert_cmpuint (cloche_memory_default_mib (16 * GIB), ==, 2048);
  g_assert_cmpuint (cloche_memory_default_mib (512 * GIB), ==, 2048);

  g_assert_cmpuint (cloche_memory_choose_mib (768), ==, 768);
  g_assert_cmpuint (cloche_memory_choose_mib (0), ==,
                    cloche_memory_default_mib (cloche_memory_host_bytes ()));
  g_assert_cmpuint (cloche_memory_host_bytes (), >, 0);
}

static void
on_sample (ClocheMonitor      *monitor,
           const ClocheSample *sample,
           guint              *count)
{
  (*count)++;
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           gboolean   *changed)
{
  *changed = TRUE;
}

static gboolean
set_flag (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
remove_file (const char *dir,
             const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_no_errno (g_unlink (path));
  g_assert_no_errno (g_rmdir (dir));
}

static void
write_file (const char *dir,
            const char *name,
            gsize       size)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *data = g_malloc0 (size);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, size, &error);
  g_assert_no_error (error);
}

static void
test_stopped_vm (void)
{
  g_autofree char *bundle = g_dir_make_tmp ("cloche-bundle-XXXXXX", NULL);
  g_autofree char *sessions = g_dir_make_tmp ("cloche-sessions-XXXXXX", NULL);
  g_autoptr(ClocheVm) vm = cloche_vm_new (bundle);
  g_autoptr(ClocheSessionStore) store = cloche_session_store_new (sessions);
  g_autoptr(ClocheSandbox) sandbox = cloche_sandbox_new (vm, store);
  g_autoptr(ClocheMonitor) monitor = NULL;
  g_autoptr(GArray) samples = NULL;
  gboolean measured = FALSE, waited = FALSE;
  guint count = 0;

  write_file (bundle, "vmlinux", 2 * MIB);
  write_file (sessions, "session.json", 64 * 1024);
  monitor = cloche_monitor_new (sandbox, sessions);
  g_signal_connect (monitor, "sample", G_CALLBACK (on_sample), &count);
  g_signal_connect (monitor, "notify::disk-sessions", G_CALLBACK (on_notify), &measured);

  /* Disk use is measured once, off the main loop, even while stopped. */
  g_assert_true (cloche_test_wait (&measured, 10));
  g_assert_cmpuint (cloche_monitor_get_disk_bundle (monitor), >=, 2 * MIB);
  g_assert_cmpuint (cloche_monitor_get_disk_sessions (monitor), >=, 64 * 1024);
  g_assert_cmpuint (cloche_monitor_get_disk_sessions (monitor), <, MIB);

  /* No timer runs, so nothing wakes the loop and no sample comes. */
  g_assert_false (cloche_monitor_get_sampling (monitor));
  g_timeout_add (2100, set_flag, &waited);
  cloche_test_wait (&waited, 5);
  g_assert_cmpuint (count, ==, 0);
  samples = cloche_monitor_dup_samples (monitor, 0);
  g_assert_cmpuint (samples->len, ==, 0);

  remove_file (bundle, "vmlinux");
  remove_file (sessions, "session.json");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/monitor/stat", test_stat);
  g_test_add_func ("/monitor/stat-truncated", test_stat_truncated);
  g_test_add_func ("/monitor/smaps-rollup", test_smaps_rollup);
  g_test_add_func ("/monitor/smaps-rollup-no-pss", test_smaps_rollup_no_pss);
  g_test_add_func ("/monitor/guest-stats", test_guest_stats);
  g_test_add_func ("/monitor/guest-stats-unset", test_guest_stats_unset);
  g_test_add_func ("/monitor/guest-stats-no-available", test_guest_stats_no_available);
  g_test_add_func ("/monitor/guest-stats-bad", test_guest_stats_bad);
  g_test_add_func ("/monitor/ring", test_ring);
  g_test_add_func ("/monitor/stopped-vm", test_stopped_vm);
  g_test_add_func ("/memory/default", test_memory_default);

  return g_test_run ();
}
