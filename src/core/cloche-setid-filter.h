/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean cloche_setid_filter_prepare (GError **error);
int      cloche_setid_filter_apply   (void);

G_END_DECLS
