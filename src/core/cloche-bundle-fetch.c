/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Getting one bundle file into a staging folder, hashing it on the way:
 * copied from a local folder, or downloaded over HTTP(S) with libsoup. A
 * download resumes from the bytes already in the staging folder (HTTP
 * Range), both after a dropped connection (retried here) and in a later
 * install (the staging folder stays). Blocking: worker threads only.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <libsoup/soup.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-bundle-private.h"
#include "cloche-error.h"
#include "cloche-file.h"

/* Tries in a row that bring no new byte before a download gives up. */
#define MAX_FRUITLESS_TRIES 3
#define RETRY_DELAY_US (300 * 1000)

gboolean
_cloche_bundle_write_all (int          fd,
                          const void  *data,
                          gsize        length,
                          const char  *where,
                          GError     **error)
{
  const char *p = data;

  while (length > 0)
    {
      ssize_t n = write (fd, p, length);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          if (saved == ENOSPC || saved == EDQUOT)
            g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_NO_SPACE,
                         _("The disk is full: cannot write %s (%s); free some space or "
                           "choose another location"), where, g_strerror (saved));
          else
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                         _("Cannot write %s: %s"), where, g_strerror (saved));
          return FALSE;
        }
      p += n;
      length -= n;
    }
  return TRUE;
}

static gboolean
cloche_bundle_finish_file (int                      fd,
                           GChecksum               *checksum,
                           const ClocheBundleFile  *file,
                           const char              *source,
                           GError                 **error)
{
  if (fsync (fd) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Cannot write %s to disk: %s"), file->path, g_strerror (saved));
      return FALSE;
    }
  return _cloche_bundle_check_checksum (checksum, file, source,
                                        _("it was refused and nothing was installed"), error);
}

static gboolean
cloche_bundle_copy_fd (int                      in,
                       int                      out,
                       GChecksum               *checksum,
                       const ClocheBundleFile  *file,
                       ClocheBundleProgress    *progress,
                       GCancellable            *cancellable,
                       GError                 **error)
{
  g_autofree guchar *buffer = g_malloc (CLOCHE_BUNDLE_CHUNK);
  ssize_t n;

  while ((n = read (in, buffer, CLOCHE_BUNDLE_CHUNK)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Cannot read %s: %s"), file->path, g_strerror (saved));
          return FALSE;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error)
          || !_cloche_bundle_write_all (out, buffer, n, file->path, error))
        return FALSE;
      g_checksum_update (checksum, buffer, n);
      _cloche_bundle_progress_report (progress, file->path, n);
    }
  return TRUE;
}

/**
 * _cloche_bundle_copy_file:
 * @source: the file to copy
 *
 * Copies @source to @file's name below @dest_dir_fd, hashing as it goes;
 * %CLOCHE_ERROR_BUNDLE_CORRUPT if the size or sha256 differ from @file's.
 */
gboolean
_cloche_bundle_copy_file (const char              *source,
                          int                      dest_dir_fd,
                          const ClocheBundleFile  *file,
                          ClocheBundleProgress    *progress,
                          GCancellable            *cancellable,
                          GError                 **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GError) local_error = NULL;
  struct stat st;
  gboolean ok = FALSE;
  int in, out = -1;

  /* A FIFO or a device in the source folder must not hang the install. */
  in = cloche_file_open_regular (AT_FDCWD, source, CLOCHE_FILE_FOLLOW, &local_error);
  if (in < 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("Cannot use %s, which the manifest lists: %s"), source,
                   local_error->message);
      return FALSE;
    }
  if (fstat (in, &st) == 0 && (guint64) st.st_size != file->size)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_CORRUPT,
                 "%s has %" G_GUINT64_FORMAT " bytes, the manifest says %" G_GUINT64_FORMAT
                 "; it was refused and nothing was installed",
                 source, (guint64) st.st_size, file->size);
  /* Never through a link someone left in the staging folder. */
  else if ((out = openat (dest_dir_fd, file->path,
                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                 _("Cannot create %s: %s"), file->path, g_strerror (errno));
  else
    ok = cloche_bundle_copy_fd (in, out, checksum, file, progress, cancellable, error)
         && cloche_bundle_finish_file (out, checksum, file, source, error);
  close (in);
  if (out >= 0)
    close (out);
  return ok;
}

gpointer
_cloche_bundle_http_session_new (void)
{
  /* A stalled server must not hold an install forever: 30 s without a byte
   * fails the try, and the download resumes with the next one. */
  return g_object_new (SOUP_TYPE_SESSION,
                       "timeout", 30,
                       "user-agent", "cloche/" PACKAGE_VERSION " ",
                       NULL);
}

static GInputStream *
cloche_bundle_send_request (SoupSession   *session,
                            const char    *url,
                            guint64        offset,
                            SoupMessage  **message_out,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  GInputStream *stream;

  if (message == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_DOWNLOAD,
                   _("Cannot download %s: not a valid URL"), url);
      return NULL;
    }
  if (offset > 0)
    {
      g_autofree char *range = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-", offset);

      soup_message_headers_append (soup_message_get_request_headers (message), "Range", range);
    }
  stream = soup_session_send (session, message, cancellable, error);
  if (stream == NULL)
    g_prefix_error (error, _("Cannot download %s: "), url);
  *message_out = g_steal_pointer (&message);
  return stream;
}

static gboolean
cloche_bundle_http_failed (SoupMessage  *message,
                           const char   *url,
                           GError      **error)
{
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_DOWNLOAD,
               _("Cannot download %s: the server answered %u %s"),
               url, soup_message_get_status (message),
               soup_message_get_reason_phrase (message));
  return FALSE;
}

/* Where this response starts in the file: the offset asked for (206), or
 * 0 when the server ignored the Range and sends the whole file (200). */
static gboolean
cloche_bundle_response_start (SoupMessage  *message,
                              const char   *url,
                              guint64       asked,
                              guint64      *start,
                              GError      **error)
{
  goffset first = 0, last = 0, total = 0;
  guint status = soup_message_get_status (message);

  if (status == SOUP_STATUS_OK)
    {
      *start = 0;
      return TRUE;
    }
  if (status != SOUP_STATUS_PARTIAL_CONTENT)
    return cloche_bundle_http_failed (message, url, error);
  if (!soup_message_headers_get_content_range (soup_message_get_response_headers (message),
                                               &first, &last, &total)
      || (guint64) first != asked)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_DOWNLOAD,
                   "Cannot resume %s: the server sent a part that does not start at byte %"
                   G_GUINT64_FORMAT, url, asked);
      return FALSE;
    }
  *start = asked;
  return TRUE;
}

typedef struct
{
  int                      fd;
  guint64                  have;
  GChecksum               *checksum;
  const ClocheBundleFile  *file;
  ClocheBundleProgress    *progress;
} Download;

/* Back to byte 0, for a server that answers a Range with the whole file. */
static gboolean
cloche_bundle_restart (Download  *download,
                       GError   **error)
{
  if (ftruncate (download->fd, 0) != 0 || lseek (download->fd, 0, SEEK_SET) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot restart %s: %s"), download->file->path, g_strerror (errno));
      return FALSE;
    }
  download->progress->done -= download->have;
  download->have = 0;
  g_checksum_reset (download->checksum);
  return TRUE;
}

static gboolean
cloche_bundle_read_body (Download      *download,
                         GInputStream  *stream,
                         guint64       *received,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autofree guchar *buffer = g_malloc (CLOCHE_BUNDLE_CHUNK);
  const char *name = download->file->path;

  while (download->have < download->file->size)
    {
      gsize want = MIN (CLOCHE_BUNDLE_CHUNK, download->file->size - download->have);
      gssize n = g_input_stream_read (stream, buffer, want, cancellable, error);

      if (n < 0)
        return FALSE;
      if (n == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                       "the connection closed at byte %" G_GUINT64_FORMAT " of %"
                       G_GUINT64_FORMAT, download->have, download->file->size);
          return FALSE;
        }
      if (!_cloche_bundle_write_all (download->fd, buffer, n, name, error))
        return FALSE;
      g_checksum_update (download->checksum, buffer, n);
      download->have += n;
      *received += n;
      _cloche_bundle_progress_report (download->progress, name, n);
    }
  return TRUE;
}

/* One GET from download->have on. A CLOCHE_ERROR is final; any other
 * error (connection refused, reset, cut short) is worth another try. */
static gboolean
cloche_bundle_fetch_once (SoupSession   *session,
                          const char    *url,
                          Download      *download,
                          guint64       *received,
                          GCancellable  *cancellable,
                          GError       **error)
{
  g_autoptr(SoupMessage) message = NULL;
  g_autoptr(GInputStream) stream = NULL;
  guint64 start = 0;

  stream = cloche_bundle_send_request (session, url, download->have, &message, cancellable, error);
  if (stream == NULL)
    return FALSE;
  if (!cloche_bundle_response_start (message, url, download->have, &start, error)
      || (start != download->have && !cloche_bundle_restart (download, error)))
    return FALSE;
  if (!cloche_bundle_read_body (download, stream, received, cancellable, error))
    return FALSE;
  g_input_stream_close (stream, NULL, NULL);
  return TRUE;
}

static gboolean
cloche_bundle_is_final (GError *error)
{
  return error->domain == CLOCHE_ERROR
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static gboolean
cloche_bundle_fetch_rest (SoupSession   *session,
                          const char    *url,
                          Download      *download,
                          GCancellable  *cancellable,
                          GError       **error)
{
  guint fruitless = 0;

  while (download->have < download->file->size)
    {
      g_autoptr(GError) local_error = NULL;
      guint64 received = 0;

      if (cloche_bundle_fetch_once (session, url, download, &received, cancellable, &local_error))
        continue;
      if (cloche_bundle_is_final (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      fruitless = received > 0 ? 0 : fruitless + 1;
      if (fruitless >= MAX_FRUITLESS_TRIES)
        {
          g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_DOWNLOAD,
                       "%s (%u tries); run the install again to resume from byte %"
                       G_GUINT64_FORMAT, local_error->message, fruitless, download->have);
          return FALSE;
        }
      g_debug ("Download of %s interrupted at byte %" G_GUINT64_FORMAT " (%s): resuming",
               url, download->have, local_error->message);
      g_usleep (RETRY_DELAY_US);
    }
  return TRUE;
}

/* Hashes the bytes an earlier, interrupted download left, so the sha256 of
 * the whole file comes out at the end without reading it again. */
static gboolean
cloche_bundle_take_partial (Download      *download,
                            GCancellable  *cancellable,
                            GError       **error)
{
  struct stat st;

  if (fstat (download->fd, &st) != 0
      || ((guint64) st.st_size > download->file->size && ftruncate (download->fd, 0) != 0))
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot reuse the partial %s: %s"), download->file->path, g_strerror (errno));
      return FALSE;
    }
  if (!_cloche_bundle_hash_fd (download->fd, download->checksum, download->progress,
                               download->file->path, cancellable, error))
    return FALSE;
  download->have = (guint64) lseek (download->fd, 0, SEEK_CUR);
  if (download->have > 0)
    g_debug ("Resuming %s at byte %" G_GUINT64_FORMAT, download->file->path, download->have);
  return TRUE;
}

/**
 * _cloche_bundle_download_file:
 * @session: a SoupSession made in this thread
 *
 * Downloads @url to @file's name below @dest_dir_fd, keeping what is
 * already there (resuming with a Range request) and checking the sha256.
 */
gboolean
_cloche_bundle_download_file (gpointer                 session,
                              const char              *url,
                              int                      dest_dir_fd,
                              const ClocheBundleFile  *file,
                              ClocheBundleProgress    *progress,
                              GCancellable            *cancellable,
                              GError                 **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  Download download = { -1, 0, checksum, file, progress };
  gboolean ok;

  /* A kept partial file is resumed, never a link in its place. */
  download.fd = openat (dest_dir_fd, file->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (download.fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot create %s: %s"), file->path, g_strerror (errno));
      return FALSE;
    }
  ok = cloche_bundle_take_partial (&download, cancellable, error)
       && cloche_bundle_fetch_rest (SOUP_SESSION (session), url, &download, cancellable, error)
       && cloche_bundle_finish_file (download.fd, checksum, file, url, error);
  close (download.fd);
  return ok;
}

/* At most one byte past the limit is read, so a server cannot make the
 * daemon hold more than a manifest can be. */
static GBytes *
cloche_bundle_read_bounded (GInputStream  *stream,
                            const char    *url,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 buffer[16384];
  gssize got;

  while ((got = g_input_stream_read (stream, buffer, sizeof buffer, cancellable, error)) > 0)
    {
      if (data->len + (gsize) got > CLOCHE_BUNDLE_MANIFEST_MAX_SIZE)
        {
          g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                       _("%s is larger than 1 MiB: not a bundle manifest"), url);
          return NULL;
        }
      g_byte_array_append (data, buffer, (guint) got);
    }
  if (got < 0)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

GBytes *
_cloche_bundle_download_bytes (gpointer       session,
                               const char    *url,
                               GCancellable  *cancellable,
                               GError       **error)
{
  g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
  g_autoptr(GInputStream) stream = NULL;
  GBytes *bytes;

  if (message == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_DOWNLOAD,
                   _("Cannot download %s: not a valid URL"), url);
      return NULL;
    }
  stream = soup_session_send (SOUP_SESSION (session), message, cancellable, error);
  if (stream == NULL)
    {
      g_prefix_error (error, _("Cannot download the manifest %s: "), url);
      return NULL;
    }
  if (soup_message_get_status (message) != SOUP_STATUS_OK)
    {
      cloche_bundle_http_failed (message, url, error);
      return NULL;
    }
  bytes = cloche_bundle_read_bounded (stream, url, cancellable, error);
  if (bytes == NULL && error != NULL && *error != NULL
      && !g_error_matches (*error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID))
    g_prefix_error (error, _("Cannot download the manifest %s: "), url);
  return bytes;
}
