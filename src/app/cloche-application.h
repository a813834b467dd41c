/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_APPLICATION (cloche_application_get_type ())

G_DECLARE_FINAL_TYPE (ClocheApplication, cloche_application, CLOCHE, APPLICATION, AdwApplication)

ClocheApplication *cloche_application_new (void);

G_END_DECLS
