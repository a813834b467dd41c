/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The warm-wake snapshot's files without a VM (cloche-vm-snapshot.c): a
 * save read back byte for byte with the RAM's zero pages left as holes, a
 * key that differs, a record that is a link, nothing there. The real VM's
 * side is tests/test-vm-warm.c.
 */
#define _GNU_SOURCE   /* memfd_create */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "cloche-error.h"
#include "cloche-vm-snapshot.h"

#define RAM_SIZE (4 * 1024 * 1024)
#define PAGE     4096

static const char state_bytes[] = "QEVM device state, as QEMU would write it";

typedef struct
{
  char *dir;
  int   ram;
} Fixture;

/* Pages 3, 254-257 (across the copy's 1 MiB chunk), 259 and 700 hold
 * data; the rest are zeros (and pages 5 and 258 zeros written), so that
 * the copy writes runs of pages and leaves holes between them. */
static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *tmp = g_dir_make_tmp ("cloche-snapshot-XXXXXX", NULL);
  guchar page[PAGE];

  fixture->dir = g_build_filename (tmp, "warm", NULL);
  fixture->ram = memfd_create ("test-ram", MFD_CLOEXEC);
  g_assert_cmpint (ftruncate (fixture->ram, RAM_SIZE), ==, 0);
  memset (page, 0xa5, sizeof page);
  g_assert_cmpint (pwrite (fixture->ram, page, PAGE, 3 * PAGE), ==, PAGE);
  memset (page, 0, sizeof page);
  g_assert_cmpint (pwrite (fixture->ram, page, PAGE, 5 * PAGE), ==, PAGE);
  g_assert_cmpint (pwrite (fixture->ram, page, PAGE, 258 * PAGE), ==, PAGE);
  memset (page, 0x3c, sizeof page);
  g_assert_cmpint (pwrite (fixture->ram, page, PAGE, 700 * PAGE), ==, PAGE);
  for (guint i = 254; i <= 259; i++)
    if (i != 258)
      {
        memset (page, (int) i, sizeof page);
        page[PAGE - 1] = 0;   /* a page is data when any byte is */
        g_assert_cmpint (pwrite (fixture->ram, page, PAGE, i * PAGE), ==, PAGE);
      }
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *parent = g_path_get_dirname (fixture->dir);

  cloche_vm_snapshot_remove (fixture->dir);
  g_rmdir (fixture->dir);
  g_rmdir (parent);
  close (fixture->ram);
  g_free (fixture->dir);
}

static void
save (Fixture    *fixture,
      const char *key)
{
  g_autoptr(GError) error = NULL;
  ClocheVmSnapshotMeta meta = { key, "7.2.22 test", 10003 };
  int state = cloche_vm_snapshot_open_state (fixture->dir, &error);

  g_assert_no_error (error);
  g_assert_cmpint (write (state, state_bytes, sizeof state_bytes), ==, sizeof state_bytes);
  g_assert_true (cloche_vm_snapshot_save (fixture->dir, fixture->ram, state, &meta, &error));
  g_assert_no_error (error);
  close (state);
}

static char *
path_in (Fixture    *fixture,
         const char *name)
{
  return g_build_filename (fixture->dir, name, NULL);
}

static void
assert_gone (Fixture *fixture)
{
  g_assert_false (cloche_vm_snapshot_exists (fixture->dir));
  g_assert_cmpuint (cloche_vm_snapshot_size (fixture->dir), ==, 0);
}

static void
assert_same_bytes (int fd_a,
                   int fd_b,
                   gsize size)
{
  g_autofree guchar *a = g_malloc (size);
  g_autofree guchar *b = g_malloc (size);

  g_assert_cmpint (pread (fd_a, a, size, 0), ==, (gssize) size);
  g_assert_cmpint (pread (fd_b, b, size, 0), ==, (gssize) size);
  g_assert_true (memcmp (a, b, size) == 0);
}

static void
test_round_trip (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheVmSnapshot) snapshot = NULL;
  g_autofree char *ram = path_in (fixture, "ram");
  char state[sizeof state_bytes];
  struct stat st;

  save (fixture, "key-1");
  g_assert_true (cloche_vm_snapshot_exists (fixture->dir));
  /* Seven pages of data in 4 MiB: the zero pages, written or not, are holes. */
  g_assert_cmpint (stat (ram, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, RAM_SIZE);
  g_assert_cmpint ((gint64) st.st_blocks * 512, <, 64 * 1024);

  snapshot = cloche_vm_snapshot_load (fixture->dir, "key-1", &error);
  g_assert_no_error (error);
  g_assert_nonnull (snapshot);
  g_assert_cmpstr (snapshot->qemu_version, ==, "7.2.22 test");
  g_assert_cmpuint (snapshot->next_guest_uid, ==, 10003);
  /* The memfd has the RAM's size at once; its bytes come with the fill,
   * which a restore runs while QEMU starts. */
  g_assert_cmpint (fstat (snapshot->ram_fd, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, RAM_SIZE);
  g_assert_cmpint (snapshot->ram_file_fd, >=, 0);
  g_assert_true (cloche_vm_snapshot_fill (snapshot->ram_file_fd, snapshot->ram_fd, &error));
  g_assert_no_error (error);
  assert_same_bytes (snapshot->ram_fd, fixture->ram, RAM_SIZE);
  g_assert_cmpint (read (snapshot->state_fd, state, sizeof state), ==, sizeof state);
  g_assert_true (memcmp (state, state_bytes, sizeof state) == 0);
  /* Used once. */
  assert_gone (fixture);
}

static void
test_other_key (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheVmSnapshot) snapshot = NULL;

  save (fixture, "key-1");
  snapshot = cloche_vm_snapshot_load (fixture->dir, "key-2", &error);
  g_assert_null (snapshot);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SNAPSHOT_UNUSABLE);
  assert_gone (fixture);
}

/* A record that is a link (to a record that would pass) is not read. */
static void
test_record_link (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheVmSnapshot) snapshot = NULL;
  g_autofree char *meta = path_in (fixture, "snapshot.ini");
  g_autofree char *copy = path_in (fixture, "copy.ini");
  g_autofree char *contents = NULL;

  save (fixture, "key-1");
  g_assert_true (g_file_get_contents (meta, &contents, NULL, NULL));
  g_assert_true (g_file_set_contents (copy, contents, -1, NULL));
  g_assert_cmpint (g_unlink (meta), ==, 0);
  g_assert_cmpint (symlink ("copy.ini", meta), ==, 0);
  snapshot = cloche_vm_snapshot_load (fixture->dir, "key-1", &error);
  g_assert_null (snapshot);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SNAPSHOT_UNUSABLE);
  g_test_message ("%s", error->message);
  assert_gone (fixture);
  g_unlink (copy);
}

static void
test_none (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (cloche_vm_snapshot_load (fixture->dir, "key-1", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

/* The key moves with the command line's shape and the bundle. */
static void
test_key (void)
{
  const char *a[] = { "/bin/sh", "-m", "512", NULL };
  const char *b[] = { "/bin/sh", "-m", "768", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *ka = cloche_vm_snapshot_key (a, "bundle 1", &error);
  g_autofree char *ka2 = cloche_vm_snapshot_key (a, "bundle 1", &error);
  g_autofree char *kb = cloche_vm_snapshot_key (b, "bundle 1", &error);
  g_autofree char *kc = cloche_vm_snapshot_key (a, "bundle 2", &error);
  const char *missing[] = { "/nonexistent/qemu", NULL };

  g_assert_no_error (error);
  g_assert_cmpstr (ka, ==, ka2);
  g_assert_cmpstr (ka, !=, kb);
  g_assert_cmpstr (ka, !=, kc);
  g_assert_null (cloche_vm_snapshot_key (missing, "bundle 1", &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QEMU_MISSING);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/vm-snapshot/round-trip", Fixture, NULL, fixture_set_up, test_round_trip,
              fixture_tear_down);
  g_test_add ("/vm-snapshot/other-key", Fixture, NULL, fixture_set_up, test_other_key,
              fixture_tear_down);
  g_test_add ("/vm-snapshot/record-link", Fixture, NULL, fixture_set_up, test_record_link,
              fixture_tear_down);
  g_test_add ("/vm-snapshot/none", Fixture, NULL, fixture_set_up, test_none,
              fixture_tear_down);
  g_test_add_func ("/vm-snapshot/key", test_key);
  return g_test_run ();
}
