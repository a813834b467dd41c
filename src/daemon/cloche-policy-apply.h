/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-policy.h"
#include "cloche-sandbox.h"

G_BEGIN_DECLS

void cloche_policy_apply_to_sandbox (ClochePolicy  *policy,
                                     ClocheSandbox *sandbox,
                                     guint          memory_mib_option,
                                     guint          idle_timeout_option);

G_END_DECLS
