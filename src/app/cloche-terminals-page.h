/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"
#include "cloche-terminal-view.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_TERMINALS_PAGE (cloche_terminals_page_get_type ())
G_DECLARE_FINAL_TYPE (ClocheTerminalsPage, cloche_terminals_page, CLOCHE, TERMINALS_PAGE, AdwBin)

void                cloche_terminals_page_open         (ClocheTerminalsPage *self,
                                                        const char          *session_id);
ClocheTerminalView *cloche_terminals_page_get_selected (ClocheTerminalsPage *self);
void                cloche_terminals_page_add_starting (ClocheTerminalsPage *self);
gboolean            cloche_terminals_page_run          (ClocheTerminalsPage *self,
                                                        const char          *session_id,
                                                        const char * const  *argv,
                                                        const char          *agent);
void                cloche_terminals_page_fail_starting (ClocheTerminalsPage *self);

G_END_DECLS
