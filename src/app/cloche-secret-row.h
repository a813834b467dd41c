/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_SECRET_ROW (cloche_secret_row_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSecretRow, cloche_secret_row, CLOCHE, SECRET_ROW, AdwActionRow)

GtkWidget  *cloche_secret_row_new        (GVariant        *binding);
const char *cloche_secret_row_get_name   (ClocheSecretRow *self);
gboolean    cloche_secret_row_get_locked (ClocheSecretRow *self);
gboolean    cloche_secret_row_get_has_value (ClocheSecretRow *self);

G_END_DECLS
