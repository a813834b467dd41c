/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-dbus-generated.h"
#include "cloche-egress-proxy.h"
#include "cloche-policy.h"
#include "cloche-sandbox.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_SESSIONS_SERVICE (cloche_sessions_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSessionsService, cloche_sessions_service, CLOCHE, SESSIONS_SERVICE,
                      ClocheDbusSessionsSkeleton)

ClocheSessionsService *cloche_sessions_service_new         (ClocheSandbox         *sandbox);
ClocheSandbox         *cloche_sessions_service_get_sandbox (ClocheSessionsService *self);
void                   cloche_sessions_service_set_egress  (ClocheSessionsService *self,
                                                            ClochePolicy          *policy,
                                                            ClocheEgressProxy     *egress);

G_END_DECLS
