/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-sandbox.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_SERVICE (cloche_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheService, cloche_service, CLOCHE, SERVICE, GObject)

ClocheService *cloche_service_new      (ClocheSandbox    *sandbox);
gboolean       cloche_service_export   (ClocheService    *self,
                                        GDBusConnection  *connection,
                                        GError          **error);
void           cloche_service_unexport (ClocheService    *self);

G_END_DECLS
