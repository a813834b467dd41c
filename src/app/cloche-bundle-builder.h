/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_BUNDLE_BUILDER (cloche_bundle_builder_get_type ())
G_DECLARE_FINAL_TYPE (ClocheBundleBuilder, cloche_bundle_builder, CLOCHE, BUNDLE_BUILDER, GObject)

ClocheBundleBuilder *cloche_bundle_builder_new          (void);
const char          *cloche_bundle_builder_get_output   (ClocheBundleBuilder  *self);
const char          *cloche_bundle_builder_get_status   (ClocheBundleBuilder  *self);
gboolean             cloche_bundle_builder_get_running  (ClocheBundleBuilder  *self);
void                 cloche_bundle_builder_run_async    (ClocheBundleBuilder  *self,
                                                         GCancellable         *cancellable,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);
gboolean             cloche_bundle_builder_run_finish   (ClocheBundleBuilder  *self,
                                                         GAsyncResult         *result,
                                                         GError              **error);
void                 cloche_bundle_builder_clean_async  (ClocheBundleBuilder  *self,
                                                         GAsyncReadyCallback   callback,
                                                         gpointer              user_data);

G_END_DECLS
