/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-bundle-info.h"
#include "cloche-bundle-manifest.h"
#include "cloche-sandbox.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_BUNDLE_MANAGER (cloche_bundle_manager_get_type ())
G_DECLARE_FINAL_TYPE (ClocheBundleManager, cloche_bundle_manager, CLOCHE, BUNDLE_MANAGER, GObject)

ClocheBundleManager  *cloche_bundle_manager_new               (const char           *location);
void                  cloche_bundle_manager_set_sandbox       (ClocheBundleManager  *self,
                                                               ClocheSandbox        *sandbox);
const char           *cloche_bundle_manager_get_location      (ClocheBundleManager  *self);
gboolean              cloche_bundle_manager_get_installed     (ClocheBundleManager  *self);
const char           *cloche_bundle_manager_get_name          (ClocheBundleManager  *self);
const char           *cloche_bundle_manager_get_version       (ClocheBundleManager  *self);
guint64               cloche_bundle_manager_get_size          (ClocheBundleManager  *self);
guint64               cloche_bundle_manager_get_snapshot_size (ClocheBundleManager  *self);
guint64               cloche_bundle_manager_get_tools_size (ClocheBundleManager  *self);
ClocheSandbox        *cloche_bundle_manager_get_sandbox   (ClocheBundleManager  *self);
gint64                cloche_bundle_manager_get_last_verified (ClocheBundleManager  *self);
const char           *cloche_bundle_manager_get_operation     (ClocheBundleManager  *self);
const char           *cloche_bundle_manager_get_source        (ClocheBundleManager  *self);
gboolean              cloche_bundle_manager_cancel            (ClocheBundleManager  *self);

void                  cloche_bundle_manager_info_async        (ClocheBundleManager  *self,
                                                               GCancellable         *cancellable,
                                                               GAsyncReadyCallback   callback,
                                                               gpointer              user_data);
ClocheBundleInfo     *cloche_bundle_manager_info_finish       (ClocheBundleManager  *self,
                                                               GAsyncResult         *result,
                                                               GError              **error);
void                  cloche_bundle_manager_inspect_async     (ClocheBundleManager  *self,
                                                               const char           *source,
                                                               const char           *location,
                                                               GCancellable         *cancellable,
                                                               GAsyncReadyCallback   callback,
                                                               gpointer              user_data);
ClocheBundleManifest *cloche_bundle_manager_inspect_finish    (ClocheBundleManager  *self,
                                                               GAsyncResult         *result,
                                                               char                **target,
                                                               guint64              *free_bytes,
                                                               GError              **error);
void                  cloche_bundle_manager_verify_async      (ClocheBundleManager  *self,
                                                               GCancellable         *cancellable,
                                                               GAsyncReadyCallback   callback,
                                                               gpointer              user_data);
gboolean              cloche_bundle_manager_verify_finish     (ClocheBundleManager  *self,
                                                               GAsyncResult         *result,
                                                               GError              **error);
void                  cloche_bundle_manager_install_async     (ClocheBundleManager  *self,
                                                               const char           *source,
                                                               const char           *location,
                                                               GCancellable         *cancellable,
                                                               GAsyncReadyCallback   callback,
                                                               gpointer              user_data);
gboolean              cloche_bundle_manager_install_finish    (ClocheBundleManager  *self,
                                                               GAsyncResult         *result,
                                                               GError              **error);
void                  cloche_bundle_manager_relocate_async    (ClocheBundleManager  *self,
                                                               const char           *location,
                                                               GCancellable         *cancellable,
                                                               GAsyncReadyCallback   callback,
                                                               gpointer              user_data);
gboolean              cloche_bundle_manager_relocate_finish   (ClocheBundleManager  *self,
                                                               GAsyncResult         *result,
                                                               GError              **error);
void                  cloche_bundle_manager_remove_async      (ClocheBundleManager  *self,
                                                               gboolean              force,
                                                               GCancellable         *cancellable,
                                                               GAsyncReadyCallback   callback,
                                                               gpointer              user_data);
gboolean              cloche_bundle_manager_remove_finish     (ClocheBundleManager  *self,
                                                               GAsyncResult         *result,
                                                               guint64              *freed,
                                                               GError              **error);

G_END_DECLS
