/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One connection to the egress proxy, from its first byte to its close,
 * as a machine of phases (Phase), each with its one time limit:
 *
 *   GREET ──→ HEAD ──→ DECIDE ──→ CONNECT ──→ TUNNEL ──────────────→ CLOSED
 *   (relay's    │  (rules, then     │              (CONNECT: bytes
 *   hand-over)  │   the name        ├──→ EXCHANGE ──→ WAIT-NEXT ──→ HEAD …
 *               │   resolved and    │    (plain http://: -exchange.c)
 *               │   checked)        │
 *               └──→ ANSWER ←───────┘   (an answer of the proxy's own: a
 *                      refusal, 502, 504; then CLOSED, or WAIT-NEXT after
 *                      a refused request without a body)
 *
 *   GREET     the first bytes: cloche-egress-relay's hand-over of the
 *             guest's socket, or a request's start (tests, benchmarks);
 *             then the session line a session's forwarder in the guest
 *             sends first, taken off (cloche_egress_proxy_connection_greeted()): the session of
 *             every request on the connection, or none without one;
 *   HEAD      a request head, within the head's size and time limits;
 *   DECIDE    the rules, then the name resolved here, on the host, and its
 *             addresses checked: one of the host's own or its private
 *             network, and no allow rule names the host, is refused as
 *             "host-local" (cloche-egress-proxy-address.c);
 *   CONNECT   to the very addresses checked (no second lookup), in order;
 *   TUNNEL    CONNECT: "200", then bytes as they are both ways
 *             (cloche-egress-proxy-tunnel.c);
 *   HANDSHAKE CONNECT to a host bound to a secret (and only such a host):
 *             TLS to the server first, verified (in CONNECT's limit),
 *             then "200" and TLS to the guest with a certificate the
 *             egress CA signs for the host (cloche-egress-proxy-intercept.c);
 *             then back to WAIT-NEXT, and every request inside is read in
 *             origin-form on the TLS streams (cloche_egress_proxy_connection_client_stream(),
 *             cloche_egress_proxy_connection_server_stream()), decided on its own with its method
 *             and path, checked for secrets (cloche_secrets_check(): the
 *             placeholder swapped for the value, a foreign credential or
 *             a placeholder out of place refused) and exchanged like a
 *             plain one; a server connection closed in between is made
 *             again with TLS;
 *   EXCHANGE  a plain request and its answer, both as framed
 *             (cloche-egress-proxy-exchange.c);
 *   WAIT-NEXT a kept connection (HTTP/1.1) waits for its next request,
 *             which is read, decided, logged and counted on its own like
 *             the first: a decision is per request, never per connection.
 *             The server's connection is kept for the next request to the
 *             same host and port (cloche_egress_proxy_connection_keep_server,
 *             cloche_egress_proxy_connection_reuse_server), still decided anew;
 *   ANSWER    writing an answer of the proxy's own (its text:
 *             cloche-egress-proxy-answer.c).
 *
 * The timer and the limit cancellable belong to the phase: entering one
 * (cloche_egress_proxy_connection_enter_phase) starts its limit, and a phase that goes on within
 * the same limit (GREET → HEAD, DECIDE → CONNECT) keeps it
 * (cloche_egress_proxy_connection_continue_phase). A callback that finds the connection in another
 * phase than the one that started it does nothing. Garbage, a head too large, a client too
 * slow and the like get a short HTTP answer and a decision of their own;
 * nothing a client sends can do more than end its own connection.
 */
#include "config.h"

#include <gio/gunixfdmessage.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "cloche-egress-proxy-private.h"
#include "cloche-http-request.h"

#define HEAD_CHUNK 4096

typedef enum
{
  PHASE_GREET,
  PHASE_HEAD,
  PHASE_WAIT_NEXT,
  PHASE_DECIDE,
  PHASE_CONNECT,
  PHASE_TUNNEL,
  PHASE_HANDSHAKE,
  PHASE_EXCHANGE,
  PHASE_ANSWER,
  PHASE_CLOSED,
} Phase;

typedef struct _Connection Connection;

struct _Connection
{
  gint                  refs;
  ClocheEgressProxy    *proxy;
  ClocheEgressLimits    limits;
  Phase                 phase;
  guint                 timer;            /* the phase's limit */
  GCancellable         *limit_cancellable; /* cancelled when the phase's limit is reached */
  GCancellable         *cancellable;      /* everything else, until the close */
  gint64                last_activity;
  GSocketConnection    *client;
  GSocketConnection    *server;
  GIOStream            *client_tls;       /* the guest's, inside a CONNECT the proxy opened */
  GIOStream            *server_tls;       /* the server's, likewise */
  gboolean              intercept;        /* the CONNECT (or the tunnel) is a bound host's */
  char                 *tunnel_host;      /* inside an opened CONNECT: its host and port */
  guint16               tunnel_port;
  char                 *server_authority; /* host:port the kept server connection is for */
  char                 *session;          /* what the guest cannot forge names; NULL: none yet */
  GByteArray           *head;             /* a request head as it is read, and what follows */
  gsize                 head_length;      /* of the request head within head, once complete */
  ClocheHttpRequest    *request;
  char                 *rule;             /* what the rules said, until the decision */
  gboolean              names_host;       /* ...and whether that rule names the host */
  GList                *addresses;        /* of GInetAddress, checked, not yet tried */
  char                 *local_address;    /* the host's own, that refused the request */
  ClocheEgressDecision *decision;
  ClocheEgressTunnel   *tunnel;
  ClocheEgressExchange *exchange;
  char                 *pending;          /* an answer of the proxy's own, being written */
  char                  chunk[HEAD_CHUNK];
};

static void cloche_egress_proxy_connection_finish (Connection *self);

static Connection *
cloche_egress_proxy_connection_ref (Connection *self)
{
  self->refs++;
  return self;
}

static void
cloche_egress_proxy_connection_unref_cb (Connection *self)
{
  if (--self->refs > 0)
    return;
  g_clear_object (&self->limit_cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->client_tls);
  g_clear_object (&self->server_tls);
  g_clear_object (&self->client);
  g_clear_object (&self->server);
  g_free (self->tunnel_host);
  g_free (self->server_authority);
  g_free (self->session);
  g_clear_pointer (&self->head, g_byte_array_unref);
  g_clear_pointer (&self->request, cloche_http_request_free);
  g_free (self->rule);
  g_list_free_full (self->addresses, g_object_unref);
  g_free (self->local_address);
  g_clear_pointer (&self->decision, cloche_egress_decision_unref);
  g_clear_pointer (&self->tunnel, _cloche_egress_tunnel_free);
  g_clear_pointer (&self->exchange, _cloche_egress_exchange_free);
  g_free (self->pending);
  g_clear_object (&self->proxy);
  g_free (self);
}

/* A proxy passes on what it has at once: with Nagle's algorithm a small
 * write that follows another waits for its acknowledgement, which the
 * peer delays (up to 40 ms a request on loopback). Not TCP (a test's Unix
 * socket): nothing to set. */
static void
cloche_egress_proxy_connection_set_no_delay (GSocketConnection *connection)
{
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY,
                       1, NULL);
}

/* The streams requests and answers go on: the sockets' own, or inside a
 * CONNECT the proxy opened, TLS over them; everything above (heads,
 * answers, exchanges) is the same for both. */
static GIOStream *
cloche_egress_proxy_connection_client_stream (Connection *self)
{
  return self->client_tls != NULL ? self->client_tls : G_IO_STREAM (self->client);
}

static GIOStream *
cloche_egress_proxy_connection_server_stream (Connection *self)
{
  return self->server_tls != NULL ? self->server_tls : G_IO_STREAM (self->server);
}

/* The session of every request on the connection: the one its session
 * line named (cloche_egress_proxy_connection_greeted(), cloche-egress-proxy-session.c), or none.
 * What a client says (Proxy-Authorization) never attributes anything. */
static const char *
cloche_egress_proxy_connection_session_of (Connection *self)
{
  return self->session != NULL ? self->session : "";
}

/* Phases */

static gboolean cloche_egress_proxy_connection_limit_cb (gpointer user_data);

static guint
cloche_egress_proxy_connection_phase_limit_ms (Connection *self,
                                               Phase       phase)
{
  switch (phase)
    {
    case PHASE_GREET:
    case PHASE_HEAD:
    case PHASE_HANDSHAKE:
      return self->limits.header_timeout_ms;
    case PHASE_WAIT_NEXT:
    case PHASE_TUNNEL:
    case PHASE_EXCHANGE:
      return self->limits.idle_timeout_ms;
    case PHASE_DECIDE:
    case PHASE_CONNECT:
      return self->limits.connect_timeout_ms;
    case PHASE_ANSWER:
    case PHASE_CLOSED:
    default:
      return 0;
    }
}

/* The phase, with its own limit from now. */
static void
cloche_egress_proxy_connection_enter_phase (Connection *self,
                                            Phase       phase)
{
  guint limit = cloche_egress_proxy_connection_phase_limit_ms (self, phase);

  g_clear_handle_id (&self->timer, g_source_remove);
  self->phase = phase;
  self->last_activity = g_get_monotonic_time ();
  if (limit > 0)
    self->timer = g_timeout_add (limit, cloche_egress_proxy_connection_limit_cb, self);
}

/* The phase, within the limit of the one before (the same limit). */
static void
cloche_egress_proxy_connection_continue_phase (Connection *self,
                                               Phase       phase)
{
  G_GNUC_UNUSED guint limit = cloche_egress_proxy_connection_phase_limit_ms (self, phase);

  g_assert (limit == cloche_egress_proxy_connection_phase_limit_ms (self, self->phase));
  self->phase = phase;
}

static void cloche_egress_proxy_connection_refuse (Connection *self,
                                                   guint       status,
                                                   const char *reason,
                                                   const char *rule,
                                                   const char *why);

/* Tunnels and exchanges end after the idle limit with no byte either way. */
static void
cloche_egress_proxy_connection_check_idle (Connection *self)
{
  gint64 idle_ms = (g_get_monotonic_time () - self->last_activity) / 1000;

  if (idle_ms < self->limits.idle_timeout_ms)
    {
      self->timer = g_timeout_add (self->limits.idle_timeout_ms - idle_ms,
                                   cloche_egress_proxy_connection_limit_cb, self);
      return;
    }
  g_message ("Egress: closed the tunnel to %s:%u (session “%s”): nothing either way for "
             "%u s", self->decision->host, self->decision->port, self->decision->session,
             self->limits.idle_timeout_ms / 1000);
  cloche_egress_proxy_connection_finish (self);
}

static gboolean
cloche_egress_proxy_connection_limit_cb (gpointer user_data)
{
  Connection *self = user_data;

  self->timer = 0;
  switch (self->phase)
    {
    case PHASE_GREET:
    case PHASE_HEAD:
      /* The read waiting for the head stops, and is told nothing more. */
      g_cancellable_cancel (self->limit_cancellable);
      cloche_egress_proxy_connection_refuse (self, 408, "Request Timeout",
                                             CLOCHE_EGRESS_RULE_HEAD_TIMEOUT,
                                             "the request head did not arrive in time");
      break;
    case PHASE_WAIT_NEXT:
      /* Nothing more from a kept connection: it ends without an answer. */
      cloche_egress_proxy_connection_finish (self);
      break;
    case PHASE_DECIDE:
    case PHASE_CONNECT:
      /* The lookup, the values, the connect or the server's handshake
       * ends cancelled, and answers 504. */
      g_cancellable_cancel (self->limit_cancellable);
      break;
    case PHASE_HANDSHAKE:
      /* The guest's handshake ends cancelled, and the connection with it. */
      g_cancellable_cancel (self->limit_cancellable);
      break;
    default:
      cloche_egress_proxy_connection_check_idle (self);
    }
  return G_SOURCE_REMOVE;
}

/* Answers of the proxy's own */

static void cloche_egress_proxy_connection_wait_next (Connection *self,
                                                      GByteArray *next);

/* What the client sent past the request head: the next one's start. */
static GByteArray *
cloche_egress_proxy_connection_rest_of_head (Connection *self)
{
  GByteArray *rest = g_byte_array_new ();

  g_byte_array_append (rest, self->head->data + self->head_length,
                       self->head->len - self->head_length);
  return rest;
}

static void
cloche_egress_proxy_connection_answer_written_cb (GObject      *object,
                                                  GAsyncResult *result,
                                                  gpointer      user_data)
{
  Connection *self = user_data;

  /* The client may be gone already; the connection ends either way. */
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL);
  cloche_egress_proxy_connection_finish (self);
  cloche_egress_proxy_connection_unref_cb (self);
}

static void
cloche_egress_proxy_connection_answer_kept_cb (GObject      *object,
                                               GAsyncResult *result,
                                               gpointer      user_data)
{
  Connection *self = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL))
    cloche_egress_proxy_connection_finish (self);
  else if (self->phase == PHASE_ANSWER)
    cloche_egress_proxy_connection_wait_next (self,
                                              cloche_egress_proxy_connection_rest_of_head (self));
  cloche_egress_proxy_connection_unref_cb (self);
}

/* Writes an answer of the proxy's own; then the connection ends, or
 * (@keep) waits for the next request. */
static void
cloche_egress_proxy_connection_answer (Connection  *self,
                                       guint        status,
                                       const char  *reason,
                                       const char  *extra_headers,
                                       const char  *body,
                                       gboolean     keep)
{
  GOutputStream *out =
    g_io_stream_get_output_stream (cloche_egress_proxy_connection_client_stream (self));
  gsize length = 0;

  cloche_egress_proxy_connection_enter_phase (self, PHASE_ANSWER);
  g_free (self->pending);
  self->pending = _cloche_egress_answer_format (status, reason, extra_headers, body, !keep, &length);
  g_output_stream_write_all_async (out, self->pending, length, G_PRIORITY_DEFAULT,
                                   self->cancellable,
                                   keep ? cloche_egress_proxy_connection_answer_kept_cb
                                        : cloche_egress_proxy_connection_answer_written_cb,
                                   cloche_egress_proxy_connection_ref (self));
}

/* A refusal no policy rule made (the request cannot be served, its head
 * is too large or too slow): a decision all the same, named by @rule, with
 * what the head asked for as far as it can be read, and @why. */
static void
cloche_egress_proxy_connection_refuse (Connection *self,
                                       guint       status,
                                       const char *reason,
                                       const char *rule,
                                       const char *why)
{
  g_autoptr(ClocheHttpRequest) asked = cloche_http_request_peek ((const char *) self->head->data,
                                                                 self->head->len);
  g_autofree char *body = g_strdup_printf ("Cloche's egress proxy could not take this "
                                           "request: %s.\n", why);
  g_autofree char *headers = NULL;

  ClocheEgressAsked what = { cloche_egress_proxy_connection_session_of (self), asked->method,
                            asked->host != NULL ? asked->host : "", asked->port, NULL, FALSE };

  /* Inside a CONNECT the proxy opened, the request is for its host. */
  if (self->tunnel_host != NULL)
    {
      what.host = self->tunnel_host;
      what.port = self->tunnel_port;
      what.intercepted = TRUE;
    }
  g_message ("Egress: %u %s: %s", status, reason, why);
  self->decision = _cloche_egress_proxy_refuse (self->proxy, &what, rule, why);
  headers = _cloche_egress_answer_headers (self->decision);
  cloche_egress_proxy_connection_answer (self, status, reason, headers, body, FALSE);
}

/* 403 naming the rule. A refused plain request without a body leaves the
 * connection open for the next one (nothing of this one is left to skip);
 * anything else ends it. */
static void
cloche_egress_proxy_connection_answer_refused (Connection *self)
{
  g_autofree char *body = _cloche_egress_answer_refusal (self->decision, self->request,
                                                         self->local_address);
  g_autofree char *headers = _cloche_egress_answer_headers (self->decision);
  gboolean keep = !self->request->connect && self->request->keep_alive
                  && self->request->body == CLOCHE_HTTP_BODY_NONE;

  cloche_egress_proxy_connection_answer (self, 403, "Forbidden", headers, body, keep);
}

/* Connecting failed (@error), or took too long (@timed_out). */
static void cloche_egress_proxy_connection_decide (Connection *self,
                                                   gboolean    allowed,
                                                   const char *rule);

static void
cloche_egress_proxy_connection_answer_unreachable (Connection *self,
                                                   gboolean    timed_out,
                                                   const char *error)
{
  g_autofree char *body = NULL;

  /* A CONNECT the proxy opens is decided once the server's TLS holds. */
  if (self->decision == NULL)
    cloche_egress_proxy_connection_decide (self, TRUE, self->rule);
  self->decision->error = g_strdup (timed_out ? "no answer in time" : error);
  body = g_strdup_printf ("Cloche allowed the connection to %s:%u (%s) but could not "
                          "make it: %s.\n", self->decision->host, self->decision->port,
                          self->decision->rule, self->decision->error);
  g_message ("Egress: cannot connect to %s:%u: %s", self->decision->host,
             self->decision->port, self->decision->error);
  cloche_egress_proxy_connection_answer (self, timed_out ? 504 : 502,
                                         timed_out ? "Gateway Timeout" : "Bad Gateway",
                                         NULL, body, FALSE);
}

/* The server's answer cannot be passed on: 502 if the client has seen
 * nothing of it yet, else the connection just ends. */
static void
cloche_egress_proxy_connection_answer_bad_gateway (Connection *self,
                                                   const char *why,
                                                   gboolean    answered)
{
  g_autofree char *body = NULL;

  g_message ("Egress: the answer of %s:%u cannot be passed on: %s", self->decision->host,
             self->decision->port, why);
  if (answered)
    {
      cloche_egress_proxy_connection_finish (self);
      return;
    }
  if (self->decision->error == NULL)
    self->decision->error = g_strdup (why);
  body = g_strdup_printf ("Cloche allowed the connection to %s:%u (%s), but the server's "
                          "answer could not be passed on: %s.\n", self->decision->host,
                          self->decision->port, self->decision->rule, why);
  cloche_egress_proxy_connection_answer (self, 502, "Bad Gateway", NULL, body, FALSE);
}

/* Tunnel */

static void
cloche_egress_proxy_connection_tunnel_counted_cb (gpointer data,
                                                  gsize    bytes,
                                                  gboolean inbound)
{
  Connection *self = data;

  self->last_activity = g_get_monotonic_time ();
  _cloche_egress_proxy_count (self->proxy, self->decision, bytes, inbound);
}

static void
cloche_egress_proxy_connection_tunnel_ended_cb (gpointer data)
{
  cloche_egress_proxy_connection_finish (data);
}

static void
cloche_egress_proxy_connection_open_tunnel (Connection *self)
{
  g_autoptr(GError) error = NULL;

  self->tunnel = _cloche_egress_tunnel_new (g_socket_connection_get_socket (self->client),
                                            g_socket_connection_get_socket (self->server),
                                            cloche_egress_proxy_connection_tunnel_counted_cb,
                                            cloche_egress_proxy_connection_tunnel_ended_cb, self,
                                            &error);
  if (self->tunnel != NULL)
    return;
  g_message ("Egress: cannot carry the connection to %s:%u: %s", self->decision->host,
             self->decision->port, error->message);
  cloche_egress_proxy_connection_finish (self);
}

static void
cloche_egress_proxy_connection_first_bytes_written_cb (GObject      *object,
                                                       GAsyncResult *result,
                                                       gpointer      user_data)
{
  Connection *self = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL))
    cloche_egress_proxy_connection_finish (self);
  else if (self->phase == PHASE_TUNNEL)
    cloche_egress_proxy_connection_open_tunnel (self);
  cloche_egress_proxy_connection_unref_cb (self);
}

/* Bytes as they are, both ways, starting with whatever the client sent
 * after its CONNECT head. */
static void
cloche_egress_proxy_connection_start_tunnel (Connection *self)
{
  g_autoptr(GByteArray) rest = cloche_egress_proxy_connection_rest_of_head (self);
  GOutputStream *out =
    g_io_stream_get_output_stream (cloche_egress_proxy_connection_server_stream (self));

  if (rest->len == 0)
    {
      cloche_egress_proxy_connection_open_tunnel (self);
      return;
    }
  _cloche_egress_proxy_count (self->proxy, self->decision, rest->len, FALSE);
  g_free (self->pending);
  self->pending = g_memdup2 (rest->data, rest->len);
  g_output_stream_write_all_async (out, self->pending, rest->len, G_PRIORITY_DEFAULT,
                                   self->cancellable,
                                   cloche_egress_proxy_connection_first_bytes_written_cb,
                                   cloche_egress_proxy_connection_ref (self));
}

/* Intercept: the TLS of a host bound to a secret */

static void cloche_egress_proxy_connection_keep_server (Connection *self,
                                                        gboolean    keep);

static void
cloche_egress_proxy_connection_guest_tls_cb (GObject      *object,
                                             GAsyncResult *result,
                                             gpointer      user_data)
{
  Connection *self = user_data;
  g_autoptr(GError) error = NULL;
  GIOStream *tls = _cloche_egress_tls_guest_finish (result, &error);

  if (self->phase != PHASE_HANDSHAKE)
    g_clear_object (&tls);
  else if (tls == NULL)
    {
      /* Most often a guest that does not trust the CA (a client with a
       * trust store of its own that ignores SSL_CERT_FILE and the rest). */
      g_message ("Egress: the guest's TLS with %s:%u failed: %s", self->decision->host,
                 self->decision->port, error->message);
      self->decision->error = g_strdup_printf ("the guest's TLS handshake failed (does its "
                                               "client trust Cloche's CA?): %s",
                                               error->message);
      cloche_egress_proxy_connection_finish (self);
    }
  else
    {
      /* From here on the requests inside are read, each a decision; the
       * CONNECT's own decision ends with this wait. */
      self->client_tls = tls;
      self->tunnel_host = g_strdup (self->request->host);
      self->tunnel_port = self->request->port;
      cloche_egress_proxy_connection_keep_server (self, TRUE);
      cloche_egress_proxy_connection_wait_next (self, g_byte_array_new ());
    }
  cloche_egress_proxy_connection_unref_cb (self);
}

static void
cloche_egress_proxy_connection_ca_ready_cb (GObject      *object,
                                            GAsyncResult *result,
                                            gpointer      user_data)
{
  Connection *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  ClocheEgressCa *ca = CLOCHE_EGRESS_CA (object);

  if (cloche_egress_ca_load_finish (ca, result, &error))
    certificate = cloche_egress_ca_dup_server_certificate (ca, self->request->host, &error);
  if (self->phase != PHASE_HANDSHAKE)
    ;
  else if (certificate == NULL)
    {
      g_message ("Egress: no certificate for %s: %s", self->request->host, error->message);
      self->decision->error = g_strdup (error->message);
      cloche_egress_proxy_connection_finish (self);
    }
  else
    _cloche_egress_tls_guest_async (G_IO_STREAM (self->client), certificate,
                                    self->limit_cancellable,
                                    cloche_egress_proxy_connection_guest_tls_cb,
                                    cloche_egress_proxy_connection_ref (self));
  cloche_egress_proxy_connection_unref_cb (self);
}

/* "200" is written: the guest's handshake, with a certificate the CA
 * signs for the host. A client that sent bytes before the answer is not
 * one the proxy can hand to TLS. */
static void
cloche_egress_proxy_connection_start_guest_tls (Connection *self)
{
  ClocheEgressCa *ca = _cloche_egress_proxy_get_ca (self->proxy);

  if (self->head->len > self->head_length)
    {
      g_message ("Egress: the guest sent bytes to %s:%u before its CONNECT was answered",
                 self->request->host, self->request->port);
      cloche_egress_proxy_connection_finish (self);
      return;
    }
  cloche_egress_proxy_connection_enter_phase (self, PHASE_HANDSHAKE);
  cloche_egress_ca_load_async (ca, self->limit_cancellable,
                               cloche_egress_proxy_connection_ca_ready_cb,
                               cloche_egress_proxy_connection_ref (self));
}

/* The server's TLS failed: a refusal named by @rule (502: the server is
 * there, but the proxy will not talk to it), never a silent pass. */
static void
cloche_egress_proxy_connection_refuse_upstream (Connection *self,
                                                const char *rule,
                                                const char *why)
{
  ClocheEgressAsked asked = { cloche_egress_proxy_connection_session_of (self),
                              self->request->method, self->request->host, self->request->port,
                              self->request->connect ? NULL : self->request->path, TRUE };
  g_autofree char *body = NULL;
  g_autofree char *headers = NULL;

  g_clear_pointer (&self->decision, cloche_egress_decision_unref);
  self->decision = _cloche_egress_proxy_refuse (self->proxy, &asked, rule, why);
  headers = _cloche_egress_answer_headers (self->decision);
  body = g_strdup_printf ("Cloche did not open the connection to %s:%u, a host bound to a "
                          "secret: %s (%s).\nThe proxy verifies that host against this "
                          "machine's trust store before any secret goes to it.\n",
                          self->request->host, self->request->port, why, rule);
  g_message ("Egress: refused %s:%u: %s", self->request->host, self->request->port, why);
  cloche_egress_proxy_connection_answer (self, 502, "Bad Gateway", headers, body, FALSE);
}

static void cloche_egress_proxy_connection_answer_established (Connection *self);
static void cloche_egress_proxy_connection_start_exchange (Connection *self,
                                                           gboolean    reused);

static void
cloche_egress_proxy_connection_upstream_tls_cb (GObject      *object,
                                                GAsyncResult *result,
                                                gpointer      user_data)
{
  Connection *self = user_data;
  g_autoptr(GError) error = NULL;
  const char *rule = NULL;
  GIOStream *tls = _cloche_egress_tls_upstream_finish (result, &rule, &error);

  if (self->phase != PHASE_CONNECT)
    g_clear_object (&tls);
  else if (tls == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    cloche_egress_proxy_connection_answer_unreachable (self, TRUE, error->message);
  else if (tls == NULL)
    cloche_egress_proxy_connection_refuse_upstream (self, rule, error->message);
  else
    {
      self->server_tls = tls;
      if (!self->request->connect)
        cloche_egress_proxy_connection_start_exchange (self, FALSE);
      else
        {
          cloche_egress_proxy_connection_decide (self, TRUE, self->rule);
          cloche_egress_proxy_connection_answer_established (self);
        }
    }
  cloche_egress_proxy_connection_unref_cb (self);
}

/* TCP to the server is up: TLS over it, verified, before anything of the
 * guest's goes (the CONNECT's answer, or a request inside it whose kept
 * connection the server had closed). */
static void
cloche_egress_proxy_connection_start_upstream_tls (Connection *self)
{
  _cloche_egress_tls_upstream_async (self->server, self->request->host, self->request->port,
                                     _cloche_egress_proxy_get_upstream_database (self->proxy),
                                     self->limit_cancellable,
                                     cloche_egress_proxy_connection_upstream_tls_cb,
                                     cloche_egress_proxy_connection_ref (self));
}

/* The CONNECT is answered "200". For a host bound to a secret the TLS is
 * ended here (cloche_egress_proxy_connection_start_guest_tls()); every other host gets a tunnel:
 * its bytes untouched. */
static void
cloche_egress_proxy_connection_established_written_cb (GObject      *object,
                                                       GAsyncResult *result,
                                                       gpointer      user_data)
{
  Connection *self = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL))
    cloche_egress_proxy_connection_finish (self);
  else if (self->phase == PHASE_TUNNEL && self->intercept)
    cloche_egress_proxy_connection_start_guest_tls (self);
  else if (self->phase == PHASE_TUNNEL)
    cloche_egress_proxy_connection_start_tunnel (self);
  cloche_egress_proxy_connection_unref_cb (self);
}

static void
cloche_egress_proxy_connection_answer_established (Connection *self)
{
  static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";
  GOutputStream *out =
    g_io_stream_get_output_stream (cloche_egress_proxy_connection_client_stream (self));

  cloche_egress_proxy_connection_enter_phase (self, PHASE_TUNNEL);
  g_output_stream_write_all_async (out, established, strlen (established), G_PRIORITY_DEFAULT,
                                   self->cancellable,
                                   cloche_egress_proxy_connection_established_written_cb,
                                   cloche_egress_proxy_connection_ref (self));
}

/* Exchange */

static void cloche_egress_proxy_connection_connect_next (Connection *self);

static void
cloche_egress_proxy_connection_drop_server (Connection *self)
{
  if (self->server != NULL)
    g_socket_close (g_socket_connection_get_socket (self->server), NULL);
  g_clear_object (&self->server_tls);
  g_clear_object (&self->server);
  g_clear_pointer (&self->server_authority, g_free);
}

/* After an exchange that both sides meant to keep, the server connection
 * stays for the next request to the same host and port; else it closes. */
static void
cloche_egress_proxy_connection_keep_server (Connection *self,
                                            gboolean    keep)
{
  if (!keep || self->server == NULL)
    {
      cloche_egress_proxy_connection_drop_server (self);
      return;
    }
  g_free (self->server_authority);
  self->server_authority = cloche_http_request_dup_authority (self->request);
}

static void
cloche_egress_proxy_connection_exchange_counted_cb (gpointer data,
                                                    gsize    bytes,
                                                    gboolean inbound)
{
  Connection *self = data;

  self->last_activity = g_get_monotonic_time ();
  if (bytes > 0)
    _cloche_egress_proxy_count (self->proxy, self->decision, bytes, inbound);
}

/* The kept server connection closed before it answered (a race no check
 * beforehand can close): the same request on a new connection to the
 * same address, within the connect limit again. */
static void
cloche_egress_proxy_connection_retry_on_new_server (Connection *self)
{
  g_clear_pointer (&self->exchange, _cloche_egress_exchange_free);
  cloche_egress_proxy_connection_drop_server (self);
  cloche_egress_proxy_connection_enter_phase (self, PHASE_CONNECT);
  cloche_egress_proxy_connection_connect_next (self);
}

static void
cloche_egress_proxy_connection_exchange_done_cb (gpointer                    data,
                                                 ClocheEgressExchangeResult *result)
{
  Connection *self = data;

  switch (result->end)
    {
    case CLOCHE_EGRESS_EXCHANGE_KEEP:
      cloche_egress_proxy_connection_keep_server (self, result->keep_server);
      cloche_egress_proxy_connection_wait_next (self, g_steal_pointer (&result->next));
      break;
    case CLOCHE_EGRESS_EXCHANGE_RETRY:
      cloche_egress_proxy_connection_retry_on_new_server (self);
      break;
    case CLOCHE_EGRESS_EXCHANGE_BAD_GATEWAY:
      cloche_egress_proxy_connection_answer_bad_gateway (self, result->why, result->answered);
      break;
    case CLOCHE_EGRESS_EXCHANGE_CLOSE:
    default:
      cloche_egress_proxy_connection_finish (self);
    }
}

/* A plain request, decided, on a server connection new or @reused. */
static void
cloche_egress_proxy_connection_start_exchange (Connection *self,
                                               gboolean    reused)
{
  cloche_egress_proxy_connection_enter_phase (self, PHASE_EXCHANGE);
  self->exchange =
    _cloche_egress_exchange_new (cloche_egress_proxy_connection_client_stream (self),
                                 cloche_egress_proxy_connection_server_stream (self),
                                 self->request, cloche_egress_proxy_connection_rest_of_head (self),
                                 reused,
                                 self->cancellable,
                                 cloche_egress_proxy_connection_exchange_counted_cb,
                                 cloche_egress_proxy_connection_exchange_done_cb,
                                 self);
  _cloche_egress_exchange_start (self->exchange);
}

/* Connect */

static void
cloche_egress_proxy_connection_server_connected_cb (GObject      *object,
                                                    GAsyncResult *result,
                                                    gpointer      user_data)
{
  Connection *self = user_data;
  g_autoptr(GError) error = NULL;
  GSocketConnection *server = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result,
                                                              &error);

  if (self->phase != PHASE_CONNECT)
    g_clear_object (&server);
  else if (server == NULL && self->addresses != NULL
           && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    cloche_egress_proxy_connection_connect_next (self);
  else if (server == NULL)
    /* Only the connect limit cancels a connect that has not finished. */
    cloche_egress_proxy_connection_answer_unreachable (self,
                                                       g_error_matches (error, G_IO_ERROR,
                                                                        G_IO_ERROR_CANCELLED),
                                                       error->message);
  else
    {
      self->server = server;
      cloche_egress_proxy_connection_set_no_delay (self->server);
      if (self->intercept)
        cloche_egress_proxy_connection_start_upstream_tls (self);
      else if (self->request->connect)
        cloche_egress_proxy_connection_answer_established (self);
      else
        cloche_egress_proxy_connection_start_exchange (self, FALSE);
    }
  cloche_egress_proxy_connection_unref_cb (self);
}

/* The next of the addresses that were checked, in the resolver's order. */
static void
cloche_egress_proxy_connection_connect_next (Connection *self)
{
  GInetAddress *next = self->addresses->data;
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (next, self->request->port);

  self->addresses = g_list_delete_link (self->addresses, self->addresses);
  g_socket_client_connect_async (_cloche_egress_proxy_get_client (self->proxy),
                                 G_SOCKET_CONNECTABLE (address), self->limit_cancellable,
                                 cloche_egress_proxy_connection_server_connected_cb,
                                 cloche_egress_proxy_connection_ref (self));
  g_object_unref (next);
}

/* Decide */

/* What the request asked, for its decision. */
static ClocheEgressAsked
cloche_egress_proxy_connection_asked_of (Connection *self)
{
  ClocheEgressAsked asked = { cloche_egress_proxy_connection_session_of (self),
                              self->request->method, self->request->host, self->request->port,
                              self->request->connect ? NULL : self->request->path,
                              self->intercept };

  return asked;
}

static void
cloche_egress_proxy_connection_decide (Connection *self,
                                       gboolean    allowed,
                                       const char *rule)
{
  ClocheEgressAsked asked = cloche_egress_proxy_connection_asked_of (self);

  self->decision = _cloche_egress_proxy_decide (self->proxy, &asked, allowed, rule);
}

/* The first address of the host's own or private network, or NULL. */
static GInetAddress *
cloche_egress_proxy_connection_find_host_local (GList *addresses)
{
  for (GList *l = addresses; l != NULL; l = l->next)
    if (_cloche_egress_address_is_host_local (l->data))
      return l->data;
  return NULL;
}

static void
cloche_egress_proxy_connection_refuse_host_local (Connection   *self,
                                                  GInetAddress *local)
{
  cloche_egress_proxy_connection_decide (self, FALSE, CLOCHE_EGRESS_RULE_HOST_LOCAL);
  self->local_address = g_inet_address_to_string (local);
  g_message ("Egress: refused %s:%u (session “%s”): it resolves to %s, on this host or "
             "its private network, and no allow rule names it", self->request->host,
             self->request->port, self->decision->session, self->local_address);
  cloche_egress_proxy_connection_answer_refused (self);
}

/* The name resolved to @addresses (or not: @error): the decision. One
 * address of the host's own among others refuses the name as a whole. A
 * kept server connection (self->server) is decided on the address it is
 * connected to, and used. */
static void
cloche_egress_proxy_connection_decide_addresses (Connection *self,
                                                 GError     *error)
{
  GInetAddress *local;

  if (error != NULL)
    {
      cloche_egress_proxy_connection_decide (self, TRUE, self->rule);
      cloche_egress_proxy_connection_answer_unreachable (self,
                                                         g_error_matches (error, G_IO_ERROR,
                                                                          G_IO_ERROR_CANCELLED),
                                                         error->message);
    }
  else if (!self->names_host
           && (local = cloche_egress_proxy_connection_find_host_local (self->addresses)) != NULL)
    cloche_egress_proxy_connection_refuse_host_local (self, local);
  else if (self->server != NULL)
    {
      cloche_egress_proxy_connection_decide (self, TRUE, self->rule);
      cloche_egress_proxy_connection_start_exchange (self, TRUE);
    }
  else
    {
      /* A CONNECT the proxy opens is decided once the server's TLS holds
       * (cloche_egress_proxy_connection_upstream_tls_cb()): a server it
       * cannot trust is a refusal. */
      if (!self->request->connect || !self->intercept)
        cloche_egress_proxy_connection_decide (self, TRUE, self->rule);
      cloche_egress_proxy_connection_continue_phase (self, PHASE_CONNECT);
      cloche_egress_proxy_connection_connect_next (self);
    }
}

/* The server connection kept from the last request, if it is for the same
 * host and port and the server has not closed it (or sent anything
 * unasked) since: decided like a new one, on the address it is connected
 * to, so a rule change since (host-local) applies to it too. */
/* Whether the server connection is as it was left: not closed, nothing
 * sent unasked. Over TLS a readable socket may hold only what TLS itself
 * sends after a handshake (a session ticket), so one read that takes no
 * byte tells. */
static gboolean
cloche_egress_proxy_connection_server_still_open (Connection *self)
{
  GSocket *socket = g_socket_connection_get_socket (self->server);
  GInputStream *in;
  g_autoptr(GError) error = NULL;
  char byte;

  if (g_socket_condition_check (socket, G_IO_IN | G_IO_HUP | G_IO_ERR) == 0)
    return TRUE;
  if (self->server_tls == NULL)
    return FALSE;
  in = g_io_stream_get_input_stream (self->server_tls);
  return g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), &byte, 1,
                                                   NULL, &error) < 0
         && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

static gboolean
cloche_egress_proxy_connection_reuse_server (Connection *self)
{
  g_autofree char *authority = cloche_http_request_dup_authority (self->request);
  g_autoptr(GSocketAddress) remote = NULL;

  if (self->server == NULL)
    return FALSE;
  remote = g_socket_connection_get_remote_address (self->server, NULL);
  if (self->request->connect || g_strcmp0 (authority, self->server_authority) != 0
      || !cloche_egress_proxy_connection_server_still_open (self)
      || !G_IS_INET_SOCKET_ADDRESS (remote))
    {
      cloche_egress_proxy_connection_drop_server (self);
      return FALSE;
    }
  self->addresses = g_list_prepend (NULL, g_object_ref (g_inet_socket_address_get_address (
                                                          G_INET_SOCKET_ADDRESS (remote))));
  cloche_egress_proxy_connection_decide_addresses (self, NULL);
  return TRUE;
}

static void
cloche_egress_proxy_connection_resolved_cb (GObject      *object,
                                            GAsyncResult *result,
                                            gpointer      user_data)
{
  Connection *self = user_data;
  g_autoptr(GError) error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (object), result, &error);

  if (self->phase == PHASE_DECIDE)
    {
      self->addresses = addresses;
      cloche_egress_proxy_connection_decide_addresses (self, error);
    }
  else
    g_list_free_full (addresses, g_object_unref);
  cloche_egress_proxy_connection_unref_cb (self);
}

/* An address as written is its own resolution: no lookup, no thread. */
static void
cloche_egress_proxy_connection_resolve_server (Connection *self)
{
  g_autoptr(GResolver) resolver = NULL;
  GInetAddress *literal = g_inet_address_new_from_string (self->request->host);

  if (literal != NULL)
    {
      self->addresses = g_list_prepend (NULL, literal);
      cloche_egress_proxy_connection_decide_addresses (self, NULL);
      return;
    }
  resolver = g_resolver_get_default ();
  g_resolver_lookup_by_name_async (resolver, self->request->host, self->limit_cancellable,
                                   cloche_egress_proxy_connection_resolved_cb,
                                   cloche_egress_proxy_connection_ref (self));
}

/* On to the server: the connection kept from the last request, or a new one. */
static void
cloche_egress_proxy_connection_go_to_server (Connection *self)
{
  if (!cloche_egress_proxy_connection_reuse_server (self))
    cloche_egress_proxy_connection_resolve_server (self);
}

/* A refusal for secrets (foreign-credential, misplaced-placeholder,
 * secret-unavailable): a decision with @why, and 403 saying it. */
static void
cloche_egress_proxy_connection_refuse_secret (Connection *self,
                                              const char *rule,
                                              const char *why)
{
  ClocheEgressAsked asked = cloche_egress_proxy_connection_asked_of (self);

  g_message ("Egress: refused %s %s:%u (session “%s”): %s: %s", self->request->method,
             self->request->host, self->request->port, asked.session, rule, why);
  cloche_egress_proxy_connection_drop_server (self);
  self->decision = _cloche_egress_proxy_refuse (self->proxy, &asked, rule, why);
  cloche_egress_proxy_connection_answer_refused (self);
}

static void
cloche_egress_proxy_connection_secrets_filled_cb (GObject      *object,
                                                  GAsyncResult *result,
                                                  gpointer      user_data)
{
  Connection *self = user_data;
  g_autoptr(GError) error = NULL;
  gboolean filled = _cloche_egress_secrets_fill_finish (result, &error);
  const char *why;

  if (self->phase != PHASE_DECIDE)
    ;
  else if (!filled)
    {
      why = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
            ? "the keyring did not give the secret's value in time" : error->message;
      cloche_egress_proxy_connection_refuse_secret (self, CLOCHE_EGRESS_RULE_SECRET_UNAVAILABLE,
                                                    why);
    }
  else
    cloche_egress_proxy_connection_go_to_server (self);
  cloche_egress_proxy_connection_unref_cb (self);
}

/* A request the proxy reads, allowed by the rules: what it does with
 * secrets. FALSE when it was refused, or waits for values (and goes on
 * by itself). */
static gboolean
cloche_egress_proxy_connection_check_secrets (Connection *self)
{
  ClocheSecrets *secrets = _cloche_egress_proxy_get_secrets (self->proxy);
  g_autoptr(GArray) swaps = NULL;
  g_autofree char *why = NULL;

  if (secrets == NULL)
    return TRUE;
  switch (cloche_secrets_check (secrets, self->request,
                                cloche_egress_proxy_connection_session_of (self),
                                self->tunnel_host != NULL, &swaps, &why))
    {
    case CLOCHE_SECRET_CHECK_FOREIGN:
      cloche_egress_proxy_connection_refuse_secret (self, CLOCHE_EGRESS_RULE_FOREIGN_CREDENTIAL,
                                                    why);
      return FALSE;
    case CLOCHE_SECRET_CHECK_MISPLACED:
      cloche_egress_proxy_connection_refuse_secret (self, CLOCHE_EGRESS_RULE_MISPLACED_PLACEHOLDER,
                                                    why);
      return FALSE;
    case CLOCHE_SECRET_CHECK_SWAP:
      _cloche_egress_secrets_fill_async (_cloche_egress_proxy_get_secret_store (self->proxy),
                                         self->request, swaps, self->limit_cancellable,
                                         cloche_egress_proxy_connection_secrets_filled_cb,
                                         cloche_egress_proxy_connection_ref (self));
      return FALSE;
    case CLOCHE_SECRET_CHECK_PASS:
    default:
      return TRUE;
    }
}

/* Parsed as the connection reads requests: an absolute http:// one or a
 * CONNECT, or inside a CONNECT the proxy opened, origin-form for its host. */
static ClocheHttpRequest *
cloche_egress_proxy_connection_parse_head (Connection  *self,
                                           GError     **error)
{
  const char *data = (const char *) self->head->data;

  if (self->tunnel_host != NULL)
    return cloche_http_request_parse_origin (data, self->head_length, self->tunnel_host,
                                             self->tunnel_port, error);
  return cloche_http_request_parse (data, self->head_length, error);
}

/* What the proxy will see of the request: a CONNECT to a host bound to a
 * secret is opened (and marks the connection so), any other is a tunnel. */
static ClocheEgressSight
cloche_egress_proxy_connection_sight_of (Connection *self)
{
  ClocheSecrets *secrets = _cloche_egress_proxy_get_secrets (self->proxy);

  if (!self->request->connect)
    return CLOCHE_EGRESS_SIGHT_REQUEST;
  self->intercept = secrets != NULL
                    && cloche_secrets_is_bound (secrets, self->request->host, self->request->port);
  return self->intercept ? CLOCHE_EGRESS_SIGHT_OPENED : CLOCHE_EGRESS_SIGHT_TUNNEL;
}

/* A whole request head: parsed, then the rules, then its secrets; refused
 * at once, or on to the server's addresses. */
static void
cloche_egress_proxy_connection_handle_head (Connection *self)
{
  g_autoptr(GError) error = NULL;

  self->request = cloche_egress_proxy_connection_parse_head (self, &error);
  if (self->request == NULL)
    {
      cloche_egress_proxy_connection_refuse (self, 400, "Bad Request",
                                             CLOCHE_EGRESS_RULE_BAD_REQUEST, error->message);
      return;
    }
  cloche_egress_proxy_connection_enter_phase (self, PHASE_DECIDE);
  if (!_cloche_egress_proxy_check (self->proxy, cloche_egress_proxy_connection_session_of (self),
                                   self->request,
                                   cloche_egress_proxy_connection_sight_of (self), &self->rule,
                                   &self->names_host))
    {
      cloche_egress_proxy_connection_drop_server (self);
      cloche_egress_proxy_connection_decide (self, FALSE, self->rule);
      cloche_egress_proxy_connection_answer_refused (self);
    }
  else if (self->request->connect || cloche_egress_proxy_connection_check_secrets (self))
    cloche_egress_proxy_connection_go_to_server (self);
}

/* Head */

static void cloche_egress_proxy_connection_read_head (Connection *self);
static void cloche_egress_proxy_connection_greeted (Connection *self);

/* Handles the head if it is all there, or reads more. */
static void
cloche_egress_proxy_connection_check_head (Connection *self)
{
  gssize length = cloche_http_request_head_length ((const char *) self->head->data,
                                                   self->head->len);
  g_autofree char *why = NULL;

  if (length > 0 && (gsize) length <= self->limits.max_header_size)
    {
      self->head_length = length;
      cloche_egress_proxy_connection_handle_head (self);
    }
  else if (self->head->len < self->limits.max_header_size)
    cloche_egress_proxy_connection_read_head (self);
  else
    {
      why = g_strdup_printf ("the request head is larger than the proxy accepts (%zu bytes)",
                             self->limits.max_header_size);
      cloche_egress_proxy_connection_refuse (self, 431, "Request Header Fields Too Large",
                                             CLOCHE_EGRESS_RULE_HEAD_TOO_LARGE,
                                             why);
    }
}

/* @n bytes read into chunk (0: end of file, < 0: an error). */
static void
cloche_egress_proxy_connection_take_head_bytes (Connection *self,
                                                gssize      n)
{
  if (n <= 0)
    {
      cloche_egress_proxy_connection_finish (self);
      return;
    }
  g_byte_array_append (self->head, (guint8 *) self->chunk, n);
  if (self->phase == PHASE_GREET)
    {
      cloche_egress_proxy_connection_greeted (self);
      return;
    }
  /* The next request has begun: its head has the head's time limit. */
  if (self->phase == PHASE_WAIT_NEXT)
    cloche_egress_proxy_connection_enter_phase (self, PHASE_HEAD);
  cloche_egress_proxy_connection_check_head (self);
}

static void
cloche_egress_proxy_connection_head_read_cb (GObject      *object,
                                             GAsyncResult *result,
                                             gpointer      user_data)
{
  Connection *self = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);

  if (self->phase == PHASE_GREET || self->phase == PHASE_HEAD || self->phase == PHASE_WAIT_NEXT)
    cloche_egress_proxy_connection_take_head_bytes (self, n);
  cloche_egress_proxy_connection_unref_cb (self);
}

static void
cloche_egress_proxy_connection_read_head (Connection *self)
{
  GInputStream *in =
    g_io_stream_get_input_stream (cloche_egress_proxy_connection_client_stream (self));
  gsize room = MIN (sizeof self->chunk, self->limits.max_header_size - self->head->len);

  g_input_stream_read_async (in, self->chunk, room, G_PRIORITY_DEFAULT, self->limit_cancellable,
                             cloche_egress_proxy_connection_head_read_cb,
                             cloche_egress_proxy_connection_ref (self));
}

/* Wait-next */

/* An exchange or a refusal ended and the connection stays: the decision
 * is over, and the next request starts with @next, what the client sent
 * past the last one. Waiting for a request that has not begun is idle
 * time; a begun one has the head's limit. */
static void
cloche_egress_proxy_connection_wait_next (Connection *self,
                                          GByteArray *next)
{
  if (self->decision != NULL)
    _cloche_egress_proxy_end (self->proxy, self->decision);
  g_clear_pointer (&self->decision, cloche_egress_decision_unref);
  g_clear_pointer (&self->request, cloche_http_request_free);
  g_clear_pointer (&self->rule, g_free);
  g_clear_pointer (&self->local_address, g_free);
  g_list_free_full (g_steal_pointer (&self->addresses), g_object_unref);
  g_clear_pointer (&self->exchange, _cloche_egress_exchange_free);
  g_byte_array_unref (self->head);
  self->head = next;
  self->head_length = 0;
  cloche_egress_proxy_connection_enter_phase (self, next->len == 0 ? PHASE_WAIT_NEXT : PHASE_HEAD);
  cloche_egress_proxy_connection_check_head (self);
}

/* Greet */

/* The guest's connection, before any request is read from it: the first
 * bytes are in (or the relay's hand-over, with none yet). A connection a
 * session's forwarder in the guest opened starts with its session line
 * (cloche-egress-proxy-session.c), which only the guest's root outside
 * the session can send: it is taken off the head here, once, and sets
 * self->session, which every decision on the connection names
 * (cloche_egress_proxy_connection_session_of()). Its first bytes may come apart: GREET reads on
 * until the line is whole, or the bytes cannot start one. A line that names no
 * session is a bad request, refused as a decision like any other. */
static void
cloche_egress_proxy_connection_greeted (Connection *self)
{
  switch (_cloche_egress_session_line_take (self->head, &self->session))
    {
    case CLOCHE_EGRESS_SESSION_LINE_MORE:
      cloche_egress_proxy_connection_read_head (self);
      break;
    case CLOCHE_EGRESS_SESSION_LINE_BAD:
      cloche_egress_proxy_connection_refuse (self, 400, "Bad Request",
                                             CLOCHE_EGRESS_RULE_BAD_REQUEST,
                                             "the session line names no session");
      break;
    case CLOCHE_EGRESS_SESSION_LINE_NONE:
    case CLOCHE_EGRESS_SESSION_LINE_FOUND:
    default:
      cloche_egress_proxy_connection_continue_phase (self, PHASE_HEAD);
      cloche_egress_proxy_connection_check_head (self);
      break;
    }
}

/* The guest's connection, handed over by the relay: from now on the proxy
 * reads and writes it itself, and the relay is gone. The caller closes
 * @fd if it cannot be adopted. */
static gboolean
cloche_egress_proxy_connection_adopt_client (Connection *self,
                                             int         fd)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, NULL);

  if (socket == NULL)
    return FALSE;
  g_socket_close (g_socket_connection_get_socket (self->client), NULL);
  g_object_unref (self->client);
  self->client = g_socket_connection_factory_create_connection (socket);
  cloche_egress_proxy_connection_set_no_delay (self->client);
  return TRUE;
}

/* The one descriptor of a relay's hand-over, or -1. */
static int
cloche_egress_proxy_connection_steal_handed_fd (GSocketControlMessage **messages,
                                                int                     n_messages)
{
  int fd = -1;

  for (int i = 0; i < n_messages; i++)
    {
      if (fd < 0 && G_IS_UNIX_FD_MESSAGE (messages[i]))
        {
          int n = 0;
          g_autofree int *fds = g_unix_fd_message_steal_fds (G_UNIX_FD_MESSAGE (messages[i]), &n);

          for (int j = 0; j < n; j++)
            if (j == 0)
              fd = fds[0];
            else
              close (fds[j]);
        }
      g_object_unref (messages[i]);
    }
  g_free (messages);
  return fd;
}

/* The first bytes on a connection. cloche-egress-relay sends one NUL byte
 * with the guest's connection attached (SCM_RIGHTS) and exits, which takes
 * it and its copies out of the data path; any other client (a test, a
 * benchmark, a relay that could not hand over) starts its request at once,
 * and a request never starts with NUL. */
static gboolean
cloche_egress_proxy_connection_first_bytes_cb (GSocket      *socket,
                                               GIOCondition  condition,
                                               gpointer      user_data)
{
  Connection *self = user_data;
  GInputVector vector = { self->chunk, sizeof self->chunk };
  GSocketControlMessage **messages = NULL;
  int n_messages = 0, flags = 0, fd;
  gssize n;

  /* Woken by the end or the head's limit, not by data: reading would wait. */
  if (self->phase != PHASE_GREET)
    return G_SOURCE_REMOVE;
  n = g_socket_receive_message (socket, NULL, &vector, 1, &messages, &n_messages, &flags,
                                NULL, NULL);
  fd = cloche_egress_proxy_connection_steal_handed_fd (messages, n_messages);
  if (fd >= 0 && n == 1 && self->chunk[0] == '\0'
      && cloche_egress_proxy_connection_adopt_client (self, fd))
    cloche_egress_proxy_connection_greeted (self);
  else if (n <= 0)
    cloche_egress_proxy_connection_finish (self);
  else
    {
      if (fd >= 0)
        close (fd);
      g_byte_array_append (self->head, (guint8 *) self->chunk, n);
      cloche_egress_proxy_connection_greeted (self);
    }
  return G_SOURCE_REMOVE;
}

static void
cloche_egress_proxy_connection_read_first_bytes (Connection *self)
{
  GSocket *socket = g_socket_connection_get_socket (self->client);
  g_autoptr(GSource) source = g_socket_create_source (socket, G_IO_IN, self->limit_cancellable);

  g_source_set_callback (source,
                         (GSourceFunc) (GCallback) cloche_egress_proxy_connection_first_bytes_cb,
                         cloche_egress_proxy_connection_ref (self),
                         (GDestroyNotify) cloche_egress_proxy_connection_unref_cb);
  g_source_attach (source, NULL);
}

/* Close */

/* The end, whatever it came from. Idempotent; the last reference (an
 * operation still running when this is called) frees the connection. */
static void
cloche_egress_proxy_connection_finish (Connection *self)
{
  if (self->phase == PHASE_CLOSED)
    return;
  cloche_egress_proxy_connection_enter_phase (self, PHASE_CLOSED);
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->limit_cancellable);
  if (self->tunnel != NULL)
    _cloche_egress_tunnel_stop (self->tunnel);
  g_clear_pointer (&self->exchange, _cloche_egress_exchange_free);
  /* The sockets, not the streams: a stream with a read pending refuses to
   * close, and the peers must see the end now. */
  g_socket_close (g_socket_connection_get_socket (self->client), NULL);
  if (self->server != NULL)
    g_socket_close (g_socket_connection_get_socket (self->server), NULL);
  if (self->decision != NULL)
    _cloche_egress_proxy_end (self->proxy, self->decision);
  _cloche_egress_proxy_connection_done (self->proxy);
  cloche_egress_proxy_connection_unref_cb (self);
}

/* Called for each connection the proxy accepts within its limit. */
void
_cloche_egress_connection_start (ClocheEgressProxy *proxy,
                                 GSocketConnection *client)
{
  Connection *self = g_new0 (Connection, 1);

  self->refs = 1;   /* held until cloche_egress_proxy_connection_finish() */
  self->proxy = g_object_ref (proxy);
  self->limits = *_cloche_egress_proxy_limits (proxy);
  self->client = g_object_ref (client);
  self->cancellable = g_cancellable_new ();
  self->limit_cancellable = g_cancellable_new ();
  self->head = g_byte_array_new ();
  cloche_egress_proxy_connection_enter_phase (self, PHASE_GREET);
  cloche_egress_proxy_connection_read_first_bytes (self);
}
