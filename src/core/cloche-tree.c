/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Measuring and removing a folder tree relative to a parent folder's fd,
 * never following a symbolic link: a link an agent left in its work folder
 * is removed as a link and counted as one, whatever it points to. Sizes are
 * what the disk gives back (st_blocks), not apparent sizes; a file that
 * also has a name outside the tree gives nothing back and counts nothing.
 *
 * A guest builds what it likes in its work folder, a million folders deep
 * if it wants: the walk holds at most MAX_OPEN folders open and never
 * recurses. Deeper, it closes the shallowest open folder, remembering its
 * device and inode, and on the way back reaches it again through ".."
 * from the folder below, which must then be that same folder (else the
 * tree moved under the walk, and it stops rather than go elsewhere). What
 * is kept per level is a few dozen bytes and the name.
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

/* Folders held open by one walk (cleanup runs four at once). */
#define MAX_OPEN 16
#define FOLDER_BUFFER (32 * 1024)

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
 * a multi-name file at its last name seen, nothing before that. With no
 * @links, every name's blocks (what `du -l` says). */
static guint64
cloche_tree_freeable (ClocheTreeLinks   *links,
                      const struct stat *st)
{
  guint64 blocks = (guint64) st->st_blocks * 512;
  g_autofree char *key = NULL;
  guint seen;

  if (links == NULL || S_ISDIR (st->st_mode) || st->st_nlink <= 1)
    return blocks;
  key = g_strdup_printf ("%ju:%ju", (uintmax_t) st->st_dev, (uintmax_t) st->st_ino);
  g_mutex_lock (&links->lock);
  seen = GPOINTER_TO_UINT (g_hash_table_lookup (links->seen, key)) + 1;
  g_hash_table_insert (links->seen, g_steal_pointer (&key), GUINT_TO_POINTER (seen));
  g_mutex_unlock (&links->lock);
  return seen == st->st_nlink ? blocks : 0;
}

static gboolean
cloche_tree_is_dot (const char *name)
{
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/* The start of a struct linux_dirent64, which glibc 2.36 does not declare. */
typedef struct
{
  guint64        ino;
  gint64         offset;
  unsigned short length;
  unsigned char  type;
  char           name[];
} RawEntry;

/* One folder of the walk. Read with getdents64 straight from its fd:
 * opendir() adds an fstat and two fcntl calls per folder, a quarter of the
 * system calls of removing 10,000 small sessions. */
typedef struct
{
  int      fd;           /* -1 once closed to bound the fds: reached again through ".." */
  dev_t    dev;
  ino_t    ino;
  guint64  blocks;       /* its own, counted when it goes */
  char    *name;         /* in its parent */
  char    *buffer;       /* a batch read, while fd is open */
  long     length;
  long     position;
  gint64   resume;       /* getdents offset past the last entry taken */
} Level;

typedef struct
{
  int              parent_fd;   /* the caller's, for the top folder */
  ClocheTreeLinks *links;
  gboolean         remove;
  guint64          total;
  GArray          *levels;      /* Level */
  guint            first_open;  /* the shallowest level with an fd */
  GError          *error;
} Walk;

/* Call it right after the failing call: errno is read first thing (the
 * g_strerror() in the arguments keeps it). */
static gboolean cloche_tree_set_errno_error (Walk       *walk,
                                             const char *format,
                                             ...) G_GNUC_PRINTF (2, 3);

static gboolean
cloche_tree_set_errno_error (Walk       *walk,
                             const char *format,
                             ...)
{
  int saved = errno;
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (walk->error == NULL)
    walk->error = g_error_new_literal (G_IO_ERROR, g_io_error_from_errno (saved), message);
  return FALSE;
}

static void
cloche_tree_level_clear (Level *level)
{
  if (level->fd >= 0)
    close (level->fd);
  g_free (level->buffer);
  g_free (level->name);
}

static Level *
cloche_tree_top (Walk *walk)
{
  return &g_array_index (walk->levels, Level, walk->levels->len - 1);
}

/* The fd of the folder that holds @depth's. */
static int
cloche_tree_parent_fd_of (Walk  *walk,
                          guint  depth)
{
  return depth == 0 ? walk->parent_fd : g_array_index (walk->levels, Level, depth - 1).fd;
}

static void
cloche_tree_close_level (Level *level)
{
  close (level->fd);
  level->fd = -1;
  g_clear_pointer (&level->buffer, g_free);
  level->length = level->position = 0;
}

/* Opens @name in the deepest folder (or the caller's) as a new level. */
static gboolean
cloche_tree_push (Walk              *walk,
                  const char        *name,
                  const struct stat *st)
{
  int fd = openat (cloche_tree_parent_fd_of (walk, walk->levels->len), name,
                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  Level level = { fd, st->st_dev, st->st_ino, (guint64) st->st_blocks * 512 };

  if (fd < 0)
    return cloche_tree_set_errno_error (walk, _("Cannot open %s: %s"), name, g_strerror (errno));
  g_array_append_val (walk->levels, level);
  cloche_tree_top (walk)->name = g_strdup (name);
  if (walk->levels->len - walk->first_open > MAX_OPEN)
    cloche_tree_close_level (&g_array_index (walk->levels, Level, walk->first_open++));
  return TRUE;
}

/* Level @depth again, through ".." of the one below it, which is still
 * open: it must be the very folder that was closed. */
static gboolean
cloche_tree_reopen (Walk  *walk,
                    guint  depth)
{
  Level *level = &g_array_index (walk->levels, Level, depth);
  Level *below = &g_array_index (walk->levels, Level, depth + 1);
  struct stat st;

  level->fd = openat (below->fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (level->fd < 0 || fstat (level->fd, &st) != 0)
    return cloche_tree_set_errno_error (walk, _("Cannot go back up to %s: %s"), level->name,
                                        g_strerror (errno));
  if (st.st_dev != level->dev || st.st_ino != level->ino)
    {
      errno = ESTALE;
      return cloche_tree_set_errno_error (walk, _("%s moved while it was walked: %s"), level->name,
                                          _("it is not where it was, and is left as it is"));
    }
  /* Measuring reads on where it stopped; removing reads what is left. */
  if (!walk->remove && lseek (level->fd, level->resume, SEEK_SET) < 0)
    return cloche_tree_set_errno_error (walk, _("Cannot read %s again: %s"), level->name,
                                        g_strerror (errno));
  walk->first_open = depth;
  return TRUE;
}

/* Reads the next batch: > 0 with some, 0 at the end, < 0 on an error. */
static long
cloche_tree_fill (Level *level)
{
  if (level->buffer == NULL)
    level->buffer = g_malloc (FOLDER_BUFFER);
  level->position = 0;
  level->length = syscall (SYS_getdents64, level->fd, level->buffer, FOLDER_BUFFER);
  return level->length;
}

/* The next name in the batch read, "." and ".." skipped; NULL when the
 * batch is used up. */
static const char *
cloche_tree_next_in_batch (Level *level)
{
  while (level->position < level->length)
    {
      RawEntry *entry = (RawEntry *) (gpointer) (level->buffer + level->position);

      level->position += entry->length;
      level->resume = entry->offset;
      if (!cloche_tree_is_dot (entry->name))
        return entry->name;
    }
  return NULL;
}

/* Removes the top folder once a batch emptied it: most folders come whole
 * in one batch, and then need no second read only to hear that nothing is
 * left (rm -rf's second getdents64 per folder). */
static gboolean
cloche_tree_removed_early (Walk *walk)
{
  Level *level = cloche_tree_top (walk);
  int parent_fd = cloche_tree_parent_fd_of (walk, walk->levels->len - 1);

  return walk->remove && level->buffer != NULL && parent_fd != -1
         && unlinkat (parent_fd, level->name, AT_REMOVEDIR) == 0;
}

/* The top folder is done: removed (if it is not yet) and counted. */
static gboolean
cloche_tree_pop (Walk     *walk,
                 gboolean  gone)
{
  guint depth = walk->levels->len - 1;
  Level *level = cloche_tree_top (walk);
  gboolean ok = TRUE;

  if (depth > 0 && g_array_index (walk->levels, Level, depth - 1).fd < 0)
    ok = cloche_tree_reopen (walk, depth - 1);
  if (ok && walk->remove && !gone
      && unlinkat (cloche_tree_parent_fd_of (walk, depth), level->name, AT_REMOVEDIR) != 0)
    ok =
    cloche_tree_set_errno_error (walk, _("Cannot remove %s: %s"), level->name, g_strerror (errno));
  if (ok)
    walk->total += level->blocks;
  cloche_tree_level_clear (level);
  g_array_set_size (walk->levels, depth);
  return ok;
}

/* A name in the top folder: a folder to go into, or something to count
 * (and remove). */
static gboolean
cloche_tree_visit (Walk       *walk,
                   const char *name)
{
  Level *level = cloche_tree_top (walk);
  struct stat st;

  if (fstatat (level->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT
           || cloche_tree_set_errno_error (walk, _("Cannot read %s: %s"), name, g_strerror (errno));
  if (S_ISDIR (st.st_mode))
    return cloche_tree_push (walk, name, &st);
  if (walk->remove && unlinkat (level->fd, name, 0) != 0)
    return errno == ENOENT
           || cloche_tree_set_errno_error (walk, _("Cannot remove %s: %s"), name,
                                           g_strerror (errno));
  walk->total += cloche_tree_freeable (walk->links, &st);
  return TRUE;
}

/* One step: the next name of the top folder, or the folder done. */
static gboolean
cloche_tree_step (Walk *walk)
{
  Level *level = cloche_tree_top (walk);
  const char *name = cloche_tree_next_in_batch (level);
  long read;

  if (name != NULL)
    return cloche_tree_visit (walk, name);
  if (cloche_tree_removed_early (walk))
    return cloche_tree_pop (walk, TRUE);
  read = cloche_tree_fill (level);
  if (read > 0)
    return TRUE;
  if (read < 0)
    return cloche_tree_set_errno_error (walk, _("Cannot read %s: %s"), level->name,
                                        g_strerror (errno));
  return cloche_tree_pop (walk, FALSE);
}

static gboolean
cloche_tree_walk_tree (int               parent_fd,
                       const char       *name,
                       ClocheTreeLinks  *links,
                       gboolean          remove,
                       guint64          *total,
                       GError          **error)
{
  Walk walk = { parent_fd, links, remove, 0, g_array_new (FALSE, TRUE, sizeof (Level)), 0, NULL };
  struct stat st;
  gboolean ok;

  if (fstatat (parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    ok = errno == ENOENT
         || cloche_tree_set_errno_error (&walk, _("Cannot read %s: %s"), name, g_strerror (errno));
  else if (!S_ISDIR (st.st_mode))
    {
      ok = !remove || unlinkat (parent_fd, name, 0) == 0
           || cloche_tree_set_errno_error (&walk, _("Cannot remove %s: %s"), name,
                                           g_strerror (errno));
      walk.total += ok ? cloche_tree_freeable (links, &st) : 0;
    }
  else
    for (ok = cloche_tree_push (&walk, name, &st); ok && walk.levels->len > 0; )
      ok = cloche_tree_step (&walk);

  for (guint i = 0; i < walk.levels->len; i++)
    cloche_tree_level_clear (&g_array_index (walk.levels, Level, i));
  g_array_unref (walk.levels);
  *total += walk.total;
  if (walk.error != NULL)
    g_propagate_error (error, walk.error);
  return ok;
}

/* Allocated bytes of @name below @parent_fd, the folder itself included;
 * what could not be read counts nothing. */
guint64
cloche_tree_measure (int         parent_fd,
                     const char *name)
{
  guint64 total = 0;

  cloche_tree_walk_tree (parent_fd, name, NULL, FALSE, &total, NULL);
  return total;
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
  guint64 total = 0;

  cloche_tree_walk_tree (parent_fd, name, links != NULL ? links : own, FALSE, &total, NULL);
  return total;
}

/**
 * cloche_tree_remove:
 * @links: (nullable): shared with the other trees removed together
 * @freed: (inout): increased by the allocated bytes given back
 *
 * Removes @name below @parent_fd and everything in it. Stops at the first
 * entry it cannot remove and names it; what went before is counted.
 */
gboolean
cloche_tree_remove (int               parent_fd,
                    const char       *name,
                    ClocheTreeLinks  *links,
                    guint64          *freed,
                    GError          **error)
{
  g_autoptr(ClocheTreeLinks) own = links == NULL ? cloche_tree_links_new () : NULL;

  return cloche_tree_walk_tree (parent_fd, name, links != NULL ? links : own, TRUE, freed, error);
}
