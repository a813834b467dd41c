/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-sandbox.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_SESSIONS_SERVICE (cloche_sessions_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSessionsService, cloche_sessions_service, CLOCHE, SESSIONS_SERVICE,
                      GObject)

ClocheSessionsService *cloche_sessions_service_new      (ClocheSandbox          *sandbox);
gboolean               cloche_sessions_service_export   (ClocheSessionsService  *self,
                                                         GDBusConnection        *connection,
                                                         GError                **error);
void                   cloche_sessions_service_unexport (ClocheSessionsService  *self);

G_END_DECLS
