/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The most header lines a request may have; a head that gets past the
 * proxy's size limit with more is refused anyway. */
#define CLOCHE_HTTP_MAX_HEADERS 100

typedef struct
{
  char *name;    /* as sent */
  char *value;   /* without the surrounding white space */
} ClocheHttpHeader;

/* Where a message's body ends (RFC 9112 6.3): the proxy must know, to
 * carry more than one request on a connection. */
typedef enum
{
  CLOCHE_HTTP_BODY_NONE,
  CLOCHE_HTTP_BODY_LENGTH,    /* Content-Length bytes */
  CLOCHE_HTTP_BODY_CHUNKED,   /* chunked transfer coding, up to its last chunk */
  CLOCHE_HTTP_BODY_CLOSE,     /* a response until the server closes */
} ClocheHttpBody;

/**
 * ClocheHttpRequest:
 *
 * The head of a request to the egress proxy: "CONNECT host:port" or a
 * request with an absolute "http://" target; or, inside the TLS the proxy
 * ends for a host bound to a secret, an origin-form one ("GET /path") to
 * that host (cloche_http_request_parse_origin()). Only what the proxy
 * needs to decide and to forward it.
 */
typedef struct
{
  char      *method;      /* "CONNECT", "GET", … */
  char      *target;      /* the request-target as sent */
  char      *version;     /* "HTTP/1.1" or "HTTP/1.0" */
  gboolean   connect;     /* a CONNECT tunnel, not a forwarded request */
  char      *host;        /* lower case; an IPv6 literal without brackets */
  guint16    port;
  guint16    default_port; /* of the scheme: 80 (http://), 443 (inside TLS); 0 for CONNECT */
  char      *path;        /* origin-form ("/…") to forward; NULL for CONNECT */
  GArray    *headers;     /* of ClocheHttpHeader, in order */
  char      *proxy_user;  /* the user of Proxy-Authorization: Basic, or NULL */
  ClocheHttpBody body;    /* NONE, LENGTH or CHUNKED */
  guint64    body_length; /* for LENGTH */
  gboolean   keep_alive;  /* HTTP/1.1 and no "close" in Connection or Proxy-Connection */
} ClocheHttpRequest;

gssize             cloche_http_request_head_length (const char               *data,
                                                    gsize                     length);
ClocheHttpRequest *cloche_http_request_parse       (const char               *head,
                                                    gsize                     length,
                                                    GError                  **error);
ClocheHttpRequest *cloche_http_request_parse_origin (const char              *head,
                                                    gsize                     length,
                                                    const char               *host,
                                                    guint16                   port,
                                                    GError                  **error);
ClocheHttpRequest *cloche_http_request_peek        (const char               *head,
                                                    gsize                     length);
const char        *cloche_http_request_get_header  (const ClocheHttpRequest  *request,
                                                    const char               *name);
void               cloche_http_request_set_header  (ClocheHttpRequest        *request,
                                                    guint                     index,
                                                    const char               *value);
char              *cloche_http_request_dup_forward_head (const ClocheHttpRequest *request,
                                                         gboolean                 keep,
                                                         gsize                   *length);
gboolean           cloche_http_has_token            (const char               *list,
                                                    const char               *token);
char              *cloche_http_request_dup_authority (const ClocheHttpRequest *request);
char              *cloche_http_canonical_host      (const char               *host,
                                                    GError                  **error);
void               cloche_http_request_free        (ClocheHttpRequest        *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheHttpRequest, cloche_http_request_free)

G_END_DECLS
