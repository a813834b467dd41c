/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-sandbox.h"

G_BEGIN_DECLS

#define CLOCHE_DEFAULT_EXIT_AFTER_S 300

#define CLOCHE_TYPE_LIFETIME (cloche_lifetime_get_type ())
G_DECLARE_FINAL_TYPE (ClocheLifetime, cloche_lifetime, CLOCHE, LIFETIME, GObject)

ClocheLifetime *cloche_lifetime_new     (ClocheSandbox   *sandbox,
                                         guint            exit_after_s);
void            cloche_lifetime_watch   (ClocheLifetime  *self,
                                         GDBusConnection *connection);
void            cloche_lifetime_hold    (ClocheLifetime  *self);
void            cloche_lifetime_release (ClocheLifetime  *self);

G_END_DECLS
