/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cloche-file.c on real files: what a folder someone else can write may
 * hold in place of the file Cloche reads or writes (a FIFO, a device, a
 * link, something huge), and the folders Cloche keeps private.
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-file.h"

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("cloche-file-XXXXXX", &error);
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

static char *
path_in (Fixture    *fixture,
         const char *name)
{
  return g_build_filename (fixture->dir, name, NULL);
}

/* A FIFO (no writer: open would block), a device, a folder: refused by
 * type, without blocking; a file past the bound: refused, named. */
static void
test_read_regular_only (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *fifo = path_in (fixture, "fifo");
  g_autofree char *big = path_in (fixture, "big");
  g_autofree char *small = path_in (fixture, "small");
  g_autoptr(GBytes) bytes = NULL;
  GError *error = NULL;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_null (cloche_file_read (AT_FDCWD, fifo, 100, "test file", CLOCHE_FILE_FOLLOW, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_assert_nonnull (strstr (error->message, "a FIFO (named pipe), not a regular file"));
  g_clear_error (&error);

  g_assert_null (cloche_file_read (AT_FDCWD, "/dev/zero", 100, "test file", CLOCHE_FILE_FOLLOW,
                                   &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_assert_nonnull (strstr (error->message, "a device"));
  g_clear_error (&error);

  g_assert_null (cloche_file_read (AT_FDCWD, fixture->dir, 100, "test file", CLOCHE_FILE_FOLLOW,
                                   &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (big, "0123456789", -1, NULL));
  g_assert_null (cloche_file_read (AT_FDCWD, big, 9, "test file", CLOCHE_FILE_FOLLOW, &error));
  g_assert_nonnull (strstr (error->message, "is larger than 9 bytes, which no test file is"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (small, "abc", -1, NULL));
  bytes = cloche_file_read (AT_FDCWD, small, 3, "test file", CLOCHE_FILE_FOLLOW, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "abc", 3);

  g_assert_null (cloche_file_read (AT_FDCWD, "/nonexistent/x", 3, "test file",
                                   CLOCHE_FILE_FOLLOW, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);
}

/* A link is refused when asked, and never written through. */
static void
test_links (Fixture       *fixture,
            gconstpointer  data)
{
  g_autofree char *target = path_in (fixture, "target");
  g_autofree char *link = path_in (fixture, "link");
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) bytes = NULL;
  GError *error = NULL;

  g_assert_true (g_file_set_contents (target, "kept", -1, NULL));
  g_assert_cmpint (symlink (target, link), ==, 0);
  bytes = cloche_file_read (AT_FDCWD, link, 10, "test file", CLOCHE_FILE_FOLLOW, &error);
  g_assert_no_error (error);
  g_assert_null (cloche_file_read (AT_FDCWD, link, 10, "test file", CLOCHE_FILE_NO_FOLLOW,
                                   &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_LOOP);
  g_assert_nonnull (strstr (error->message, "is a symbolic link"));
  g_clear_error (&error);

  g_assert_cmpint (cloche_file_open_write (AT_FDCWD, link, O_WRONLY | O_APPEND | O_CREAT,
                                           &error), ==, -1);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_LOOP);
  g_clear_error (&error);
  g_assert_true (g_file_get_contents (target, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "kept");
}

/* Only the end of a file is read, however large it is: a 4 GiB file (sparse)
 * costs the bytes asked for. */
static void
test_read_tail (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *path = path_in (fixture, "console.log");
  g_autoptr(GBytes) tail = NULL;
  g_autoptr(GBytes) whole = NULL;
  GError *error = NULL;
  int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, G_GINT64_CONSTANT (4) << 30), ==, 0);
  g_assert_cmpint (pwrite (fd, "last line\n", 10, (G_GINT64_CONSTANT (4) << 30) - 10), ==, 10);
  close (fd);
  tail = cloche_file_read_tail (path, 64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (tail), ==, 64);
  g_assert_cmpmem ((const char *) g_bytes_get_data (tail, NULL) + 54, 10, "last line\n", 10);

  g_assert_true (g_file_set_contents (path, "short", -1, NULL));
  whole = cloche_file_read_tail (path, 64, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (whole, NULL), g_bytes_get_size (whole), "short", 5);
}

/* A private folder is made 0700; a link, a file or a folder of another
 * user in its place is refused, never used. */
static void
test_private_dir (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *made = path_in (fixture, "a/b/vm-1");
  g_autofree char *open_dir = path_in (fixture, "open");
  g_autofree char *elsewhere = path_in (fixture, "elsewhere");
  g_autofree char *link = path_in (fixture, "vm-2");
  GError *error = NULL;
  GStatBuf st;

  g_assert_true (cloche_file_make_private_dir (made, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (made, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  g_assert_cmpint (g_mkdir (open_dir, 0755), ==, 0);
  g_assert_true (cloche_file_make_private_dir (open_dir, &error));
  g_assert_cmpint (g_stat (open_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  g_assert_cmpint (g_mkdir (elsewhere, 0700), ==, 0);
  g_assert_cmpint (symlink (elsewhere, link), ==, 0);
  g_assert_false (cloche_file_make_private_dir (link, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST);
  g_assert_nonnull (strstr (error->message, "is not a folder of your own"));
  g_clear_error (&error);

  /* Another user's folder, where this test may make one (as root). */
  if (geteuid () == 0)
    {
      g_autofree char *theirs = path_in (fixture, "theirs");

      g_assert_cmpint (g_mkdir (theirs, 0700), ==, 0);
      g_assert_cmpint (chown (theirs, 65534, 65534), ==, 0);
      g_assert_false (cloche_file_make_private_dir (theirs, &error));
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST);
      g_clear_error (&error);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/file/read-regular-only", test_read_regular_only);
  ADD ("/file/links", test_links);
  ADD ("/file/read-tail", test_read_tail);
  ADD ("/file/private-dir", test_private_dir);
#undef ADD

  return g_test_run ();
}
