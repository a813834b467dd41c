/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-egress-proxy.h"
#include "cloche-http-response.h"

G_BEGIN_DECLS

/* The rule a request is refused by when its host resolves to the host's
 * own or private addresses and no allow rule names it. */
#define CLOCHE_EGRESS_RULE_HOST_LOCAL "host-local"

/* What a connection (cloche-egress-proxy-connection.c) asks of its proxy. */
gboolean              _cloche_egress_proxy_check       (ClocheEgressProxy    *self,
                                                        const char           *host,
                                                        guint16               port,
                                                        char                **rule,
                                                        gboolean             *names_host);
ClocheEgressDecision *_cloche_egress_proxy_decide      (ClocheEgressProxy    *self,
                                                        const char           *session,
                                                        const char           *method,
                                                        const char           *host,
                                                        guint16               port,
                                                        gboolean              allowed,
                                                        const char           *rule);
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

void                  _cloche_egress_connection_start  (ClocheEgressProxy    *proxy,
                                                        GSocketConnection    *client);
void                  _cloche_egress_connection_refuse (GSocketConnection    *client,
                                                        guint                 limit);

G_END_DECLS
