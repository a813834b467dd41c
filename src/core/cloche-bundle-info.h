/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A file of an installed bundle as it is on disk. */
typedef struct
{
  char     *path;        /* name inside the bundle folder */
  guint64   size;        /* apparent bytes (st_size) */
  guint64   allocated;   /* bytes the disk gives back when it is deleted (st_blocks) */
  gboolean  present;
} ClocheBundleFileInfo;

#define CLOCHE_TYPE_BUNDLE_INFO (cloche_bundle_info_get_type ())
G_DECLARE_FINAL_TYPE (ClocheBundleInfo, cloche_bundle_info, CLOCHE, BUNDLE_INFO, GObject)

ClocheBundleInfo           *cloche_bundle_info_measure          (const char       *location);
gboolean                    cloche_bundle_info_get_installed    (ClocheBundleInfo *self);
const char                 *cloche_bundle_info_get_location     (ClocheBundleInfo *self);
const char                 *cloche_bundle_info_get_name         (ClocheBundleInfo *self);
const char                 *cloche_bundle_info_get_version      (ClocheBundleInfo *self);
const char                 *cloche_bundle_info_get_problem      (ClocheBundleInfo *self);
guint                       cloche_bundle_info_get_n_files      (ClocheBundleInfo *self);
const ClocheBundleFileInfo *cloche_bundle_info_get_file         (ClocheBundleInfo *self,
                                                                 guint             index);
guint64                     cloche_bundle_info_get_size         (ClocheBundleInfo *self);
guint64                     cloche_bundle_info_get_allocated    (ClocheBundleInfo *self);
guint64                     cloche_bundle_info_get_partial      (ClocheBundleInfo *self);
gint64                      cloche_bundle_info_get_last_verified (ClocheBundleInfo *self);
void                        cloche_bundle_info_set_last_verified (ClocheBundleInfo *self,
                                                                  gint64            when);

G_END_DECLS
