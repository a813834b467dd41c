/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The tools folder: what `clochectl agent install` put there (Node.js, npm,
 * the agents), on the host at $XDG_DATA_HOME/cloche/tools, one of Cloche's
 * own folders (cloche-own-folders.c: never a user mount, never nested).
 * Sessions see it read-only at CLOCHE_TOOLS_GUEST_DIR; an install session
 * writes it (cloche-sandbox-tools.c).
 *
 * Its size and its removal count what the disk gives back, links not
 * followed (cloche-tree.c: what a guest wrote there is hostile). Removal
 * empties the folder and keeps it: a running VM's share holds the folder
 * itself, and a later install into the same folder shows in that share.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-tools.h"
#include "cloche-tree.h"

/**
 * cloche_tools_dup_dir:
 *
 * Returns: (transfer full): $XDG_DATA_HOME/cloche/tools
 */
char *
cloche_tools_dup_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "cloche", "tools", NULL);
}

/**
 * cloche_tools_make_dir:
 *
 * Makes @dir if missing: its parents private (0700, as Cloche's folders
 * are), @dir itself 0755, which the guest sees as the share's root: every
 * session's user must be able to go through it.
 */
gboolean
cloche_tools_make_dir (const char  *dir,
                       GError     **error)
{
  g_autofree char *parent = g_path_get_dirname (dir);
  int saved;

  if (g_mkdir_with_parents (parent, 0700) == 0
      && (g_mkdir (dir, 0755) == 0 || errno == EEXIST) && g_chmod (dir, 0755) == 0)
    return TRUE;
  saved = errno;
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
               _("Cannot make the tools folder %s: %s"), dir, g_strerror (saved));
  return FALSE;
}

/**
 * cloche_tools_has_command:
 * @command: a command's first word, as an agent profile names it
 *
 * What `clochectl agent list` and agent mode's chooser say is installed.
 * Reads the host's folder, not the guest: the folder is the same one
 * every session sees at CLOCHE_TOOLS_GUEST_DIR.
 *
 * Returns: whether the tools folder's bin has @command (a name, not a
 *   path; a link there is not followed: the guest wrote it)
 */
gboolean
cloche_tools_has_command (const char *command)
{
  g_autofree char *dir = cloche_tools_dup_dir ();
  g_autofree char *path = NULL;
  struct stat st;

  if (command == NULL || *command == '\0' || strchr (command, '/') != NULL)
    return FALSE;
  path = g_build_filename (dir, "bin", command, NULL);
  return lstat (path, &st) == 0;
}

static DIR *
cloche_tools_open_dir (const char  *dir,
                       GError     **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *stream;
  int saved;

  if (fd >= 0 && (stream = fdopendir (fd)) != NULL)
    return stream;
  saved = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
               _("Cannot read the tools folder %s: %s"), dir, g_strerror (saved));
  return NULL;
}

static gboolean
cloche_tools_is_dot (const char *name)
{
  return g_str_equal (name, ".") || g_str_equal (name, "..");
}

/* Whether @dir holds nothing (or is not there): no install has run. */
gboolean
cloche_tools_is_empty (const char *dir)
{
  DIR *stream = cloche_tools_open_dir (dir, NULL);
  struct dirent *entry;
  gboolean empty = TRUE;

  if (stream == NULL)
    return TRUE;
  while (empty && (entry = readdir (stream)) != NULL)
    empty = cloche_tools_is_dot (entry->d_name);
  closedir (stream);
  return empty;
}

/* Allocated bytes of what @dir holds (the folder itself not counted: it
 * stays); 0 when it is not there. Blocks: call it in a thread. */
guint64
cloche_tools_measure (const char *dir)
{
  DIR *stream = cloche_tools_open_dir (dir, NULL);
  struct dirent *entry;
  guint64 total = 0;

  if (stream == NULL)
    return 0;
  while ((entry = readdir (stream)) != NULL)
    if (!cloche_tools_is_dot (entry->d_name))
      total += cloche_tree_measure (dirfd (stream), entry->d_name);
  closedir (stream);
  return total;
}

/**
 * cloche_tools_clear:
 * @freed: (out): the allocated bytes given back
 *
 * Removes everything in @dir, keeping @dir. A folder that is not there is
 * already clear. Blocks: call it in a thread.
 */
gboolean
cloche_tools_clear (const char  *dir,
                    guint64     *freed,
                    GError     **error)
{
  g_autoptr(ClocheTreeLinks) links = cloche_tree_links_new ();
  g_autoptr(GError) local = NULL;
  struct dirent *entry;
  gboolean ok = TRUE;
  DIR *stream;

  *freed = 0;
  if ((stream = cloche_tools_open_dir (dir, &local)) == NULL)
    {
      if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  while (ok && (entry = readdir (stream)) != NULL)
    if (!cloche_tools_is_dot (entry->d_name))
      ok = cloche_tree_remove (dirfd (stream), entry->d_name, links, freed, error);
  closedir (stream);
  if (!ok)
    g_prefix_error (error, _("Cannot remove the tools folder %s (what went before is gone): "),
                    dir);
  return ok;
}
