/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

const char *cloche_json_check         (const char  *text,
                                       gsize       *offset);
JsonNode   *cloche_json_parse_value   (const char  *line,
                                       const char  *peer,
                                       int          error_code,
                                       GError     **error);
JsonObject *cloche_json_parse_line    (const char  *line,
                                       const char  *peer,
                                       int          error_code,
                                       GError     **error);
char       *cloche_json_quote         (const char  *text);
JsonNode   *cloche_json_command_new   (const char  *command,
                                       JsonObject  *arguments);

JsonObject *cloche_json_get_object    (JsonObject  *object,
                                       const char  *member);
const char *cloche_json_get_string    (JsonObject  *object,
                                       const char  *member,
                                       const char  *default_value);
gint64      cloche_json_get_int       (JsonObject  *object,
                                       const char  *member,
                                       gint64       default_value);
gboolean    cloche_json_get_boolean   (JsonObject  *object,
                                       const char  *member,
                                       gboolean     default_value);

G_END_DECLS
