/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_APPLICATION (cloche_application_get_type ())

G_DECLARE_FINAL_TYPE (ClocheApplication, cloche_application, CLOCHE, APPLICATION, AdwApplication)

ClocheApplication *cloche_application_new               (void);
void               cloche_application_reconnect        (ClocheApplication *self);
void               cloche_application_ensure_client    (ClocheApplication *self);
ClocheClient      *cloche_application_get_client       (ClocheApplication *self);
const char        *cloche_application_get_service_error (ClocheApplication *self);
gboolean           cloche_application_get_connecting   (ClocheApplication *self);

G_END_DECLS
