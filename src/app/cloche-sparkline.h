/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "cloche-monitor-history.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_SPARKLINE (cloche_sparkline_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSparkline, cloche_sparkline, CLOCHE, SPARKLINE, GtkWidget)

void     cloche_sparkline_set_history  (ClocheSparkline      *self,
                                        ClocheMonitorHistory *history);

G_END_DECLS
