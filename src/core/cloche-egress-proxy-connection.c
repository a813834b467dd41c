/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One connection to the egress proxy, from its first byte to its close:
 *
 *   read the head (size limit, time limit) → parse → rules →
 *     refused:  403 naming the rule
 *     allowed:  resolve the host here, on the host →
 *       an address of the host or its private network, and no allow rule
 *       names the host: 403 naming "host-local" (cloche-egress-proxy-address.c)
 *       otherwise: connect to the very addresses checked (no second lookup) →
 *               CONNECT: "200", then a tunnel both ways
 *               http://: an exchange (below), then the next request
 *
 * Each direction of a tunnel is a pump (cloche-egress-proxy-pump.c,
 * splice through a pipe). An end of file on one side is passed on as a
 * half-close (shutdown for writing) on the other, and the connection ends
 * when both directions have ended, or at the first error, or after the
 * idle limit.
 *
 * A plain http:// request is an exchange: its head rewritten for the
 * server, its body as framed, and the server's answer as framed
 * (cloche-http-response.c, cloche-egress-proxy-body.c). When both have
 * ended, and neither the client nor the answer's framing asked for a
 * close, the guest's connection waits for its next request (HTTP/1.1
 * keep-alive), which is read, decided, logged and counted on its own like
 * the first: a decision is per request, never per connection. A refusal of
 * a request without a body keeps the connection too. The server's
 * connection is kept for the next request to the same host and port on
 * this guest connection (keep_server, reuse_server), still decided anew.
 *
 * Garbage, a head too large, a client too slow and the like get a short
 * HTTP answer and one log line; nothing a client sends can do more than
 * end its own connection.
 */
#include "config.h"

#include <gio/gunixfdmessage.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "cloche-egress-proxy-private.h"
#include "cloche-http-request.h"

#define HEAD_CHUNK 4096

typedef struct _Connection Connection;

typedef struct
{
  Connection       *connection;
  ClocheEgressPump *pump;
  GSocket          *out_socket;    /* shut down for writing at the end */
  gboolean          inbound;       /* server → guest */
  gboolean          ended;
} Pump;

struct _Connection
{
  gint                  refs;
  ClocheEgressProxy    *proxy;
  ClocheEgressLimits    limits;
  GSocketConnection    *client;
  GSocketConnection    *server;
  GCancellable         *cancellable;      /* everything but the head's read */
  GCancellable         *head_cancellable;
  GCancellable         *connect_cancellable;
  gboolean              head_timed_out;
  GByteArray           *head;
  gsize                 head_length;      /* of the request head within head */
  ClocheHttpRequest    *request;
  ClocheEgressDecision *decision;
  char                 *rule;             /* what the rules said, until the decision */
  gboolean              names_host;       /* ...and whether that rule names the host */
  GList                *addresses;        /* of GInetAddress, checked, not yet tried */
  char                 *local_address;    /* the host's own, that refused the request */
  guint                 timer;            /* head, connect or idle limit */
  gint64                last_activity;
  Pump                 *pumps[2];
  ClocheEgressBody     *bodies[2];        /* request (to the server), answer (to the client) */
  GByteArray           *answer_head;      /* the server's, as it is read */
  gsize                 answer_head_length;
  ClocheHttpResponse   *response;
  gboolean              request_done;
  gboolean              response_done;
  gboolean              close_after;      /* the guest's connection ends with this answer */
  gboolean              answer_started;   /* bytes of the server's answer reached the client */
  GByteArray           *next;             /* read past the request: the next one's start */
  char                 *server_authority; /* host:port the kept server connection is for */
  gboolean              reused;           /* this request went on a kept server connection */
  gboolean              server_dirty;     /* the server sent more than its answer */
  gboolean              waiting;          /* for the first byte of a later request */
  gboolean              finished;
  char                 *session;          /* from the guest's session line, or NULL */
  gboolean              session_read;     /* the line was looked for */
  char                  chunk[HEAD_CHUNK];
  char                 *pending;          /* what is being written before the pumps start */
};

static void connection_finish (Connection *self);

static Connection *
connection_ref (Connection *self)
{
  self->refs++;
  return self;
}

static void
connection_unref (Connection *self)
{
  if (--self->refs > 0)
    return;
  g_clear_object (&self->client);
  g_clear_object (&self->server);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->head_cancellable);
  g_clear_object (&self->connect_cancellable);
  g_clear_pointer (&self->head, g_byte_array_unref);
  g_clear_pointer (&self->request, cloche_http_request_free);
  g_clear_pointer (&self->decision, cloche_egress_decision_unref);
  g_free (self->rule);
  g_free (self->local_address);
  g_list_free_full (self->addresses, g_object_unref);
  for (guint i = 0; i < G_N_ELEMENTS (self->pumps); i++)
    if (self->pumps[i] != NULL)
      {
        _cloche_egress_pump_free (self->pumps[i]->pump);
        g_free (self->pumps[i]);
      }
  for (guint i = 0; i < G_N_ELEMENTS (self->bodies); i++)
    g_clear_pointer (&self->bodies[i], _cloche_egress_body_free);
  g_clear_pointer (&self->answer_head, g_byte_array_unref);
  g_clear_pointer (&self->response, cloche_http_response_free);
  g_clear_pointer (&self->next, g_byte_array_unref);
  g_free (self->server_authority);
  g_free (self->pending);
  g_free (self->session);
  g_clear_object (&self->proxy);
  g_free (self);
}

/* A proxy passes on what it has at once: with Nagle's algorithm a small
 * write that follows another waits for its acknowledgement, which the
 * peer delays (up to 40 ms a request on loopback). Not TCP (a test's Unix
 * socket): nothing to set. */
static void
set_no_delay (GSocketConnection *connection)
{
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY,
                       1, NULL);
}

/* The guest's session line says it (cloche-egress-proxy-session.c); what
 * the client says (Proxy-Authorization) never does. */
static const char *
session_of (Connection *self)
{
  return self->session != NULL ? self->session : "";
}

static void
clear_timer (Connection *self)
{
  g_clear_handle_id (&self->timer, g_source_remove);
}

/* Answers */

static void
on_answer_written (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Connection *self = user_data;

  /* The client may be gone already; the connection ends either way. */
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL);
  connection_finish (self);
  connection_unref (self);
}

static char *
format_answer (guint        status,
               const char  *reason,
               const char  *extra_headers,
               const char  *body,
               gboolean     close,
               gsize       *length)
{
  char *text = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Length: %zu\r\n"
                                "%s"
                                "%s"
                                "\r\n"
                                "%s",
                                status, reason, strlen (body),
                                extra_headers != NULL ? extra_headers : "",
                                close ? "Connection: close\r\n" : "", body);

  *length = strlen (text);
  return text;
}

/* Writes an answer of the proxy's own, then ends the connection. */
static void
answer (Connection  *self,
        guint        status,
        const char  *reason,
        const char  *extra_headers,
        const char  *body)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (self->client));
  gsize length = 0;

  clear_timer (self);
  g_free (self->pending);
  self->pending = format_answer (status, reason, extra_headers, body, TRUE, &length);
  g_output_stream_write_all_async (out, self->pending, length, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_answer_written,
                                   connection_ref (self));
}

static void
answer_bad_request (Connection *self,
                    guint       status,
                    const char *reason,
                    const char *why)
{
  g_autofree char *body = g_strdup_printf ("Cloche's egress proxy could not take this "
                                           "request: %s.\n", why);

  g_message ("Egress: %u %s: %s", status, reason, why);
  answer (self, status, reason, NULL, body);
}

static char *
refusal_text (Connection *self)
{
  ClocheEgressDecision *decision = self->decision;
  g_autofree char *authority = cloche_http_request_dup_authority (self->request);
  g_autofree char *advice = NULL;
  const char *session = decision->session[0] != '\0' ? decision->session : "none named";

  if (g_str_equal (decision->rule, CLOCHE_EGRESS_RULE_HOST_LOCAL))
    advice = g_strdup_printf ("%s is on this host or its private network (%s), which only "
                              "an allow rule naming the host reaches: add “%s” (this port) "
                              "or “%s” (any port) to the egress allow list of the policy.",
                              self->request->host, self->local_address, authority,
                              self->request->host);
  else if (g_str_has_prefix (decision->rule, "deny "))
    advice = g_strdup_printf ("To allow it, remove or narrow “%s” in the egress deny list "
                              "of the policy.", decision->rule + 5);
  else
    advice = g_strdup_printf ("No rule allows it. To allow it, add “%s” (this port) or "
                              "“%s” (any port) to the egress allow list of the policy.",
                              authority, self->request->host);
  return g_strdup_printf ("Cloche refused a connection to %s.\n"
                          "Rule: %s\n"
                          "Session: %s\n"
                          "%s\n"
                          "The policy is $XDG_CONFIG_HOME/cloche/policy.json on the host "
                          "(see docs/policy.md); “clochectl egress status” shows the rules "
                          "in force and “clochectl egress log” every decision.\n",
                          authority, decision->rule, session, advice);
}

static void next_request (Connection *self);

static void
on_refusal_kept (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Connection *self = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL))
    connection_finish (self);
  else if (!self->finished)
    next_request (self);
  connection_unref (self);
}

/* A refused plain request without a body leaves the connection open for
 * the next one (nothing of this one is left to skip); anything else ends it. */
static void
answer_refused (Connection *self)
{
  g_autofree char *body = refusal_text (self);
  g_autofree char *headers = g_strdup_printf ("X-Cloche-Rule: %s\r\nX-Cloche-Decision: %"
                                              G_GUINT64_FORMAT "\r\n",
                                              self->decision->rule, self->decision->id);
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (self->client));
  gsize length = 0;

  if (self->request->connect || !self->request->keep_alive
      || self->request->body != CLOCHE_HTTP_BODY_NONE)
    {
      answer (self, 403, "Forbidden", headers, body);
      return;
    }
  clear_timer (self);
  g_free (self->pending);
  self->pending = format_answer (403, "Forbidden", headers, body, FALSE, &length);
  g_output_stream_write_all_async (out, self->pending, length, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_refusal_kept, connection_ref (self));
}

/* Tunnel */

static void
pump_ended (Pump *pump)
{
  Connection *self = pump->connection;

  pump->ended = TRUE;
  /* The other side learns that no more is coming, and may still answer. */
  g_socket_shutdown (pump->out_socket, FALSE, TRUE, NULL);
  /* A forwarded request was sent "Connection: close": the server's end of
   * file is the end of the answer, whatever the client still sends. */
  if (pump->inbound && !self->request->connect)
    connection_finish (self);
  else if (self->pumps[0]->ended && self->pumps[1]->ended)
    connection_finish (self);
}

static void
on_pump_counted (gpointer data,
                 gsize    bytes)
{
  Pump *pump = data;
  Connection *self = pump->connection;

  self->last_activity = g_get_monotonic_time ();
  _cloche_egress_proxy_count (self->proxy, self->decision, bytes, pump->inbound);
}

static void
on_pump_ended (gpointer data,
               gboolean failed)
{
  Pump *pump = data;

  if (failed)
    connection_finish (pump->connection);
  else
    pump_ended (pump);
}

static gboolean
pump_start (Connection        *self,
            Pump              *pump,
            GSocketConnection *from,
            GSocketConnection *to,
            gboolean           inbound)
{
  g_autoptr(GError) error = NULL;

  pump->connection = self;
  pump->out_socket = g_socket_connection_get_socket (to);
  pump->inbound = inbound;
  pump->pump = _cloche_egress_pump_new (g_socket_get_fd (g_socket_connection_get_socket (from)),
                                        g_socket_get_fd (pump->out_socket),
                                        on_pump_counted, on_pump_ended, pump, &error);
  if (pump->pump == NULL)
    g_message ("Egress: cannot carry the connection to %s:%u: %s", self->decision->host,
               self->decision->port, error->message);
  return pump->pump != NULL;
}

static gboolean
on_idle_check (gpointer user_data)
{
  Connection *self = user_data;
  gint64 idle_ms = (g_get_monotonic_time () - self->last_activity) / 1000;

  self->timer = 0;
  if (idle_ms >= self->limits.idle_timeout_ms)
    {
      g_message ("Egress: closed the tunnel to %s:%u (session “%s”): nothing either way for "
                 "%u s", self->decision->host, self->decision->port, self->decision->session,
                 self->limits.idle_timeout_ms / 1000);
      connection_finish (self);
    }
  else
    self->timer = g_timeout_add (self->limits.idle_timeout_ms - idle_ms, on_idle_check, self);
  return G_SOURCE_REMOVE;
}

static void
start_tunnel (Connection *self)
{
  self->pumps[0] = g_new0 (Pump, 1);
  self->pumps[1] = g_new0 (Pump, 1);
  if (!pump_start (self, self->pumps[0], self->client, self->server, FALSE)
      || !pump_start (self, self->pumps[1], self->server, self->client, TRUE))
    {
      connection_finish (self);
      return;
    }
  self->last_activity = g_get_monotonic_time ();
  self->timer = g_timeout_add (self->limits.idle_timeout_ms, on_idle_check, self);
}

/* Connecting */

static void
on_first_bytes_written (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  Connection *self = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL))
    connection_finish (self);
  else if (!self->finished)
    start_tunnel (self);
  connection_unref (self);
}

/* What must reach the server before the pumps take over: whatever the
 * client sent after its CONNECT head. */
static void
send_to_server (Connection *self)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (self->server));
  gsize rest = self->head->len - self->head_length;

  g_byte_array_append (bytes, self->head->data + self->head_length, rest);
  if (bytes->len == 0)
    {
      start_tunnel (self);
      return;
    }
  _cloche_egress_proxy_count (self->proxy, self->decision, bytes->len, FALSE);
  g_free (self->pending);
  self->pending = g_memdup2 (bytes->data, bytes->len);
  g_output_stream_write_all_async (out, self->pending, bytes->len, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_first_bytes_written,
                                   connection_ref (self));
}

static void
on_established_written (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  Connection *self = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL))
    connection_finish (self);
  else if (!self->finished)
    send_to_server (self);
  connection_unref (self);
}

/* Exchange: one plain request and its answer */

#define ANSWER_HEAD_MAX (64 * 1024)

static void
on_body_counted (Connection *self,
                 gsize       bytes,
                 gboolean    inbound)
{
  self->last_activity = g_get_monotonic_time ();
  _cloche_egress_proxy_count (self->proxy, self->decision, bytes, inbound);
}

static void
on_request_counted (gpointer data,
                    gsize    bytes)
{
  on_body_counted (data, bytes, FALSE);
}

static void
on_answer_counted (gpointer data,
                   gsize    bytes)
{
  on_body_counted (data, bytes, TRUE);
}

/* Both sides of the exchange ended as framed: the next request, or the end. */
static void
exchange_maybe_done (Connection *self)
{
  if (!self->response_done)
    return;
  /* The server answered before the whole request arrived: what the client
   * sends next cannot be told from the rest of that request. */
  if (!self->request_done || self->close_after)
    connection_finish (self);
  else
    next_request (self);
}

static void
on_request_body_done (gpointer    data,
                      gboolean    ok,
                      GByteArray *rest)
{
  Connection *self = data;

  g_clear_pointer (&self->next, g_byte_array_unref);
  self->next = rest;
  self->request_done = TRUE;
  /* A kept server connection the server had closed: the answer's read
   * sees it too, and tries a new connection. */
  if (!ok && self->reused && !self->answer_started)
    self->request_done = FALSE;
  else if (!ok)
    connection_finish (self);
  else
    exchange_maybe_done (self);
}

static void
on_answer_body_done (gpointer    data,
                     gboolean    ok,
                     GByteArray *rest)
{
  Connection *self = data;

  /* Past the answer's end: nothing the client may see, and a server
   * connection not to use again. */
  self->server_dirty = rest->len > 0;
  g_byte_array_unref (rest);
  self->response_done = TRUE;
  if (!ok)
    connection_finish (self);
  else
    exchange_maybe_done (self);
}

/* The server's answer cannot be passed on: 502 if the client has seen
 * nothing of it yet, else the connection just ends. */
static void
answer_bad_gateway (Connection *self,
                    const char *why)
{
  g_autofree char *body = NULL;

  g_message ("Egress: the answer of %s:%u cannot be passed on: %s", self->decision->host,
             self->decision->port, why);
  if (self->answer_started)
    {
      connection_finish (self);
      return;
    }
  if (self->decision->error == NULL)
    self->decision->error = g_strdup (why);
  body = g_strdup_printf ("Cloche allowed the connection to %s:%u (%s), but the server's "
                          "answer could not be passed on: %s.\n", self->decision->host,
                          self->decision->port, self->decision->rule, why);
  answer (self, 502, "Bad Gateway", NULL, body);
}

static void read_answer_head (Connection *self);
static void take_answer_head (Connection *self);

/* What the server sent after the head of @length bytes in answer_head. */
static GByteArray *
steal_answer_rest (Connection *self,
                   gsize       length)
{
  GByteArray *rest = g_byte_array_new ();

  g_byte_array_append (rest, self->answer_head->data + length, self->answer_head->len - length);
  g_byte_array_set_size (self->answer_head, 0);
  return rest;
}

static void
on_interim_written (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Connection *self = user_data;
  g_autoptr(GByteArray) rest = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL))
    connection_finish (self);
  else if (!self->finished)
    {
      /* "100 Continue" and the like: the final answer is still to come. */
      rest = steal_answer_rest (self, self->answer_head_length);
      g_byte_array_append (self->answer_head, rest->data, rest->len);
      g_clear_pointer (&self->response, cloche_http_response_free);
      take_answer_head (self);
    }
  connection_unref (self);
}

/* A complete answer head of @length bytes is at the start of answer_head:
 * passed on rewritten, an interim one by itself, a final one with its body. */
static void
handle_answer_head (Connection *self,
                    gsize       length)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *head = NULL;
  gsize head_length = 0;
  ClocheHttpResponse *response;

  self->response = cloche_http_response_parse ((const char *) self->answer_head->data, length,
                                               self->request->method, &error);
  response = self->response;
  if (response == NULL || response->status == 101)
    {
      answer_bad_gateway (self, response == NULL ? error->message
                                : "the server switched protocols, which the proxy did not ask");
      return;
    }
  self->answer_started = TRUE;
  if (response->status < 200)
    {
      g_free (self->pending);
      self->pending = cloche_http_response_dup_forward_head (response, FALSE, &head_length);
      self->answer_head_length = length;
      on_body_counted (self, head_length, TRUE);
      g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (self->client)),
                                       self->pending, head_length, G_PRIORITY_DEFAULT,
                                       self->cancellable, on_interim_written,
                                       connection_ref (self));
      return;
    }
  self->close_after = !self->request->keep_alive || response->body == CLOCHE_HTTP_BODY_CLOSE;
  head = cloche_http_response_dup_forward_head (response, self->close_after, &head_length);
  self->bodies[1] = _cloche_egress_body_new (G_IO_STREAM (self->server),
                                             G_IO_STREAM (self->client),
                                             response->body, response->body_length,
                                             head, head_length, steal_answer_rest (self, length),
                                             self->cancellable, on_answer_counted,
                                             on_answer_body_done, self);
  _cloche_egress_body_start (self->bodies[1]);
}

static void
take_answer_head (Connection *self)
{
  gssize length = cloche_http_request_head_length ((const char *) self->answer_head->data,
                                                   self->answer_head->len);

  if (length > 0)
    handle_answer_head (self, length);
  else if (self->answer_head->len >= ANSWER_HEAD_MAX)
    answer_bad_gateway (self, "its head is larger than the proxy accepts");
  else
    read_answer_head (self);
}

static void connect_next (Connection *self);
static gboolean on_connect_timeout (gpointer user_data);

static void
drop_server (Connection *self)
{
  if (self->server != NULL)
    g_socket_close (g_socket_connection_get_socket (self->server), NULL);
  g_clear_object (&self->server);
  g_clear_pointer (&self->server_authority, g_free);
}

/* The kept server connection was closed by the server before it answered
 * (a race no check beforehand can close): the same request, sent again on
 * a new connection to the same address. Only a request without a body,
 * which the proxy still has whole. */
static void
retry_on_new_server (Connection *self)
{
  g_clear_pointer (&self->bodies[0], _cloche_egress_body_free);
  g_clear_pointer (&self->answer_head, g_byte_array_unref);
  drop_server (self);
  self->reused = FALSE;
  self->request_done = FALSE;
  clear_timer (self);
  self->timer = g_timeout_add (self->limits.connect_timeout_ms, on_connect_timeout, self);
  connect_next (self);
}

static void
on_answer_head_read (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Connection *self = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);

  if (self->finished)
    ;
  else if (n <= 0 && self->reused && self->answer_head->len == 0
           && self->request->body == CLOCHE_HTTP_BODY_NONE)
    retry_on_new_server (self);
  else if (n <= 0)
    answer_bad_gateway (self, "the server closed the connection without an answer");
  else
    {
      self->last_activity = g_get_monotonic_time ();
      g_byte_array_append (self->answer_head, (guint8 *) self->chunk, n);
      take_answer_head (self);
    }
  connection_unref (self);
}

static void
read_answer_head (Connection *self)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (self->server));

  g_input_stream_read_async (in, self->chunk, sizeof self->chunk, G_PRIORITY_DEFAULT,
                             self->cancellable, on_answer_head_read, connection_ref (self));
}

/* Connected for a plain request: its head and body, and the answer, both
 * at once (a server may answer "100 Continue" before the body). */
static void
start_exchange (Connection *self)
{
  g_autofree char *head = NULL;
  GByteArray *rest = g_byte_array_new ();
  gsize length = 0;

  head = cloche_http_request_dup_forward_head (self->request, TRUE, &length);
  g_byte_array_append (rest, self->head->data + self->head_length,
                       self->head->len - self->head_length);
  self->bodies[0] = _cloche_egress_body_new (G_IO_STREAM (self->client),
                                             G_IO_STREAM (self->server),
                                             self->request->body, self->request->body_length,
                                             head, length, rest, self->cancellable,
                                             on_request_counted, on_request_body_done, self);
  self->answer_head = g_byte_array_new ();
  self->timer = g_timeout_add (self->limits.idle_timeout_ms, on_idle_check, self);
  read_answer_head (self);
  _cloche_egress_body_start (self->bodies[0]);
}


/* Connecting failed (@error), or took too long (@timed_out). */
static void
answer_unreachable (Connection *self,
                    gboolean    timed_out,
                    const char *error)
{
  g_autofree char *body = NULL;

  self->decision->error = g_strdup (timed_out ? "no answer in time" : error);
  body = g_strdup_printf ("Cloche allowed the connection to %s:%u (%s) but could not "
                          "make it: %s.\n", self->decision->host, self->decision->port,
                          self->decision->rule, self->decision->error);
  g_message ("Egress: cannot connect to %s:%u: %s", self->decision->host,
             self->decision->port, self->decision->error);
  answer (self, timed_out ? 504 : 502, timed_out ? "Gateway Timeout" : "Bad Gateway",
          NULL, body);
}

static void
on_server_connected (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  Connection *self = user_data;
  g_autoptr(GError) error = NULL;
  static const char established[] = "HTTP/1.1 200 Connection established\r\n\r\n";

  self->server = g_socket_client_connect_finish (G_SOCKET_CLIENT (object), result, &error);
  if (self->finished)
    ;
  else if (self->server == NULL && self->addresses != NULL
           && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    connect_next (self);
  else if (self->server == NULL)
    /* Only the connect timer cancels a connect that has not finished. */
    answer_unreachable (self, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED),
                        error->message);
  else
    {
      clear_timer (self);
      set_no_delay (self->server);
      if (self->request->connect)
        g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (self->client)),
                                         established, strlen (established), G_PRIORITY_DEFAULT,
                                         self->cancellable, on_established_written,
                                         connection_ref (self));
      else
        start_exchange (self);
    }
  connection_unref (self);
}

static gboolean
on_connect_timeout (gpointer user_data)
{
  Connection *self = user_data;

  self->timer = 0;
  g_cancellable_cancel (self->connect_cancellable);
  return G_SOURCE_REMOVE;
}

/* The next of the addresses that were checked, in the resolver's order. */
static void
connect_next (Connection *self)
{
  GInetAddress *next = self->addresses->data;
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (next, self->request->port);

  self->addresses = g_list_delete_link (self->addresses, self->addresses);
  g_socket_client_connect_async (_cloche_egress_proxy_get_client (self->proxy),
                                 G_SOCKET_CONNECTABLE (address), self->connect_cancellable,
                                 on_server_connected, connection_ref (self));
  g_object_unref (next);
}

static void
decide (Connection *self,
        gboolean    allowed,
        const char *rule)
{
  self->decision = _cloche_egress_proxy_decide (self->proxy, session_of (self),
                                                self->request->method, self->request->host,
                                                self->request->port, allowed, rule);
}

/* The first address of the host's own or private network, or NULL. */
static GInetAddress *
find_host_local (GList *addresses)
{
  for (GList *l = addresses; l != NULL; l = l->next)
    if (_cloche_egress_address_is_host_local (l->data))
      return l->data;
  return NULL;
}

/* The name resolved to @addresses (or not: @error): the decision. One
 * address of the host's own among others refuses the name as a whole. */
static void
decide_addresses (Connection *self,
                  GError     *error)
{
  GInetAddress *local;

  if (error != NULL)
    {
      decide (self, TRUE, self->rule);
      answer_unreachable (self, g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED),
                          error->message);
    }
  else if (!self->names_host && (local = find_host_local (self->addresses)) != NULL)
    {
      decide (self, FALSE, CLOCHE_EGRESS_RULE_HOST_LOCAL);
      self->local_address = g_inet_address_to_string (local);
      g_message ("Egress: refused %s:%u (session “%s”): it resolves to %s, on this host or "
                 "its private network, and no allow rule names it", self->request->host,
                 self->request->port, self->decision->session, self->local_address);
      answer_refused (self);
    }
  else if (self->reused)
    {
      decide (self, TRUE, self->rule);
      start_exchange (self);
    }
  else
    {
      decide (self, TRUE, self->rule);
      connect_next (self);
    }
}

/* The server connection kept from the last request, if it is for the same
 * host and port and the server has not closed it (or sent anything
 * unasked) since: decided like a new one, on the address it is connected
 * to, so a rule change since (host-local) applies to it too. */
static gboolean
reuse_server (Connection *self)
{
  g_autofree char *authority = cloche_http_request_dup_authority (self->request);
  g_autoptr(GSocketAddress) remote = NULL;
  GSocket *socket;

  if (self->server == NULL)
    return FALSE;
  socket = g_socket_connection_get_socket (self->server);
  remote = g_socket_connection_get_remote_address (self->server, NULL);
  if (self->request->connect || g_strcmp0 (authority, self->server_authority) != 0
      || g_socket_condition_check (socket, G_IO_IN | G_IO_HUP | G_IO_ERR) != 0
      || !G_IS_INET_SOCKET_ADDRESS (remote))
    {
      drop_server (self);
      return FALSE;
    }
  self->reused = TRUE;
  self->addresses = g_list_prepend (NULL, g_object_ref (g_inet_socket_address_get_address (
                                                          G_INET_SOCKET_ADDRESS (remote))));
  decide_addresses (self, NULL);
  return TRUE;
}

static void
on_resolved (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Connection *self = user_data;
  g_autoptr(GError) error = NULL;

  self->addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (object), result, &error);
  if (!self->finished)
    decide_addresses (self, error);
  connection_unref (self);
}

/* An address as written is its own resolution: no lookup, no thread. */
static void
resolve_server (Connection *self)
{
  g_autoptr(GResolver) resolver = NULL;
  GInetAddress *literal = g_inet_address_new_from_string (self->request->host);

  self->timer = g_timeout_add (self->limits.connect_timeout_ms, on_connect_timeout, self);
  if (literal != NULL)
    {
      self->addresses = g_list_prepend (NULL, literal);
      decide_addresses (self, NULL);
      return;
    }
  resolver = g_resolver_get_default ();
  g_resolver_lookup_by_name_async (resolver, self->request->host, self->connect_cancellable,
                                   on_resolved, connection_ref (self));
}

/* The head */

static void
handle_head (Connection *self)
{
  g_autoptr(GError) error = NULL;
  ClocheHttpRequest *request = NULL;

  clear_timer (self);
  request = cloche_http_request_parse ((const char *) self->head->data, self->head_length,
                                       &error);
  if (request == NULL)
    {
      answer_bad_request (self, 400, "Bad Request", error->message);
      return;
    }
  self->request = request;
  if (!_cloche_egress_proxy_check (self->proxy, request->host, request->port, &self->rule,
                                   &self->names_host))
    {
      drop_server (self);
      decide (self, FALSE, self->rule);
      answer_refused (self);
    }
  else if (!reuse_server (self))
    resolve_server (self);
}

static void read_head (Connection *self);
static gboolean on_head_timeout (gpointer user_data);

/* Handles the head if it is all there, or reads more. */
static void
check_head (Connection *self)
{
  gssize length = cloche_http_request_head_length ((const char *) self->head->data,
                                                   self->head->len);

  if (length > 0 && (gsize) length <= self->limits.max_header_size)
    {
      self->head_length = length;
      handle_head (self);
    }
  else if (self->head->len >= self->limits.max_header_size)
    answer_bad_request (self, 431, "Request Header Fields Too Large",
                        "the request head is larger than the proxy accepts");
  else
    read_head (self);
}

/* At the start of a connection: whether the head can be read on, after
 * taking off the session line, if the connection has one. */
static gboolean
take_session_line (Connection *self)
{
  switch (_cloche_egress_session_line_take (self->head, &self->session))
    {
    case CLOCHE_EGRESS_SESSION_LINE_MORE:
      read_head (self);
      return FALSE;
    case CLOCHE_EGRESS_SESSION_LINE_BAD:
      answer_bad_request (self, 400, "Bad Request", "the session line names no session");
      return FALSE;
    case CLOCHE_EGRESS_SESSION_LINE_NONE:
    case CLOCHE_EGRESS_SESSION_LINE_FOUND:
    default:
      self->session_read = TRUE;
      if (self->head->len > 0)
        return TRUE;
      read_head (self);
      return FALSE;
    }
}

/* @n bytes read into chunk (0: end of file, < 0: an error). */
static void
take_head_bytes (Connection *self,
                 gssize      n)
{
  if (n < 0 && self->head_timed_out)
    answer_bad_request (self, 408, "Request Timeout", "the request head did not arrive in time");
  else if (n <= 0)
    connection_finish (self);
  else
    {
      g_byte_array_append (self->head, (guint8 *) self->chunk, n);
      if (self->waiting)
        {
          /* The next request has begun: its head has the head's time limit. */
          self->waiting = FALSE;
          clear_timer (self);
          self->timer = g_timeout_add (self->limits.header_timeout_ms, on_head_timeout, self);
        }
      if (self->session_read || take_session_line (self))
        check_head (self);
    }
}

/* After an exchange: the server connection is kept for the next request
 * to the same host and port if both sides meant it to stay and nothing is
 * left on it; else closed. */
static void
keep_server (Connection *self)
{
  gboolean keep = self->server != NULL && self->response != NULL
                  && self->response->status >= 200 && self->response->keep_alive
                  && g_str_equal (self->request->version, "HTTP/1.1") && !self->server_dirty;

  if (!keep)
    drop_server (self);
  else
    {
      g_free (self->server_authority);
      self->server_authority = cloche_http_request_dup_authority (self->request);
    }
  g_clear_pointer (&self->request, cloche_http_request_free);
  g_clear_pointer (&self->response, cloche_http_response_free);
}

/* The exchange ended and the connection stays: back to a request head,
 * starting with whatever the client sent past the last request. */
static void
next_request (Connection *self)
{
  GByteArray *next = g_steal_pointer (&self->next);

  clear_timer (self);
  if (next == NULL)
    {
      next = g_byte_array_new ();
      g_byte_array_append (next, self->head->data + self->head_length,
                           self->head->len - self->head_length);
    }
  if (self->decision != NULL)
    _cloche_egress_proxy_end (self->proxy, self->decision);
  g_clear_pointer (&self->decision, cloche_egress_decision_unref);
  g_clear_pointer (&self->answer_head, g_byte_array_unref);
  g_clear_pointer (&self->rule, g_free);
  g_clear_pointer (&self->local_address, g_free);
  g_list_free_full (g_steal_pointer (&self->addresses), g_object_unref);
  for (guint i = 0; i < G_N_ELEMENTS (self->bodies); i++)
    g_clear_pointer (&self->bodies[i], _cloche_egress_body_free);
  keep_server (self);
  self->reused = self->server_dirty = FALSE;
  self->request_done = self->response_done = FALSE;
  self->close_after = self->answer_started = FALSE;
  g_clear_object (&self->connect_cancellable);
  self->connect_cancellable = g_cancellable_new ();
  g_byte_array_unref (self->head);
  self->head = next;
  self->head_length = 0;
  /* Waiting for a request that has not begun is idle time; a begun one
   * has the head's limit. */
  self->waiting = self->head->len == 0;
  self->timer = g_timeout_add (self->waiting ? self->limits.idle_timeout_ms
                                             : self->limits.header_timeout_ms,
                               on_head_timeout, self);
  check_head (self);
}

static void
on_head_read (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Connection *self = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);

  if (!self->finished)
    take_head_bytes (self, n);
  connection_unref (self);
}

/* The guest's connection, handed over by the relay: from now on the proxy
 * reads and writes it itself, and the relay is gone. */
static gboolean
adopt_client (Connection *self,
              int         fd)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, NULL);

  if (socket == NULL)
    {
      close (fd);
      return FALSE;
    }
  g_socket_close (g_socket_connection_get_socket (self->client), NULL);
  g_object_unref (self->client);
  self->client = g_socket_connection_factory_create_connection (socket);
  set_no_delay (self->client);
  return TRUE;
}

/* The one descriptor of a relay's hand-over, or -1. */
static int
steal_handed_fd (GSocketControlMessage **messages,
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
on_first_bytes (GSocket      *socket,
                GIOCondition  condition,
                gpointer      user_data)
{
  Connection *self = user_data;
  GInputVector vector = { self->chunk, sizeof self->chunk };
  GSocketControlMessage **messages = NULL;
  int n_messages = 0, flags = 0, fd;
  gssize n;

  if (self->finished)
    return G_SOURCE_REMOVE;
  /* Woken by the head timer's cancellation, not by data: reading would wait. */
  if (self->head_timed_out)
    {
      take_head_bytes (self, -1);
      return G_SOURCE_REMOVE;
    }
  n = g_socket_receive_message (socket, NULL, &vector, 1, &messages, &n_messages, &flags,
                                NULL, NULL);
  fd = steal_handed_fd (messages, n_messages);
  if (fd >= 0 && n == 1 && self->chunk[0] == '\0' && adopt_client (self, fd))
    read_head (self);
  else
    {
      if (fd >= 0)
        close (fd);
      take_head_bytes (self, n);
    }
  return G_SOURCE_REMOVE;
}

static void
read_first_bytes (Connection *self)
{
  GSocket *socket = g_socket_connection_get_socket (self->client);
  g_autoptr(GSource) source = g_socket_create_source (socket, G_IO_IN, self->head_cancellable);

  g_source_set_callback (source, (GSourceFunc) (GCallback) on_first_bytes,
                         connection_ref (self), (GDestroyNotify) connection_unref);
  g_source_attach (source, NULL);
}

static void
read_head (Connection *self)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (self->client));
  gsize room = MIN (sizeof self->chunk, self->limits.max_header_size - self->head->len);

  g_input_stream_read_async (in, self->chunk, room, G_PRIORITY_DEFAULT, self->head_cancellable,
                             on_head_read, connection_ref (self));
}

static gboolean
on_head_timeout (gpointer user_data)
{
  Connection *self = user_data;

  self->timer = 0;
  if (self->waiting)
    {
      /* Nothing more from a kept connection: it ends without an answer. */
      connection_finish (self);
      return G_SOURCE_REMOVE;
    }
  self->head_timed_out = TRUE;
  g_cancellable_cancel (self->head_cancellable);
  return G_SOURCE_REMOVE;
}

/* The end, whatever it came from. Idempotent; the last reference (an
 * operation still running when this is called) frees the connection. */
static void
connection_finish (Connection *self)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  clear_timer (self);
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->head_cancellable);
  g_cancellable_cancel (self->connect_cancellable);
  for (guint i = 0; i < G_N_ELEMENTS (self->pumps); i++)
    if (self->pumps[i] != NULL && self->pumps[i]->pump != NULL)
      _cloche_egress_pump_stop (self->pumps[i]->pump);
  for (guint i = 0; i < G_N_ELEMENTS (self->bodies); i++)
    g_clear_pointer (&self->bodies[i], _cloche_egress_body_free);
  /* The sockets, not the streams: a stream with a read pending refuses to
   * close, and the peers must see the end now. */
  g_socket_close (g_socket_connection_get_socket (self->client), NULL);
  if (self->server != NULL)
    g_socket_close (g_socket_connection_get_socket (self->server), NULL);
  if (self->decision != NULL)
    _cloche_egress_proxy_end (self->proxy, self->decision);
  _cloche_egress_proxy_connection_done (self->proxy);
  connection_unref (self);
}

/* Called for each connection the proxy accepts within its limit. */
void
_cloche_egress_connection_start (ClocheEgressProxy *proxy,
                                 GSocketConnection *client)
{
  Connection *self = g_new0 (Connection, 1);

  self->refs = 1;   /* held until connection_finish() */
  self->proxy = g_object_ref (proxy);
  self->limits = *_cloche_egress_proxy_limits (proxy);
  self->client = g_object_ref (client);
  self->cancellable = g_cancellable_new ();
  self->head_cancellable = g_cancellable_new ();
  self->connect_cancellable = g_cancellable_new ();
  self->head = g_byte_array_new ();
  self->timer = g_timeout_add (self->limits.header_timeout_ms, on_head_timeout, self);
  read_first_bytes (self);
}

static void
on_refusal_written (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GSocketConnection) client = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (client), NULL, NULL);
  g_free (g_object_steal_data (G_OBJECT (client), "cloche-answer"));
}

/* Over the connection limit: a short answer, and no reading at all. */
void
_cloche_egress_connection_refuse (GSocketConnection *client,
                                  guint              limit)
{
  g_autofree char *body = g_strdup_printf ("Cloche's egress proxy has %u connections open, "
                                           "its limit: try again when some have closed.\n",
                                           limit);
  gsize length = 0;
  char *text = format_answer (503, "Service Unavailable", "Retry-After: 1\r\n", body, TRUE,
                              &length);

  g_object_set_data (G_OBJECT (client), "cloche-answer", text);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (client)),
                                   text, length, G_PRIORITY_DEFAULT, NULL,
                                   on_refusal_written, g_object_ref (client));
}
