/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *cloche_audit_redact (const char *text,
                           const char *home);

G_END_DECLS
