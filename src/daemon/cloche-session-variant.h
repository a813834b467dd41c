/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-session-store.h"

G_BEGIN_DECLS

GVariant  *cloche_session_to_variant    (ClocheSession  *session,
                                         gboolean        stale,
                                         gint64          size);
GVariant  *cloche_session_entries_to_variant (GPtrArray *entries);

G_END_DECLS
