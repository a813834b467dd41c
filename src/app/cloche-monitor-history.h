/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-client.h"

G_BEGIN_DECLS

/* Ten minutes at one sample a second, as the daemon keeps. */
#define CLOCHE_MONITOR_HISTORY_LENGTH 600

/**
 * ClocheMonitorSample:
 *
 * One sample of io.github.cloche.Monitor; sizes in bytes.
 */
typedef struct
{
  gint64   timestamp;     /* CLOCK_REALTIME, µs */
  double   cpu_percent;   /* 100 = one core */
  guint64  host_rss;
  guint64  host_pss;
  gboolean has_guest;
  guint64  guest_total;
  guint64  guest_free;
  guint64  guest_used;
  gboolean has_disk;
  guint64  disk_bundle;
  guint64  disk_sessions;
  guint64  egress_in;     /* bytes in the last second */
  guint64  egress_out;
  guint    open_sessions;
} ClocheMonitorSample;

#define CLOCHE_TYPE_MONITOR_HISTORY (cloche_monitor_history_get_type ())
G_DECLARE_FINAL_TYPE (ClocheMonitorHistory, cloche_monitor_history, CLOCHE, MONITOR_HISTORY, GObject)

ClocheMonitorHistory      *cloche_monitor_history_new               (void);
void                       cloche_monitor_history_set_client        (ClocheMonitorHistory *self,
                                                                     ClocheClient         *client);
guint                      cloche_monitor_history_get_n_samples     (ClocheMonitorHistory *self);
const ClocheMonitorSample *cloche_monitor_history_get_sample        (ClocheMonitorHistory *self,
                                                                     guint                 position);
const ClocheMonitorSample *cloche_monitor_history_get_latest        (ClocheMonitorHistory *self);
gboolean                   cloche_monitor_history_get_sampling      (ClocheMonitorHistory *self);
guint64                    cloche_monitor_history_get_disk_bundle   (ClocheMonitorHistory *self);
guint64                    cloche_monitor_history_get_disk_sessions (ClocheMonitorHistory *self);
void                       cloche_monitor_history_parse_sample      (GVariant             *variant,
                                                                     ClocheMonitorSample  *sample);

G_END_DECLS
