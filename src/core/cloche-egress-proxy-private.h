/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-egress-proxy.h"
#include "cloche-http-request.h"
#include "cloche-http-response.h"

G_BEGIN_DECLS

/* The rule a request is refused by when its host resolves to the host's
 * own or private addresses and no allow rule names it. */
#define CLOCHE_EGRESS_RULE_HOST_LOCAL "host-local"
/* The rules of the refusals no policy rule makes: what the proxy cannot
 * serve (400), a head too large (431) or too slow (408), a connection over
 * the limit (503). Each is a decision all the same, with its reason. */
#define CLOCHE_EGRESS_RULE_BAD_REQUEST "bad-request"
#define CLOCHE_EGRESS_RULE_HEAD_TOO_LARGE "head-too-large"
#define CLOCHE_EGRESS_RULE_HEAD_TIMEOUT "head-timeout"
#define CLOCHE_EGRESS_RULE_CONNECTION_LIMIT "connection-limit"
/* A host bound to a secret whose own TLS failed: its certificate is not
 * one the host's trust store vouches for (or not for its name, or out of
 * date), or the handshake itself failed. Never a silent pass. */
#define CLOCHE_EGRESS_RULE_UPSTREAM_CERTIFICATE "upstream-certificate"
#define CLOCHE_EGRESS_RULE_UPSTREAM_TLS "upstream-tls"

/* What a decision is about, as far as the request tells. */
typedef struct
{
  const char *session;     /* "" for none */
  const char *method;      /* "" when the head could not be read */
  const char *host;        /* "" likewise */
  guint16     port;
  const char *path;        /* of a request the proxy read; NULL for a tunnel */
  gboolean    intercepted; /* inside (or opening) the TLS the proxy ends */
} ClocheEgressAsked;

/* What a connection (cloche-egress-proxy-connection.c) asks of its proxy. */
gboolean              _cloche_egress_proxy_check       (ClocheEgressProxy    *self,
                                                       const char           *session,
                                                        const ClocheHttpRequest *request,
                                                        ClocheEgressSight     sight,
                                                        char                **rule,
                                                        gboolean             *names_host);
ClocheEgressDecision *_cloche_egress_proxy_decide      (ClocheEgressProxy    *self,
                                                        const ClocheEgressAsked *asked,
                                                        gboolean              allowed,
                                                        const char           *rule);
ClocheEgressDecision *_cloche_egress_proxy_refuse      (ClocheEgressProxy    *self,
                                                        const ClocheEgressAsked *asked,
                                                        const char           *rule,
                                                        const char           *why);
ClocheSecrets        *_cloche_egress_proxy_get_secrets (ClocheEgressProxy    *self);
ClocheSecretStore    *_cloche_egress_proxy_get_secret_store (ClocheEgressProxy *self);
ClocheEgressCa       *_cloche_egress_proxy_get_ca      (ClocheEgressProxy    *self);
GTlsDatabase         *_cloche_egress_proxy_get_upstream_database (ClocheEgressProxy *self);
void                  _cloche_egress_proxy_count       (ClocheEgressProxy    *self,
                                                        ClocheEgressDecision *decision,
                                                        gsize                 bytes,
                                                        gboolean              inbound);
void                  _cloche_egress_proxy_end         (ClocheEgressProxy    *self,
                                                        ClocheEgressDecision *decision);
void                  _cloche_egress_proxy_connection_done (ClocheEgressProxy *self);
GSocketClient        *_cloche_egress_proxy_get_client  (ClocheEgressProxy    *self);
const ClocheEgressLimits *_cloche_egress_proxy_limits  (ClocheEgressProxy    *self);

/* cloche-egress-proxy-address.c */
gboolean              _cloche_egress_address_is_host_local (GInetAddress   *address);

/* One direction of a tunnel (cloche-egress-proxy-pump.c). */
typedef struct _ClocheEgressPump ClocheEgressPump;
typedef void (*ClocheEgressPumpCounted) (gpointer data,
                                         gsize    bytes);
typedef void (*ClocheEgressPumpEnded)   (gpointer data,
                                         gboolean failed);

ClocheEgressPump     *_cloche_egress_pump_new          (int                      in_fd,
                                                        int                      out_fd,
                                                        ClocheEgressPumpCounted  counted,
                                                        ClocheEgressPumpEnded    ended,
                                                        gpointer                 data,
                                                        GError                 **error);
void                  _cloche_egress_pump_stop         (ClocheEgressPump        *self);
void                  _cloche_egress_pump_free         (ClocheEgressPump        *self);

/* One body of a forwarded plain request (cloche-egress-proxy-body.c). */
typedef struct _ClocheEgressBody ClocheEgressBody;
typedef void (*ClocheEgressBodyDone) (gpointer    data,
                                      gboolean    ok,
                                      GByteArray *rest);

ClocheEgressBody     *_cloche_egress_body_new          (GIOStream               *from,
                                                        GIOStream               *to,
                                                        ClocheHttpBody           kind,
                                                        guint64                  length,
                                                        const char              *head,
                                                        gsize                    head_length,
                                                        GByteArray              *buffered,
                                                        GCancellable            *cancellable,
                                                        ClocheEgressPumpCounted  counted,
                                                        ClocheEgressBodyDone     done,
                                                        gpointer                 data);
void                  _cloche_egress_body_start        (ClocheEgressBody        *self);
void                  _cloche_egress_body_free         (ClocheEgressBody        *self);

/* Bytes passed on (@inbound: server → guest); 0 bytes: activity only. */
typedef void (*ClocheEgressCounted) (gpointer data,
                                     gsize    bytes,
                                     gboolean inbound);

/* A CONNECT tunnel, both directions (cloche-egress-proxy-tunnel.c). */
typedef struct _ClocheEgressTunnel ClocheEgressTunnel;
typedef void (*ClocheEgressTunnelEnded) (gpointer data);

ClocheEgressTunnel   *_cloche_egress_tunnel_new        (GSocket                  *client,
                                                        GSocket                  *server,
                                                        ClocheEgressCounted       counted,
                                                        ClocheEgressTunnelEnded   ended,
                                                        gpointer                  data,
                                                        GError                  **error);
void                  _cloche_egress_tunnel_stop       (ClocheEgressTunnel       *self);
void                  _cloche_egress_tunnel_free       (ClocheEgressTunnel       *self);

/* What the proxy says of its own (cloche-egress-proxy-answer.c). */
char                 *_cloche_egress_answer_format     (guint                       status,
                                                        const char                 *reason,
                                                        const char                 *extra_headers,
                                                        const char                 *body,
                                                        gboolean                    close,
                                                        gsize                      *length);
char                 *_cloche_egress_answer_headers    (const ClocheEgressDecision *decision);
char                 *_cloche_egress_answer_refusal    (const ClocheEgressDecision *decision,
                                                        const ClocheHttpRequest    *request,
                                                        const char                 *local_address);
void                  _cloche_egress_answer_over_limit (GSocketConnection          *client,
                                                        ClocheEgressDecision       *decision);

/* One plain request and its answer (cloche-egress-proxy-exchange.c). */
typedef struct _ClocheEgressExchange ClocheEgressExchange;

typedef enum
{
  CLOCHE_EGRESS_EXCHANGE_KEEP,         /* both ended as framed: the guest's connection goes on */
  CLOCHE_EGRESS_EXCHANGE_CLOSE,        /* over, and the guest's connection ends with it */
  CLOCHE_EGRESS_EXCHANGE_RETRY,        /* a kept server connection closed unanswered: again on a new one */
  CLOCHE_EGRESS_EXCHANGE_BAD_GATEWAY,  /* the answer cannot be passed on (@why) */
} ClocheEgressExchangeEnd;

typedef struct
{
  ClocheEgressExchangeEnd  end;
  GByteArray              *next;         /* KEEP: read past the request (steal it) */
  gboolean                 keep_server;  /* KEEP: the server connection may serve the next one */
  const char              *why;          /* BAD_GATEWAY */
  gboolean                 answered;     /* part of the answer reached the client */
} ClocheEgressExchangeResult;

typedef void (*ClocheEgressExchangeDone) (gpointer                    data,
                                          ClocheEgressExchangeResult *result);

ClocheEgressExchange *_cloche_egress_exchange_new      (GIOStream                *client,
                                                        GIOStream                *server,
                                                        const ClocheHttpRequest  *request,
                                                        GByteArray               *buffered,
                                                        gboolean                  reused,
                                                        GCancellable             *cancellable,
                                                        ClocheEgressCounted       counted,
                                                        ClocheEgressExchangeDone  done,
                                                        gpointer                  data);
void                  _cloche_egress_exchange_start    (ClocheEgressExchange     *self);
void                  _cloche_egress_exchange_free     (ClocheEgressExchange     *self);

/* The TLS the proxy ends for a host bound to a secret (cloche-egress-proxy-intercept.c). */
void                  _cloche_egress_tls_upstream_async  (GSocketConnection   *server,
                                                          const char          *host,
                                                          guint16              port,
                                                          GTlsDatabase        *database,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
GIOStream            *_cloche_egress_tls_upstream_finish (GAsyncResult        *result,
                                                          const char         **rule,
                                                          GError             **error);
void                  _cloche_egress_tls_guest_async     (GIOStream           *client,
                                                          GTlsCertificate     *certificate,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
GIOStream            *_cloche_egress_tls_guest_finish    (GAsyncResult        *result,
                                                          GError             **error);

/* A request's secrets written in (cloche-egress-proxy-secrets.c). */
void                  _cloche_egress_secrets_fill_async  (ClocheSecretStore   *store,
                                                          ClocheHttpRequest   *request,
                                                          GArray              *swaps,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
gboolean              _cloche_egress_secrets_fill_finish (GAsyncResult        *result,
                                                          GError             **error);

/* The session a guest connection serves (cloche-egress-proxy-session.c). */
typedef enum
{
  CLOCHE_EGRESS_SESSION_LINE_MORE,    /* it may be one: read more */
  CLOCHE_EGRESS_SESSION_LINE_NONE,    /* there is none: no session */
  CLOCHE_EGRESS_SESSION_LINE_FOUND,   /* taken off the head */
  CLOCHE_EGRESS_SESSION_LINE_BAD,     /* one, but not a session id */
} ClocheEgressSessionLine;

ClocheEgressSessionLine _cloche_egress_session_line_take (GByteArray  *head,
                                                          char       **session);

/* One connection, from its first byte to its close (cloche-egress-proxy-connection.c). */
void                  _cloche_egress_connection_start  (ClocheEgressProxy    *proxy,
                                                        GSocketConnection    *client);

G_END_DECLS
