/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-egress-proxy.h"
#include "cloche-sandbox.h"

G_BEGIN_DECLS

/* Ten minutes at one sample a second. */
#define CLOCHE_MONITOR_HISTORY 600

/**
 * ClocheSample:
 *
 * What the VM cost at one moment. Memory and disk in bytes.
 */
typedef struct
{
  gint64   timestamp;      /* CLOCK_REALTIME, µs */
  double   cpu_percent;    /* QEMU's CPU time over the last second; 100 = one core */
  guint64  host_rss;       /* QEMU's resident memory, guest RAM included */
  guint64  host_pss;       /* the same, shared pages divided among their users */
  gboolean has_guest;      /* FALSE until the guest's balloon driver reports */
  guint64  guest_total;
  guint64  guest_free;
  guint64  guest_used;     /* total − available: what the guest cannot give back */
  gboolean has_disk;       /* FALSE until the first measurement is done */
  guint64  disk_bundle;    /* allocated, not apparent, size */
  guint64  disk_sessions;
  guint64  egress_in;      /* bytes through the egress proxy in the last second */
  guint64  egress_out;
  guint    open_sessions;
} ClocheSample;

#define CLOCHE_TYPE_SAMPLE (cloche_sample_get_type ())
GType         cloche_sample_get_type (void) G_GNUC_CONST;
ClocheSample *cloche_sample_copy     (const ClocheSample *sample);
void          cloche_sample_free     (ClocheSample       *sample);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheSample, cloche_sample_free)

#define CLOCHE_TYPE_MONITOR (cloche_monitor_get_type ())
G_DECLARE_FINAL_TYPE (ClocheMonitor, cloche_monitor, CLOCHE, MONITOR, GObject)

ClocheMonitor *cloche_monitor_new                   (ClocheSandbox *sandbox,
                                                     const char    *sessions_path);
gboolean       cloche_monitor_get_sampling          (ClocheMonitor *self);
GArray        *cloche_monitor_dup_samples           (ClocheMonitor *self,
                                                     gint64         since);
guint64        cloche_monitor_get_disk_bundle       (ClocheMonitor *self);
guint64        cloche_monitor_get_disk_sessions     (ClocheMonitor *self);
void           cloche_monitor_set_egress_proxy      (ClocheMonitor     *self,
                                                     ClocheEgressProxy *proxy);

G_END_DECLS
