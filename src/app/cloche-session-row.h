/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-session-codec.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_SESSION_ROW (cloche_session_row_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSessionRow, cloche_session_row, CLOCHE, SESSION_ROW, AdwActionRow)

GtkWidget  *cloche_session_row_new     (const ClocheSessionInfo *info);
void        cloche_session_row_set_info (ClocheSessionRow        *self,
                                         const ClocheSessionInfo *info);
const char *cloche_session_row_get_id  (ClocheSessionRow *self);

G_END_DECLS
