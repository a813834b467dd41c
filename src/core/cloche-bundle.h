/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-bundle-manifest.h"

G_BEGIN_DECLS

/* The files a boot hands QEMU. */
typedef enum
{
  CLOCHE_BUNDLE_KERNEL,
  CLOCHE_BUNDLE_INITRD,
  CLOCHE_BUNDLE_ROOT,          /* a disk bundle's only */
  CLOCHE_BUNDLE_N_BOOT_FILES,
} ClocheBundleBootFile;

#define CLOCHE_TYPE_BUNDLE (cloche_bundle_get_type ())
G_DECLARE_FINAL_TYPE (ClocheBundle, cloche_bundle, CLOCHE, BUNDLE, GObject)

char                 *cloche_bundle_default_path    (void);
ClocheBundle         *cloche_bundle_load            (const char            *path,
                                                     GError               **error);
gboolean              cloche_bundle_open_boot_files (ClocheBundle          *self,
                                                     const char            *stamps_path,
                                                     GCancellable          *cancellable,
                                                     guint                 *n_hashed,
                                                     GError               **error);
int                   cloche_bundle_steal_boot_fd   (ClocheBundle          *self,
                                                     ClocheBundleBootFile   which);
const char           *cloche_bundle_get_path        (ClocheBundle          *self);
ClocheBundleManifest *cloche_bundle_get_manifest    (ClocheBundle          *self);
const char           *cloche_bundle_get_name        (ClocheBundle          *self);
const char           *cloche_bundle_get_version     (ClocheBundle          *self);
char                 *cloche_bundle_get_kernel      (ClocheBundle          *self);
char                 *cloche_bundle_get_initrd      (ClocheBundle          *self);
const char           *cloche_bundle_get_cmdline     (ClocheBundle          *self);
char                 *cloche_bundle_get_root_image  (ClocheBundle          *self);
guint                 cloche_bundle_get_memory_mib  (ClocheBundle          *self);
char                 *cloche_bundle_dup_identity    (ClocheBundle          *self);

G_END_DECLS
