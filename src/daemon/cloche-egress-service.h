/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-egress-proxy.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_EGRESS_SERVICE (cloche_egress_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheEgressService, cloche_egress_service, CLOCHE, EGRESS_SERVICE, GObject)

ClocheEgressService *cloche_egress_service_new      (ClocheEgressProxy     *proxy);
gboolean             cloche_egress_service_export   (ClocheEgressService   *self,
                                                     GDBusConnection       *connection,
                                                     GError               **error);
void                 cloche_egress_service_unexport (ClocheEgressService   *self);

G_END_DECLS
