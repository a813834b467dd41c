/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-terminal-view.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_TERMINAL_WINDOW (cloche_terminal_window_get_type ())
G_DECLARE_FINAL_TYPE (ClocheTerminalWindow, cloche_terminal_window, CLOCHE, TERMINAL_WINDOW,
                      AdwWindow)

ClocheTerminalWindow *cloche_terminal_window_new (GtkApplication *application,
                                                  const char     *session_id);

ClocheTerminalWindow *cloche_terminal_window_new_for_view (GtkApplication     *application,
                                                          ClocheTerminalView *view);
ClocheTerminalView   *cloche_terminal_window_get_view (ClocheTerminalWindow *self);

G_END_DECLS
