/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Installing a bundle from a folder, a manifest file or the http(s) URL of
 * a manifest. Nothing is written before the size is known and the disk has
 * room for it. The files go to a staging folder beside the target, each
 * checked against its sha256; only a complete, checked bundle is renamed
 * into place, so a failed or interrupted install never leaves half a
 * bundle where the VM looks for one. A download's staging folder stays
 * after an interruption: the next install of the same manifest resumes it.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cloche-bundle-private.h"
#include "cloche-error.h"
#include "cloche-file.h"
#include "cloche-tree.h"

typedef struct
{
  char                 *base;        /* the source folder, or the manifest's URL */
  gboolean              remote;
  GObject              *session;     /* SoupSession, for a remote source */
  ClocheBundleManifest *manifest;
} Source;

static void
cloche_bundle_install_source_clear (Source *source)
{
  g_clear_pointer (&source->base, g_free);
  g_clear_object (&source->session);
  g_clear_object (&source->manifest);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Source, cloche_bundle_install_source_clear)

/* Free bytes for an unprivileged writer on the file system that holds
 * @path, or would hold it: the nearest folder above it that exists. */
guint64
_cloche_bundle_free_space (const char *path)
{
  g_autofree char *dir = g_strdup (path);
  struct statvfs st;

  while (statvfs (dir, &st) != 0)
    {
      char *parent = g_path_get_dirname (dir);

      if (g_str_equal (parent, dir))
        {
          g_free (parent);
          return 0;
        }
      g_free (dir);
      dir = parent;
    }
  return (guint64) st.f_bavail * st.f_frsize;
}

gboolean
_cloche_bundle_check_space (const char  *target,
                            guint64      needed,
                            GError     **error)
{
  guint64 available = _cloche_bundle_free_space (target);
  g_autofree char *need = NULL, *have = NULL;

  if (needed <= available)
    return TRUE;
  need = g_format_size (needed);
  have = g_format_size (available);
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_NO_SPACE,
               _("Not enough space for the bundle at %s: it needs %s, the disk has %s free; "
                 "free some space or choose another location"), target, need, have);
  return FALSE;
}

/* A hidden sibling of @target, on the same file system so that the last
 * step is a rename. */
char *
_cloche_bundle_staging_path (const char *target,
                             const char *what)
{
  g_autofree char *parent = g_path_get_dirname (target);
  g_autofree char *name = g_path_get_basename (target);
  g_autofree char *hidden = g_strdup_printf (".%s.%s", name, what);

  return g_build_filename (parent, hidden, NULL);
}

static gboolean
cloche_bundle_install_dir_is_empty (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);

  return dir != NULL && g_dir_read_name (dir) == NULL;
}

/* A bundle goes into a new or empty folder (or replaces a bundle, when
 * @may_be_bundle): never into a folder of the user's other files. */
gboolean
_cloche_bundle_check_target (const char  *target,
                             gboolean     may_be_bundle,
                             GError     **error)
{
  g_autofree char *manifest = g_build_filename (target, "manifest.json", NULL);

  if (!g_path_is_absolute (target))
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                 _("The bundle location \"%s\" is not an absolute path"), target);
  else if (!g_file_test (target, G_FILE_TEST_EXISTS) || cloche_bundle_install_dir_is_empty (target))
    return TRUE;
  else if (!g_file_test (target, G_FILE_TEST_IS_DIR))
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                 _("%s is a file, not a folder: choose a new or empty folder"), target);
  else if (may_be_bundle && g_file_test (manifest, G_FILE_TEST_IS_REGULAR))
    return TRUE;
  else
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                 _("%s is not empty: choose a new or empty folder for the bundle"), target);
  return FALSE;
}

static gboolean
cloche_bundle_install_is_url (const char *source)
{
  return g_str_has_prefix (source, "http://") || g_str_has_prefix (source, "https://");
}

static gboolean
cloche_bundle_install_read_remote (Source        *source,
                                   const char    *url,
                                   GCancellable  *cancellable,
                                   GError       **error)
{
  g_autoptr(GBytes) bytes = NULL;

  source->remote = TRUE;
  source->base = g_strdup (url);
  source->session = _cloche_bundle_http_session_new ();
  bytes = _cloche_bundle_download_bytes (source->session, url, cancellable, error);
  if (bytes == NULL)
    return FALSE;
  source->manifest = cloche_bundle_manifest_new_from_bytes (bytes, url, error);
  return source->manifest != NULL;
}

static gboolean
cloche_bundle_install_read_source (Source        *source,
                                   const char    *location,
                                   GCancellable  *cancellable,
                                   GError       **error)
{
  g_autofree char *dir = NULL;

  if (cloche_bundle_install_is_url (location))
    return cloche_bundle_install_read_remote (source, location, cancellable, error);
  /* Relative to what? The daemon's folder is not the caller's. */
  if (!g_path_is_absolute (location))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("\"%s\" is neither an absolute path nor an http(s) URL: give the bundle "
                     "folder, its manifest.json or a URL of one"), location);
      return FALSE;
    }
  if (g_file_test (location, G_FILE_TEST_IS_DIR))
    dir = g_canonicalize_filename (location, NULL);
  else if (g_file_test (location, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *file = g_canonicalize_filename (location, NULL);
      g_autofree char *name = g_path_get_basename (file);

      dir = g_path_get_dirname (file);
      if (!g_str_equal (name, "manifest.json"))
        {
          g_autoptr(GBytes) bytes = cloche_file_read (AT_FDCWD, file,
                                                      CLOCHE_BUNDLE_MANIFEST_MAX_SIZE,
                                                      _("bundle manifest"), CLOCHE_FILE_FOLLOW,
                                                      error);

          source->base = g_steal_pointer (&dir);
          source->manifest = bytes != NULL
                             ? cloche_bundle_manifest_new_from_bytes (bytes, file, error)
                             : NULL;
          return source->manifest != NULL;
        }
    }
  else
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("No bundle at %s: give a bundle folder, its manifest.json, or the "
                     "http(s) URL of a manifest"), location);
      return FALSE;
    }
  source->base = g_steal_pointer (&dir);
  source->manifest = cloche_bundle_manifest_load (source->base, error);
  if (source->manifest == NULL)
    g_prefix_error (error, _("Cannot install from %s: "), location);
  return source->manifest != NULL;
}

ClocheBundleManifest *
_cloche_bundle_inspect_run (const char    *location,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_auto(Source) source = { 0 };

  if (!cloche_bundle_install_read_source (&source, location, cancellable, error))
    return NULL;
  return g_steal_pointer (&source.manifest);
}

static gboolean
cloche_bundle_install_same_bytes_as_file (GBytes     *bytes,
                                          const char *path)
{
  g_autoptr(GBytes) contents = cloche_file_read (AT_FDCWD, path, CLOCHE_BUNDLE_MANIFEST_MAX_SIZE,
                                                 _("bundle manifest"), CLOCHE_FILE_NO_FOLLOW,
                                                 NULL);

  return contents != NULL && g_bytes_equal (contents, bytes);
}

static gboolean
cloche_bundle_install_remove_tree (const char  *path,
                                   GError     **error)
{
  guint64 freed = 0;

  return cloche_tree_remove (AT_FDCWD, path, NULL, &freed, error);
}

/* The staging folder of an earlier install of the same manifest is kept
 * (its files resume); anything else there is from another bundle. */
static gboolean
cloche_bundle_install_prepare_staging (const char            *staging,
                                       ClocheBundleManifest  *manifest,
                                       GError               **error)
{
  g_autofree char *copy = g_build_filename (staging, "manifest.json", NULL);
  GBytes *bytes = cloche_bundle_manifest_get_bytes (manifest);
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);

  if (cloche_bundle_install_same_bytes_as_file (bytes, copy))
    return TRUE;
  if (!cloche_bundle_install_remove_tree (staging, error))
    return FALSE;
  if (g_mkdir_with_parents (staging, 0755) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot create %s: %s"), staging, g_strerror (saved));
      return FALSE;
    }
  return g_file_set_contents (copy, data, length, error);
}

/* Bytes still to write: what the staging folder does not have yet. */
static guint64
cloche_bundle_install_bytes_missing (const char            *staging,
                                     ClocheBundleManifest  *manifest)
{
  guint64 missing = g_bytes_get_size (cloche_bundle_manifest_get_bytes (manifest));

  for (guint i = 0; i < cloche_bundle_manifest_get_n_files (manifest); i++)
    {
      const ClocheBundleFile *file = cloche_bundle_manifest_get_file (manifest, i);
      g_autofree char *path = g_build_filename (staging, file->path, NULL);
      GStatBuf st;

      if (g_stat (path, &st) == 0 && (guint64) st.st_size <= file->size)
        missing += file->size - st.st_size;
      else
        missing += file->size;
    }
  return missing;
}

static gboolean
cloche_bundle_install_fetch_files (Source                *source,
                                   const char            *staging,
                                   ClocheBundleProgress  *progress,
                                   GCancellable          *cancellable,
                                   GError               **error)
{
  ClocheBundleManifest *manifest = source->manifest;
  gboolean ok = TRUE;
  int dir_fd = open (staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (dir_fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot open %s: %s"), staging, g_strerror (errno));
      return FALSE;
    }
  for (guint i = 0; ok && i < cloche_bundle_manifest_get_n_files (manifest); i++)
    {
      const ClocheBundleFile *file = cloche_bundle_manifest_get_file (manifest, i);

      if (source->remote)
        {
          g_autofree char *url = g_uri_resolve_relative (source->base, file->path,
                                                         G_URI_FLAGS_NONE, error);

          ok = url != NULL && _cloche_bundle_download_file (source->session, url, dir_fd, file,
                                                            progress, cancellable, error);
        }
      else
        {
          g_autofree char *path = g_build_filename (source->base, file->path, NULL);

          ok = _cloche_bundle_copy_file (path, dir_fd, file, progress, cancellable, error);
        }
    }
  close (dir_fd);
  return ok;
}

static gboolean
cloche_bundle_install_rename_or_fail (const char  *from,
                                      const char  *to,
                                      GError     **error)
{
  if (g_rename (from, to) == 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
               _("Cannot rename %s to %s: %s"), from, to, g_strerror (errno));
  return FALSE;
}

/* The one step that changes what the VM boots: the checked staging folder
 * takes the target's name. A bundle already there is set aside first and
 * put back if the rename fails, then deleted. */
static gboolean
cloche_bundle_install_swap_in (const char  *staging,
                               const char  *target,
                               GError     **error)
{
  g_autofree char *old = _cloche_bundle_staging_path (target, "old");
  g_autoptr(GError) cleanup_error = NULL;

  if (!g_file_test (target, G_FILE_TEST_EXISTS))
    return cloche_bundle_install_rename_or_fail (staging, target, error);
  if (cloche_bundle_install_dir_is_empty (target))
    {
      if (g_rmdir (target) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       _("Cannot replace the empty folder %s: %s"), target, g_strerror (errno));
          return FALSE;
        }
      return cloche_bundle_install_rename_or_fail (staging, target, error);
    }
  if (!cloche_bundle_install_remove_tree (old, error)
      || !cloche_bundle_install_rename_or_fail (target, old, error))
    return FALSE;
  if (!cloche_bundle_install_rename_or_fail (staging, target, error))
    {
      g_rename (old, target);
      return FALSE;
    }
  if (!cloche_bundle_install_remove_tree (old, &cleanup_error))
    g_warning ("The replaced bundle stays in %s: %s", old, cleanup_error->message);
  return TRUE;
}

/* What a failure leaves: a download's staging folder stays to be resumed,
 * unless its data was refused or the disk is full; a copy starts over. */
static void
cloche_bundle_install_clean_up_after (Source     *source,
                                      const char *staging,
                                      GError     *error)
{
  gboolean resumable = source->remote
                       && !g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_CORRUPT)
                       && !g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_NO_SPACE)
                       && !g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);

  if (resumable)
    g_debug ("Kept %s: the next install of this bundle resumes there", staging);
  else
    cloche_bundle_install_remove_tree (staging, NULL);
}

static gboolean
cloche_bundle_install_files (Source                *source,
                             const char            *target,
                             const char            *staging,
                             ClocheBundleProgress  *progress,
                             GCancellable          *cancellable,
                             GError               **error)
{
  g_autofree char *parent = g_path_get_dirname (target);
  guint64 missing;

  /* Measured before anything is written, the kept part of a download
   * counting as written. */
  missing = cloche_bundle_install_bytes_missing (staging, source->manifest);
  if (!_cloche_bundle_check_space (target, missing, error))
    return FALSE;
  progress->phase = source->remote ? "download" : "copy";
  progress->total = cloche_bundle_manifest_get_total_size (source->manifest);
  _cloche_bundle_progress_report (progress, NULL, 0);
  if (g_mkdir_with_parents (parent, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot create %s: %s"), parent, g_strerror (errno));
      return FALSE;
    }
  return cloche_bundle_install_prepare_staging (staging, source->manifest, error)
         && cloche_bundle_install_fetch_files (source, staging, progress, cancellable, error)
         && cloche_bundle_install_swap_in (staging, target, error);
}

/**
 * _cloche_bundle_install_run:
 * @source: a bundle folder, a manifest file, or an http(s) URL of a manifest
 * @target: the absolute path the bundle will have
 *
 * Returns: (transfer full): the installed bundle's manifest
 */
ClocheBundleManifest *
_cloche_bundle_install_run (const char            *location,
                            const char            *target,
                            ClocheBundleProgress  *progress,
                            GCancellable          *cancellable,
                            GError               **error)
{
  g_auto(Source) source = { 0 };
  g_autofree char *staging = _cloche_bundle_staging_path (target, "partial");
  g_autoptr(GError) local_error = NULL;

  if (!_cloche_bundle_check_target (target, TRUE, error)
      || !cloche_bundle_install_read_source (&source, location, cancellable, error))
    return NULL;
  if (!cloche_bundle_install_files (&source, target, staging, progress, cancellable, &local_error))
    {
      cloche_bundle_install_clean_up_after (&source, staging, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_steal_pointer (&source.manifest);
}
