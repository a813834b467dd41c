/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-qmp-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_TERMINAL_PORT (cloche_terminal_port_get_type ())
G_DECLARE_FINAL_TYPE (ClocheTerminalPort, cloche_terminal_port, CLOCHE, TERMINAL_PORT, GObject)

void                cloche_terminal_port_plug_async      (ClocheQmpClient      *qmp,
                                                          const char           *kind,
                                                          guint                 number,
                                                          GCancellable         *cancellable,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
ClocheTerminalPort *cloche_terminal_port_plug_finish     (GAsyncResult         *result,
                                                          GError              **error);
const char         *cloche_terminal_port_get_id          (ClocheTerminalPort   *self);
const char         *cloche_terminal_port_get_name        (ClocheTerminalPort   *self);
int                 cloche_terminal_port_steal_client_fd (ClocheTerminalPort   *self);
void                cloche_terminal_port_unplug_async    (ClocheTerminalPort   *self,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            cloche_terminal_port_unplug_finish   (ClocheTerminalPort   *self,
                                                          GAsyncResult         *result,
                                                          GError              **error);

gboolean            cloche_terminal_port_has_client      (ClocheTerminalPort   *self);
void                cloche_terminal_port_reconnect_async (ClocheTerminalPort   *self,
                                                          GAsyncReadyCallback   callback,
                                                          gpointer              user_data);
gboolean            cloche_terminal_port_reconnect_finish (ClocheTerminalPort  *self,
                                                           GAsyncResult        *result,
                                                           GError             **error);

G_END_DECLS
