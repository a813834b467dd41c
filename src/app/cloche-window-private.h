/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-diagnostics-page.h"
#include "cloche-egress-page.h"
#include "cloche-monitor-page.h"
#include "cloche-overview-page.h"
#include "cloche-window.h"

G_BEGIN_DECLS

/* For the UI tests. */
ClocheOverviewPage *_cloche_window_get_overview_page (ClocheWindow *self);
ClocheMonitorPage  *_cloche_window_get_monitor_page  (ClocheWindow *self);
ClocheEgressPage   *_cloche_window_get_egress_page   (ClocheWindow *self);
GtkStack           *_cloche_window_get_stack         (ClocheWindow *self);
ClocheDiagnosticsPage *_cloche_window_get_diagnostics_page (ClocheWindow *self);

G_END_DECLS
