/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_DIAGNOSTIC_ROW (cloche_diagnostic_row_get_type ())
G_DECLARE_FINAL_TYPE (ClocheDiagnosticRow, cloche_diagnostic_row, CLOCHE, DIAGNOSTIC_ROW, GtkListBoxRow)

GtkWidget  *cloche_diagnostic_row_new        (GVariant            *result);
const char *cloche_diagnostic_row_get_check  (ClocheDiagnosticRow *self);
const char *cloche_diagnostic_row_get_status (ClocheDiagnosticRow *self);

G_END_DECLS
