/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gunixfdlist.h>

#include "cloche-dbus-generated.h"

G_BEGIN_DECLS

/* io.github.cloche.Sessions' terminal calls, for ClocheSessionsService's
 * interface (cloche-sessions-terminals.c). */
gboolean cloche_sessions_terminals_handle_open   (ClocheDbusSessions    *object,
                                                  GDBusMethodInvocation *invocation,
                                                  GUnixFDList           *fd_list,
                                                  const char            *id,
                                                  const char * const    *argv,
                                                  GVariant              *options);
gboolean cloche_sessions_terminals_handle_resize (ClocheDbusSessions    *object,
                                                  GDBusMethodInvocation *invocation,
                                                  const char            *terminal,
                                                  guint                  rows,
                                                  guint                  cols);

gboolean cloche_sessions_terminals_handle_list   (ClocheDbusSessions    *object,
                                                  GDBusMethodInvocation *invocation,
                                                  const char            *id);
gboolean cloche_sessions_terminals_handle_attach (ClocheDbusSessions    *object,
                                                  GDBusMethodInvocation *invocation,
                                                  GUnixFDList           *fd_list,
                                                  const char            *terminal,
                                                  GVariant              *options);

G_END_DECLS
