/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-client.h"

G_BEGIN_DECLS

void  cloche_agent_mode_open_async  (ClocheClient         *client,
                                     const char           *folder,
                                     gboolean              readonly,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
void  cloche_agent_mode_open_folders_async (ClocheClient        *client,
                                           GVariant            *mounts,
                                           const char * const  *hosts,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
char *cloche_agent_mode_open_finish (ClocheClient         *client,
                                     GAsyncResult         *result,
                                     GError              **error);
char *cloche_agent_mode_title       (GDateTime            *when);

G_END_DECLS
