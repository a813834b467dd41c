/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A host folder pinned by what was checked: an O_PATH descriptor of the
 * folder, opened once from "/" one component at a time with O_NOFOLLOW, so
 * that no symbolic link anywhere on the path is followed, and kept open for
 * as long as the folder may be shared (an open descriptor also keeps the
 * inode from being freed and its number reused, which makes the device and
 * inode a sound identity).
 *
 * The path is the canonical one the mount rules judged. Before every attach
 * (and re-attach after a reboot or a dead share) the path is walked the same
 * way again and must lead to the very same folder (device and inode); if a
 * link now stands on it, a component is missing, or another folder is there,
 * the attach is refused with CLOCHE_ERROR_FOLDER_CHANGED, naming what
 * changed. What virtiofsd is then given is this descriptor, never the path
 * (cloche-folder-share.c): a swap between the check and virtiofsd's start
 * changes nothing it serves.
 *
 * The rules: the path must be absolute, without "." or ".." components;
 * every component must be a directory reached without following a link.
 */
#define _GNU_SOURCE   /* O_PATH, O_TMPFILE, RENAME_WHITEOUT */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-pinned-folder.h"

struct _ClochePinnedFolder
{
  GObject  parent_instance;

  char    *path;
  int      fd;
  dev_t    dev;
  ino_t    ino;
};

G_DEFINE_FINAL_TYPE (ClochePinnedFolder, cloche_pinned_folder, G_TYPE_OBJECT)

/* Paths are checked to be UTF-8 where they come in (cloche-mount-check.c);
 * the work folder's comes from the environment, so messages make sure. */
static char *
cloche_pinned_folder_display (const char *path)
{
  return g_utf8_make_valid (path, -1);
}

/* Why the component ending @prefix could not be walked through: a link
 * (with its target), missing, not a folder, or another error. */
static char *
cloche_pinned_folder_describe_component (int         parent,
                                         const char *name,
                                         const char *prefix,
                                         int         saved_errno)
{
  g_autofree char *shown = cloche_pinned_folder_display (prefix);
  struct stat st;
  char target[4096];
  ssize_t length;

  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK (st.st_mode))
    {
      g_autofree char *to = NULL;

      length = readlinkat (parent, name, target, sizeof target - 1);
      target[MAX (length, 0)] = '\0';
      to = cloche_pinned_folder_display (target);
      return g_strdup_printf (_("%s is a symbolic link (to %s)"), shown, to);
    }
  if (saved_errno == ENOENT)
    return g_strdup_printf (_("%s does not exist"), shown);
  if (saved_errno == ENOTDIR)
    return g_strdup_printf (_("%s is not a folder"), shown);
  return g_strdup_printf (_("%s cannot be opened: %s"), shown, g_strerror (saved_errno));
}

/*
 * Opens @path from "/" with no link followed at any component. Returns the
 * O_PATH descriptor, or -1 with *why saying which component failed and how.
 */
static int
cloche_pinned_folder_walk (const char  *path,
                           char       **why)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  g_autoptr(GString) prefix = g_string_new (NULL);
  int fd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

  for (guint i = 0; fd >= 0 && parts[i] != NULL; i++)
    {
      int next;

      if (parts[i][0] == '\0')
        continue;
      g_string_append_printf (prefix, "/%s", parts[i]);
      if (g_str_equal (parts[i], ".") || g_str_equal (parts[i], ".."))
        {
          g_autofree char *shown = cloche_pinned_folder_display (path);

          *why = g_strdup_printf (_("%s is not a canonical path"), shown);
          close (fd);
          return -1;
        }
      next = openat (fd, parts[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0)
        *why = cloche_pinned_folder_describe_component (fd, parts[i], prefix->str, errno);
      close (fd);
      fd = next;
    }
  return fd;
}

/**
 * cloche_pinned_folder_new:
 * @path: an absolute, canonical path (no link on it)
 *
 * Returns: (transfer full): the folder pinned, or %NULL with
 *   %CLOCHE_ERROR_MOUNT_REFUSED saying which component is not a folder
 *   reached without a link
 */
ClochePinnedFolder *
cloche_pinned_folder_new (const char  *path,
                          GError     **error)
{
  g_autoptr(ClochePinnedFolder) self = NULL;
  g_autofree char *why = NULL;
  struct stat st;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_path_is_absolute (path))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                   _("%s cannot be shared: give an absolute path"), path);
      return NULL;
    }
  if ((fd = cloche_pinned_folder_walk (path, &why)) < 0 || fstat (fd, &st) != 0)
    {
      g_autofree char *shown = cloche_pinned_folder_display (path);

      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                   _("%s cannot be shared: %s"), shown,
                   why != NULL ? why : g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  self = g_object_new (CLOCHE_TYPE_PINNED_FOLDER, NULL);
  self->path = g_strdup (path);
  self->fd = fd;
  self->dev = st.st_dev;
  self->ino = st.st_ino;
  return g_steal_pointer (&self);
}

static gboolean
cloche_pinned_folder_fail_changed (ClochePinnedFolder  *self,
                                   const char          *why,
                                   GError             **error)
{
  g_autofree char *shown = cloche_pinned_folder_display (self->path);

  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED,
               _("The folder %s is no longer the one checked when the session opened: %s. "
                 "Nothing of it was shared: put the folder back as it was, or close the "
                 "session and open a new one"), shown, why);
  return FALSE;
}

/**
 * cloche_pinned_folder_verify:
 *
 * Walks the path again, no link followed, and checks it still leads to the
 * pinned folder. Call it before every attach.
 *
 * Returns: %FALSE with %CLOCHE_ERROR_FOLDER_CHANGED naming what changed
 */
gboolean
cloche_pinned_folder_verify (ClochePinnedFolder  *self,
                             GError             **error)
{
  g_autofree char *why = NULL;
  g_autofree char *shown = NULL;
  struct stat st;
  int fd;

  g_return_val_if_fail (CLOCHE_IS_PINNED_FOLDER (self), FALSE);

  if ((fd = cloche_pinned_folder_walk (self->path, &why)) < 0)
    return cloche_pinned_folder_fail_changed (self, why, error);
  if (fstat (fd, &st) != 0)
    {
      why = g_strdup (g_strerror (errno));
      close (fd);
      return cloche_pinned_folder_fail_changed (self, why, error);
    }
  close (fd);
  if (st.st_dev == self->dev && st.st_ino == self->ino)
    return TRUE;
  shown = cloche_pinned_folder_display (self->path);
  /* %llu, not G_GUINT64_FORMAT: a macro pasted into the message would cut
   * it short for xgettext. */
  why = g_strdup_printf (_("%s is now another folder (device %u:%u inode %llu was checked, "
                           "inode %llu is there now)"),
                         shown, major (self->dev), minor (self->dev),
                         (unsigned long long) self->ino, (unsigned long long) st.st_ino);
  return cloche_pinned_folder_fail_changed (self, why, error);
}

const char *
cloche_pinned_folder_get_path (ClochePinnedFolder *self)
{
  g_return_val_if_fail (CLOCHE_IS_PINNED_FOLDER (self), NULL);
  return self->path;
}

/**
 * cloche_pinned_folder_get_fd:
 *
 * Returns: the O_PATH descriptor of the folder, owned by @self
 */
int
cloche_pinned_folder_get_fd (ClochePinnedFolder *self)
{
  g_return_val_if_fail (CLOCHE_IS_PINNED_FOLDER (self), -1);
  return self->fd;
}

static void
cloche_pinned_folder_finalize (GObject *object)
{
  ClochePinnedFolder *self = CLOCHE_PINNED_FOLDER (object);

  if (self->fd >= 0)
    close (self->fd);
  g_free (self->path);

  G_OBJECT_CLASS (cloche_pinned_folder_parent_class)->finalize (object);
}

static void
cloche_pinned_folder_class_init (ClochePinnedFolderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_pinned_folder_finalize;
}

static void
cloche_pinned_folder_init (ClochePinnedFolder *self)
{
  self->fd = -1;
}
