/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-egress-log.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_EGRESS_PAGE (cloche_egress_page_get_type ())
G_DECLARE_FINAL_TYPE (ClocheEgressPage, cloche_egress_page, CLOCHE, EGRESS_PAGE, AdwBin)

ClocheEgressLog *cloche_egress_page_get_log (ClocheEgressPage *self);
void             cloche_egress_page_set_log (ClocheEgressPage *self,
                                             ClocheEgressLog  *log);
void             cloche_egress_page_set_client (ClocheEgressPage *self,
                                                ClocheClient     *client);

G_END_DECLS
