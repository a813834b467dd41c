/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-dbus-generated.h"
#include "cloche-egress-proxy.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_EGRESS_SERVICE (cloche_egress_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheEgressService, cloche_egress_service, CLOCHE, EGRESS_SERVICE,
                      ClocheDbusEgressSkeleton)

ClocheEgressService *cloche_egress_service_new (ClocheEgressProxy *proxy);

G_END_DECLS
