/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_QMP_CLIENT (cloche_qmp_client_get_type ())
G_DECLARE_FINAL_TYPE (ClocheQmpClient, cloche_qmp_client, CLOCHE, QMP_CLIENT, GObject)

ClocheQmpClient *cloche_qmp_client_new              (GIOStream            *stream);
void             cloche_qmp_client_handshake_async  (ClocheQmpClient      *self,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean         cloche_qmp_client_handshake_finish (ClocheQmpClient      *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void             cloche_qmp_client_execute_async    (ClocheQmpClient      *self,
                                                     const char           *command,
                                                     JsonObject           *arguments,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
void             cloche_qmp_client_execute_with_fd_async (ClocheQmpClient *self,
                                                     const char           *command,
                                                     JsonObject           *arguments,
                                                     int                   fd,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
JsonNode        *cloche_qmp_client_execute_finish   (ClocheQmpClient      *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void             cloche_qmp_client_close            (ClocheQmpClient      *self);

JsonObject      *cloche_qmp_socket_chardev_new      (const char           *id,
                                                     const char           *address_type,
                                                     const char           *member,
                                                     const char           *value);

G_END_DECLS
