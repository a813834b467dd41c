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

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

static gboolean
is_dot (const char *name)
{
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* A folder read with getdents64 straight from its fd: opendir() and
 * fdopendir() add an fstat and two fcntl calls per folder, a quarter of
 * the system calls of removing 10,000 small sessions. */
typedef struct
{
  int    fd;
  char  *buffer;
  long   length;
  long   position;
} Folder;

#define FOLDER_BUFFER (32 * 1024)

/* The start of a struct linux_dirent64, which glibc 2.36 does not declare. */
typedef struct
{
  guint64       ino;
  gint64        offset;
  unsigned short length;
  unsigned char  type;
  char           name[];
} RawEntry;

static gboolean
folder_open (Folder     *folder,
             int         parent_fd,
             const char *name)
{
  folder->fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  folder->buffer = NULL;
  folder->length = folder->position = 0;
  return folder->fd >= 0;
}

static void
folder_close (Folder *folder)
{
  g_free (folder->buffer);
  if (folder->fd >= 0)
    close (folder->fd);
}

/* Reads the next batch of entries: > 0 with some, 0 at the end, < 0 on an
 * error (in errno). */
static long
folder_fill (Folder *folder)
{
  if (folder->buffer == NULL)
    folder->buffer = g_malloc (FOLDER_BUFFER);
  folder->position = 0;
  folder->length = syscall (SYS_getdents64, folder->fd, folder->buffer, FOLDER_BUFFER);
  return folder->length;
}

/* The next name in the batch read, "." and ".." skipped; NULL when the
 * batch is used up. */
static const char *
folder_next (Folder *folder)
{
  while (folder->position < folder->length)
    {
      RawEntry *entry = (RawEntry *) (gpointer) (folder->buffer + folder->position);

      folder->position += entry->length;
      if (!is_dot (entry->name))
        return entry->name;
    }
  return NULL;
}

/* @links: NULL to count every name's blocks (what `du -l` says) */
static guint64
measure (int               parent_fd,
         const char       *name,
         ClocheTreeLinks  *links)
{
  struct stat st;
  const char *child;
  guint64 total;
  Folder folder;

  if (fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return 0;
  total = links != NULL ? freeable (links, &st) : (guint64) st.st_blocks * 512;
  if (!S_ISDIR (st.st_mode) || !folder_open (&folder, parent_fd, name))
    return total;

  while (folder_fill (&folder) > 0)
    while ((child = folder_next (&folder)) != NULL)
      total += measure (folder.fd, child, links);
  folder_close (&folder);
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

/* Call it right after the failing call: errno is read first thing. */
static gboolean set_errno_error (GError     **error,
                                 const char  *format,
                                 ...) G_GNUC_PRINTF (2, 3);

static gboolean
set_errno_error (GError     **error,
                 const char  *format,
                 ...)
{
  int saved = errno;
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved), message);
  return FALSE;
}

/* Empties the folder @name and removes it. A small folder comes whole in
 * one batch: it is removed then, before reading again only to hear that
 * nothing is left (rm -rf's second getdents64 per folder). */
static gboolean
remove_folder (int               parent_fd,
               const char       *name,
               ClocheTreeLinks  *links,
               guint64          *freed,
               GError          **error)
{
  const char *child;
  gboolean ok = TRUE, removed = FALSE;
  Folder folder;
  long read;

  if (!folder_open (&folder, parent_fd, name))
    return set_errno_error (error, _("Cannot open %s: %s"), name, g_strerror (errno));
  while (ok && !removed && (read = folder_fill (&folder)) > 0)
    {
      while (ok && (child = folder_next (&folder)) != NULL)
        ok = cloche_tree_remove (folder.fd, child, links, freed, error);
      if (ok && unlinkat (parent_fd, name, AT_REMOVEDIR) == 0)
        removed = TRUE;
      else if (ok && errno != ENOTEMPTY && errno != EEXIST)
        ok = set_errno_error (error, _("Cannot remove %s: %s"), name, g_strerror (errno));
    }
  if (ok && !removed && read < 0)
    ok = set_errno_error (error, _("Cannot read %s: %s"), name, g_strerror (errno));
  folder_close (&folder);
  if (ok && !removed && unlinkat (parent_fd, name, AT_REMOVEDIR) != 0)
    ok = set_errno_error (error, _("Cannot remove %s: %s"), name, g_strerror (errno));
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

  if (S_ISDIR (st.st_mode))
    {
      if (!remove_folder (parent_fd, name, links, freed, error))
        return FALSE;
    }
  else if (unlinkat (parent_fd, name, 0) != 0)
    return set_errno_error (error, _("Cannot remove %s: %s"), name, g_strerror (errno));
  *freed += freeable (links, &st);
  return TRUE;
}
