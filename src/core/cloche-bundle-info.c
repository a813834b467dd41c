/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a bundle folder holds, measured: each listed file's apparent size
 * and its allocation (st_blocks, what deleting it gives back), and the
 * total the folder takes, manifest and folder included, which is what
 * removing the bundle frees. Measuring blocks (a stat per file): call it
 * in a worker thread.
 */
#include "config.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "cloche-bundle-info.h"
#include "cloche-bundle-private.h"
#include "cloche-error.h"
#include "cloche-tree.h"

struct _ClocheBundleInfo
{
  GObject   parent_instance;
  char     *location;
  char     *name;
  char     *version;
  char     *problem;
  GArray   *files;            /* of ClocheBundleFileInfo */
  guint64   size;
  guint64   allocated;
  guint64   partial;
  gint64    last_verified;
};

G_DEFINE_FINAL_TYPE (ClocheBundleInfo, cloche_bundle_info, G_TYPE_OBJECT)

static void
cloche_bundle_info_file_info_clear (gpointer data)
{
  g_free (((ClocheBundleFileInfo *) data)->path);
}

static void
cloche_bundle_info_add_file (ClocheBundleInfo *self,
                             const char       *name)
{
  g_autofree char *path = g_build_filename (self->location, name, NULL);
  ClocheBundleFileInfo info = { g_strdup (name), 0, 0, FALSE };
  struct stat st;

  if (lstat (path, &st) == 0)
    {
      info.present = TRUE;
      info.size = st.st_size;
      info.allocated = (guint64) st.st_blocks * 512;
    }
  else if (self->problem == NULL)
    self->problem = g_strdup_printf ("%s is missing: reinstall the bundle", path);
  self->size += info.size;
  self->allocated += info.allocated;
  g_array_append_val (self->files, info);
}

static void
cloche_bundle_info_measure_folder (ClocheBundleInfo *self)
{
  struct stat st;

  if (stat (self->location, &st) == 0)
    self->allocated += (guint64) st.st_blocks * 512;
}

/**
 * cloche_bundle_info_measure:
 *
 * Never fails: a folder with no bundle is "not installed", a bundle whose
 * manifest cannot be read or whose files are missing is installed with a
 * problem that says so.
 */
ClocheBundleInfo *
cloche_bundle_info_measure (const char *location)
{
  ClocheBundleInfo *self = g_object_new (CLOCHE_TYPE_BUNDLE_INFO, NULL);
  g_autoptr(ClocheBundleManifest) manifest = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *staging = _cloche_bundle_staging_path (location, "partial");

  self->location = g_strdup (location);
  self->partial = cloche_tree_measure (AT_FDCWD, staging);
  manifest = cloche_bundle_manifest_load (location, &error);
  if (manifest == NULL)
    {
      if (!g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING))
        self->problem = g_strdup (error->message);
      return self;
    }
  self->name = g_strdup (cloche_bundle_manifest_get_name (manifest));
  self->version = g_strdup (cloche_bundle_manifest_get_version (manifest));
  for (guint i = 0; i < cloche_bundle_manifest_get_n_files (manifest); i++)
    cloche_bundle_info_add_file (self, cloche_bundle_manifest_get_file (manifest, i)->path);
  cloche_bundle_info_add_file (self, "manifest.json");
  cloche_bundle_info_measure_folder (self);
  return self;
}

/* Installed: a manifest is there, whether or not the bundle is whole. */
gboolean
cloche_bundle_info_get_installed (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), FALSE);
  return self->files->len > 0 || self->problem != NULL;
}

const char *
cloche_bundle_info_get_location (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), NULL);
  return self->location;
}

const char *
cloche_bundle_info_get_name (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), NULL);
  return self->name;
}

const char *
cloche_bundle_info_get_version (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), NULL);
  return self->version;
}

/* Why the bundle cannot be used, or %NULL. */
const char *
cloche_bundle_info_get_problem (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), NULL);
  return self->problem;
}

guint
cloche_bundle_info_get_n_files (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), 0);
  return self->files->len;
}

const ClocheBundleFileInfo *
cloche_bundle_info_get_file (ClocheBundleInfo *self,
                             guint             index)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), NULL);
  g_return_val_if_fail (index < self->files->len, NULL);
  return &g_array_index (self->files, ClocheBundleFileInfo, index);
}

/* Apparent bytes of the files, manifest included. */
guint64
cloche_bundle_info_get_size (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), 0);
  return self->size;
}

/* Bytes on disk, the folder included: what removing the bundle frees. */
guint64
cloche_bundle_info_get_allocated (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), 0);
  return self->allocated;
}

/* Bytes held by an interrupted download that a next install resumes. */
guint64
cloche_bundle_info_get_partial (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), 0);
  return self->partial;
}

/* Unix time of the last verify that passed, 0 for never. */
gint64
cloche_bundle_info_get_last_verified (ClocheBundleInfo *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_INFO (self), 0);
  return self->last_verified;
}

void
cloche_bundle_info_set_last_verified (ClocheBundleInfo *self,
                                      gint64            when)
{
  g_return_if_fail (CLOCHE_IS_BUNDLE_INFO (self));
  self->last_verified = when;
}

static void
cloche_bundle_info_finalize (GObject *object)
{
  ClocheBundleInfo *self = CLOCHE_BUNDLE_INFO (object);

  g_free (self->location);
  g_free (self->name);
  g_free (self->version);
  g_free (self->problem);
  g_array_unref (self->files);

  G_OBJECT_CLASS (cloche_bundle_info_parent_class)->finalize (object);
}

static void
cloche_bundle_info_class_init (ClocheBundleInfoClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_bundle_info_finalize;
}

static void
cloche_bundle_info_init (ClocheBundleInfo *self)
{
  self->files = g_array_new (FALSE, TRUE, sizeof (ClocheBundleFileInfo));
  g_array_set_clear_func (self->files, cloche_bundle_info_file_info_clear);
}
