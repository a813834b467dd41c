/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bundle on disk, as a boot uses it: its manifest (read strictly by
 * ClocheBundleManifest: every file a plain name listed with its size and
 * sha256, kernel, initrd and root image among them), and the files the boot
 * hands QEMU.
 *
 * Loading checks that every listed file is there as a regular file (no
 * link) of its size, and that a disk bundle's root image starts as a qcow2
 * image does: cheap, and it names the file at fault before QEMU would.
 *
 * Before each boot, cloche_bundle_open_boot_files() opens the kernel, the
 * initrd and the root image without following a link, checks each against
 * the manifest's sha256 unless its stamp (cloche-bundle-stamps.c) shows it
 * unchanged since it last matched, and keeps the descriptors: QEMU is given
 * those (/dev/fd/N), so what was checked is what boots, whatever is renamed
 * into the folder in between. Hashing is the slow part (≈ 1 s for the
 * minimal bundle's 62 MB here): it runs in a worker thread, and only for a
 * file that changed or was never seen (docs/bundle.md has the figures).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-bundle.h"
#include "cloche-bundle-private.h"
#include "cloche-bundle-stamps.h"
#include "cloche-error.h"
#include "cloche-file.h"

struct _ClocheBundle
{
  GObject               parent_instance;
  char                 *path;
  ClocheBundleManifest *manifest;
  int                   boot_fds[CLOCHE_BUNDLE_N_BOOT_FILES];  /* -1: not open */
};

/* The first bytes of every qcow2 image: "QFI\xfb", then the version (2 or 3). */
#define QCOW2_MAGIC "QFI\xfb"

G_DEFINE_FINAL_TYPE (ClocheBundle, cloche_bundle, G_TYPE_OBJECT)

char *
cloche_bundle_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "cloche", "bundle", NULL);
}

static gboolean
cloche_bundle_check_file (const char              *dir,
                          const ClocheBundleFile  *file,
                          GError                 **error)
{
  g_autofree char *path = g_build_filename (dir, file->path, NULL);
  struct stat st;

  if (fstatat (AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
      int saved = errno;

      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle is incomplete: %s is missing (%s); reinstall the bundle"),
                   path, g_strerror (saved));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle is damaged: %s is not a regular file (a link, a folder or "
                     "a device); reinstall the bundle"), path);
      return FALSE;
    }
  if ((guint64) st.st_size != file->size)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   "The bundle is damaged: %s has %" G_GINT64_FORMAT " bytes, the manifest "
                   "says %" G_GUINT64_FORMAT "; reinstall the bundle",
                   path, (gint64) st.st_size, file->size);
      return FALSE;
    }
  return TRUE;
}

static gboolean
cloche_bundle_check_files (ClocheBundle  *self,
                           GError       **error)
{
  for (guint i = 0; i < cloche_bundle_manifest_get_n_files (self->manifest); i++)
    if (!cloche_bundle_check_file (self->path, cloche_bundle_manifest_get_file (self->manifest, i),
                                   error))
      return FALSE;
  return TRUE;
}

/* What QEMU would do with the root image, checked first: QEMU's own message
 * for a base that is not qcow2 comes after the boot has failed and names no
 * bundle. And a qcow2 image can name other files, which QEMU then opens
 * wherever they are on the host, for the guest to read as its disk: a
 * backing file (the header's backing_file_offset) or, in version 3, an
 * external data file (incompatible feature bit 2). The root image must be
 * whole in itself: it is checked by its sha256, the files it could name are
 * not. (The qcow2 header: QEMU's docs/interop/qcow2.txt.) */
#define QCOW2_HEADER_V3_LENGTH   80
#define QCOW2_EXTERNAL_DATA_FILE (G_GUINT64_CONSTANT (1) << 2)

static guint64
cloche_bundle_read_be (const guint8 *bytes,
                       guint         length)
{
  guint64 value = 0;

  for (guint i = 0; i < length; i++)
    value = value << 8 | bytes[i];
  return value;
}

static gboolean
cloche_bundle_check_qcow2_header (int          fd,
                                  const char  *path,
                                  GError     **error)
{
  guint8 header[QCOW2_HEADER_V3_LENGTH] = { 0 };
  ssize_t n = pread (fd, header, sizeof header, 0);
  guint32 version;
  guint64 backing, incompatible;

  if (n < 72 || memcmp (header, QCOW2_MAGIC, 4) != 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_CORRUPT,
                   "The bundle is damaged: its root image %s is not a qcow2 image; run "
                   "\"clochectl bundle verify\" and reinstall the bundle", path);
      return FALSE;
    }
  version = (guint32) cloche_bundle_read_be (header + 4, 4);
  backing = cloche_bundle_read_be (header + 8, 8);
  incompatible =
    version >= 3 && n >= QCOW2_HEADER_V3_LENGTH ? cloche_bundle_read_be (header + 72, 8) : 0;
  if (backing != 0 || (incompatible & QCOW2_EXTERNAL_DATA_FILE) != 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle's root image %s names another file (%s), which QEMU would "
                     "open from anywhere on this computer: Cloche boots only a root image "
                     "that holds everything itself; rebuild it without one "
                     "(qemu-img convert)"), path,
                   backing != 0 ? _("a backing file") : _("an external data file"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
cloche_bundle_check_root_image (ClocheBundle  *self,
                                GError       **error)
{
  g_autofree char *path = cloche_bundle_get_root_image (self);
  gboolean ok;
  int fd = cloche_file_open_regular (AT_FDCWD, path, CLOCHE_FILE_NO_FOLLOW, NULL);

  if (fd < 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   "The bundle is incomplete: its root image %s is missing (%s); "
                   "reinstall the bundle", path, g_strerror (errno));
      return FALSE;
    }
  ok = cloche_bundle_check_qcow2_header (fd, path, error);
  close (fd);
  return ok;
}

static void
cloche_bundle_set_missing (const char  *dir,
                           GError     **error)
{
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING,
               _("The sandbox bundle is missing: nothing is installed at %s. Install "
                 "it with \"clochectl bundle install SOURCE\" (a bundle folder, its "
                 "manifest.json or an http(s) URL of one) or from the app's Bundle page"),
               dir);
}

/**
 * cloche_bundle_load:
 * @path: the bundle folder
 *
 * Returns: (transfer full): the bundle, or %NULL with %CLOCHE_ERROR_BUNDLE_MISSING,
 *   %CLOCHE_ERROR_BUNDLE_INVALID or %CLOCHE_ERROR_BUNDLE_CORRUPT naming the
 *   file at fault
 */
ClocheBundle *
cloche_bundle_load (const char  *path,
                    GError     **error)
{
  g_autoptr(ClocheBundle) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(ClocheBundleManifest) manifest = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  manifest = cloche_bundle_manifest_load (path, &local_error);
  if (manifest == NULL)
    {
      if (g_error_matches (local_error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING))
        cloche_bundle_set_missing (path, error);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  self = g_object_new (CLOCHE_TYPE_BUNDLE, NULL);
  self->path = g_canonicalize_filename (path, NULL);
  self->manifest = g_steal_pointer (&manifest);
  if (!cloche_bundle_check_files (self, error))
    return NULL;
  if (cloche_bundle_manifest_get_root (self->manifest) != NULL
      && !cloche_bundle_check_root_image (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * cloche_bundle_dup_identity:
 *
 * What makes this bundle what it boots: its manifest's name, version,
 * kind of root, command line, and every file with its size and sha256
 * (the sha256 the boot files are checked against before each boot). A
 * warm-wake snapshot is tied to it (cloche-vm-snapshot.c).
 *
 * Returns: (transfer full): the text
 */
char *
cloche_bundle_dup_identity (ClocheBundle *self)
{
  ClocheBundleManifest *m;
  GString *text;

  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);

  m = self->manifest;
  text = g_string_new (NULL);
  g_string_append_printf (text, "%s\n%s\n%s\n%s\n%s\n%s\n",
                          cloche_bundle_manifest_get_name (m),
                          cloche_bundle_manifest_get_version (m),
                          cloche_bundle_manifest_get_kernel (m),
                          cloche_bundle_manifest_get_initrd (m),
                          cloche_bundle_manifest_get_root (m) != NULL
                          ? cloche_bundle_manifest_get_root (m) : "",
                          cloche_bundle_manifest_get_cmdline (m));
  for (guint i = 0; i < cloche_bundle_manifest_get_n_files (m); i++)
    {
      const ClocheBundleFile *file = cloche_bundle_manifest_get_file (m, i);

      g_string_append_printf (text, "%s %" G_GUINT64_FORMAT " %s\n", file->path, file->size,
                              file->sha256);
    }
  return g_string_free (text, FALSE);
}

/* The check before a boot */

static const char *
cloche_bundle_boot_file_name (ClocheBundle         *self,
                              ClocheBundleBootFile  which)
{
  switch (which)
    {
    case CLOCHE_BUNDLE_KERNEL:
      return cloche_bundle_manifest_get_kernel (self->manifest);
    case CLOCHE_BUNDLE_INITRD:
      return cloche_bundle_manifest_get_initrd (self->manifest);
    case CLOCHE_BUNDLE_ROOT:
    case CLOCHE_BUNDLE_N_BOOT_FILES:
    default:
      return cloche_bundle_manifest_get_root (self->manifest);
    }
}

typedef struct
{
  GArray       *known;      /* stamps read from the file */
  GArray       *checked;    /* stamps of this boot's files, to keep */
  gint64        now_ns;
  guint         n_hashed;
  GCancellable *cancellable;
} BootCheck;

static gboolean
cloche_bundle_stamp_fd (int                fd,
                        const char        *path,
                        const char        *sha256,
                        ClocheBundleStamp *stamp,
                        GError           **error)
{
  struct stat st;

  if (fstat (fd, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("Cannot read %s: %s; reinstall the bundle"), path, g_strerror (saved));
      return FALSE;
    }
  cloche_bundle_stamp_init (stamp, &st, sha256);
  return TRUE;
}

/* The whole file against the manifest, and the file unchanged meanwhile. */
static gboolean
cloche_bundle_hash_boot_file (int                     fd,
                              const char             *path,
                              const ClocheBundleFile *file,
                              ClocheBundleStamp      *before,
                              BootCheck              *check,
                              GError                **error)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  ClocheBundleProgress progress = { NULL, NULL, "boot", 0, file->size };
  ClocheBundleStamp after;

  if (!_cloche_bundle_hash_fd (fd, checksum, &progress, file->path, check->cancellable, error)
      || !_cloche_bundle_check_checksum (checksum, file, path,
                                         _("run \"clochectl bundle verify\" and reinstall the "
                                           "bundle"), error)
      || !cloche_bundle_stamp_fd (fd, path, file->sha256, &after, error))
    return FALSE;
  if (!cloche_bundle_stamp_equal (before, &after))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_CORRUPT,
                   _("%s changed while it was being checked; start again once nothing "
                     "writes to the bundle"), path);
      return FALSE;
    }
  check->n_hashed++;
  return TRUE;
}

static int
cloche_bundle_open_boot_file (ClocheBundle            *self,
                              const ClocheBundleFile  *file,
                              gboolean                 is_root,
                              BootCheck               *check,
                              GError                 **error)
{
  g_autofree char *path = g_build_filename (self->path, file->path, NULL);
  g_autoptr(GError) local_error = NULL;
  ClocheBundleStamp stamp;
  int fd = cloche_file_open_regular (AT_FDCWD, path, CLOCHE_FILE_NO_FOLLOW, &local_error);

  if (fd < 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle cannot boot: %s; reinstall the bundle"), local_error->message);
      return -1;
    }
  if (!cloche_bundle_stamp_fd (fd, path, file->sha256, &stamp, error)
      || (!cloche_bundle_stamps_contain (check->known, &stamp)
          && !cloche_bundle_hash_boot_file (fd, path, file, &stamp, check, error))
      || (is_root && !cloche_bundle_check_qcow2_header (fd, path, error))
      || lseek (fd, 0, SEEK_SET) != 0)
    {
      close (fd);
      return -1;
    }
  if (cloche_bundle_stamp_settled (&stamp, check->now_ns))
    g_array_append_val (check->checked, stamp);
  return fd;
}

static gboolean
cloche_bundle_same_stamps (GArray *a,
                           GArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (!cloche_bundle_stamps_contain (b, &g_array_index (a, ClocheBundleStamp, i)))
      return FALSE;
  return TRUE;
}

/**
 * cloche_bundle_open_boot_files:
 * @stamps_path: where the stamps of files found unchanged are kept
 * @n_hashed: (out) (optional): how many files had to be hashed
 *
 * Opens the files the boot hands QEMU and checks each against the
 * manifest's sha256 (see the top of this file). Blocks while it hashes:
 * call it from a worker thread.
 *
 * Returns: %TRUE, with the descriptors for cloche_bundle_steal_boot_fd();
 *   else %FALSE with %CLOCHE_ERROR_BUNDLE_CORRUPT naming a file whose
 *   sha256 differs, or %CLOCHE_ERROR_BUNDLE_INVALID one that cannot be used
 */
gboolean
cloche_bundle_open_boot_files (ClocheBundle  *self,
                               const char    *stamps_path,
                               GCancellable  *cancellable,
                               guint         *n_hashed,
                               GError       **error)
{
  return _cloche_bundle_open_boot_files_at (self, stamps_path, g_get_real_time () * 1000,
                                            cancellable, n_hashed, error);
}

/* The same, with "now" given: whether a stamp is old enough to keep
 * depends on it. */
gboolean
_cloche_bundle_open_boot_files_at (ClocheBundle  *self,
                                   const char    *stamps_path,
                                   gint64         now_ns,
                                   GCancellable  *cancellable,
                                   guint         *n_hashed,
                                   GError       **error)
{
  g_autoptr(GArray) known = cloche_bundle_stamps_load (stamps_path);
  g_autoptr(GArray) checked = g_array_new (FALSE, TRUE, sizeof (ClocheBundleStamp));
  BootCheck check = { known, checked, now_ns, 0, cancellable };

  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), FALSE);

  for (guint i = 0; i < CLOCHE_BUNDLE_N_BOOT_FILES; i++)
    {
      const char *name = cloche_bundle_boot_file_name (self, i);
      const ClocheBundleFile *file;

      if (self->boot_fds[i] >= 0)
        close (self->boot_fds[i]);
      self->boot_fds[i] = -1;
      if (name == NULL)
        continue;
      file = cloche_bundle_manifest_find_file (self->manifest, name);
      self->boot_fds[i] =
        cloche_bundle_open_boot_file (self, file, i == CLOCHE_BUNDLE_ROOT, &check, error);
      if (self->boot_fds[i] < 0)
        return FALSE;
    }
  if (!cloche_bundle_same_stamps (known, checked))
    cloche_bundle_stamps_save (stamps_path, checked);
  if (n_hashed != NULL)
    *n_hashed = check.n_hashed;
  return TRUE;
}

/**
 * cloche_bundle_steal_boot_fd:
 *
 * Returns: the descriptor cloche_bundle_open_boot_files() opened for
 *   @which (the caller closes it), or -1 (none: no root image, or not open)
 */
int
cloche_bundle_steal_boot_fd (ClocheBundle         *self,
                             ClocheBundleBootFile  which)
{
  int fd;

  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), -1);
  g_return_val_if_fail (which < CLOCHE_BUNDLE_N_BOOT_FILES, -1);

  fd = self->boot_fds[which];
  self->boot_fds[which] = -1;
  return fd;
}

/* Getters */

const char *
cloche_bundle_get_path (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return self->path;
}

ClocheBundleManifest *
cloche_bundle_get_manifest (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return self->manifest;
}

const char *
cloche_bundle_get_name (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return cloche_bundle_manifest_get_name (self->manifest);
}

const char *
cloche_bundle_get_version (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return cloche_bundle_manifest_get_version (self->manifest);
}

char *
cloche_bundle_get_kernel (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return g_build_filename (self->path, cloche_bundle_manifest_get_kernel (self->manifest), NULL);
}

char *
cloche_bundle_get_initrd (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return g_build_filename (self->path, cloche_bundle_manifest_get_initrd (self->manifest), NULL);
}

/**
 * cloche_bundle_get_root_image:
 *
 * Returns: (transfer full) (nullable): the path of a disk bundle's root
 *   image (qcow2, to be opened read-only), or %NULL for an initramfs bundle
 */
char *
cloche_bundle_get_root_image (ClocheBundle *self)
{
  const char *root;

  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);

  root = cloche_bundle_manifest_get_root (self->manifest);
  return root != NULL ? g_build_filename (self->path, root, NULL) : NULL;
}

const char *
cloche_bundle_get_cmdline (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), NULL);
  return cloche_bundle_manifest_get_cmdline (self->manifest);
}

guint
cloche_bundle_get_memory_mib (ClocheBundle *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE (self), 0);
  return cloche_bundle_manifest_get_memory_mib (self->manifest);
}

static void
cloche_bundle_finalize (GObject *object)
{
  ClocheBundle *self = CLOCHE_BUNDLE (object);

  for (guint i = 0; i < CLOCHE_BUNDLE_N_BOOT_FILES; i++)
    if (self->boot_fds[i] >= 0)
      close (self->boot_fds[i]);
  g_free (self->path);
  g_clear_object (&self->manifest);

  G_OBJECT_CLASS (cloche_bundle_parent_class)->finalize (object);
}

static void
cloche_bundle_class_init (ClocheBundleClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_bundle_finalize;
}

static void
cloche_bundle_init (ClocheBundle *self)
{
  for (guint i = 0; i < CLOCHE_BUNDLE_N_BOOT_FILES; i++)
    self->boot_fds[i] = -1;
}
