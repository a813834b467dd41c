/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_TERMINAL_VIEW (cloche_terminal_view_get_type ())
G_DECLARE_FINAL_TYPE (ClocheTerminalView, cloche_terminal_view, CLOCHE, TERMINAL_VIEW, AdwBin)

ClocheTerminalView *cloche_terminal_view_new            (const char         *session_id);
void                cloche_terminal_view_start          (ClocheTerminalView *self,
                                                         ClocheClient       *client,
                                                         gboolean            attach);
const char         *cloche_terminal_view_get_session_id (ClocheTerminalView *self);
gboolean            cloche_terminal_view_is_running     (ClocheTerminalView *self);
void                cloche_terminal_view_set_session_id (ClocheTerminalView *self,
                                                         const char         *session_id);
void                cloche_terminal_view_set_command    (ClocheTerminalView *self,
                                                         const char * const *argv);
void                cloche_terminal_view_attach         (ClocheTerminalView *self,
                                                         ClocheClient       *client,
                                                         const char         *terminal,
                                                         const char         *program);
void                cloche_terminal_view_set_agent      (ClocheTerminalView *self,
                                                         const char         *agent);
char               *cloche_terminal_view_get_title      (ClocheTerminalView *self);
char               *cloche_terminal_view_get_tooltip    (ClocheTerminalView *self);
void                cloche_terminal_view_say            (ClocheTerminalView *self,
                                                         const char         *text,
                                                         gboolean            ended);

G_END_DECLS
