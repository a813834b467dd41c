/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-audit-log.h"

#include <gio/gio.h>

#include "cloche-bundle-manager.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_BUNDLE_SERVICE (cloche_bundle_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheBundleService, cloche_bundle_service, CLOCHE, BUNDLE_SERVICE, GObject)

ClocheBundleService *cloche_bundle_service_new      (ClocheBundleManager  *manager);
gboolean             cloche_bundle_service_export   (ClocheBundleService  *self,
                                                     GDBusConnection      *connection,
                                                     GError              **error);
void                 cloche_bundle_service_unexport (ClocheBundleService  *self);
void                 cloche_bundle_service_set_audit_log (ClocheBundleService *self,
                                                          ClocheAuditLog      *audit);

G_END_DECLS
