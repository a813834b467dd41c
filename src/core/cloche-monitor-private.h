/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "cloche-monitor.h"

G_BEGIN_DECLS

/* What the guest's balloon driver last said about its memory. */
typedef struct
{
  gboolean known;     /* FALSE until the guest has reported once */
  guint64  total;
  guint64  free;
  guint64  used;
} ClocheGuestMemory;

/* The samples of the last CLOCHE_MONITOR_HISTORY seconds, oldest first. */
typedef struct
{
  ClocheSample samples[CLOCHE_MONITOR_HISTORY];
  guint        head;    /* where the next sample goes */
  guint        length;
} ClocheSampleRing;

gboolean cloche_monitor_parse_stat         (const char         *contents,
                                            guint64            *cpu_ticks,
                                            GError            **error);
gboolean cloche_monitor_parse_smaps_rollup (const char         *contents,
                                            guint64            *rss,
                                            guint64            *pss,
                                            GError            **error);
gboolean cloche_monitor_parse_guest_stats  (JsonNode           *node,
                                            ClocheGuestMemory  *memory,
                                            GError            **error);

void     cloche_sample_ring_push           (ClocheSampleRing   *ring,
                                            const ClocheSample *sample);
GArray  *cloche_sample_ring_since          (ClocheSampleRing   *ring,
                                            gint64              since);

G_END_DECLS
