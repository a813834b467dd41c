/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Measuring and removing a folder tree relative to a parent folder's fd,
 * never following a symbolic link: a link an agent left in its work folder
 * is removed as a link and counted as one, whatever it points to. Sizes are
 * what the disk gives back (st_blocks), not apparent sizes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-tree.h"

static DIR *
open_subdir (int         parent_fd,
             const char *name)
{
  int fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dir;

  if (fd < 0)
    return NULL;
  dir = fdopendir (fd);
  if (dir == NULL)
    close (fd);
  return dir;
}

static gboolean
is_dot (const char *name)
{
  return g_str_equal (name, ".") || g_str_equal (name, "..");
}

/* Allocated bytes of @name below @parent_fd, the folder itself included. */
guint64
cloche_tree_measure (int         parent_fd,
                     const char *name)
{
  struct stat st;
  struct dirent *entry;
  guint64 total;
  DIR *dir;

  if (fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return 0;
  total = (guint64) st.st_blocks * 512;
  if (!S_ISDIR (st.st_mode) || (dir = open_subdir (parent_fd, name)) == NULL)
    return total;

  while ((entry = readdir (dir)) != NULL)
    if (!is_dot (entry->d_name))
      total += cloche_tree_measure (dirfd (dir), entry->d_name);
  closedir (dir);
  return total;
}

static gboolean
remove_children (DIR      *dir,
                 guint64  *freed,
                 GError  **error)
{
  struct dirent *entry;

  while ((entry = readdir (dir)) != NULL)
    if (!is_dot (entry->d_name) && !cloche_tree_remove (dirfd (dir), entry->d_name, freed, error))
      return FALSE;
  return TRUE;
}

/**
 * cloche_tree_remove:
 * @freed: (inout): increased by the allocated bytes removed
 *
 * Removes @name below @parent_fd and everything in it. Stops at the first
 * entry it cannot remove and names it.
 */
gboolean
cloche_tree_remove (int          parent_fd,
                    const char  *name,
                    guint64     *freed,
                    GError     **error)
{
  struct stat st;
  DIR *dir;
  gboolean ok;

  if (fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT;

  if (S_ISDIR (st.st_mode))
    {
      dir = open_subdir (parent_fd, name);
      ok = dir != NULL && remove_children (dir, freed, error);
      if (dir != NULL)
        closedir (dir);
      if (!ok)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                         "Cannot open %s: %s", name, g_strerror (errno));
          return FALSE;
        }
    }

  if (unlinkat (parent_fd, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "Cannot remove %s: %s", name, g_strerror (saved));
      return FALSE;
    }
  *freed += (guint64) st.st_blocks * 512;
  return TRUE;
}
