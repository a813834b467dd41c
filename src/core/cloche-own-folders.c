/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cloche's own folders (the bundle, the sessions folder, the VM's cache and
 * runtime folders, the tools folder agents are installed in) never nest in one another, in either direction: a bundle moved into the
 * sessions folder was taken for a damaged session and deleted by cleanup,
 * and a sessions folder inside the bundle would go with a bundle removal.
 * This is the one place that says so; whatever sets one of these folders
 * (bundle install and relocate) asks it first. The same list keeps them out
 * of the guest's reach: no folder shared with a session may be one of them,
 * lie inside one or hold one (a read-write share of ~/.local/state would
 * hand the guest every other session's work folder, the records and the
 * audit log). Two more are only kept from the guest: the configuration
 * folder (the policy: a guest with it mounted rewrites its own egress
 * rules) and the data folder (it holds the default bundle, so that one may
 * lie inside it).
 *
 * Checked twice: by canonical path (links resolved; for a folder that does
 * not exist yet, its nearest existing parent's), and by device and inode,
 * walking up from each folder through ".." so that another name for the
 * same folder (a bind mount, a second mount of the file system) is caught
 * too.
 */
#define _GNU_SOURCE   /* O_PATH */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-own-folders.h"
#include "cloche-tools.h"

/* How deep a walk up may go: no real path has more parents. */
#define MAX_DEPTH 4096

static void
cloche_own_folders_own_folder_free (ClocheOwnFolder *folder)
{
  g_free (folder->role);
  g_free (folder->path);
  g_free (folder);
}

static void
cloche_own_folders_add (GPtrArray  *folders,
                        const char *role,
                        char       *path,
                        gboolean    guest_only)
{
  ClocheOwnFolder *folder = g_new0 (ClocheOwnFolder, 1);

  folder->role = g_strdup (role);
  folder->path = path;
  folder->guest_only = guest_only;
  g_ptr_array_add (folders, folder);
}

static char *
cloche_own_folders_xdg (const char *base)
{
  return g_build_filename (base, "cloche", NULL);
}

/**
 * cloche_own_folders_new:
 * @bundle: where the bundle is
 * @sessions: the sessions folder
 *
 * Returns: (transfer full) (element-type ClocheOwnFolder): every folder
 *   Cloche owns; the others are under the XDG folders
 */
GPtrArray *
cloche_own_folders_new (const char *bundle,
                        const char *sessions)
{
  GPtrArray *folders =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_own_folders_own_folder_free);

  cloche_own_folders_add (folders, "bundle", g_strdup (bundle), FALSE);
  cloche_own_folders_add (folders, "sessions", g_strdup (sessions), FALSE);
  cloche_own_folders_add (folders, "state", cloche_own_folders_xdg (g_get_user_state_dir ()),
                          FALSE);
  cloche_own_folders_add (folders, "cache", cloche_own_folders_xdg (g_get_user_cache_dir ()),
                          FALSE);
  cloche_own_folders_add (folders, "runtime", cloche_own_folders_xdg (g_get_user_runtime_dir ()),
                          FALSE);
  /* Sessions get it read-only at a path of its own, an install session
   * read-write (cloche-sandbox-tools.c); never as a user's folder. */
  cloche_own_folders_add (folders, "tools", cloche_tools_dup_dir (), FALSE);
  cloche_own_folders_add (folders, "config", cloche_own_folders_xdg (g_get_user_config_dir ()),
                          TRUE);
  cloche_own_folders_add (folders, "data", cloche_own_folders_xdg (g_get_user_data_dir ()), TRUE);
  return folders;
}

/* The canonical form of @path, which may not exist yet: its nearest
 * existing parent resolved, the rest appended. */
static char *
cloche_own_folders_canonical (const char *path)
{
  g_autofree char *clean = g_canonicalize_filename (path, "/");
  g_autofree char *head = g_strdup (clean);
  g_autoptr(GString) tail = g_string_new (NULL);
  char *real;

  while ((real = realpath (head, NULL)) == NULL && !g_str_equal (head, "/"))
    {
      g_autofree char *base = g_path_get_basename (head);
      g_autofree char *parent = g_path_get_dirname (head);

      g_string_prepend (tail, base);
      g_string_prepend_c (tail, '/');
      g_free (head);
      head = g_steal_pointer (&parent);
    }
  if (real == NULL)
    return g_steal_pointer (&clean);
  g_string_prepend (tail, g_str_equal (real, "/") ? "" : real);
  free (real);
  if (tail->len == 0)
    g_string_append_c (tail, '/');
  return g_string_free (g_steal_pointer (&tail), FALSE);
}

static gboolean
cloche_own_folders_path_within (const char *path,
                                const char *dir)
{
  gsize length = strlen (dir);

  if (g_str_equal (dir, "/"))
    return TRUE;
  return strncmp (path, dir, length) == 0 && (path[length] == '\0' || path[length] == '/');
}

/* Whether the folder @path exists; its identity in @st. */
static gboolean
cloche_own_folders_identity (const char  *path,
                             struct stat *st)
{
  return stat (path, st) == 0 && S_ISDIR (st->st_mode);
}

/* Whether @st is @path's nearest existing folder or one of its parents,
 * walking up by "..": what a bind mount shows, it shows by inode. */
static gboolean
cloche_own_folders_identity_within (const char        *path,
                                    const struct stat *st)
{
  g_autofree char *head = g_canonicalize_filename (path, "/");
  struct stat here, up;
  int fd;

  while ((fd = open (head, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 && !g_str_equal (head, "/"))
    {
      char *parent = g_path_get_dirname (head);

      g_free (head);
      head = parent;
    }
  for (guint depth = 0; fd >= 0 && depth < MAX_DEPTH; depth++)
    {
      int parent;

      if (fstat (fd, &here) != 0)
        break;
      if (here.st_dev == st->st_dev && here.st_ino == st->st_ino)
        {
          close (fd);
          return TRUE;
        }
      parent = openat (fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
      close (fd);
      fd = parent;
      if (fd < 0 || (fstat (fd, &up) == 0 && up.st_dev == here.st_dev && up.st_ino == here.st_ino))
        break;
    }
  if (fd >= 0)
    close (fd);
  return FALSE;
}

/* Whether @inner is, or is inside, @outer, by path or by inode. */
static gboolean
cloche_own_folders_nested (const char *inner,
                           const char *outer)
{
  g_autofree char *inner_path = cloche_own_folders_canonical (inner);
  g_autofree char *outer_path = cloche_own_folders_canonical (outer);
  struct stat st;

  if (cloche_own_folders_path_within (inner_path, outer_path))
    return TRUE;
  return cloche_own_folders_identity (outer, &st) && cloche_own_folders_identity_within (inner,
                                                                                         &st);
}

/**
 * cloche_own_folders_check_apart:
 * @folders: (element-type ClocheOwnFolder): from cloche_own_folders_new()
 * @role: which of them is about to be @path ("bundle")
 * @path: the folder it would be
 *
 * Returns: %FALSE with %CLOCHE_ERROR_FOLDERS_NESTED when @path is inside
 *   another of Cloche's folders or holds one
 */
gboolean
cloche_own_folders_check_apart (GPtrArray   *folders,
                                const char  *role,
                                const char  *path,
                                GError     **error)
{
  for (guint i = 0; i < folders->len; i++)
    {
      ClocheOwnFolder *other = g_ptr_array_index (folders, i);

      if (g_str_equal (other->role, role) || other->path == NULL || other->guest_only)
        continue;
      if (cloche_own_folders_nested (path, other->path))
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDERS_NESTED,
                     _("%s cannot be Cloche's %s folder: it is inside Cloche's %s folder %s, "
                       "where it would be taken for part of it (a cleanup removes what it takes "
                       "for a damaged session). Choose a folder outside Cloche's own folders"),
                     path, role, other->role, other->path);
      else if (cloche_own_folders_nested (other->path, path))
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDERS_NESTED,
                     _("%s cannot be Cloche's %s folder: Cloche's %s folder %s is inside it, "
                       "and would go with it. Choose a folder outside Cloche's own folders"),
                     path, role, other->role, other->path);
      else
        continue;
      return FALSE;
    }
  return TRUE;
}

/**
 * cloche_own_folders_check_outside:
 * @folders: (element-type ClocheOwnFolder): from cloche_own_folders_new()
 * @path: a folder about to be shared with the guest
 *
 * Returns: %FALSE with %CLOCHE_ERROR_MOUNT_REFUSED when @path is one of
 *   Cloche's folders, inside one or holds one
 */
gboolean
cloche_own_folders_check_outside (GPtrArray   *folders,
                                  const char  *path,
                                  GError     **error)
{
  for (guint i = 0; i < folders->len; i++)
    {
      ClocheOwnFolder *own = g_ptr_array_index (folders, i);

      if (own->path == NULL)
        continue;
      if (cloche_own_folders_nested (path, own->path))
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                     _("%s cannot be mounted: it is inside Cloche's %s folder %s, which the "
                       "guest must not reach"), path, own->role, own->path);
      else if (cloche_own_folders_nested (own->path, path))
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED,
                     _("%s cannot be mounted: it holds Cloche's %s folder %s, which the guest "
                       "must not reach"), path, own->role, own->path);
      else
        continue;
      return FALSE;
    }
  return TRUE;
}
