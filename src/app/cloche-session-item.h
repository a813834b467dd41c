/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_SESSION_ITEM (cloche_session_item_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSessionItem, cloche_session_item, CLOCHE, SESSION_ITEM, GObject)

ClocheSessionItem *cloche_session_item_new             (GVariant          *info);
GVariant          *cloche_session_item_get_info        (ClocheSessionItem *self);
gint64             cloche_session_item_get_last_active (ClocheSessionItem *self);

G_END_DECLS
