/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Copying a session's work folder for a fork. The guest owns that folder
 * and builds what it likes in it, so the copy treats it as hostile:
 *
 * - Every name is opened relative to its folder's fd with O_NOFOLLOW, and
 *   what was opened must be what fstatat() saw (same device, inode and
 *   type): a name swapped for a link between the two fails the copy
 *   instead of leading it out of the folder.
 * - A symbolic link is copied as a link (its target text), never followed.
 * - Fifos, sockets and devices are never opened (a fifo would hang the
 *   copy, a device read the host): they are skipped and counted, the first
 *   one named.
 * - Folders deeper than CLOCHE_TREE_COPY_MAX_DEPTH are refused: the copy
 *   holds two fds a level, and a guest can build a million levels.
 * - Nothing is written outside the new folder, which is made here with
 *   O_EXCL semantics (mkdirat fails if the name exists).
 *
 * Files are cloned (FICLONE: shared blocks, instant) where the file system
 * can, else copied with copy_file_range() in chunks (the kernel copies,
 * and may still share blocks), else read and written; progress goes out at
 * each chunk, and the cancellable is checked there too. A copy that fails
 * (a full disk, cancelled) leaves what it made: the caller removes it.
 * Hard links become separate files; ownership is the daemon's; modes keep
 * their permission bits (never set-id); times are kept.
 */
#define _GNU_SOURCE   /* copy_file_range */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-tree.h"
#include "cloche-tree-copy.h"

#define CHUNK (4 * 1024 * 1024)
#define PERMISSIONS 0777

typedef struct
{
  ClocheTreeCopy         *copy;
  ClocheTreeCopyProgress  progress;
  gpointer                progress_data;
  GCancellable           *cancellable;
  GError                **error;
} Copier;

void
cloche_tree_copy_clear (ClocheTreeCopy *copy)
{
  g_clear_pointer (&copy->first_skipped, g_free);
}

static gboolean cloche_tree_copy_set_errno_error (Copier     *copier,
                                                  const char *format,
                                                  ...) G_GNUC_PRINTF (2, 3);

/* Call it right after the failing call: errno is read first. */
static gboolean
cloche_tree_copy_set_errno_error (Copier     *copier,
                                  const char *format,
                                  ...)
{
  int saved = errno;
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (copier->error, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", message,
               g_strerror (saved));
  return FALSE;
}

static gboolean
cloche_tree_copy_same_file (const struct stat *a,
                            const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino
         && (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

/* The name changed between fstatat() and openat(): someone moves things
 * under the copy, which then stops rather than follow. */
static gboolean
cloche_tree_copy_set_changed_error (Copier     *copier,
                                    const char *path)
{
  g_set_error (copier->error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED,
               _("%s changed while it was being copied; nothing was copied: fork the session again"),
               path);
  return FALSE;
}

static gboolean
cloche_tree_copy_tick (Copier  *copier,
                       guint64  bytes)
{
  /* Bytes read against blocks measured: a sparse file reads more than it
   * holds, so the figure never goes past the total before the end. */
  copier->copy->copied = MIN (copier->copy->copied + bytes, copier->copy->total);
  if (copier->progress != NULL)
    copier->progress (copier->copy->copied, copier->copy->total, copier->progress_data);
  return !g_cancellable_set_error_if_cancelled (copier->cancellable, copier->error);
}

/* The plain way, for file systems that neither clone nor copy_file_range. */
static gboolean
cloche_tree_copy_by_hand (Copier     *copier,
                          int         in,
                          int         out,
                          const char *path)
{
  g_autofree char *buffer = g_malloc (CHUNK);
  gssize n;

  while ((n = read (in, buffer, CHUNK)) != 0)
    {
      gssize written = 0;

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return cloche_tree_copy_set_errno_error (copier, _("Cannot read %s"), path);
      while (written < n)
        {
          gssize m = write (out, buffer + written, n - written);

          if (m < 0 && errno != EINTR)
            return cloche_tree_copy_set_errno_error (copier, _("Cannot write the copy of %s"),
                                                     path);
          written += MAX (m, 0);
        }
      if (!cloche_tree_copy_tick (copier, n))
        return FALSE;
    }
  return TRUE;
}

/* copy_file_range() in chunks (progress and cancel between them); FALSE
 * with no error set when this kernel or file system cannot, before any
 * byte went. */
static gboolean
cloche_tree_copy_in_kernel (Copier     *copier,
                            int         in,
                            int         out,
                            const char *path,
                            gboolean   *unsupported)
{
  gboolean first = TRUE;
  gssize n;

  while ((n = copy_file_range (in, NULL, out, NULL, CHUNK, 0)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && first && (errno == EXDEV || errno == ENOSYS || errno == EINVAL
                             || errno == EOPNOTSUPP))
        {
          *unsupported = TRUE;
          return FALSE;
        }
      if (n < 0)
        return cloche_tree_copy_set_errno_error (copier, _("Cannot copy %s"), path);
      first = FALSE;
      if (!cloche_tree_copy_tick (copier, n))
        return FALSE;
    }
  return TRUE;
}

static gboolean
cloche_tree_copy_contents (Copier            *copier,
                           int                in,
                           int                out,
                           const struct stat *st,
                           const char        *path)
{
  gboolean unsupported = FALSE;

  /* A clone shares the blocks: nothing to wait for, whatever the size. */
  if (ioctl (out, FICLONE, in) == 0)
    return cloche_tree_copy_tick (copier, (guint64) st->st_size);
  if (cloche_tree_copy_in_kernel (copier, in, out, path, &unsupported))
    return TRUE;
  return unsupported && cloche_tree_copy_by_hand (copier, in, out, path);
}

/* Permission bits only: a set-id bit on a file the daemon owns would
 * hand the guest's program the daemon's user. */
static void
cloche_tree_copy_keep_mode_and_times (int                fd,
                                      const struct stat *st)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };

  (void) fchmod (fd, st->st_mode & PERMISSIONS);
  (void) futimens (fd, times);
}

static gboolean
cloche_tree_copy_file (Copier            *copier,
                       int                src_dir,
                       int                dst_dir,
                       const char        *name,
                       const struct stat *seen,
                       const char        *path)
{
  struct stat st;
  gboolean ok;
  int in, out;

  /* Non-blocking: were a fifo swapped in since fstatat(), it must not hang. */
  in = openat (src_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (in < 0)
    return cloche_tree_copy_set_errno_error (copier, _("Cannot open %s"), path);
  if (fstat (in, &st) != 0 || !cloche_tree_copy_same_file (&st, seen))
    {
      close (in);
      return cloche_tree_copy_set_changed_error (copier, path);
    }
  out = openat (dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    {
      close (in);
      return cloche_tree_copy_set_errno_error (copier, _("Cannot create the copy of %s"), path);
    }
  ok = cloche_tree_copy_contents (copier, in, out, &st, path);
  if (ok)
    cloche_tree_copy_keep_mode_and_times (out, &st);
  close (in);
  close (out);
  copier->copy->files += ok;
  return ok;
}

static gboolean
cloche_tree_copy_link (Copier            *copier,
                       int                src_dir,
                       int                dst_dir,
                       const char        *name,
                       const struct stat *seen,
                       const char        *path)
{
  g_autofree char *target = g_malloc (PATH_MAX + 1);
  gssize n = readlinkat (src_dir, name, target, PATH_MAX);

  if (n < 0)
    return cloche_tree_copy_set_errno_error (copier, _("Cannot read the link %s"), path);
  target[n] = '\0';
  if (symlinkat (target, dst_dir, name) != 0)
    return cloche_tree_copy_set_errno_error (copier, _("Cannot create the copy of the link %s"),
                                             path);
  copier->copy->links++;
  return cloche_tree_copy_tick (copier, (guint64) seen->st_blocks * 512);
}

static const char *
cloche_tree_copy_kind_of (mode_t mode)
{
  if (S_ISFIFO (mode))
    return _("a fifo");
  if (S_ISSOCK (mode))
    return _("a socket");
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return _("a device");
  return _("not a file, folder or link");
}

static void
cloche_tree_copy_skip (Copier            *copier,
                       const struct stat *st,
                       const char        *path)
{
  if (copier->copy->skipped++ == 0)
    copier->copy->first_skipped =
    g_strdup_printf (_("%s (%s)"), path, cloche_tree_copy_kind_of (st->st_mode));
}

static gboolean cloche_tree_copy_folder (Copier            *copier,
                                         int                src_parent,
                                         int                dst_parent,
                                         const char        *name,
                                         const struct stat *seen,
                                         const char        *path,
                                         guint              depth);

static gboolean
cloche_tree_copy_entry (Copier     *copier,
                        int         src_dir,
                        int         dst_dir,
                        const char *name,
                        const char *parent_path,
                        guint       depth)
{
  g_autofree char *path = g_build_filename (parent_path, name, NULL);
  struct stat st;

  if (fstatat (src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return cloche_tree_copy_set_errno_error (copier, _("Cannot read %s"), path);
  if (S_ISDIR (st.st_mode))
    return cloche_tree_copy_folder (copier, src_dir, dst_dir, name, &st, path, depth + 1);
  if (S_ISREG (st.st_mode))
    return cloche_tree_copy_file (copier, src_dir, dst_dir, name, &st, path);
  if (S_ISLNK (st.st_mode))
    return cloche_tree_copy_link (copier, src_dir, dst_dir, name, &st, path);
  cloche_tree_copy_skip (copier, &st, path);
  return TRUE;
}

static gboolean
cloche_tree_copy_entries (Copier     *copier,
                          DIR        *dir,
                          int         dst_fd,
                          const char *path,
                          guint       depth)
{
  struct dirent *dirent;

  errno = 0;
  while ((dirent = readdir (dir)) != NULL)
    {
      const char *name = dirent->d_name;

      if (g_str_equal (name, ".") || g_str_equal (name, ".."))
        continue;
      if (!cloche_tree_copy_entry (copier, dirfd (dir), dst_fd, name, path, depth))
        return FALSE;
      errno = 0;
    }
  if (errno != 0)
    return cloche_tree_copy_set_errno_error (copier, _("Cannot read the folder %s"), path);
  return TRUE;
}

/* Opens the source folder @name, checked to be the one fstatat() saw, and
 * makes its copy. */
static gboolean
cloche_tree_copy_open_pair (Copier            *copier,
                            int                src_parent,
                            int                dst_parent,
                            const char        *src_name,
                            const char        *dst_name,
                            const struct stat *seen,
                            const char        *path,
                            DIR              **dir,
                            int               *dst_fd)
{
  int src_fd = openat (src_parent, src_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;

  if (src_fd < 0)
    return cloche_tree_copy_set_errno_error (copier, _("Cannot open the folder %s"), path);
  if (fstat (src_fd, &st) != 0 || !cloche_tree_copy_same_file (&st, seen))
    {
      close (src_fd);
      return cloche_tree_copy_set_changed_error (copier, path);
    }
  if (mkdirat (dst_parent, dst_name, 0700) != 0
      || (*dst_fd = openat (dst_parent, dst_name,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
    {
      cloche_tree_copy_set_errno_error (copier, _("Cannot create the copy of the folder %s"), path);
      close (src_fd);
      return FALSE;
    }
  *dir = fdopendir (src_fd);
  if (*dir == NULL)
    {
      cloche_tree_copy_set_errno_error (copier, _("Cannot read the folder %s"), path);
      close (src_fd);
      close (*dst_fd);
      return FALSE;
    }
  return TRUE;
}

static gboolean
cloche_tree_copy_folder (Copier            *copier,
                         int                src_parent,
                         int                dst_parent,
                         const char        *name,
                         const struct stat *seen,
                         const char        *path,
                         guint              depth)
{
  DIR *dir = NULL;
  int dst_fd = -1;
  gboolean ok;

  if (depth > CLOCHE_TREE_COPY_MAX_DEPTH)
    {
      g_set_error (copier->error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("%s is more than %u folders deep; a fork copies at most that depth: "
                     "flatten it or remove it, then fork again"),
                   path, CLOCHE_TREE_COPY_MAX_DEPTH);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (copier->cancellable, copier->error)
      || !cloche_tree_copy_open_pair (copier, src_parent, dst_parent, name, name, seen, path, &dir,
                                      &dst_fd))
    return FALSE;
  ok = cloche_tree_copy_entries (copier, dir, dst_fd, path, depth);
  if (ok)
    {
      cloche_tree_copy_keep_mode_and_times (dst_fd, seen);
      ok = cloche_tree_copy_tick (copier, (guint64) seen->st_blocks * 512);
    }
  closedir (dir);
  close (dst_fd);
  return ok;
}

/**
 * cloche_tree_copy:
 * @src_name: the folder to copy, in @src_parent_fd (not followed if a link)
 * @dst_name: its copy, made in @dst_parent_fd: it must not exist
 * @copy: (out caller-allocates): what was copied and skipped
 * @progress: (nullable) (scope call): called on this thread as bytes go
 *
 * Copies a folder tree that someone hostile may own and change meanwhile
 * (see the top of this file). On failure what was made of @dst_name stays
 * for the caller to remove (cloche_tree_remove()).
 */
gboolean
cloche_tree_copy (int                      src_parent_fd,
                  const char              *src_name,
                  int                      dst_parent_fd,
                  const char              *dst_name,
                  ClocheTreeCopy          *copy,
                  ClocheTreeCopyProgress   progress,
                  gpointer                 progress_data,
                  GCancellable            *cancellable,
                  GError                 **error)
{
  Copier copier = { copy, progress, progress_data, cancellable, error };
  DIR *dir = NULL;
  int dst_fd = -1;
  struct stat st;
  gboolean ok;

  *copy = (ClocheTreeCopy) { 0 };
  if (fstatat (src_parent_fd, src_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return cloche_tree_copy_set_errno_error (&copier, _("Cannot read the folder %s"), src_name);
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED,
                   _("%s is not a folder (a link or a file took its place); nothing was copied"),
                   src_name);
      return FALSE;
    }
  copy->total = cloche_tree_measure (src_parent_fd, src_name);
  if (!cloche_tree_copy_open_pair (&copier, src_parent_fd, dst_parent_fd, src_name, dst_name, &st,
                                   src_name,
                                   &dir, &dst_fd))
    return FALSE;
  ok = cloche_tree_copy_entries (&copier, dir, dst_fd, src_name, 0);
  if (ok)
    {
      cloche_tree_copy_keep_mode_and_times (dst_fd, &st);
      copy->copied = copy->total;
      if (progress != NULL)
        progress (copy->copied, copy->total, progress_data);
    }
  closedir (dir);
  close (dst_fd);
  return ok;
}
