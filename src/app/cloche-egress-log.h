/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "cloche-client.h"
#include "cloche-egress-item.h"

G_BEGIN_DECLS

/* As many as the daemon keeps. */
#define CLOCHE_EGRESS_LOG_LENGTH 1000

#define CLOCHE_TYPE_EGRESS_LOG (cloche_egress_log_get_type ())
G_DECLARE_FINAL_TYPE (ClocheEgressLog, cloche_egress_log, CLOCHE, EGRESS_LOG, GObject)

ClocheEgressLog    *cloche_egress_log_new              (void);
void                cloche_egress_log_set_client       (ClocheEgressLog *self,
                                                        ClocheClient    *client);
GListModel         *cloche_egress_log_get_decisions    (ClocheEgressLog *self);
GtkStringList      *cloche_egress_log_get_sessions     (ClocheEgressLog *self);
const char * const *cloche_egress_log_get_rules        (ClocheEgressLog *self);
const char         *cloche_egress_log_get_default_rule (ClocheEgressLog *self);
gboolean            cloche_egress_log_get_available    (ClocheEgressLog *self);
GVariant           *cloche_egress_log_get_session_allow (ClocheEgressLog *self);
void                cloche_egress_log_add              (ClocheEgressLog *self,
                                                        GVariant        *decision);

G_END_DECLS
