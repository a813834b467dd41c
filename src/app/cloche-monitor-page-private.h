/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-chart.h"
#include "cloche-monitor-page.h"

G_BEGIN_DECLS

/* For the UI tests. */
ClocheChart *_cloche_monitor_page_get_cpu_chart         (ClocheMonitorPage *self);
GtkLabel    *_cloche_monitor_page_get_host_memory_label (ClocheMonitorPage *self);

G_END_DECLS
