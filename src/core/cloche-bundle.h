/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_BUNDLE (cloche_bundle_get_type ())
G_DECLARE_FINAL_TYPE (ClocheBundle, cloche_bundle, CLOCHE, BUNDLE, GObject)

char         *cloche_bundle_default_path (void);
ClocheBundle *cloche_bundle_load         (const char    *path,
                                          GError       **error);
const char   *cloche_bundle_get_path     (ClocheBundle  *self);
const char   *cloche_bundle_get_name     (ClocheBundle  *self);
const char   *cloche_bundle_get_version  (ClocheBundle  *self);
char         *cloche_bundle_get_kernel   (ClocheBundle  *self);
char         *cloche_bundle_get_initrd   (ClocheBundle  *self);
const char   *cloche_bundle_get_cmdline  (ClocheBundle  *self);
char         *cloche_bundle_get_root_image (ClocheBundle *self);
guint         cloche_bundle_get_memory_mib (ClocheBundle *self);

G_END_DECLS
