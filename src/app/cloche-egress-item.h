/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_EGRESS_ITEM (cloche_egress_item_get_type ())
G_DECLARE_FINAL_TYPE (ClocheEgressItem, cloche_egress_item, CLOCHE, EGRESS_ITEM, GObject)

ClocheEgressItem *cloche_egress_item_new           (GVariant         *decision);
void              cloche_egress_item_update        (ClocheEgressItem *self,
                                                    GVariant         *decision);
guint64           cloche_egress_item_get_id        (ClocheEgressItem *self);
gint64            cloche_egress_item_get_time      (ClocheEgressItem *self);
const char       *cloche_egress_item_get_session   (ClocheEgressItem *self);
const char       *cloche_egress_item_get_method    (ClocheEgressItem *self);
const char       *cloche_egress_item_get_host      (ClocheEgressItem *self);
guint             cloche_egress_item_get_port      (ClocheEgressItem *self);
gboolean          cloche_egress_item_get_allowed   (ClocheEgressItem *self);
const char       *cloche_egress_item_get_rule      (ClocheEgressItem *self);
guint64           cloche_egress_item_get_bytes_in  (ClocheEgressItem *self);
guint64           cloche_egress_item_get_bytes_out (ClocheEgressItem *self);
gboolean          cloche_egress_item_get_ended     (ClocheEgressItem *self);
const char       *cloche_egress_item_get_error     (ClocheEgressItem *self);

G_END_DECLS
