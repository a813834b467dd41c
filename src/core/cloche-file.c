/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Opening the files Cloche reads and writes in folders someone else can
 * also write: the policy files, a bundle's manifest, bundle.json, the audit
 * log. The rules, one place for all of them:
 *
 * - a file read is a regular file: it is opened with O_NONBLOCK, so that a
 *   FIFO or a device put in its place cannot hang the reader in open(2),
 *   then refused by its type (fstat) before a byte is read;
 * - a file read is read up to a size its format needs, never to its end:
 *   the size is checked on the descriptor, and the read stops at the bound
 *   whatever the size said (a file that grows while it is read);
 * - a file written is opened with O_NOFOLLOW and must be a regular file: a
 *   symbolic link planted in its place is refused, never followed, so that
 *   nothing is written or appended outside Cloche's folders. Files replaced
 *   whole are written to a new name and renamed over (g_file_set_contents),
 *   which replaces a link rather than following it.
 *
 * - a file written by someone else that Cloche shows a part of (the guest
 *   console QEMU writes) is read from its end, the part that is shown,
 *   whatever its size;
 * - a folder of Cloche's own where it puts private files (the VM's) is a
 *   real folder, the user's, 0700: not a link to somewhere else, nor a
 *   folder another user made there first.
 *
 * Errors are G_FILE_ERROR with what failed, on which file, and what to do;
 * a missing file stays G_FILE_ERROR_NOENT so callers can tell "not there".
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-file.h"

static const char *
cloche_file_describe_type (mode_t mode)
{
  if (S_ISDIR (mode))
    return _("a folder");
  if (S_ISFIFO (mode))
    return _("a FIFO (named pipe)");
  if (S_ISSOCK (mode))
    return _("a socket");
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return _("a device");
  if (S_ISLNK (mode))
    return _("a symbolic link");
  return _("not a regular file");
}

static gboolean
cloche_file_set_open_error (const char  *path,
                            int          saved,
                            gboolean     no_follow,
                            GError     **error)
{
  if (saved == ELOOP && no_follow)
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_LOOP,
                 _("%s is a symbolic link, which Cloche does not follow there: replace "
                   "it with a plain file or remove it"), path);
  else
    g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                 _("Cannot open %s: %s"), path, g_strerror (saved));
  return FALSE;
}

static gboolean
cloche_file_check_regular (int          fd,
                           const char  *path,
                           struct stat *st,
                           GError     **error)
{
  if (fstat (fd, st) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   _("Cannot read %s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  if (S_ISREG (st->st_mode))
    return TRUE;
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
               /* Translators: the second %s is a kind of file, such as "a FIFO (named pipe)" */
               _("%s is %s, not a regular file: Cloche reads and writes only plain files "
                 "there; replace it with one or remove it"), path,
               cloche_file_describe_type (st->st_mode));
  return FALSE;
}

static int
cloche_file_open_checked (int               dir_fd,
                          const char       *path,
                          int               open_flags,
                          gboolean          no_follow,
                          GError          **error)
{
  struct stat st;
  int fd;

  open_flags |= O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (no_follow ? O_NOFOLLOW : 0);
  do
    fd = openat (dir_fd, path, open_flags, 0600);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    {
      cloche_file_set_open_error (path, errno, no_follow, error);
      return -1;
    }
  if (!cloche_file_check_regular (fd, path, &st, error))
    {
      close (fd);
      return -1;
    }
  /* Regular files ignore O_NONBLOCK; clear it anyway, so that what the
   * descriptor is handed to (QEMU, a GUnixInputStream) sees plain I/O. */
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

/**
 * cloche_file_open_regular:
 * @dir_fd: a folder for a relative @path, or AT_FDCWD
 *
 * Opens @path for reading, without blocking on a FIFO and refusing
 * anything but a regular file.
 *
 * Returns: the descriptor (close it), or -1 with @error set
 */
int
cloche_file_open_regular (int               dir_fd,
                          const char       *path,
                          ClocheFileFlags   flags,
                          GError          **error)
{
  g_return_val_if_fail (path != NULL, -1);
  return cloche_file_open_checked (dir_fd, path, O_RDONLY, (flags & CLOCHE_FILE_NO_FOLLOW) != 0,
                                   error);
}

/**
 * cloche_file_open_write:
 * @open_flags: O_WRONLY or O_RDWR, and O_APPEND, O_CREAT, O_TRUNC as needed
 *
 * Opens @path for writing, never through a symbolic link (O_NOFOLLOW is
 * added) and never anything but a regular file. A new file is made 0600.
 *
 * Returns: the descriptor (close it), or -1 with @error set
 */
int
cloche_file_open_write (int          dir_fd,
                        const char  *path,
                        int          open_flags,
                        GError     **error)
{
  g_return_val_if_fail (path != NULL, -1);
  return cloche_file_open_checked (dir_fd, path, open_flags, TRUE, error);
}

static void
cloche_file_set_too_large (const char  *path,
                           const char  *what,
                           gsize        max_size,
                           GError     **error)
{
  g_autofree char *limit = g_format_size_full (max_size, G_FORMAT_SIZE_IEC_UNITS);

  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
               /* Translators: "/etc/cloche/policy.json is larger than 1.0 MiB, which no
                * policy file is: …" */
               _("%s is larger than %s, which no %s is: check that it is the right file"),
               path, limit, what);
}

/**
 * cloche_file_read_fd:
 * @fd: a regular file open for reading (from its start)
 * @path: its name, for messages
 * @max_size: the most its format can need
 * @what: what it is, for messages ("policy file")
 *
 * Returns: (transfer full): the whole file, or %NULL with @error set when
 *   it cannot be read or holds more than @max_size bytes
 */
GBytes *
cloche_file_read_fd (int          fd,
                     const char  *path,
                     gsize        max_size,
                     const char  *what,
                     GError     **error)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  struct stat st;
  guint8 buffer[65536];
  ssize_t n;

  if (!cloche_file_check_regular (fd, path, &st, error))
    return NULL;
  if ((guint64) st.st_size > max_size)
    {
      cloche_file_set_too_large (path, what, max_size, error);
      return NULL;
    }
  while ((n = read (fd, buffer, sizeof buffer)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;

          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                       _("Cannot read %s: %s"), path, g_strerror (saved));
          return NULL;
        }
      if (data->len + (gsize) n > max_size)
        {
          cloche_file_set_too_large (path, what, max_size, error);
          return NULL;
        }
      g_byte_array_append (data, buffer, (guint) n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

/**
 * cloche_file_read:
 * @dir_fd: a folder for a relative @path, or AT_FDCWD
 *
 * cloche_file_open_regular() and cloche_file_read_fd() in one.
 *
 * Returns: (transfer full): the whole file, or %NULL with @error set
 *   (%G_FILE_ERROR_NOENT when it is not there)
 */
GBytes *
cloche_file_read (int               dir_fd,
                  const char       *path,
                  gsize             max_size,
                  const char       *what,
                  ClocheFileFlags   flags,
                  GError          **error)
{
  GBytes *bytes;
  int fd = cloche_file_open_regular (dir_fd, path, flags, error);

  if (fd < 0)
    return NULL;
  bytes = cloche_file_read_fd (fd, path, max_size, what, error);
  close (fd);
  return bytes;
}

/**
 * cloche_file_read_tail:
 * @max_size: how much of the end to read
 *
 * Returns: (transfer full): the last @max_size bytes of @path (all of it
 *   when shorter), or %NULL with @error set
 */
GBytes *
cloche_file_read_tail (const char  *path,
                       gsize        max_size,
                       GError     **error)
{
  g_autofree guint8 *buffer = g_malloc (max_size);
  struct stat st;
  gsize length;
  ssize_t n;
  int fd = cloche_file_open_regular (AT_FDCWD, path, CLOCHE_FILE_FOLLOW, error);

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) != 0)
    st.st_size = 0;
  length = MIN ((guint64) st.st_size, max_size);
  do
    n = pread (fd, buffer, length, st.st_size - length);
  while (n < 0 && errno == EINTR);
  close (fd);
  if (n < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   _("Cannot read %s: %s"), path, g_strerror (errno));
      return NULL;
    }
  return g_bytes_new (buffer, n);
}

/**
 * cloche_file_make_private_dir:
 *
 * Makes @path (and its parents) if needed, and checks that it is a folder
 * of this user's that only this user can enter: not a symbolic link, not
 * a folder someone else made there first.
 */
gboolean
cloche_file_make_private_dir (const char  *path,
                              GError     **error)
{
  GStatBuf st;

  if (g_mkdir_with_parents (path, 0700) != 0 || g_lstat (path, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   _("Cannot create the folder %s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid ())
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                   _("%s is not a folder of your own (it is a symbolic link, another kind "
                     "of file, or another user's folder): Cloche keeps private files there; "
                     "remove it"), path);
      return FALSE;
    }
  if ((st.st_mode & 077) != 0 && g_chmod (path, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   _("Cannot make %s private: %s"), path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}
