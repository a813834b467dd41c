/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Verifying a bundle: the sha256 of every file its manifest lists. Public
 * and synchronous so that the doctor can call it from a thread of its own;
 * ClocheBundleManager runs it as a GTask with progress.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cloche-bundle-private.h"
#include "cloche-error.h"

void
_cloche_bundle_progress_report (ClocheBundleProgress *progress,
                                const char           *file,
                                guint64               bytes)
{
  progress->done += bytes;
  if (progress->func != NULL)
    progress->func (progress->phase, file, progress->done, progress->total, progress->data);
}

/* Feeds what is left of @fd into @checksum, reporting each chunk. */
gboolean
_cloche_bundle_hash_fd (int                    fd,
                        GChecksum             *checksum,
                        ClocheBundleProgress  *progress,
                        const char            *file,
                        GCancellable          *cancellable,
                        GError               **error)
{
  g_autofree guchar *buffer = g_malloc (CLOCHE_BUNDLE_CHUNK);
  ssize_t n;

  while ((n = read (fd, buffer, CLOCHE_BUNDLE_CHUNK)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Cannot read %s: %s"), file, g_strerror (saved));
          return FALSE;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      g_checksum_update (checksum, buffer, n);
      _cloche_bundle_progress_report (progress, file, n);
    }
  return TRUE;
}

gboolean
_cloche_bundle_check_checksum (GChecksum               *checksum,
                               const ClocheBundleFile  *file,
                               const char              *where,
                               const char              *advice,
                               GError                 **error)
{
  const char *actual = g_checksum_get_string (checksum);

  if (g_str_equal (actual, file->sha256))
    return TRUE;
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_CORRUPT,
               /* Translators: the last %s is what to do, e.g. "reinstall the bundle" */
               _("%s is damaged: its sha256 is %s, the manifest says %s; %s"),
               where, actual, file->sha256, advice);
  return FALSE;
}

static gboolean
cloche_bundle_verify_file (const char              *dir,
                           const ClocheBundleFile  *file,
                           ClocheBundleProgress    *progress,
                           GCancellable            *cancellable,
                           GError                 **error)
{
  g_autofree char *path = g_build_filename (dir, file->path, NULL);
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  gboolean ok;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle is incomplete: cannot open %s (%s); reinstall the bundle"),
                   path, g_strerror (saved));
      return FALSE;
    }
  ok = _cloche_bundle_hash_fd (fd, checksum, progress, file->path, cancellable, error);
  close (fd);
  if (!ok)
    return FALSE;
  return _cloche_bundle_check_checksum (checksum, file, path, _("reinstall the bundle"), error);
}

/**
 * cloche_bundle_verify:
 * @dir: the bundle folder
 * @progress: (nullable): called in this thread after each chunk
 *
 * Reads every file the manifest in @dir lists and compares its sha256.
 * Blocks for as long as that takes: call it from a worker thread.
 *
 * Returns: %TRUE if every file matches; else %FALSE with
 *   %CLOCHE_ERROR_BUNDLE_CORRUPT naming the first file that does not,
 *   %CLOCHE_ERROR_BUNDLE_INVALID for a missing file or a bad manifest,
 *   %CLOCHE_ERROR_BUNDLE_MISSING when @dir holds no bundle
 */
gboolean
cloche_bundle_verify (const char                *dir,
                      GCancellable              *cancellable,
                      ClocheBundleProgressFunc   progress,
                      gpointer                   progress_data,
                      GError                   **error)
{
  g_autoptr(ClocheBundleManifest) manifest = NULL;
  ClocheBundleProgress state = { progress, progress_data, "verify", 0, 0 };
  guint n;

  g_return_val_if_fail (dir != NULL, FALSE);

  manifest = cloche_bundle_manifest_load (dir, error);
  if (manifest == NULL)
    return FALSE;
  state.total = cloche_bundle_manifest_get_total_size (manifest);
  n = cloche_bundle_manifest_get_n_files (manifest);
  for (guint i = 0; i < n; i++)
    if (!cloche_bundle_verify_file (dir, cloche_bundle_manifest_get_file (manifest, i), &state,
                                    cancellable, error))
      return FALSE;
  return TRUE;
}
