/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_WINDOW (cloche_window_get_type ())

G_DECLARE_FINAL_TYPE (ClocheWindow, cloche_window, CLOCHE, WINDOW, AdwApplicationWindow)

ClocheWindow *cloche_window_new               (AdwApplication *application);
ClocheClient *cloche_window_get_client        (ClocheWindow   *self);
const char   *cloche_window_get_service_error (ClocheWindow   *self);

G_END_DECLS
