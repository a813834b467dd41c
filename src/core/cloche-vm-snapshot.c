/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Warm wake (issue 21): the idle VM kept in Cloche's cache folder and
 * brought back on the next open instead of a cold boot.
 *
 * The guest's RAM is a memfd the daemon makes and owns (QEMU maps it as
 * /dev/fd/N, cloche-vm-command.c), so QEMU's migration stream holds the
 * device state only (capability x-ignore-shared), and the daemon copies
 * the RAM itself, its non-zero pages only, into a sparse file. A restore
 * fills a new memfd from that file, while QEMU starts. Never QEMU's own
 * RAM migration: its loader reads every page of the target to see whether
 * it is zero, which allocates every page of a shared memfd, so a restored
 * 2 GiB guest held 2 GiB of the host from its first second
 * (docs/performance.md).
 *
 * A snapshot is three files in $XDG_CACHE_HOME/cloche/warm: `ram`,
 * `state` and `snapshot.ini`, the last written last (temporary file,
 * fsync, rename) and removed first, so the two others without it are
 * leftovers, never a snapshot.
 *
 * What is on disk is untrusted input (docs/hardening.md). snapshot.ini is
 * read bounded, without following a link, and must name the key of this
 * boot: the bundle's identity (its manifest and the sha256 of the files
 * checked before each boot), the QEMU binary (device, inode, size, mtime,
 * ctime) and the shape of the command line; the QEMU version it names is
 * compared again with the running QEMU's. `state` and `ram` are opened
 * without following a link, must be regular files with the stamps
 * (device, inode, size, mtime, ctime) they had when saved, and `state`,
 * which QEMU parses, must have the sha256 it had. `ram` is not hashed
 * (100+ MiB, the time a wake has): its bytes only ever become the guest's
 * memory, and the guest is untrusted already. A snapshot that fails any of
 * this is deleted, and the caller boots cold and logs why.
 */
#define _GNU_SOURCE   /* memfd_create, SEEK_DATA */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "cloche-bundle-stamps.h"
#include "cloche-error.h"
#include "cloche-file.h"
#include "cloche-vm-snapshot.h"

#define FORMAT        "cloche-warm-wake 1"
#define META          "snapshot.ini"
#define RAM           "ram"
#define RAM_NEW       "ram.new"
#define STATE         "state"
#define GROUP         "snapshot"
#define META_MAX      65536
#define PAGE          4096
#define CHUNK         (1024 * 1024)
/* QEMU's device state of this machine is under a megabyte. */
#define STATE_MAX     (G_GINT64_CONSTANT (64) * 1024 * 1024)
#define RAM_MAX       (G_GINT64_CONSTANT (1) << 40)

/**
 * cloche_vm_snapshot_dir:
 *
 * Returns: (transfer full): the folder warm wake keeps its snapshot in
 */
char *
cloche_vm_snapshot_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "cloche", "warm", NULL);
}

static gboolean cloche_vm_snapshot_set_errno_error (GError     **error,
                                                    int          saved,
                                                    const char  *what,
                                                    const char  *path);

static char *
cloche_vm_snapshot_stamp_text (const struct stat *st)
{
  return g_strdup_printf ("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT
                          " %ld.%09ld %ld.%09ld", (guint64) st->st_dev, (guint64) st->st_ino,
                          (gint64) st->st_size, (long) st->st_mtim.tv_sec,
                          (long) st->st_mtim.tv_nsec, (long) st->st_ctim.tv_sec,
                          (long) st->st_ctim.tv_nsec);
}

/**
 * cloche_vm_snapshot_key:
 * @shape_argv: the QEMU command line of this boot, with the names that
 *   change from one daemon to the next (console, relay) left out
 * @bundle_identity: cloche_bundle_dup_identity()
 *
 * Returns: (transfer full): what a snapshot must have been made with to be
 *   restored by this boot, or %NULL if QEMU cannot be found
 */
char *
cloche_vm_snapshot_key (const char *const  *shape_argv,
                        const char         *bundle_identity,
                        GError            **error)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree char *qemu = NULL;
  struct stat st;

  /* The binary QEMU runs, links followed: an upgrade moves its stamp. */
  if (stat (shape_argv[0], &st) != 0)
    {
      int saved = errno;

      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QEMU_MISSING, _("Cannot read %s: %s"),
                   shape_argv[0], g_strerror (saved));
      return NULL;
    }
  qemu = cloche_vm_snapshot_stamp_text (&st);
  g_checksum_update (sum, (const guchar *) FORMAT, sizeof FORMAT);
  g_checksum_update (sum, (const guchar *) bundle_identity, strlen (bundle_identity) + 1);
  g_checksum_update (sum, (const guchar *) qemu, strlen (qemu) + 1);
  for (guint i = 0; shape_argv[i] != NULL; i++)
    g_checksum_update (sum, (const guchar *) shape_argv[i], strlen (shape_argv[i]) + 1);
  return g_strdup (g_checksum_get_string (sum));
}

static char *
cloche_vm_snapshot_child_path (const char *dir,
                               const char *name)
{
  return g_build_filename (dir, name, NULL);
}

/**
 * cloche_vm_snapshot_remove:
 *
 * Deletes the snapshot in @dir, snapshot.ini first, and its leftovers.
 */
void
cloche_vm_snapshot_remove (const char *dir)
{
  static const char *const names[] = { META, STATE, RAM, RAM_NEW };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = cloche_vm_snapshot_child_path (dir, names[i]);

      g_unlink (path);
    }
}

/**
 * cloche_vm_snapshot_exists:
 *
 * Returns: whether @dir holds a snapshot (its snapshot.ini), checked or not
 */
gboolean
cloche_vm_snapshot_exists (const char *dir)
{
  g_autofree char *path = cloche_vm_snapshot_child_path (dir, META);
  GStatBuf st;

  return g_lstat (path, &st) == 0;
}

/**
 * cloche_vm_snapshot_size:
 *
 * Returns: the bytes the files in @dir take on disk (st_blocks, links not
 *   followed), whatever state they are in
 */
guint64
cloche_vm_snapshot_size (const char *dir)
{
  static const char *const names[] = { META, STATE, RAM, RAM_NEW };
  guint64 total = 0;

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = cloche_vm_snapshot_child_path (dir, names[i]);
      struct stat st;

      if (lstat (path, &st) == 0 && S_ISREG (st.st_mode))
        total += (guint64) st.st_blocks * 512;
    }
  return total;
}

/**
 * cloche_vm_snapshot_open_state:
 *
 * Makes @dir (the user's own, 0700) and a file in it without a name
 * (O_TMPFILE) for QEMU to write its device state into if the VM is saved
 * (fd: migration): a boot that is never saved leaves nothing, and no other
 * process can open it. cloche_vm_snapshot_save() names it.
 *
 * Returns: the descriptor, or -1 with @error set
 */
int
cloche_vm_snapshot_open_state (const char  *dir,
                               GError     **error)
{
  int fd;

  if (!cloche_file_make_private_dir (dir, error))
    return -1;
  fd = open (dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    cloche_vm_snapshot_set_errno_error (error, errno, _("Cannot make a file in"), dir);
  return fd;
}

static gboolean
cloche_vm_snapshot_set_errno_error (GError     **error,
                                    int          saved,
                                    const char  *what,
                                    const char  *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s %s: %s", what, path,
               g_strerror (saved));
  return FALSE;
}

static gboolean
cloche_vm_snapshot_page_is_zero (const guchar *page,
                                 gsize         length)
{
  static const guchar zero[PAGE];

  return memcmp (page, zero, length) == 0;
}

/* Writes @length bytes of @buf at @off of @dst; with @skip_zero, pages
 * of zeros are left as holes. Runs of pages go in one write each: a
 * write per page cost a system call per 4 KiB, 28,000 for a guest's
 * 110 MB, which a restore waits for (issue 21). */
static gboolean
cloche_vm_snapshot_write_run (int           dst,
                              const guchar *buf,
                              gsize         length,
                              off_t         off,
                              gboolean      skip_zero)
{
  gsize start = 0;

  while (start < length)
    {
      gsize end;

      if (skip_zero)
        {
          while (start < length
                 && cloche_vm_snapshot_page_is_zero (buf + start, MIN (PAGE, length - start)))
            start += PAGE;
          end = start;
          while (end < length
                 && !cloche_vm_snapshot_page_is_zero (buf + end, MIN (PAGE, length - end)))
            end += PAGE;
          end = MIN (end, length);
        }
      else
        end = length;
      if (end > start
          && pwrite (dst, buf + start, end - start, off + start) != (ssize_t) (end - start))
        return FALSE;
      start = end;
    }
  return TRUE;
}

/* The data of @src (from SEEK_DATA to SEEK_HOLE) into @dst at the same
 * offsets; with @skip_zero, pages of zeros are left as holes. */
static gboolean
cloche_vm_snapshot_copy_sparse (int          src,
                                int          dst,
                                gboolean     skip_zero,
                                const char  *path,
                                GError     **error)
{
  g_autofree guchar *buf = g_malloc (CHUNK);
  struct stat st;
  off_t off = 0;

  if (fstat (src, &st) != 0)
    return cloche_vm_snapshot_set_errno_error (error, errno, _("Cannot read"), path);
  while ((off = lseek (src, off, SEEK_DATA)) >= 0)
    {
      off_t end = lseek (src, off, SEEK_HOLE);

      while (off < end)
        {
          ssize_t n = pread (src, buf, MIN ((off_t) CHUNK, end - off), off);

          if (n <= 0)
            return cloche_vm_snapshot_set_errno_error (error, n < 0 ? errno : EIO, _("Cannot read"),
                                                       path);
          if (!cloche_vm_snapshot_write_run (dst, buf, n, off, skip_zero))
            return cloche_vm_snapshot_set_errno_error (error, errno, _("Cannot write"), path);
          off += n;
        }
    }
  if (errno != ENXIO)
    return cloche_vm_snapshot_set_errno_error (error, errno, _("Cannot read"), path);
  if (ftruncate (dst, st.st_size) != 0)
    return cloche_vm_snapshot_set_errno_error (error, errno, _("Cannot write"), path);
  return TRUE;
}

static char *
cloche_vm_snapshot_sha256_fd (int          fd,
                              const char  *path,
                              GError     **error)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (CHUNK);
  off_t off = 0;
  ssize_t n;

  while ((n = pread (fd, buf, CHUNK, off)) > 0)
    {
      g_checksum_update (sum, buf, n);
      off += n;
    }
  if (n < 0)
    {
      cloche_vm_snapshot_set_errno_error (error, errno, _("Cannot read"), path);
      return NULL;
    }
  return g_strdup (g_checksum_get_string (sum));
}

static void
cloche_vm_snapshot_set_stamp (GKeyFile          *meta,
                              const char        *name,
                              const struct stat *st)
{
  g_autofree char *text = cloche_vm_snapshot_stamp_text (st);

  g_key_file_set_string (meta, GROUP, name, text);
}

static gboolean
cloche_vm_snapshot_write_meta (const char                 *dir,
                               const ClocheVmSnapshotMeta *info,
                               const struct stat          *ram,
                               const struct stat          *state,
                               const char                 *state_sha256,
                               GError                    **error)
{
  g_autoptr(GKeyFile) meta = g_key_file_new ();
  g_autofree char *path = cloche_vm_snapshot_child_path (dir, META);
  g_autofree char *text = NULL;
  gsize length = 0;

  g_key_file_set_string (meta, GROUP, "format", FORMAT);
  g_key_file_set_string (meta, GROUP, "key", info->key);
  g_key_file_set_string (meta, GROUP, "qemu-version", info->qemu_version);
  g_key_file_set_uint64 (meta, GROUP, "next-guest-uid", info->next_guest_uid);
  g_key_file_set_int64 (meta, GROUP, "booted-at", info->booted_at);
  cloche_vm_snapshot_set_stamp (meta, "ram", ram);
  cloche_vm_snapshot_set_stamp (meta, "state", state);
  g_key_file_set_string (meta, GROUP, "state-sha256", state_sha256);
  text = g_key_file_to_data (meta, &length, NULL);
  return g_file_set_contents_full (path, text, length, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                   error);
}

/* @fd synced and given its name: renamed from @from, or linked in if
 * @from is NULL (the O_TMPFILE QEMU wrote). */
static gboolean
cloche_vm_snapshot_finish_file (int          fd,
                                const char  *dir,
                                const char  *from,
                                const char  *to,
                                struct stat *st,
                                GError     **error)
{
  g_autofree char *old = from != NULL ? cloche_vm_snapshot_child_path (dir, from)
                                       : g_strdup_printf ("/proc/self/fd/%d", fd);
  g_autofree char *new = cloche_vm_snapshot_child_path (dir, to);
  int failed;

  if (fsync (fd) != 0)
    return cloche_vm_snapshot_set_errno_error (error, errno, _("Cannot write"), new);
  if (from != NULL)
    failed = g_rename (old, new);
  else
    {
      g_unlink (new);
      failed = linkat (AT_FDCWD, old, AT_FDCWD, new, AT_SYMLINK_FOLLOW);
    }
  if (failed != 0)
    return cloche_vm_snapshot_set_errno_error (error, errno, _("Cannot name"), new);
  /* After the rename or link, which move the ctime. */
  if (fstat (fd, st) != 0)
    return cloche_vm_snapshot_set_errno_error (error, errno, _("Cannot read"), new);
  return TRUE;
}

/**
 * cloche_vm_snapshot_save:
 * @ram_fd: the guest's RAM (the memfd), not running any more
 *
 * @state_fd: cloche_vm_snapshot_open_state()'s file, which QEMU wrote
 *
 * Blocks (a worker thread): the RAM's non-zero pages go to a sparse file,
 * both files are synced and named, and snapshot.ini is written last. On
 * failure nothing that looks like a snapshot is left.
 */
gboolean
cloche_vm_snapshot_save (const char                 *dir,
                         int                         ram_fd,
                         int                         state_fd,
                         const ClocheVmSnapshotMeta *meta,
                         GError                    **error)
{
  g_autofree char *ram_path = cloche_vm_snapshot_child_path (dir, RAM_NEW);
  g_autofree char *state_sha256 = NULL;
  struct stat ram_st, state_st;
  int ram_out = -1;
  gboolean ok = FALSE;

  g_unlink (ram_path);
  ram_out = cloche_file_open_write (AT_FDCWD, ram_path, O_WRONLY | O_CREAT | O_EXCL, error);
  if (ram_out >= 0
      && cloche_vm_snapshot_copy_sparse (ram_fd, ram_out, TRUE, ram_path, error)
      && (state_sha256 = cloche_vm_snapshot_sha256_fd (state_fd, STATE, error)) != NULL
      && cloche_vm_snapshot_finish_file (ram_out, dir, RAM_NEW, RAM, &ram_st, error)
      && cloche_vm_snapshot_finish_file (state_fd, dir, NULL, STATE, &state_st, error))
    ok = cloche_vm_snapshot_write_meta (dir, meta, &ram_st, &state_st, state_sha256, error);
  if (ram_out >= 0)
    close (ram_out);
  if (!ok)
    cloche_vm_snapshot_remove (dir);
  return ok;
}

void
cloche_vm_snapshot_free (ClocheVmSnapshot *snapshot)
{
  if (snapshot == NULL)
    return;
  if (snapshot->ram_fd >= 0)
    close (snapshot->ram_fd);
  if (snapshot->state_fd >= 0)
    close (snapshot->state_fd);
  if (snapshot->ram_file_fd >= 0)
    close (snapshot->ram_file_fd);
  g_free (snapshot->qemu_version);
  g_free (snapshot);
}

static gboolean
cloche_vm_snapshot_refuse (GError    **error,
                           const char *why)
{
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SNAPSHOT_UNUSABLE,
               _("The warm-wake snapshot cannot be used: %s"), why);
  return FALSE;
}

static GKeyFile *
cloche_vm_snapshot_read_meta (const char  *dir,
                              GError     **error)
{
  g_autofree char *path = cloche_vm_snapshot_child_path (dir, META);
  g_autoptr(GKeyFile) meta = g_key_file_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *format = NULL;

  bytes = cloche_file_read (AT_FDCWD, path, META_MAX, _("snapshot record"),
                            CLOCHE_FILE_NO_FOLLOW, &local_error);
  if (bytes == NULL)
    {
      /* Its message names the file already. */
      cloche_vm_snapshot_refuse (error, local_error->message);
      return NULL;
    }
  if (!g_key_file_load_from_data (meta, g_bytes_get_data (bytes, NULL),
                                  g_bytes_get_size (bytes), G_KEY_FILE_NONE, &local_error))
    {
      g_autofree char *why = g_strdup_printf ("%s: %s", path, local_error->message);

      cloche_vm_snapshot_refuse (error, why);
      return NULL;
    }
  format = g_key_file_get_string (meta, GROUP, "format", NULL);
  if (g_strcmp0 (format, FORMAT) != 0)
    {
      cloche_vm_snapshot_refuse (error, _("its record is of another format"));
      return NULL;
    }
  return g_steal_pointer (&meta);
}

/* @name opened without following a link, a regular file with the stamp
 * snapshot.ini gives it, at most @max bytes. */
static int
cloche_vm_snapshot_open_stamped (const char  *dir,
                                 const char  *name,
                                 GKeyFile    *meta,
                                 gint64       max,
                                 GError     **error)
{
  g_autofree char *path = cloche_vm_snapshot_child_path (dir, name);
  g_autofree char *want = g_key_file_get_string (meta, GROUP, name, NULL);
  g_autofree char *have = NULL;
  g_autoptr(GError) local_error = NULL;
  struct stat st;
  int fd = cloche_file_open_regular (AT_FDCWD, path, CLOCHE_FILE_NO_FOLLOW, &local_error);

  if (fd < 0)
    {
      cloche_vm_snapshot_refuse (error, local_error->message);
      return -1;
    }
  if (fstat (fd, &st) != 0 || st.st_size > max || want == NULL
      || !g_str_equal (want, have = cloche_vm_snapshot_stamp_text (&st)))
    {
      g_autofree char *why = g_strdup_printf (_("%s changed since it was saved (cut short, "
                                                "written or replaced)"), path);

      close (fd);
      cloche_vm_snapshot_refuse (error, why);
      return -1;
    }
  return fd;
}

static gboolean
cloche_vm_snapshot_check_state (ClocheVmSnapshot  *snapshot,
                                const char        *dir,
                                GKeyFile          *meta,
                                GError           **error)
{
  g_autofree char *path = cloche_vm_snapshot_child_path (dir, STATE);
  g_autofree char *want = g_key_file_get_string (meta, GROUP, "state-sha256", NULL);
  g_autofree char *have = NULL;

  snapshot->state_fd = cloche_vm_snapshot_open_stamped (dir, STATE, meta, STATE_MAX, error);
  if (snapshot->state_fd < 0)
    return FALSE;
  have = cloche_vm_snapshot_sha256_fd (snapshot->state_fd, path, error);
  if (have == NULL)
    return FALSE;
  if (want == NULL || !g_str_equal (want, have))
    {
      g_autofree char *why = g_strdup_printf (_("%s is not what was saved (its sha256 "
                                                "differs)"), path);

      return cloche_vm_snapshot_refuse (error, why);
    }
  return TRUE;
}

/* The RAM file opened (its stamps checked) and a memfd of its size made;
 * the copy is cloche_vm_snapshot_fill(), while QEMU starts (issue 21). */
static gboolean
cloche_vm_snapshot_open_ram (ClocheVmSnapshot  *snapshot,
                             const char        *dir,
                             GKeyFile          *meta,
                             GError           **error)
{
  g_autofree char *path = cloche_vm_snapshot_child_path (dir, RAM);
  struct stat st;

  snapshot->ram_file_fd = cloche_vm_snapshot_open_stamped (dir, RAM, meta, RAM_MAX, error);
  if (snapshot->ram_file_fd < 0)
    return FALSE;
  snapshot->ram_fd = memfd_create ("cloche-guest-ram", MFD_CLOEXEC);
  if (snapshot->ram_fd < 0 || fstat (snapshot->ram_file_fd, &st) != 0
      || ftruncate (snapshot->ram_fd, st.st_size) != 0)
    return cloche_vm_snapshot_set_errno_error (error, errno,
                                               _("Cannot make the guest's memory for"), path);
  return TRUE;
}

/**
 * cloche_vm_snapshot_fill:
 * @ram_file_fd: the snapshot's `ram` (ClocheVmSnapshot.ram_file_fd)
 * @ram_fd: the memfd cloche_vm_snapshot_load() made for it
 *
 * Blocks (a worker thread): copies the saved RAM into the guest's memfd,
 * its data only (the memfd's holes read as zeros). QEMU may have the memfd
 * mapped already; the guest must not run before this returned TRUE.
 */
gboolean
cloche_vm_snapshot_fill (int          ram_file_fd,
                         int          ram_fd,
                         GError     **error)
{
  return cloche_vm_snapshot_copy_sparse (ram_file_fd, ram_fd, FALSE, RAM, error);
}

static gboolean
cloche_vm_snapshot_check_meta (ClocheVmSnapshot  *snapshot,
                               GKeyFile          *meta,
                               const char        *key,
                               GError           **error)
{
  g_autofree char *saved_key = g_key_file_get_string (meta, GROUP, "key", NULL);
  guint64 uid = g_key_file_get_uint64 (meta, GROUP, "next-guest-uid", NULL);

  if (g_strcmp0 (saved_key, key) != 0)
    return cloche_vm_snapshot_refuse (error,
                                      _("it was made with another bundle, another QEMU or other VM "
                                        "options"));
  snapshot->qemu_version = g_key_file_get_string (meta, GROUP, "qemu-version", NULL);
  if (snapshot->qemu_version == NULL || uid > G_MAXUINT)
    return cloche_vm_snapshot_refuse (error, _("its record is incomplete"));
  snapshot->next_guest_uid = uid;
  /* Only ever compared with a boot the daemon remembers (cloche_vm_get_restored_from):
   * missing or wrong, it matches none. */
  snapshot->booted_at = MAX (g_key_file_get_int64 (meta, GROUP, "booted-at", NULL), 0);
  return TRUE;
}

/**
 * cloche_vm_snapshot_load:
 * @key: cloche_vm_snapshot_key() of the boot that would restore it
 *
 * Blocks (a worker thread): checks the snapshot in @dir (see the top of
 * this file), opens its RAM file and makes a memfd of its size, for
 * cloche_vm_snapshot_fill() to fill. Whatever the outcome the
 * snapshot is used at most once: it is deleted here (the descriptors stay
 * valid), so a restore that fails later cannot be tried again.
 *
 * Returns: (transfer full): the snapshot, or %NULL with @error set:
 *   %G_IO_ERROR_NOT_FOUND when there is none, else
 *   %CLOCHE_ERROR_SNAPSHOT_UNUSABLE saying why
 */
ClocheVmSnapshot *
cloche_vm_snapshot_load (const char  *dir,
                         const char  *key,
                         GError     **error)
{
  g_autoptr(ClocheVmSnapshot) snapshot = g_new0 (ClocheVmSnapshot, 1);
  g_autoptr(GKeyFile) meta = NULL;
  gboolean ok;

  snapshot->ram_fd = snapshot->state_fd = snapshot->ram_file_fd = -1;
  if (!cloche_vm_snapshot_exists (dir))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("No warm-wake snapshot in %s"),
                   dir);
      cloche_vm_snapshot_remove (dir);
      return NULL;
    }
  meta = cloche_vm_snapshot_read_meta (dir, error);
  ok = meta != NULL && cloche_vm_snapshot_check_meta (snapshot, meta, key, error)
       && cloche_vm_snapshot_check_state (snapshot, dir, meta,
                                          error) && cloche_vm_snapshot_open_ram (snapshot, dir,
                                                                                 meta, error);
  cloche_vm_snapshot_remove (dir);
  if (!ok)
    return NULL;
  lseek (snapshot->state_fd, 0, SEEK_SET);
  return g_steal_pointer (&snapshot);
}
