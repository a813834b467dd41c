/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-overview-page.h"

G_BEGIN_DECLS

/* For the UI tests, which drive the page the way a user would. */
GtkLabel      *_cloche_overview_page_get_state_label      (ClocheOverviewPage *self);
GtkLabel      *_cloche_overview_page_get_uptime_label     (ClocheOverviewPage *self);
GtkLabel      *_cloche_overview_page_get_sessions_label   (ClocheOverviewPage *self);
GtkLabel      *_cloche_overview_page_get_error_label      (ClocheOverviewPage *self);
GtkWidget     *_cloche_overview_page_get_open_button      (ClocheOverviewPage *self);
GtkWidget     *_cloche_overview_page_get_close_button     (ClocheOverviewPage *self);
GtkWidget     *_cloche_overview_page_get_install_button   (ClocheOverviewPage *self);
AdwStatusPage *_cloche_overview_page_get_unavailable_page (ClocheOverviewPage *self);
GtkLabel      *_cloche_overview_page_get_memory_label     (ClocheOverviewPage *self);
GtkLabel      *_cloche_overview_page_get_disk_label       (ClocheOverviewPage *self);
GtkWidget     *_cloche_overview_page_get_fallback_box     (ClocheOverviewPage *self);
GtkLabel      *_cloche_overview_page_get_accelerator_label (ClocheOverviewPage *self);
AdwActionRow  *_cloche_overview_page_get_accelerator_row  (ClocheOverviewPage *self);

G_END_DECLS
