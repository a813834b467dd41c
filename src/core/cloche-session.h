/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_SESSION (cloche_session_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSession, cloche_session, CLOCHE, SESSION, GObject)

ClocheSession *cloche_session_new           (const char    *title,
                                             const char    *client);
const char    *cloche_session_get_id        (ClocheSession *self);
const char    *cloche_session_get_title     (ClocheSession *self);
const char    *cloche_session_get_client    (ClocheSession *self);
gint64         cloche_session_get_created   (ClocheSession *self);
char          *cloche_session_dup_guest_dir (ClocheSession *self);

G_END_DECLS
