/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-audit-log.h"
#include "cloche-bundle-manager.h"
#include "cloche-dbus-generated.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_BUNDLE_SERVICE (cloche_bundle_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheBundleService, cloche_bundle_service, CLOCHE, BUNDLE_SERVICE,
                      ClocheDbusBundleSkeleton)

ClocheBundleService *cloche_bundle_service_new           (ClocheBundleManager *manager);
void                 cloche_bundle_service_set_audit_log (ClocheBundleService *self,
                                                          ClocheAuditLog      *audit);

G_END_DECLS
