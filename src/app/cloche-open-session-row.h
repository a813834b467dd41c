/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_OPEN_SESSION_ROW (cloche_open_session_row_get_type ())
G_DECLARE_FINAL_TYPE (ClocheOpenSessionRow, cloche_open_session_row, CLOCHE, OPEN_SESSION_ROW,
                      AdwActionRow)

GtkWidget *cloche_open_session_row_new           (GVariant             *info,
                                                  const char           *own_name);
gboolean   cloche_open_session_row_get_writable  (ClocheOpenSessionRow *self);

G_END_DECLS
