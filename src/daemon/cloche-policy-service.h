/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-dbus-generated.h"
#include "cloche-policy.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_POLICY_SERVICE (cloche_policy_service_get_type ())
G_DECLARE_FINAL_TYPE (ClochePolicyService, cloche_policy_service, CLOCHE, POLICY_SERVICE,
                      ClocheDbusPolicySkeleton)

ClochePolicyService *cloche_policy_service_new (ClochePolicy *policy);

G_END_DECLS
