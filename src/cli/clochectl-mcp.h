/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

int clochectl_mcp_print_config (const char         *client,
                                const char * const *args);

G_END_DECLS
