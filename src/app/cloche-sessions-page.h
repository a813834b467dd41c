/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_SESSIONS_PAGE (cloche_sessions_page_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSessionsPage, cloche_sessions_page, CLOCHE, SESSIONS_PAGE, AdwBin)

void cloche_sessions_page_refresh (ClocheSessionsPage *self);

G_END_DECLS
