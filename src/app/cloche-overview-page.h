/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"
#include "cloche-monitor-history.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_OVERVIEW_PAGE (cloche_overview_page_get_type ())

G_DECLARE_FINAL_TYPE (ClocheOverviewPage, cloche_overview_page, CLOCHE, OVERVIEW_PAGE, AdwBin)

void          cloche_overview_page_set_client        (ClocheOverviewPage *self,
                                                      ClocheClient       *client);
void          cloche_overview_page_set_service_error (ClocheOverviewPage *self,
                                                      const char         *message);
void                  cloche_overview_page_set_monitor_history (ClocheOverviewPage   *self,
                                                                ClocheMonitorHistory *history);

G_END_DECLS
