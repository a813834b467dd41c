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
ClocheClient    *cloche_egress_page_get_client (ClocheEgressPage *self);
void             cloche_egress_page_set_client (ClocheEgressPage *self,
                                                ClocheClient     *client);

/* For tests: the list as shown, and its filters. */
GListModel      *_cloche_egress_page_get_shown       (ClocheEgressPage *self);
GtkListBox      *_cloche_egress_page_get_rules_list  (ClocheEgressPage *self);
void             _cloche_egress_page_filter          (ClocheEgressPage *self,
                                                      const char       *session,
                                                      gboolean          denied_only);
const char      *_cloche_egress_page_get_state       (ClocheEgressPage *self);

G_END_DECLS
