/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Moving a bundle to another folder, and removing one. A move within one
 * file system is a rename. Across file systems the files are copied to a
 * staging folder beside the new location, each checked against its sha256
 * as it is written, and renamed into place: the old copy is removed only
 * after that (by the manager, once the new location is in use). Removal
 * deletes exactly the files the manifest lists, so a folder the user
 * filled with other things keeps them.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-bundle-private.h"
#include "cloche-error.h"
#include "cloche-tree.h"

static gboolean
cloche_bundle_relocate_check_not_nested (const char  *from,
                                         const char  *to,
                                         GError     **error)
{
  g_autofree char *from_slash = g_strconcat (from, "/", NULL);
  g_autofree char *to_slash = g_strconcat (to, "/", NULL);

  if (!g_str_has_prefix (to_slash, from_slash) && !g_str_has_prefix (from_slash, to_slash))
    return TRUE;
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("Cannot move the bundle from %s to %s: one folder is inside the other"),
               from, to);
  return FALSE;
}

static gboolean
cloche_bundle_relocate_same_file_system (const char *from,
                                         const char *to)
{
  g_autofree char *parent = g_path_get_dirname (to);
  GStatBuf a, b;

  return g_stat (from, &a) == 0 && g_stat (parent, &b) == 0 && a.st_dev == b.st_dev;
}

static gboolean
cloche_bundle_relocate_copy_files (ClocheBundleManifest  *manifest,
                                   const char            *from,
                                   const char            *staging,
                                   ClocheBundleProgress  *progress,
                                   GCancellable          *cancellable,
                                   GError               **error)
{
  GBytes *bytes = cloche_bundle_manifest_get_bytes (manifest);
  g_autofree char *copy = g_build_filename (staging, "manifest.json", NULL);
  gboolean ok = TRUE;
  int dir_fd;

  if (g_mkdir_with_parents (staging, 0755) != 0
      || (dir_fd = open (staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot create %s: %s"), staging, g_strerror (errno));
      return FALSE;
    }
  for (guint i = 0; ok && i < cloche_bundle_manifest_get_n_files (manifest); i++)
    {
      const ClocheBundleFile *file = cloche_bundle_manifest_get_file (manifest, i);
      g_autofree char *path = g_build_filename (from, file->path, NULL);

      ok = _cloche_bundle_copy_file (path, dir_fd, file, progress, cancellable, error);
    }
  close (dir_fd);
  return ok && g_file_set_contents (copy, g_bytes_get_data (bytes, NULL),
                                    g_bytes_get_size (bytes), error);
}

static gboolean
cloche_bundle_relocate_copy_bundle (ClocheBundleManifest  *manifest,
                                    const char            *from,
                                    const char            *to,
                                    ClocheBundleProgress  *progress,
                                    GCancellable          *cancellable,
                                    GError               **error)
{
  g_autofree char *staging = _cloche_bundle_staging_path (to, "partial");
  guint64 freed = 0;

  if (!_cloche_bundle_check_space (to, cloche_bundle_manifest_get_total_size (manifest)
                                   + g_bytes_get_size (cloche_bundle_manifest_get_bytes (manifest)),
                                   error))
    return FALSE;
  if (!cloche_tree_remove (AT_FDCWD, staging, NULL, &freed, error))
    return FALSE;
  if (!cloche_bundle_relocate_copy_files (manifest, from, staging, progress, cancellable, error)
      || (g_file_test (to, G_FILE_TEST_IS_DIR) && g_rmdir (to) != 0 && errno != ENOENT)
      || g_rename (staging, to) != 0)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                     _("Cannot move the copy into %s: %s"), to, g_strerror (errno));
      cloche_tree_remove (AT_FDCWD, staging, NULL, &freed, NULL);
      return FALSE;
    }
  return TRUE;
}

/**
 * _cloche_bundle_relocate_run:
 *
 * @copied: (out): whether the files were copied and checked (else renamed)
 *
 * Puts a checked copy of the bundle in @from at @to (a new or empty
 * folder). Leaves @from as it was, except after a rename.
 */
gboolean
_cloche_bundle_relocate_run (const char            *from,
                             const char            *to,
                             gboolean              *copied,
                             ClocheBundleProgress  *progress,
                             GCancellable          *cancellable,
                             GError               **error)
{
  g_autoptr(ClocheBundleManifest) manifest = NULL;
  g_autofree char *parent = g_path_get_dirname (to);

  manifest = cloche_bundle_manifest_load (from, error);
  if (manifest == NULL || !cloche_bundle_relocate_check_not_nested (from, to, error)
      || !_cloche_bundle_check_target (to, FALSE, error))
    return FALSE;
  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot create %s: %s"), parent, g_strerror (errno));
      return FALSE;
    }
  progress->phase = "copy";
  progress->total = cloche_bundle_manifest_get_total_size (manifest);
  *copied = FALSE;
  if (cloche_bundle_relocate_same_file_system (from, to)
      && (!g_file_test (to, G_FILE_TEST_EXISTS) || g_rmdir (to) == 0)
      && g_rename (from, to) == 0)
    {
      _cloche_bundle_progress_report (progress, NULL, progress->total);
      return TRUE;
    }
  *copied = TRUE;
  return cloche_bundle_relocate_copy_bundle (manifest, from, to, progress, cancellable, error);
}

static gboolean
cloche_bundle_relocate_remove_file (int          dir_fd,
                                    const char  *dir,
                                    const char  *name,
                                    guint64     *freed,
                                    GError     **error)
{
  struct stat st;

  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return TRUE;
  if (unlinkat (dir_fd, name, 0) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot remove %s/%s: %s"), dir, name, g_strerror (saved));
      return FALSE;
    }
  *freed += (guint64) st.st_blocks * 512;
  return TRUE;
}

/**
 * _cloche_bundle_remove_files:
 * @freed: (out): the allocated bytes of what was removed
 *
 * Removes the files the manifest in @dir lists, the manifest, and @dir
 * itself if nothing else is left in it.
 */
gboolean
_cloche_bundle_remove_files (const char  *dir,
                             guint64     *freed,
                             GError     **error)
{
  g_autoptr(ClocheBundleManifest) manifest = cloche_bundle_manifest_load (dir, error);
  struct stat st;
  gboolean ok = TRUE;
  int dir_fd;

  *freed = 0;
  if (manifest == NULL)
    return FALSE;
  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot open %s: %s"), dir, g_strerror (errno));
      return FALSE;
    }
  for (guint i = 0; ok && i < cloche_bundle_manifest_get_n_files (manifest); i++)
    ok =
    cloche_bundle_relocate_remove_file (dir_fd, dir,
                                        cloche_bundle_manifest_get_file (manifest, i)->path,
                                        freed, error);
  /* The manifest goes last: a removal cut short is still a bundle that
   * names its files, and says it is incomplete. */
  ok = ok && cloche_bundle_relocate_remove_file (dir_fd, dir, "manifest.json", freed, error);
  close (dir_fd);
  if (ok && stat (dir, &st) == 0 && g_rmdir (dir) == 0)
    *freed += (guint64) st.st_blocks * 512;
  return ok;
}
