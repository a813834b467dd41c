/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* One file a manifest lists: a plain name inside the bundle folder. */
typedef struct
{
  char    *path;
  guint64  size;
  char    *sha256;
} ClocheBundleFile;

/* A manifest is a few hundred bytes; a megabyte is not a manifest. */
#define CLOCHE_BUNDLE_MANIFEST_MAX_SIZE (1024 * 1024)

#define CLOCHE_TYPE_BUNDLE_MANIFEST (cloche_bundle_manifest_get_type ())
G_DECLARE_FINAL_TYPE (ClocheBundleManifest, cloche_bundle_manifest, CLOCHE, BUNDLE_MANIFEST, GObject)

ClocheBundleManifest   *cloche_bundle_manifest_new_from_bytes (GBytes                *bytes,
                                                               const char            *origin,
                                                               GError               **error);
ClocheBundleManifest   *cloche_bundle_manifest_load           (const char            *dir,
                                                               GError               **error);
GBytes                 *cloche_bundle_manifest_get_bytes      (ClocheBundleManifest  *self);
const char             *cloche_bundle_manifest_get_name       (ClocheBundleManifest  *self);
const char             *cloche_bundle_manifest_get_version    (ClocheBundleManifest  *self);
const char             *cloche_bundle_manifest_get_kernel     (ClocheBundleManifest  *self);
const char             *cloche_bundle_manifest_get_initrd     (ClocheBundleManifest  *self);
const char             *cloche_bundle_manifest_get_root       (ClocheBundleManifest  *self);
const char             *cloche_bundle_manifest_get_cmdline    (ClocheBundleManifest  *self);
guint                   cloche_bundle_manifest_get_memory_mib (ClocheBundleManifest  *self);
const ClocheBundleFile *cloche_bundle_manifest_find_file      (ClocheBundleManifest  *self,
                                                               const char            *name);
guint                   cloche_bundle_manifest_get_n_files    (ClocheBundleManifest  *self);
const ClocheBundleFile *cloche_bundle_manifest_get_file       (ClocheBundleManifest  *self,
                                                               guint                  index);
guint64                 cloche_bundle_manifest_get_total_size (ClocheBundleManifest  *self);

G_END_DECLS
