/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-guest-agent.h"
#include "cloche-qmp-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_EXEC_CHANNEL (cloche_exec_channel_get_type ())
G_DECLARE_FINAL_TYPE (ClocheExecChannel, cloche_exec_channel, CLOCHE, EXEC_CHANNEL, GObject)

void               cloche_exec_channel_open_async   (ClocheQmpClient      *qmp,
                                                     ClocheGuestAgent     *agent,
                                                     const char           *helper,
                                                     guint                 number,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
ClocheExecChannel *cloche_exec_channel_open_finish  (GAsyncResult         *result,
                                                     GError              **error);
gboolean           cloche_exec_channel_is_open      (ClocheExecChannel    *self);
gboolean           cloche_exec_channel_fits         (const char           *session,
                                                     const char           *cwd,
                                                     const char * const   *argv,
                                                     const char * const   *env);
void               cloche_exec_channel_exec_async   (ClocheExecChannel    *self,
                                                     const char           *session,
                                                     const char           *cwd,
                                                     const char * const   *argv,
                                                     const char * const   *env,
                                                     guint                 timeout_s,
                                                     GBytes               *input,
                                                     ClocheExecFlags       flags,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean           cloche_exec_channel_exec_finish  (ClocheExecChannel    *self,
                                                     GAsyncResult         *result,
                                                     int                  *exit_code,
                                                     GBytes              **stdout_bytes,
                                                     GBytes              **stderr_bytes,
                                                     GError              **error);
void               cloche_exec_channel_close_async  (ClocheExecChannel    *self,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean           cloche_exec_channel_close_finish (ClocheExecChannel    *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

G_END_DECLS
