/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-egress-item.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_EGRESS_ROW (cloche_egress_row_get_type ())
G_DECLARE_FINAL_TYPE (ClocheEgressRow, cloche_egress_row, CLOCHE, EGRESS_ROW, AdwActionRow)

GtkWidget        *cloche_egress_row_new      (ClocheEgressItem *item);
ClocheEgressItem *cloche_egress_row_get_item (ClocheEgressRow  *self);

G_END_DECLS
