/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "cloche-client.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_BUNDLE_PAGE (cloche_bundle_page_get_type ())
G_DECLARE_FINAL_TYPE (ClocheBundlePage, cloche_bundle_page, CLOCHE, BUNDLE_PAGE, AdwBin)

const char *cloche_bundle_page_get_state (ClocheBundlePage *self);

G_END_DECLS
