/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * cloche-tree-copy.c on real files: the copy a fork makes of a work folder
 * the guest owns. What a hostile guest may leave there (links out of the
 * folder, fifos, sockets, a tree deeper than the copy goes, names swapped
 * for links while the copy runs), a cancel, and a disk that fills up (a
 * 1 MiB tmpfs, mounted when the test runs as root; skipped otherwise).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-tree.h"
#include "cloche-tree-copy.h"

typedef struct
{
  char *dir;      /* src/ (the work folder), dst/ (where the copy goes), outside/ */
  char *src;
  char *dst;
  char *outside;
  int   src_fd;
  int   dst_fd;
} Fixture;

static int
open_dir (const char *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static void
write_file (const char *dir,
            const char *name,
            gsize       size)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *contents = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    contents[i] = 'a' + i % 26;
  g_assert_true (g_file_set_contents (path, contents, size, NULL));
}

static gboolean
remove_tree (int         parent_fd,
             const char *name)
{
  guint64 freed = 0;

  return cloche_tree_remove (parent_fd, name, NULL, &freed, NULL);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *src_parent = NULL;

  fixture->dir = g_dir_make_tmp ("cloche-tree-copy-XXXXXX", NULL);
  fixture->src = g_build_filename (fixture->dir, "src", "work", NULL);
  fixture->dst = g_build_filename (fixture->dir, "dst", NULL);
  fixture->outside = g_build_filename (fixture->dir, "outside", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->src, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (fixture->dst, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (fixture->outside, 0700), ==, 0);
  src_parent = g_path_get_dirname (fixture->src);
  write_file (fixture->outside, "secret", 100);
  fixture->src_fd = open_dir (src_parent);
  fixture->dst_fd = open_dir (fixture->dst);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  int top = open_dir (g_get_tmp_dir ());
  g_autofree char *name = g_path_get_basename (fixture->dir);

  umount2 (fixture->dst, MNT_DETACH);
  close (fixture->src_fd);
  close (fixture->dst_fd);
  g_assert_true (remove_tree (top, name));
  close (top);
  g_free (fixture->dir);
  g_free (fixture->src);
  g_free (fixture->dst);
  g_free (fixture->outside);
}

static gboolean
copy (Fixture         *fixture,
      ClocheTreeCopy  *result,
      GError         **error)
{
  return cloche_tree_copy (fixture->src_fd, "work", fixture->dst_fd, "work", result, NULL, NULL,
                           NULL, error);
}

static char *
copied (Fixture    *fixture,
        const char *name)
{
  return g_build_filename (fixture->dst, "work", name, NULL);
}

typedef struct
{
  guint64 last;
  guint   calls;
} Progress;

static void
on_progress (guint64  done,
             guint64  total,
             gpointer user_data)
{
  Progress *progress = user_data;

  g_assert_cmpuint (done, >=, progress->last);
  progress->last = done;
  progress->calls++;
}

/* Contents, folders, modes (never set-id) and times come across. */
static void
test_copies (Fixture       *fixture,
             gconstpointer  data)
{
  g_auto(ClocheTreeCopy) result = { 0 };
  g_autofree char *deep = g_build_filename (fixture->src, "a", "b", "c", NULL);
  g_autofree char *tool = g_build_filename (fixture->src, "tool", NULL);
  g_autofree char *copy_tool = copied (fixture, "tool");
  g_autofree char *big = copied (fixture, "a/b/c/big");
  g_autofree char *original = g_build_filename (deep, "big", NULL);
  g_autofree char *contents = NULL, *expected = NULL;
  g_autoptr(GError) error = NULL;
  Progress progress = { 0 };
  gsize length;
  struct stat st, copy_st;

  g_assert_cmpint (g_mkdir_with_parents (deep, 0755), ==, 0);
  write_file (deep, "big", 9 * 1024 * 1024 + 7);
  write_file (fixture->src, "tool", 10);
  write_file (fixture->src, "empty", 0);
  g_assert_cmpint (chmod (tool, 04755), ==, 0);
  g_assert_cmpint (stat (tool, &st), ==, 0);

  g_assert_true (cloche_tree_copy (fixture->src_fd, "work", fixture->dst_fd, "work", &result,
                                   on_progress, &progress, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (result.files, ==, 3);
  g_assert_cmpuint (result.skipped, ==, 0);
  g_assert_cmpuint (progress.calls, >=, 3);  /* the big file in chunks */
  g_assert_true (g_file_get_contents (big, &contents, &length, NULL));
  g_assert_cmpuint (length, ==, 9 * 1024 * 1024 + 7);
  g_assert_true (g_file_get_contents (original, &expected, NULL, NULL));
  g_assert_cmpmem (contents, length, expected, length);
  g_assert_cmpint (stat (copy_tool, &copy_st), ==, 0);
  g_assert_cmpint (copy_st.st_mode & 07777, ==, 0755);
  g_assert_cmpint (copy_st.st_mtim.tv_sec, ==, st.st_mtim.tv_sec);
  g_assert_cmpint (copy_st.st_mtim.tv_nsec, ==, st.st_mtim.tv_nsec);
}

/* A link is copied as a link: its target text, never what it points to. */
static void
test_links_not_followed (Fixture       *fixture,
                         gconstpointer  data)
{
  g_auto(ClocheTreeCopy) result = { 0 };
  g_autofree char *secret = g_build_filename (fixture->outside, "secret", NULL);
  g_autofree char *to_file = g_build_filename (fixture->src, "to-file", NULL);
  g_autofree char *to_dir = g_build_filename (fixture->src, "to-dir", NULL);
  g_autofree char *copy_file = copied (fixture, "to-file");
  g_autofree char *copy_dir = copied (fixture, "to-dir");
  g_autofree char *target = NULL;
  g_autoptr(GError) error = NULL;
  struct stat st;

  g_assert_cmpint (symlink (secret, to_file), ==, 0);
  g_assert_cmpint (symlink ("../../outside", to_dir), ==, 0);
  g_assert_true (copy (fixture, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (result.links, ==, 2);
  g_assert_cmpuint (result.files, ==, 0);
  g_assert_cmpint (lstat (copy_file, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  target = g_file_read_link (copy_file, NULL);
  g_assert_cmpstr (target, ==, secret);
  g_assert_cmpint (lstat (copy_dir, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));

  /* The work folder itself a link: refused, nothing made. */
  g_assert_true (remove_tree (fixture->dst_fd, "work"));
  g_assert_true (remove_tree (fixture->src_fd, "work"));
  g_assert_cmpint (symlink (fixture->outside, fixture->src), ==, 0);
  g_assert_false (copy (fixture, &result, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED);
  g_assert_cmpint (fstatat (fixture->dst_fd, "work", &st, AT_SYMLINK_NOFOLLOW), ==, -1);
}

/* Fifos and sockets are skipped (a fifo opened would hang the copy),
 * counted, and the first named. */
static void
test_special_files_skipped (Fixture       *fixture,
                            gconstpointer  data)
{
  g_auto(ClocheTreeCopy) result = { 0 };
  g_autofree char *fifo = g_build_filename (fixture->src, "fifo", NULL);
  g_autofree char *sock = g_build_filename (fixture->src, "sock", NULL);
  g_autofree char *copy_fifo = copied (fixture, "fifo");
  g_autoptr(GError) error = NULL;
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);
  struct stat st;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_strlcpy (address.sun_path, sock, sizeof address.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &address, sizeof address), ==, 0);
  close (fd);
  write_file (fixture->src, "plain", 5);

  g_assert_true (copy (fixture, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (result.skipped, ==, 2);
  g_assert_cmpuint (result.files, ==, 1);
  g_assert_nonnull (strstr (result.first_skipped, "work/"));
  g_assert_true (strstr (result.first_skipped, "fifo") != NULL
                 || strstr (result.first_skipped, "socket") != NULL);
  g_assert_cmpint (lstat (copy_fifo, &st), ==, -1);
}

/* Deeper than the copy goes: refused, saying how deep it may be. */
static void
test_too_deep (Fixture       *fixture,
               gconstpointer  data)
{
  g_auto(ClocheTreeCopy) result = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) path = g_string_new (fixture->src);

  for (guint i = 0; i <= CLOCHE_TREE_COPY_MAX_DEPTH; i++)
    g_string_append (path, "/d");
  g_assert_cmpint (g_mkdir_with_parents (path->str, 0700), ==, 0);
  g_assert_false (copy (fixture, &result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "128"));
}

typedef struct
{
  Fixture      *fixture;
  GCancellable *cancellable;
  guint         calls;
} Swap;

/* At the first progress, every folder not yet copied becomes a link out
 * of the work folder (and the cancel test cancels there instead). */
static void
on_progress_swap (guint64  done,
                  guint64  total,
                  gpointer user_data)
{
  Swap *swap = user_data;

  if (swap->calls++ > 0)
    return;
  if (swap->cancellable != NULL)
    {
      g_cancellable_cancel (swap->cancellable);
      return;
    }
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/d%02u", swap->fixture->src, i);
      g_autofree char *moved = g_strdup_printf ("%s.old", name);

      if (rename (name, moved) == 0)
        g_assert_cmpint (symlink (swap->fixture->outside, name), ==, 0);
    }
}

static void
make_folders (Fixture *fixture)
{
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/d%02u", fixture->src, i);

      g_assert_cmpint (g_mkdir (name, 0700), ==, 0);
      write_file (name, "file", 10);
    }
}

/* Folders swapped for links while the copy runs: copied as links, and
 * nothing of the outside folder is read. */
static void
test_swapped_during_copy (Fixture       *fixture,
                          gconstpointer  data)
{
  g_auto(ClocheTreeCopy) result = { 0 };
  g_autoptr(GError) error = NULL;
  Swap swap = { fixture, NULL, 0 };
  g_autoptr(GDir) dir = NULL;
  g_autofree char *work = copied (fixture, "");
  const char *name;
  guint secrets = 0;

  make_folders (fixture);
  cloche_tree_copy (fixture->src_fd, "work", fixture->dst_fd, "work", &result, on_progress_swap,
                    &swap, NULL, &error);
  /* Either way (a copy that saw links, or one that saw a folder change
   * under it), nothing outside was copied. */
  if (error != NULL)
    g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED);
  g_assert_cmpuint (result.links, >, 0);
  dir = g_dir_open (work, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *folder = g_build_filename (work, name, NULL);
      g_autofree char *secret = g_build_filename (folder, "secret", NULL);
      struct stat st;

      /* A link stays a link; a real folder in the copy holds no secret. */
      g_assert_cmpint (lstat (folder, &st), ==, 0);
      secrets += S_ISDIR (st.st_mode) && lstat (secret, &st) == 0;
    }
  g_assert_cmpuint (secrets, ==, 0);
}

static void
test_cancelled (Fixture       *fixture,
                gconstpointer  data)
{
  g_auto(ClocheTreeCopy) result = { 0 };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Swap swap = { fixture, cancellable, 0 };

  make_folders (fixture);
  g_assert_false (cloche_tree_copy (fixture->src_fd, "work", fixture->dst_fd, "work", &result,
                                    on_progress_swap, &swap, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (result.files, <, 50);
}

/* A 1 MiB file system (tmpfs, mounted as root) and 4 MiB to copy: the copy
 * fails saying the disk is full and naming the file, and what it made can
 * be removed, which gives the space back. */
static void
test_disk_full (Fixture       *fixture,
                gconstpointer  data)
{
  g_auto(ClocheTreeCopy) result = { 0 };
  g_autoptr(GError) error = NULL;
  struct stat st;

  if (geteuid () != 0 || mount ("cloche-test", fixture->dst, "tmpfs", 0, "size=1m") != 0)
    {
      g_test_skip ("Needs root, to mount a small tmpfs that fills up");
      return;
    }
  close (fixture->dst_fd);
  fixture->dst_fd = open_dir (fixture->dst);
  write_file (fixture->src, "small", 1000);
  write_file (fixture->src, "large", 4 * 1024 * 1024);
  g_assert_false (copy (fixture, &result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, "work/large"));
  g_assert_true (remove_tree (fixture->dst_fd, "work"));
  g_assert_cmpint (fstatat (fixture->dst_fd, "work", &st, AT_SYMLINK_NOFOLLOW), ==, -1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/tree-copy/copies", test_copies);
  ADD ("/tree-copy/links-not-followed", test_links_not_followed);
  ADD ("/tree-copy/special-files-skipped", test_special_files_skipped);
  ADD ("/tree-copy/too-deep", test_too_deep);
  ADD ("/tree-copy/swapped-during-copy", test_swapped_during_copy);
  ADD ("/tree-copy/cancelled", test_cancelled);
  ADD ("/tree-copy/disk-full", test_disk_full);
#undef ADD

  return g_test_run ();
}
