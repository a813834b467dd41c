/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-dbus-generated.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_POLICY_VIEW (cloche_policy_view_get_type ())
G_DECLARE_FINAL_TYPE (ClochePolicyView, cloche_policy_view, CLOCHE, POLICY_VIEW, AdwPreferencesGroup)

GtkWidget        *cloche_policy_view_new        (ClocheDbusPolicy *policy);
void              cloche_policy_view_set_policy (ClochePolicyView *self,
                                                 ClocheDbusPolicy *policy);

G_END_DECLS
