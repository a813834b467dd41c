/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Measuring and removing a folder tree relative to a parent folder's fd,
 * never following a symbolic link: a link an agent left in its work folder
 * is removed as a link and counted as one, whatever it points to. Sizes are
 * what the disk gives back (st_blocks), not apparent sizes; a file that
 * also has a name outside the tree gives nothing back and counts nothing.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-tree.h"

struct _ClocheTreeLinks
{
  GMutex      lock;
  GHashTable *seen;      /* "dev:ino" → names seen so far */
};

ClocheTreeLinks *
cloche_tree_links_new (void)
{
  ClocheTreeLinks *links = g_new0 (ClocheTreeLinks, 1);

  g_mutex_init (&links->lock);
  links->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return links;
}

void
cloche_tree_links_free (ClocheTreeLinks *links)
{
  if (links == NULL)
    return;
  g_hash_table_unref (links->seen);
  g_mutex_clear (&links->lock);
  g_free (links);
}

/* The bytes removing this name frees: all of a file with one name, all of
 * a multi-name file at its last name seen, nothing before that. */
static guint64
freeable (ClocheTreeLinks   *links,
          const struct stat *st)
{
  guint64 blocks = (guint64) st->st_blocks * 512;
  g_autofree char *key = NULL;
  guint seen;

  if (S_ISDIR (st->st_mode) || st->st_nlink <= 1)
    return blocks;
  key = g_strdup_printf ("%ju:%ju", (uintmax_t) st->st_dev, (uintmax_t) st->st_ino);
  g_mutex_lock (&links->lock);
  seen = GPOINTER_TO_UINT (g_hash_table_lookup (links->seen, key)) + 1;
  g_hash_table_insert (links->seen, g_steal_pointer (&key), GUINT_TO_POINTER (seen));
  g_mutex_unlock (&links->lock);
  return seen == st->st_nlink ? blocks : 0;
}

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
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* @links: NULL to count every name's blocks (what `du -l` says) */
static guint64
measure (int               parent_fd,
         const char       *name,
         ClocheTreeLinks  *links)
{
  struct stat st;
  struct dirent *entry;
  guint64 total;
  DIR *dir;

  if (fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return 0;
  total = links != NULL ? freeable (links, &st) : (guint64) st.st_blocks * 512;
  if (!S_ISDIR (st.st_mode) || (dir = open_subdir (parent_fd, name)) == NULL)
    return total;

  while ((entry = readdir (dir)) != NULL)
    if (!is_dot (entry->d_name))
      total += measure (dirfd (dir), entry->d_name, links);
  closedir (dir);
  return total;
}

/* Allocated bytes of @name below @parent_fd, the folder itself included. */
guint64
cloche_tree_measure (int         parent_fd,
                     const char *name)
{
  return measure (parent_fd, name, NULL);
}

/**
 * cloche_tree_measure_freeable:
 * @links: (nullable): shared with the other trees removed together
 *
 * Returns: what cloche_tree_remove() of @name would free
 */
guint64
cloche_tree_measure_freeable (int              parent_fd,
                              const char      *name,
                              ClocheTreeLinks *links)
{
  g_autoptr(ClocheTreeLinks) own = links == NULL ? cloche_tree_links_new () : NULL;

  return measure (parent_fd, name, links != NULL ? links : own);
}

static gboolean
remove_children (DIR              *dir,
                 ClocheTreeLinks  *links,
                 guint64          *freed,
                 GError          **error)
{
  struct dirent *entry;

  while ((entry = readdir (dir)) != NULL)
    if (!is_dot (entry->d_name)
        && !cloche_tree_remove (dirfd (dir), entry->d_name, links, freed, error))
      return FALSE;
  return TRUE;
}

static gboolean
remove_dir_contents (int               parent_fd,
                     const char       *name,
                     ClocheTreeLinks  *links,
                     guint64          *freed,
                     GError          **error)
{
  DIR *dir = open_subdir (parent_fd, name);
  gboolean ok;

  if (dir == NULL)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot open %s: %s"), name, g_strerror (saved));
      return FALSE;
    }
  ok = remove_children (dir, links, freed, error);
  closedir (dir);
  return ok;
}

/**
 * cloche_tree_remove:
 * @links: (nullable): shared with the other trees removed together
 * @freed: (inout): increased by the allocated bytes given back
 *
 * Removes @name below @parent_fd and everything in it. Stops at the first
 * entry it cannot remove and names it.
 */
gboolean
cloche_tree_remove (int               parent_fd,
                    const char       *name,
                    ClocheTreeLinks  *links,
                    guint64          *freed,
                    GError          **error)
{
  g_autoptr(ClocheTreeLinks) own = links == NULL ? cloche_tree_links_new () : NULL;
  struct stat st;

  if (fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT;
  if (links == NULL)
    links = own;

  if (S_ISDIR (st.st_mode) && !remove_dir_contents (parent_fd, name, links, freed, error))
    return FALSE;
  if (unlinkat (parent_fd, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot remove %s: %s"), name, g_strerror (saved));
      return FALSE;
    }
  *freed += freeable (links, &st);
  return TRUE;
}
