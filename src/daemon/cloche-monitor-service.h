/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-dbus-generated.h"
#include "cloche-monitor.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_MONITOR_SERVICE (cloche_monitor_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheMonitorService, cloche_monitor_service, CLOCHE, MONITOR_SERVICE,
                      ClocheDbusMonitorSkeleton)

ClocheMonitorService *cloche_monitor_service_new (ClocheMonitor *monitor);

G_END_DECLS
