/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-http-request.h"

G_BEGIN_DECLS

/**
 * ClocheHttpResponse:
 *
 * The head of a server's answer to a forwarded request: what the proxy
 * needs to find where the answer ends and to pass it on.
 */
typedef struct
{
  guint           status;
  char           *reason;
  GArray         *headers;      /* of ClocheHttpHeader, in order */
  ClocheHttpBody  body;
  guint64         body_length;  /* for LENGTH */
  gboolean        keep_alive;   /* the server keeps its connection after this answer */
} ClocheHttpResponse;

ClocheHttpResponse *cloche_http_response_parse     (const char               *head,
                                                    gsize                     length,
                                                    const char               *request_method,
                                                    GError                  **error);
char               *cloche_http_response_dup_forward_head (const ClocheHttpResponse *response,
                                                           gboolean                  close,
                                                           gsize                    *length);
void                cloche_http_response_free      (ClocheHttpResponse       *response);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheHttpResponse, cloche_http_response_free)

/**
 * ClocheHttpChunks:
 *
 * Follows a body in the chunked transfer coding as it passes, unchanged,
 * to find its end: the proxy forwards the chunks as they are and only
 * needs to know where the next message starts. Zero-initialise it.
 */
typedef struct
{
  guint   state;
  guint64 size;      /* of the chunk being read, or of the size being parsed */
  guint   digits;
} ClocheHttpChunks;

gssize              cloche_http_chunks_feed        (ClocheHttpChunks         *self,
                                                    const char               *data,
                                                    gsize                     length,
                                                    gboolean                 *done,
                                                    GError                  **error);

G_END_DECLS
