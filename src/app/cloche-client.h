/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-dbus-generated.h"
#include "cloche-types.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_CLIENT (cloche_client_get_type ())

G_DECLARE_FINAL_TYPE (ClocheClient, cloche_client, CLOCHE, CLIENT, GObject)

void                cloche_client_new_async            (GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
ClocheClient       *cloche_client_new_finish           (GAsyncResult         *result,
                                                        GError              **error);
gboolean            cloche_client_get_service_running  (ClocheClient         *self);
ClocheDbusDaemon   *cloche_client_get_proxy            (ClocheClient         *self);
ClocheDbusSessions *cloche_client_get_sessions         (ClocheClient         *self);
ClocheVmState       cloche_client_get_state            (ClocheClient         *self);
const char         *cloche_client_get_state_reason     (ClocheClient         *self);
const char * const *cloche_client_get_console_tail     (ClocheClient         *self);
const char         *cloche_client_get_accelerator      (ClocheClient         *self);
const char         *cloche_client_get_accelerator_reason (ClocheClient       *self);
gint64              cloche_client_get_booted_at        (ClocheClient         *self);
guint               cloche_client_get_open_sessions    (ClocheClient         *self);
void                cloche_client_open_session_async   (ClocheClient         *self,
                                                        const char           *title,
                                                        GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
char               *cloche_client_open_session_finish  (ClocheClient         *self,
                                                        GAsyncResult         *result,
                                                        GError              **error);
void                cloche_client_close_session_async  (ClocheClient         *self,
                                                        const char           *id,
                                                        GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
gboolean            cloche_client_close_session_finish (ClocheClient         *self,
                                                        GAsyncResult         *result,
                                                        GError              **error);

G_END_DECLS
