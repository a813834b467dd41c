/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-http-request.h"

G_BEGIN_DECLS

/* What the request and response parsers share (cloche-http-request.c). */
GStrv       _cloche_http_split_lines   (const char      *head,
                                        gsize            length,
                                        GError         **error);
gboolean    _cloche_http_parse_header  (GArray          *headers,
                                        const char      *line,
                                        GError         **error);
char       *_cloche_http_dup_list      (GArray          *headers,
                                        const char      *name);
gboolean    _cloche_http_parse_framing (GArray          *headers,
                                        gboolean         is_request,
                                        ClocheHttpBody  *body,
                                        guint64         *body_length,
                                        GError         **error);
gboolean    _cloche_http_is_hop_header (const char      *connection,
                                        const char      *name);

G_END_DECLS
