/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"
#include "cloche-egress-log.h"
#include "cloche-monitor-history.h"
#include "cloche-session-summary.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_OVERVIEW_PAGE (cloche_overview_page_get_type ())

G_DECLARE_FINAL_TYPE (ClocheOverviewPage, cloche_overview_page, CLOCHE, OVERVIEW_PAGE, AdwBin)

void          cloche_overview_page_set_client        (ClocheOverviewPage *self,
                                                      ClocheClient       *client);
void          cloche_overview_page_set_service_error (ClocheOverviewPage *self,
                                                      const char         *message);
void                  cloche_overview_page_set_monitor_history (ClocheOverviewPage   *self,
                                                                ClocheMonitorHistory *history);
void                  cloche_overview_page_set_session_summary (ClocheOverviewPage   *self,
                                                                ClocheSessionSummary *summary);
void                  cloche_overview_page_set_egress_log      (ClocheOverviewPage   *self,
                                                                ClocheEgressLog      *log);

G_END_DECLS
