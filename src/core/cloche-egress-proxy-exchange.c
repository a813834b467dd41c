/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One plain request and its answer (an exchange), once the connection
 * (cloche-egress-proxy-connection.c) has decided the request and has a
 * server connection for it: the request's head rewritten for the server
 * and its body as framed, and at the same time (a server may answer
 * "100 Continue" before the body) the server's answer: each interim head
 * passed on alone, then the final head rewritten and its body as framed.
 * Bodies pass through cloche-egress-proxy-body.c.
 *
 * It ends once, and says how (ClocheEgressExchangeResult):
 *   KEEP         both sides ended as framed: the guest's connection goes on
 *                with what was read past the request, and the server's may
 *                serve the next request if both meant to keep it (HTTP/1.1,
 *                nothing after the answer);
 *   CLOSE        over, and the guest's connection ends with it: the client
 *                or the answer's framing said so, the server answered before
 *                the request had all gone, or a side broke off;
 *   RETRY        a kept server connection closed before a byte of its
 *                answer, and the request may be sent twice (no body, a method
 *                that means the same done twice): again on a new connection;
 *   BAD_GATEWAY  the answer cannot be passed on.
 * It writes nothing of the proxy's own (a 502 is its owner's to send), and
 * works on streams, not sockets: the same code will carry a request read
 * from inside TLS (the secrets of issue 20).
 */
#include "config.h"

#include "cloche-egress-proxy-private.h"

#define ANSWER_HEAD_MAX (64 * 1024)
#define HEAD_CHUNK 4096

typedef enum
{
  REQUEST_SENDING,   /* its head and body going to the server */
  REQUEST_SENT,      /* all of it, as framed */
  REQUEST_LOST,      /* not all: the kept server connection had closed (the answer's read tells) */
} RequestState;

typedef enum
{
  ANSWER_NONE,       /* reading the answer's head; nothing of it passed on yet */
  ANSWER_INTERIM,    /* an interim answer (1xx) passed on; the final one to come */
  ANSWER_BODY,       /* the final head and its body passing */
  ANSWER_DONE,
} AnswerState;

struct _ClocheEgressExchange
{
  gint                        refs;
  GIOStream                  *client;
  GIOStream                  *server;
  const ClocheHttpRequest    *request;     /* the owner's; outlives this */
  gboolean                    reused;      /* the server connection served a request before */
  gboolean                    stopped;     /* ended or freed: nothing more is told */
  GCancellable               *cancellable;
  RequestState                request_state;
  AnswerState                 answer_state;
  ClocheEgressBody           *bodies[2];   /* request (to the server), answer (to the client) */
  GByteArray                 *answer_head; /* the server's, as it is read */
  ClocheHttpResponse         *response;
  ClocheEgressExchangeResult  result;      /* filled as it goes */
  ClocheEgressCounted         counted;
  ClocheEgressExchangeDone    done;
  gpointer                    data;
  char                       *pending;     /* an interim head being written */
  char                        chunk[HEAD_CHUNK];
};

static ClocheEgressExchange *
cloche_egress_exchange_ref (ClocheEgressExchange *self)
{
  self->refs++;
  return self;
}

static void
cloche_egress_exchange_unref (ClocheEgressExchange *self)
{
  if (--self->refs > 0)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (self->bodies); i++)
    g_clear_pointer (&self->bodies[i], _cloche_egress_body_free);
  g_clear_object (&self->client);
  g_clear_object (&self->server);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->answer_head, g_byte_array_unref);
  g_clear_pointer (&self->response, cloche_http_response_free);
  g_clear_pointer (&self->result.next, g_byte_array_unref);
  g_free (self->pending);
  g_free (self);
}

/* Tells the owner, once. The owner may free the exchange from there (it
 * lives to the end of the call, for @result). */
static void
cloche_egress_exchange_end (ClocheEgressExchange    *self,
                            ClocheEgressExchangeEnd  how,
                            const char              *why)
{
  if (self->stopped)
    return;
  self->stopped = TRUE;
  self->result.end = how;
  self->result.why = why;
  self->result.answered = self->answer_state != ANSWER_NONE;
  cloche_egress_exchange_ref (self);
  self->done (self->data, &self->result);
  cloche_egress_exchange_unref (self);
}

/* Whether a request may reach the server twice for one decision: one
 * without a body (the proxy still has it whole) whose method means the
 * same done twice (RFC 9110 9.2.2); a POST may have been acted on before
 * the server closed. */
static gboolean
cloche_egress_exchange_may_resend (const ClocheHttpRequest *request)
{
  static const char * const idempotent[] = {
    "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", NULL
  };

  return request->body == CLOCHE_HTTP_BODY_NONE
         && g_strv_contains (idempotent, request->method);
}

/* Whether the guest's connection ends with this answer: the client said
 * so (or spoke HTTP/1.0), or the answer ends with the server's close. */
static gboolean
cloche_egress_exchange_closes_after (ClocheEgressExchange *self)
{
  return !self->request->keep_alive || self->response->body == CLOCHE_HTTP_BODY_CLOSE;
}

/* Both sides ended as framed, or the answer did first. */
static void
cloche_egress_exchange_maybe_done (ClocheEgressExchange *self)
{
  if (self->answer_state != ANSWER_DONE)
    return;
  /* The server answered before the whole request arrived: what the client
   * sends next cannot be told from the rest of that request. */
  if (self->request_state != REQUEST_SENT || cloche_egress_exchange_closes_after (self))
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_CLOSE, NULL);
  else
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_KEEP, NULL);
}

static void
cloche_egress_exchange_request_counted_cb (gpointer data,
                                           gsize    bytes)
{
  ClocheEgressExchange *self = data;

  self->counted (self->data, bytes, FALSE);
}

static void
cloche_egress_exchange_answer_counted_cb (gpointer data,
                                          gsize    bytes)
{
  ClocheEgressExchange *self = data;

  self->counted (self->data, bytes, TRUE);
}

static void
cloche_egress_exchange_request_sent_cb (gpointer    data,
                                        gboolean    ok,
                                        GByteArray *rest)
{
  ClocheEgressExchange *self = data;

  g_clear_pointer (&self->result.next, g_byte_array_unref);
  self->result.next = rest;
  if (ok)
    {
      self->request_state = REQUEST_SENT;
      cloche_egress_exchange_maybe_done (self);
    }
  /* A kept server connection the server had closed: the answer's read
   * sees it too, and tries a new connection. */
  else if (self->reused && self->answer_state == ANSWER_NONE)
    self->request_state = REQUEST_LOST;
  else
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_CLOSE, NULL);
}

static void
cloche_egress_exchange_answer_passed_cb (gpointer    data,
                                         gboolean    ok,
                                         GByteArray *rest)
{
  ClocheEgressExchange *self = data;

  /* Past the answer's end: nothing the client may see, and a server
   * connection not to use again. */
  self->result.keep_server = rest->len == 0 && self->response->keep_alive
                             && g_str_equal (self->request->version, "HTTP/1.1");
  g_byte_array_unref (rest);
  self->answer_state = ANSWER_DONE;
  if (!ok)
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_CLOSE, NULL);
  else
    cloche_egress_exchange_maybe_done (self);
}

static void cloche_egress_exchange_take_answer_head (ClocheEgressExchange *self);

/* What the server sent after the head of @length bytes in answer_head. */
static GByteArray *
cloche_egress_exchange_steal_answer_rest (ClocheEgressExchange *self,
                                          gsize                 length)
{
  GByteArray *rest = g_byte_array_new ();

  g_byte_array_append (rest, self->answer_head->data + length, self->answer_head->len - length);
  g_byte_array_set_size (self->answer_head, 0);
  return rest;
}

static void
cloche_egress_exchange_interim_written_cb (GObject      *object,
                                           GAsyncResult *result,
                                           gpointer      user_data)
{
  ClocheEgressExchange *self = user_data;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL))
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_CLOSE, NULL);
  else if (!self->stopped)
    cloche_egress_exchange_take_answer_head (self);
  cloche_egress_exchange_unref (self);
}

/* "100 Continue" and the like, passed on by itself; the final answer is
 * still to come, after the @length bytes of this one. */
static void
cloche_egress_exchange_pass_interim (ClocheEgressExchange *self,
                                     gsize                 length)
{
  GOutputStream *out = g_io_stream_get_output_stream (self->client);
  gsize head_length = 0;

  self->answer_state = ANSWER_INTERIM;
  g_free (self->pending);
  self->pending = cloche_http_response_dup_forward_head (self->response, FALSE, &head_length);
  g_byte_array_remove_range (self->answer_head, 0, length);
  g_clear_pointer (&self->response, cloche_http_response_free);
  self->counted (self->data, head_length, TRUE);
  g_output_stream_write_all_async (out, self->pending, head_length, G_PRIORITY_DEFAULT,
                                   self->cancellable, cloche_egress_exchange_interim_written_cb,
                                   cloche_egress_exchange_ref (self));
}

/* The final answer: its head rewritten, then its body as framed. */
static void
cloche_egress_exchange_pass_final (ClocheEgressExchange *self,
                                   gsize                 length)
{
  ClocheHttpResponse *response = self->response;
  g_autofree char *head = NULL;
  gsize head_length = 0;

  self->answer_state = ANSWER_BODY;
  head =
    cloche_http_response_dup_forward_head (response, cloche_egress_exchange_closes_after (self),
                                           &head_length);
  self->bodies[1] = _cloche_egress_body_new (self->server, self->client, response->body,
                                             response->body_length, head, head_length,
                                             cloche_egress_exchange_steal_answer_rest (self,
                                                                                       length),
                                             self->cancellable,
                                             cloche_egress_exchange_answer_counted_cb,
                                             cloche_egress_exchange_answer_passed_cb, self);
  _cloche_egress_body_start (self->bodies[1]);
}

/* A complete answer head of @length bytes is at the start of answer_head. */
static void
cloche_egress_exchange_handle_answer_head (ClocheEgressExchange *self,
                                           gsize                 length)
{
  g_autoptr(GError) error = NULL;

  self->response = cloche_http_response_parse ((const char *) self->answer_head->data, length,
                                               self->request->method, &error);
  if (self->response == NULL)
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_BAD_GATEWAY, error->message);
  else if (self->response->status == 101)
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_BAD_GATEWAY,
                                "the server switched protocols, which the proxy did not ask");
  else if (self->response->status < 200)
    cloche_egress_exchange_pass_interim (self, length);
  else
    cloche_egress_exchange_pass_final (self, length);
}

static void cloche_egress_exchange_read_answer_head (ClocheEgressExchange *self);

static void
cloche_egress_exchange_take_answer_head (ClocheEgressExchange *self)
{
  gssize length = cloche_http_request_head_length ((const char *) self->answer_head->data,
                                                   self->answer_head->len);

  if (length > 0)
    cloche_egress_exchange_handle_answer_head (self, length);
  else if (self->answer_head->len >= ANSWER_HEAD_MAX)
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_BAD_GATEWAY,
                                "its head is larger than the proxy accepts");
  else
    cloche_egress_exchange_read_answer_head (self);
}

static void
cloche_egress_exchange_answer_head_read_cb (GObject      *object,
                                            GAsyncResult *result,
                                            gpointer      user_data)
{
  ClocheEgressExchange *self = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);

  if (self->stopped)
    ;
  else if (n <= 0 && self->reused && self->answer_state == ANSWER_NONE
           && self->answer_head->len == 0 && cloche_egress_exchange_may_resend (self->request))
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_RETRY, NULL);
  else if (n <= 0)
    cloche_egress_exchange_end (self, CLOCHE_EGRESS_EXCHANGE_BAD_GATEWAY,
                                "the server closed the connection without an answer");
  else
    {
      self->counted (self->data, 0, TRUE);
      g_byte_array_append (self->answer_head, (guint8 *) self->chunk, n);
      cloche_egress_exchange_take_answer_head (self);
    }
  cloche_egress_exchange_unref (self);
}

static void
cloche_egress_exchange_read_answer_head (ClocheEgressExchange *self)
{
  GInputStream *in = g_io_stream_get_input_stream (self->server);

  g_input_stream_read_async (in, self->chunk, sizeof self->chunk, G_PRIORITY_DEFAULT,
                             self->cancellable, cloche_egress_exchange_answer_head_read_cb,
                             cloche_egress_exchange_ref (self));
}

/**
 * _cloche_egress_exchange_new:
 * @request: the decided request, not CONNECT; must outlive the exchange
 * @buffered: (transfer full): what the client sent after the request's head
 * @reused: whether @server served a request before (a closed one may be retried)
 * @counted: told the bytes passed on, and activity (0 bytes)
 * @done: told once how it ended; may free the exchange
 *
 * Returns: an exchange, to start with _cloche_egress_exchange_start()
 */
ClocheEgressExchange *
_cloche_egress_exchange_new (GIOStream                *client,
                             GIOStream                *server,
                             const ClocheHttpRequest  *request,
                             GByteArray               *buffered,
                             gboolean                  reused,
                             GCancellable             *cancellable,
                             ClocheEgressCounted       counted,
                             ClocheEgressExchangeDone  done,
                             gpointer                  data)
{
  ClocheEgressExchange *self = g_new0 (ClocheEgressExchange, 1);
  g_autofree char *head = NULL;
  gsize length = 0;

  self->refs = 1;
  self->client = g_object_ref (client);
  self->server = g_object_ref (server);
  self->request = request;
  self->reused = reused;
  self->cancellable = g_object_ref (cancellable);
  self->answer_head = g_byte_array_new ();
  self->counted = counted;
  self->done = done;
  self->data = data;
  head = cloche_http_request_dup_forward_head (request, TRUE, &length);
  self->bodies[0] = _cloche_egress_body_new (client, server, request->body, request->body_length,
                                             head, length, buffered, cancellable,
                                             cloche_egress_exchange_request_counted_cb,
                                             cloche_egress_exchange_request_sent_cb, self);
  return self;
}

/* The answer is read while the request goes: @done may be told before
 * this returns (a bad chunked coding in what was already read). */
void
_cloche_egress_exchange_start (ClocheEgressExchange *self)
{
  cloche_egress_exchange_ref (self);
  cloche_egress_exchange_read_answer_head (self);
  _cloche_egress_body_start (self->bodies[0]);
  cloche_egress_exchange_unref (self);
}

/* Stops it (nothing more is told) and drops the owner's reference. */
void
_cloche_egress_exchange_free (ClocheEgressExchange *self)
{
  if (self == NULL)
    return;
  self->stopped = TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (self->bodies); i++)
    g_clear_pointer (&self->bodies[i], _cloche_egress_body_free);
  cloche_egress_exchange_unref (self);
}
