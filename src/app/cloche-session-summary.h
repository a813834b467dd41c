/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_SESSION_SUMMARY (cloche_session_summary_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSessionSummary, cloche_session_summary, CLOCHE, SESSION_SUMMARY, GObject)

ClocheSessionSummary *cloche_session_summary_new             (void);
void                  cloche_session_summary_set_client      (ClocheSessionSummary *self,
                                                              ClocheClient         *client);
void                  cloche_session_summary_set_watching    (ClocheSessionSummary *self,
                                                              gboolean              watching);
void                  cloche_session_summary_refresh         (ClocheSessionSummary *self);
GPtrArray            *cloche_session_summary_get_open        (ClocheSessionSummary *self);
gboolean              cloche_session_summary_get_known       (ClocheSessionSummary *self);
guint                 cloche_session_summary_get_stale_count (ClocheSessionSummary *self);
guint64               cloche_session_summary_get_stale_bytes (ClocheSessionSummary *self);

G_END_DECLS
