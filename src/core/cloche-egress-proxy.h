/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-egress-ca.h"
#include "cloche-egress-rules.h"
#include "cloche-secret-store.h"
#include "cloche-secrets.h"

G_BEGIN_DECLS

/* Decisions kept for clients that ask later (GetDecisions). */
#define CLOCHE_EGRESS_DECISION_HISTORY 1000

/**
 * ClocheEgressDecision:
 *
 * One request and what the rules made of it. Reference-counted: the proxy
 * keeps updating the byte counts of an allowed one until its connection
 * ends, then sets @ended and emits ClocheEgressProxy::decision-ended.
 */
typedef struct
{
  guint64   id;         /* 1, 2, … for the proxy's life */
  gint64    time;       /* CLOCK_REALTIME, µs */
  char     *session;    /* "" when the request named no session */
  char     *method;     /* "CONNECT", "GET", … */
  char     *host;
  guint16   port;
  char     *path;       /* of a request the proxy read, without its query; NULL for a tunnel */
  gboolean  intercepted; /* the proxy ended the TLS (a host bound to a secret): a CONNECT that
                          * opened it, or a request read inside it */
  gboolean  allowed;
  char     *rule;       /* "allow pypi.org:443", "default deny", … */
  guint64   bytes_in;   /* from the server to the guest */
  guint64   bytes_out;  /* from the guest to the server */
  gboolean  ended;
  char     *error;      /* why an allowed request failed (no connection), or why the
                         * proxy refused one no rule refused (bad-request, …), or NULL */
} ClocheEgressDecision;

#define CLOCHE_TYPE_EGRESS_DECISION (cloche_egress_decision_get_type ())
GType                 cloche_egress_decision_get_type (void) G_GNUC_CONST;
ClocheEgressDecision *cloche_egress_decision_ref      (ClocheEgressDecision *decision);
void                  cloche_egress_decision_unref    (ClocheEgressDecision *decision);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheEgressDecision, cloche_egress_decision_unref)

typedef struct
{
  guint64 bytes_in;
  guint64 bytes_out;
} ClocheEgressCounters;

/**
 * ClocheEgressLimits:
 *
 * What one connection may cost the daemon. Times in milliseconds.
 */
typedef struct
{
  gsize max_header_size;     /* bytes of request head; more → 431 */
  guint header_timeout_ms;   /* to send the whole head; slower → 408 */
  guint idle_timeout_ms;     /* a tunnel with no byte either way is closed */
  guint connect_timeout_ms;  /* to reach the server; slower → 504 */
  guint max_connections;     /* at once; more → 503 */
} ClocheEgressLimits;

#define CLOCHE_TYPE_EGRESS_PROXY (cloche_egress_proxy_get_type ())
G_DECLARE_FINAL_TYPE (ClocheEgressProxy, cloche_egress_proxy, CLOCHE, EGRESS_PROXY, GObject)

/* A test-only setting (docs/hardening.md): a PEM file whose certificates
 * the proxy trusts instead of the host's trust store for the servers it
 * speaks TLS to itself (hosts bound to a secret), so that a test's own
 * HTTPS server on 127.0.0.1 can stand for one. Read by cloche-daemon at
 * start. */
#define CLOCHE_TEST_UPSTREAM_CA_ENV "CLOCHE_TEST_UPSTREAM_CA"

ClocheEgressProxy *cloche_egress_proxy_new               (ClocheEgressRules        *rules);
char              *cloche_egress_proxy_default_socket_path (void);
gboolean           cloche_egress_proxy_listen            (ClocheEgressProxy        *self,
                                                          const char               *socket_path,
                                                          GError                  **error);
const char        *cloche_egress_proxy_get_socket_path   (ClocheEgressProxy        *self);
ClocheEgressRules *cloche_egress_proxy_get_rules         (ClocheEgressProxy        *self);
gboolean           cloche_egress_proxy_set_session_allow (ClocheEgressProxy      *self,
                                                          const char             *session,
                                                          const char * const     *hosts,
                                                          GError                **error);
GHashTable        *cloche_egress_proxy_get_session_allow (ClocheEgressProxy      *self);
void               cloche_egress_proxy_clear_session_allow (ClocheEgressProxy    *self);
void               cloche_egress_proxy_set_rules         (ClocheEgressProxy        *self,
                                                          ClocheEgressRules        *rules);
void               cloche_egress_proxy_get_limits        (ClocheEgressProxy        *self,
                                                          ClocheEgressLimits       *limits);
void               cloche_egress_proxy_set_limits        (ClocheEgressProxy        *self,
                                                          const ClocheEgressLimits *limits);
guint              cloche_egress_proxy_get_connections   (ClocheEgressProxy        *self);
void               cloche_egress_proxy_get_totals        (ClocheEgressProxy        *self,
                                                          ClocheEgressCounters     *totals);
GHashTable        *cloche_egress_proxy_dup_session_counters (ClocheEgressProxy     *self);
GPtrArray         *cloche_egress_proxy_dup_decisions     (ClocheEgressProxy        *self,
                                                          guint64                   since);
void               cloche_egress_proxy_set_secrets       (ClocheEgressProxy        *self,
                                                          ClocheSecrets            *secrets,
                                                          ClocheSecretStore        *store,
                                                          ClocheEgressCa           *ca);
void               cloche_egress_proxy_set_upstream_database (ClocheEgressProxy    *self,
                                                          GTlsDatabase             *database);

G_END_DECLS
