/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-dbus-generated.h"
#include "cloche-types.h"

G_BEGIN_DECLS

/* The daemon's interfaces besides io.github.cloche.Daemon. */
typedef enum
{
  CLOCHE_CLIENT_BUNDLE,
  CLOCHE_CLIENT_DOCTOR,
  CLOCHE_CLIENT_MONITOR,
  CLOCHE_CLIENT_EGRESS,
  CLOCHE_CLIENT_POLICY,
  CLOCHE_CLIENT_SESSIONS,
  CLOCHE_CLIENT_SECRETS,
  CLOCHE_CLIENT_N_SERVICES,
} ClocheClientService;

#define CLOCHE_TYPE_CLIENT (cloche_client_get_type ())

G_DECLARE_FINAL_TYPE (ClocheClient, cloche_client, CLOCHE, CLIENT, GObject)

void                cloche_client_new_async            (GCancellable         *cancellable,
                                                        GAsyncReadyCallback   callback,
                                                        gpointer              user_data);
ClocheClient       *cloche_client_new_finish           (GAsyncResult         *result,
                                                        GError              **error);
gboolean            cloche_client_get_service_running  (ClocheClient         *self);
ClocheDbusDaemon   *cloche_client_get_proxy            (ClocheClient         *self);
GDBusProxy         *cloche_client_get_service          (ClocheClient         *self,
                                                        ClocheClientService   which);
ClocheDbusBundle   *cloche_client_get_bundle           (ClocheClient         *self);
ClocheDbusDoctor   *cloche_client_get_doctor           (ClocheClient         *self);
ClocheDbusMonitor  *cloche_client_get_monitor          (ClocheClient         *self);
ClocheDbusEgress   *cloche_client_get_egress           (ClocheClient         *self);
ClocheDbusPolicy   *cloche_client_get_policy           (ClocheClient         *self);
ClocheDbusSessions *cloche_client_get_sessions         (ClocheClient         *self);
ClocheDbusSecrets  *cloche_client_get_secrets          (ClocheClient         *self);
ClocheVmState       cloche_client_get_state            (ClocheClient         *self);
const char         *cloche_client_get_state_reason     (ClocheClient         *self);
const char * const *cloche_client_get_console_tail     (ClocheClient         *self);
const char         *cloche_client_get_accelerator      (ClocheClient         *self);
const char         *cloche_client_get_accelerator_reason (ClocheClient       *self);
gboolean            cloche_client_get_accelerator_fallback (ClocheClient     *self);
gint64              cloche_client_get_booted_at        (ClocheClient         *self);
guint               cloche_client_get_open_sessions    (ClocheClient         *self);
void                cloche_client_open_session_async   (ClocheClient         *self,
                                                        const char           *title,
                                                        GVariant             *mounts,
                                                        const char * const   *egress_allow,
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
