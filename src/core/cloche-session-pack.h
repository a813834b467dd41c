/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-session-store.h"

G_BEGIN_DECLS

GVariant *cloche_session_info_build        (ClocheSession *session,
                                            gboolean       stale,
                                            guint64        size);
GVariant *cloche_session_mounts_to_variant (ClocheSession *session);
GVariant *cloche_session_infos_new         (GPtrArray     *entries);
GBytes   *cloche_session_infos_pack        (GPtrArray     *entries);

G_END_DECLS
