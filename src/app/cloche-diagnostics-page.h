/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_DIAGNOSTICS_PAGE (cloche_diagnostics_page_get_type ())
G_DECLARE_FINAL_TYPE (ClocheDiagnosticsPage, cloche_diagnostics_page, CLOCHE, DIAGNOSTICS_PAGE, AdwBin)

void          cloche_diagnostics_page_set_client         (ClocheDiagnosticsPage *self,
                                                          ClocheClient          *client);
GVariant     *cloche_diagnostics_page_get_latest_finding (ClocheDiagnosticsPage *self);
char         *cloche_diagnostics_page_format_report      (ClocheDiagnosticsPage *self);

G_END_DECLS
