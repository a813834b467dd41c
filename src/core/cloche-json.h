/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

JsonObject *cloche_json_parse_line    (const char  *line,
                                       const char  *peer,
                                       int          error_code,
                                       GError     **error);
char       *cloche_json_quote         (const char  *text);
JsonNode   *cloche_json_command_new   (const char  *command,
                                       JsonObject  *arguments);

G_END_DECLS
