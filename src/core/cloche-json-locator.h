/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A place in a text: 1-based line, and 1-based column counted in
 * characters (not bytes), as editors show it. 0:0 when unknown. */
typedef struct
{
  guint line;
  guint column;
} ClocheJsonPosition;

/* The longest key path the locator follows; deeper is a syntax error. */
#define CLOCHE_JSON_MAX_DEPTH 32

gboolean cloche_json_check_syntax (const char          *text,
                                   gsize                length,
                                   ClocheJsonPosition  *where,
                                   char               **path,
                                   char               **message);
gboolean cloche_json_locate       (const char          *text,
                                   gsize                length,
                                   const char          *path,
                                   ClocheJsonPosition  *key,
                                   ClocheJsonPosition  *value);

G_END_DECLS
