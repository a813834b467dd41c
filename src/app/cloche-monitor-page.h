/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-monitor-history.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_MONITOR_PAGE (cloche_monitor_page_get_type ())
G_DECLARE_FINAL_TYPE (ClocheMonitorPage, cloche_monitor_page, CLOCHE, MONITOR_PAGE, AdwBin)

void                  cloche_monitor_page_set_history (ClocheMonitorPage    *self,
                                                       ClocheMonitorHistory *history);

G_END_DECLS
