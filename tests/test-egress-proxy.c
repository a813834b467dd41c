/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The egress proxy over its real Unix socket, against real servers on
 * 127.0.0.1, with no VM: what it lets through, what it refuses and how,
 * what it records, and what it does with clients that misbehave. The proxy
 * runs on this thread's main loop; each client runs in a thread of its own
 * with plain blocking sockets, as the relay and the guest would.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cloche-egress-proxy.h"
#include "cloche-egress-proxy-private.h"
#include "cloche-error.h"

typedef struct
{
  ClocheEgressProxy *proxy;
  char              *dir;
  char              *socket_path;
  GSocketService    *echo;        /* reads to the end, then says how much */
  guint16            echo_port;
  GSocketService    *http;        /* one canned answer per request */
  guint16            http_port;
  GSocketService    *canned;      /* answers by path (canned_answer) */
  guint16            canned_port;
  GSocketService    *kept;        /* keeps its connections (on_kept) */
  guint16            kept_port;
  GSocketService    *recorder;    /* reads as a server would, records each head (on_recorder) */
  guint16            recorder_port;
  GSocketService    *flaky;       /* answers one request a connection, closes on the next */
  guint16            flaky_port;
  guint16            closed_port; /* nothing listens there */
  GPtrArray         *ended;       /* decisions as decision-ended gave them */
} Fixture;

/* Servers (threads of GThreadedSocketService, blocking I/O) */

static GMutex server_lock;
static char *last_http_head;

static gboolean
on_echo (GThreadedSocketService *service,
         GSocketConnection      *connection,
         GObject                *source,
         gpointer                user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autofree char *reply = NULL;
  char buffer[4096];
  gsize total = 0;
  gssize n;

  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    total += n;
  reply = g_strdup_printf ("got %zu bytes\n", total);
  g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
  return TRUE;
}

static gboolean
on_http (GThreadedSocketService *service,
         GSocketConnection      *connection,
         GObject                *source,
         gpointer                user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  g_autoptr(GString) head = g_string_new (NULL);
  char c;

  while (!g_str_has_suffix (head->str, "\r\n\r\n")
         && g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
    g_string_append_c (head, c);
  g_mutex_lock (&server_lock);
  g_free (last_http_head);
  last_http_head = g_strdup (head->str);
  g_mutex_unlock (&server_lock);
  g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
  return TRUE;
}

/* Answers by path, one request per connection, reading the request's body
 * when it has one. Every answer says "Connection: close": the server closes
 * after it, and an answer that did not say so would let the proxy keep the
 * connection and send the next request into a socket that is closing (a
 * POST there is a 502 by design: it may not be sent twice). */
static const char *
canned_answer (const char *head)
{
  if (g_str_has_prefix (head, "HEAD "))
    return "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n";
  if (strstr (head, " /chunked ") != NULL)
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
  if (strstr (head, " /204 ") != NULL)
    return "HTTP/1.1 204 No Content\r\nX-Empty: yes\r\nConnection: close\r\n\r\n";
  if (strstr (head, " /close ") != NULL)
    return "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the server closes";
  if (strstr (head, " /continue ") != NULL)
    return "HTTP/1.1 100 Continue\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  return NULL;
}

/* The body of a request as the server reads it: Content-Length bytes, or
 * chunks up to the last one (kept as they came). */
static char *
canned_read_body (GInputStream *in,
                  const char   *head)
{
  g_autoptr(GString) body = g_string_new (NULL);
  const char *length = strstr (head, "Content-Length: ");
  char c;

  if (length != NULL)
    {
      guint64 n = g_ascii_strtoull (length + strlen ("Content-Length: "), NULL, 10);

      while (body->len < n && g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
        g_string_append_c (body, c);
    }
  else if (strstr (head, "Transfer-Encoding: chunked") != NULL)
    while (!g_str_has_suffix (body->str, "\r\n0\r\n\r\n") && !g_str_equal (body->str, "0\r\n\r\n")
           && g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
      g_string_append_c (body, c);
  return g_string_free (g_steal_pointer (&body), FALSE);
}

static gboolean
on_canned (GThreadedSocketService *service,
           GSocketConnection      *connection,
           GObject                *source,
           gpointer                user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GString) head = g_string_new (NULL);
  g_autofree char *body = NULL, *reply = NULL;
  const char *canned;
  char c;

  while (!g_str_has_suffix (head->str, "\r\n\r\n")
         && g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
    g_string_append_c (head, c);
  canned = canned_answer (head->str);
  body = canned_read_body (in, head->str);
  reply = canned != NULL ? g_strdup (canned)
                         : g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                                            "Connection: close\r\n\r\n"
                                            "got %s", strlen (body) + 4, body);
  g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
  return TRUE;
}

/* Keeps its connections (HTTP/1.1): each answer says which connection
 * and which request on it it was. */
static gint kept_connections;

static gboolean
on_kept (GThreadedSocketService *service,
         GSocketConnection      *connection,
         GObject                *source,
         gpointer                user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  gint number = g_atomic_int_add (&kept_connections, 1) + 1;

  for (guint request = 1;; request++)
    {
      g_autoptr(GString) head = g_string_new (NULL);
      g_autofree char *body = NULL, *reply = NULL;
      char c;

      while (!g_str_has_suffix (head->str, "\r\n\r\n")
             && g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
        g_string_append_c (head, c);
      if (!g_str_has_suffix (head->str, "\r\n\r\n"))
        break;
      body = g_strdup_printf ("connection %d request %u", number, request);
      reply = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                               strlen (body), body);
      g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
      if (strstr (head->str, "Connection: close") != NULL)
        break;
    }
  return TRUE;
}

/* Reads requests as a server does (RFC 9112 6.3: chunked if the last
 * coding of every Transfer-Encoding line says so, else Content-Length,
 * else no body), keeps its connections, and records every head it reads:
 * what reached the server, to hold against what the proxy decided. Each
 * answer carries the body it read. */
static GPtrArray *recorded;

/* A line without its CRLF; NULL at the end of the stream. */
static char *
recorder_read_line (GInputStream *in)
{
  g_autoptr(GString) line = g_string_new (NULL);
  char c;

  while (!g_str_has_suffix (line->str, "\r\n"))
    {
      if (g_input_stream_read (in, &c, 1, NULL, NULL) != 1)
        return NULL;
      g_string_append_c (line, c);
    }
  g_string_truncate (line, line->len - 2);
  return g_string_free (g_steal_pointer (&line), FALSE);
}

/* The head's lines up to the blank one, each ending in CRLF. */
static char *
recorder_read_head (GInputStream *in)
{
  g_autoptr(GString) head = g_string_new (NULL);
  char *line;

  while ((line = recorder_read_line (in)) != NULL && line[0] != '\0')
    {
      g_string_append_printf (head, "%s\r\n", line);
      g_free (line);
    }
  if (line == NULL)
    return NULL;
  g_free (line);
  return g_string_free (g_steal_pointer (&head), FALSE);
}

/* Every line of the field @name, as one lower-case list; NULL if none. */
static char *
recorder_field (const char *head,
                const char *name)
{
  g_auto(GStrv) lines = g_strsplit (head, "\r\n", -1);
  GString *list = NULL;

  for (guint i = 1; lines[i] != NULL; i++)
    if (g_ascii_strncasecmp (lines[i], name, strlen (name)) == 0 && lines[i][strlen (name)] == ':')
      {
        if (list == NULL)
          list = g_string_new (NULL);
        else
          g_string_append (list, ", ");
        g_string_append (list, g_strstrip (lines[i] + strlen (name) + 1));
      }
  if (list == NULL)
    return NULL;
  g_string_ascii_down (list);
  return g_string_free (list, FALSE);
}

/* A chunked body, decoded; the trailers read and dropped. */
static void
recorder_read_chunks (GInputStream *in,
                      GString      *body)
{
  for (;;)
    {
      g_autofree char *line = recorder_read_line (in);
      guint64 size = line != NULL ? g_ascii_strtoull (line, NULL, 16) : 0;
      char c;

      if (size == 0)
        break;
      for (guint64 i = 0; i < size && g_input_stream_read (in, &c, 1, NULL, NULL) == 1; i++)
        g_string_append_c (body, c);
      g_free (recorder_read_line (in));
    }
  for (;;)
    {
      g_autofree char *trailer = recorder_read_line (in);

      if (trailer == NULL || trailer[0] == '\0')
        break;
    }
}

static char *
recorder_read_body (GInputStream *in,
                    const char   *head)
{
  g_autofree char *coding = recorder_field (head, "transfer-encoding");
  g_autofree char *length = recorder_field (head, "content-length");
  g_autoptr(GString) body = g_string_new (NULL);
  guint64 size = length != NULL ? g_ascii_strtoull (length, NULL, 10) : 0;
  char c;

  if (coding != NULL && g_str_has_suffix (coding, "chunked"))
    recorder_read_chunks (in, body);
  else
    while (body->len < size && g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
      g_string_append_c (body, c);
  return g_string_free (g_steal_pointer (&body), FALSE);
}

static gboolean
on_recorder (GThreadedSocketService *service,
             GSocketConnection      *connection,
             GObject                *source,
             gpointer                user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  char *head;

  while ((head = recorder_read_head (in)) != NULL)
    {
      g_autofree char *body = recorder_read_body (in, head);
      g_autofree char *reply = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n"
                                                "got %s", strlen (body) + 4, body);
      g_autofree char *close = recorder_field (head, "connection");

      g_mutex_lock (&server_lock);
      g_ptr_array_add (recorded, head);
      g_mutex_unlock (&server_lock);
      g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
      if (close != NULL && strstr (close, "close") != NULL)
        break;
    }
  return TRUE;
}

/* Answers the first request of each connection and keeps it; reads the
 * second, records it, and closes without an answer: a server that went
 * away in the instant the proxy reused its connection. */
static gboolean
on_flaky (GThreadedSocketService *service,
          GSocketConnection      *connection,
          GObject                *source,
          gpointer                user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst";

  for (guint i = 0; i < 2; i++)
    {
      char *head = recorder_read_head (in);

      if (head == NULL)
        break;
      g_mutex_lock (&server_lock);
      g_ptr_array_add (recorded, head);
      g_mutex_unlock (&server_lock);
      if (i == 0)
        g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
    }
  return TRUE;
}

static GSocketService *
start_server (GCallback  handler,
              guint16   *port)
{
  GSocketService *service = g_threaded_socket_service_new (8);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (service, "run", handler, NULL);
  g_socket_service_start (service);
  return service;
}

/* A port nothing listens on: bound, then closed. */
static guint16
closed_port (void)
{
  guint16 port = 0;
  GSocketService *service = start_server (G_CALLBACK (on_echo), &port);

  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_object_unref (service);
  return port;
}

static ClocheEgressRules *
rules_allowing (const char *first,
                ...)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) allow = NULL;
  g_autoptr(GError) error = NULL;
  ClocheEgressRules *rules;
  va_list args;

  va_start (args, first);
  for (const char *rule = first; rule != NULL; rule = va_arg (args, const char *))
    g_strv_builder_add (builder, rule);
  va_end (args);
  allow = g_strv_builder_end (builder);
  rules = cloche_egress_rules_new (FALSE, (const char * const *) allow, NULL, &error);
  g_assert_no_error (error);
  return rules;
}

static void
on_ended (ClocheEgressProxy    *proxy,
          ClocheEgressDecision *decision,
          Fixture              *fixture)
{
  g_assert_true (decision->ended);
  g_ptr_array_add (fixture->ended, cloche_egress_decision_ref (decision));
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(ClocheEgressRules) rules = NULL;
  g_autofree char *echo_rule = NULL, *http_rule = NULL, *closed_rule = NULL;
  g_autofree char *canned_rule = NULL, *kept_rule = NULL, *recorder_rule = NULL;
  g_autofree char *flaky_rule = NULL;
  g_autoptr(GError) error = NULL;

  fixture->echo = start_server (G_CALLBACK (on_echo), &fixture->echo_port);
  fixture->http = start_server (G_CALLBACK (on_http), &fixture->http_port);
  fixture->canned = start_server (G_CALLBACK (on_canned), &fixture->canned_port);
  fixture->kept = start_server (G_CALLBACK (on_kept), &fixture->kept_port);
  fixture->recorder = start_server (G_CALLBACK (on_recorder), &fixture->recorder_port);
  fixture->flaky = start_server (G_CALLBACK (on_flaky), &fixture->flaky_port);
  g_atomic_int_set (&kept_connections, 0);
  recorded = g_ptr_array_new_with_free_func (g_free);
  fixture->closed_port = closed_port ();
  echo_rule = g_strdup_printf ("127.0.0.1:%u", fixture->echo_port);
  http_rule = g_strdup_printf ("localhost:%u", fixture->http_port);
  closed_rule = g_strdup_printf ("127.0.0.1:%u", fixture->closed_port);
  canned_rule = g_strdup_printf ("127.0.0.1:%u", fixture->canned_port);
  kept_rule = g_strdup_printf ("127.0.0.1:%u", fixture->kept_port);
  recorder_rule = g_strdup_printf ("127.0.0.1:%u", fixture->recorder_port);
  flaky_rule = g_strdup_printf ("127.0.0.1:%u", fixture->flaky_port);
  rules = rules_allowing (echo_rule, http_rule, closed_rule, canned_rule, kept_rule,
                          recorder_rule, flaky_rule, NULL);

  fixture->dir = g_dir_make_tmp ("cloche-egress-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->socket_path = g_build_filename (fixture->dir, "cloche", "egress.sock", NULL);
  fixture->proxy = cloche_egress_proxy_new (rules);
  cloche_egress_proxy_listen (fixture->proxy, fixture->socket_path, &error);
  g_assert_no_error (error);
  fixture->ended = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_egress_decision_unref);
  g_signal_connect (fixture->proxy, "decision-ended", G_CALLBACK (on_ended), fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *parent = g_path_get_dirname (fixture->socket_path);

  g_assert_finalize_object (fixture->proxy);
  /* The socket goes with the proxy. */
  g_assert_false (g_file_test (fixture->socket_path, G_FILE_TEST_EXISTS));
  g_rmdir (parent);
  g_rmdir (fixture->dir);
  g_socket_service_stop (fixture->echo);
  g_socket_service_stop (fixture->http);
  g_socket_service_stop (fixture->canned);
  g_socket_service_stop (fixture->kept);
  g_socket_service_stop (fixture->recorder);
  g_socket_service_stop (fixture->flaky);
  g_clear_object (&fixture->echo);
  g_clear_object (&fixture->http);
  g_clear_object (&fixture->canned);
  g_clear_object (&fixture->kept);
  g_clear_object (&fixture->recorder);
  g_clear_object (&fixture->flaky);
  g_clear_pointer (&recorded, g_ptr_array_unref);
  g_ptr_array_unref (fixture->ended);
  g_free (fixture->socket_path);
  g_free (fixture->dir);
}

/* Clients (threads, blocking) */

typedef void (*ClientFunc) (Fixture *fixture,
                            gpointer data);

typedef struct
{
  Fixture    *fixture;
  ClientFunc  func;
  gpointer    data;
  gint        done;
} ClientRun;

static gpointer
client_thread (gpointer user_data)
{
  ClientRun *run = user_data;

  run->func (run->fixture, run->data);
  g_atomic_int_set (&run->done, 1);
  g_main_context_wakeup (NULL);
  return NULL;
}

/* Runs @func in a thread while the proxy runs here. */
static void
run_client (Fixture    *fixture,
            ClientFunc  func,
            gpointer    data)
{
  ClientRun run = { fixture, func, data, 0 };
  GThread *thread = g_thread_new ("client", client_thread, &run);

  while (!g_atomic_int_get (&run.done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  /* What the proxy does after the client saw its answer (decision-ended). */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static int
connect_proxy (Fixture *fixture)
{
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  struct timeval timeout = { .tv_sec = 20 };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_strlcpy (address.sun_path, fixture->socket_path, sizeof address.sun_path);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &address, sizeof address), ==, 0);
  /* A proxy that never answers fails the test instead of hanging it. */
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

/* All of @text, in as many sends as the socket takes. The proxy may answer
 * and close before a head too large is all sent: then the rest is refused
 * (EPIPE, ECONNRESET), and the answer is what the test reads next. */
static void
send_text (int         fd,
           const char *text)
{
  gsize length = strlen (text);
  gsize sent = 0;

  while (sent < length)
    {
      gssize n = send (fd, text + sent, length - sent, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
        return;
      g_assert_cmpint (n, >, 0);
      sent += (gsize) n;
    }
}

/* Everything until the proxy closes (or resets) the connection. */
static char *
receive_all (int fd)
{
  GString *text = g_string_new (NULL);
  char buffer[4096];
  gssize n;

  while ((n = recv (fd, buffer, sizeof buffer, 0)) > 0)
    g_string_append_len (text, buffer, n);
  g_assert_true (n == 0 || errno == ECONNRESET);
  return g_string_free (text, FALSE);
}

/* The proxy's answer up to its blank line. */
static char *
receive_head (int fd)
{
  GString *text = g_string_new (NULL);
  char c;

  while (!g_str_has_suffix (text->str, "\r\n\r\n"))
    {
      g_assert_cmpint (recv (fd, &c, 1, 0), ==, 1);
      g_string_append_c (text, c);
    }
  return g_string_free (text, FALSE);
}

static char *
request_once (Fixture    *fixture,
              const char *request)
{
  int fd = connect_proxy (fixture);
  char *answer;

  if (*request != '\0')
    send_text (fd, request);
  /* Done sending, as a client that waits for its answer may be. */
  g_assert_cmpint (shutdown (fd, SHUT_WR), ==, 0);
  answer = receive_all (fd);
  close (fd);
  return answer;
}

typedef struct
{
  const char *request;
  char       *answer;
} Exchange;

static void
exchange_client (Fixture  *fixture,
                 gpointer  data)
{
  Exchange *exchange = data;

  exchange->answer = request_once (fixture, exchange->request);
}

/* One request, its whole answer. */
static char *
exchange (Fixture    *fixture,
          const char *request)
{
  Exchange exchange = { request, NULL };

  run_client (fixture, exchange_client, &exchange);
  return exchange.answer;
}

static ClocheEgressDecision *
last_decision (Fixture *fixture)
{
  g_autoptr(GPtrArray) decisions = cloche_egress_proxy_dup_decisions (fixture->proxy, 0);

  g_assert_cmpuint (decisions->len, >, 0);
  return cloche_egress_decision_ref (g_ptr_array_index (decisions, decisions->len - 1));
}

static gboolean
on_late (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* The decisions of the last @n requests, in order, once all have ended. */
static GPtrArray *
ended_decisions (Fixture *fixture,
                 guint    n)
{
  g_autoptr(GPtrArray) decisions = NULL;
  gboolean late = FALSE;
  guint timer = g_timeout_add_seconds (20, on_late, &late);

  /* A decision that never ends fails the test instead of hanging it. */
  while (fixture->ended->len < n && !late)
    g_main_context_iteration (NULL, TRUE);
  if (late)
    g_error ("%u decisions ended, not %u", fixture->ended->len, n);
  g_source_remove (timer);
  decisions = cloche_egress_proxy_dup_decisions (fixture->proxy, 0);
  g_assert_cmpuint (decisions->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_true (((ClocheEgressDecision *) g_ptr_array_index (decisions, i))->ended);
  return g_steal_pointer (&decisions);
}

/* Cases */

/* CONNECT, data, then the client shuts down its sending side: the server
 * sees the end of file, and its answer still comes back. */
static void
half_close_client (Fixture  *fixture,
                   gpointer  data)
{
  g_autofree char *request = g_strdup_printf ("CLOCHE-SESSION s1\n"
                                              "CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n",
                                              fixture->echo_port);
  g_autofree char *head = NULL;
  char **answer = data;
  int fd = connect_proxy (fixture);

  send_text (fd, request);
  head = receive_head (fd);
  g_assert_cmpstr (head, ==, "HTTP/1.1 200 Connection established\r\n\r\n");
  send_text (fd, "0123456789");
  g_assert_cmpint (shutdown (fd, SHUT_WR), ==, 0);
  *answer = receive_all (fd);
  close (fd);
}

static void
test_connect_half_close (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *answer = NULL;
  g_autoptr(ClocheEgressDecision) decision = NULL;
  g_autofree char *rule = g_strdup_printf ("allow 127.0.0.1:%u", fixture->echo_port);
  g_autoptr(GHashTable) sessions = NULL;
  ClocheEgressCounters totals, *s1;

  run_client (fixture, half_close_client, &answer);
  g_assert_cmpstr (answer, ==, "got 10 bytes\n");

  while (fixture->ended->len < 1)
    g_main_context_iteration (NULL, TRUE);
  decision = last_decision (fixture);
  g_assert_true (decision->allowed);
  g_assert_true (decision->ended);
  g_assert_cmpstr (decision->rule, ==, rule);
  g_assert_cmpstr (decision->session, ==, "s1");
  g_assert_cmpstr (decision->method, ==, "CONNECT");
  g_assert_cmpstr (decision->host, ==, "127.0.0.1");
  g_assert_cmpuint (decision->bytes_out, ==, 10);
  g_assert_cmpuint (decision->bytes_in, ==, strlen ("got 10 bytes\n"));
  g_assert_null (decision->error);

  cloche_egress_proxy_get_totals (fixture->proxy, &totals);
  g_assert_cmpuint (totals.bytes_out, ==, 10);
  sessions = cloche_egress_proxy_dup_session_counters (fixture->proxy);
  s1 = g_hash_table_lookup (sessions, "s1");
  g_assert_nonnull (s1);
  g_assert_cmpuint (s1->bytes_in, ==, decision->bytes_in);
  g_assert_cmpuint (cloche_egress_proxy_get_connections (fixture->proxy), ==, 0);
}

/* A plain request is forwarded in origin-form, without the proxy's own
 * headers (HTTP/1.1: the server may keep the connection), and counts as
 * "no session" without a session line. */
static void
test_plain_http (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *request = g_strdup_printf ("GET http://localhost:%u/index.html HTTP/1.1\r\n"
                                              "Host: localhost\r\n"
                                              "Proxy-Connection: keep-alive\r\n"
                                              "Accept: */*\r\n\r\n", fixture->http_port);
  g_autofree char *expected_head = g_strdup_printf ("GET /index.html HTTP/1.1\r\n"
                                                    "Host: localhost:%u\r\n"
                                                    "Accept: */*\r\n\r\n",
                                                    fixture->http_port);
  g_autofree char *answer = exchange (fixture, request);
  g_autoptr(ClocheEgressDecision) decision = NULL;

  g_assert_cmpstr (answer, ==, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  g_mutex_lock (&server_lock);
  g_assert_cmpstr (last_http_head, ==, expected_head);
  g_mutex_unlock (&server_lock);
  while (fixture->ended->len < 1)
    g_main_context_iteration (NULL, TRUE);
  decision = last_decision (fixture);
  g_assert_true (decision->allowed);
  g_assert_cmpstr (decision->session, ==, "");
  g_assert_cmpstr (decision->method, ==, "GET");
  g_assert_cmpuint (decision->bytes_in, ==, strlen (answer));
  g_assert_cmpuint (decision->bytes_out, ==, strlen (expected_head));
}

/* The session is the guest's session line's (the forwarder of the
 * session's network namespace sends it first), never what the client
 * says: a Proxy-Authorization naming another session, or naming one on a
 * connection without the line, changes nothing (issue 15, item 10). */
static void
test_session_line (Fixture       *fixture,
                   gconstpointer  data)
{
  static const struct { const char *request; const char *session; } cases[] = {
    { "CLOCHE-SESSION aaa111\nCONNECT 127.0.0.1:9 HTTP/1.1\r\n"
      "Proxy-Authorization: Basic YmJiMjIy\r\n\r\n" /* bbb222 */, "aaa111" },
    { "CLOCHE-SESSION aaa111\r\nGET http://example.com/ HTTP/1.1\r\n"
      "Proxy-Authorization: Basic Og==\r\n\r\n" /* an empty user */, "aaa111" },
    { "CONNECT 127.0.0.1:9 HTTP/1.1\r\nProxy-Authorization: Basic YmJiMjIy\r\n\r\n", "" },
    { "GET http://bbb222@example.com/ HTTP/1.1\r\n\r\n", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *answer = exchange (fixture, cases[i].request);
      g_autoptr(ClocheEgressDecision) decision = NULL;

      if (strstr (cases[i].request, "bbb222@") != NULL)
        {
          /* A user name in the authority is refused outright. */
          g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 400 "));
          continue;
        }
      g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 403 Forbidden\r\n"));
      decision = last_decision (fixture);
      g_assert_cmpstr (decision->session, ==, cases[i].session);
    }
}

/* A session's egress additions (issue 17): the session that adds a host
 * reaches it ("session allow HOST" decides), another session and a
 * connection that names none do not ("default deny"); a new policy keeps
 * the addition on top of it; once dropped (the session closed) the
 * session is back to the policy's rules. A real server on 127.0.0.1 that
 * the fixture's rules do not name. */
static void
test_session_allow (Fixture       *fixture,
                    gconstpointer  data)
{
  guint16 port = 0;
  g_autoptr(GSocketService) server = start_server (G_CALLBACK (on_canned), &port);
  g_autofree char *host = g_strdup_printf ("127.0.0.1:%u", port);
  g_autofree char *rule = g_strdup_printf ("session allow %s", host);
  const char *hosts[] = { host, NULL };
  const char *sessions[] = { "agent1", "other2", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheEgressRules) policy = rules_allowing ("example.invalid:443", NULL);

  g_assert_true (cloche_egress_proxy_set_session_allow (fixture->proxy, "agent1", hosts, &error));
  g_assert_no_error (error);
  g_assert_true (g_strv_equal (g_hash_table_lookup (
                   cloche_egress_proxy_get_session_allow (fixture->proxy), "agent1"), hosts));
  for (guint round = 0; round < 3; round++)
    {
      if (round == 1)
        cloche_egress_proxy_set_rules (fixture->proxy, policy);
      if (round == 2)
        g_assert_true (cloche_egress_proxy_set_session_allow (fixture->proxy, "agent1", NULL,
                                                              &error));
      for (guint i = 0; i < G_N_ELEMENTS (sessions); i++)
        {
          g_autofree char *request = g_strdup_printf ("%s%s%sGET http://%s/ HTTP/1.1\r\n"
                                                      "Connection: close\r\n\r\n",
                                                      sessions[i] ? "CLOCHE-SESSION " : "",
                                                      sessions[i] ? sessions[i] : "",
                                                      sessions[i] ? "\n" : "", host);
          g_autofree char *answer = exchange (fixture, request);
          g_autoptr(ClocheEgressDecision) decision = last_decision (fixture);
          gboolean reaches = i == 0 && round < 2;

          g_assert_cmpstr (decision->session, ==, sessions[i] ? sessions[i] : "");
          g_assert_cmpint (decision->allowed, ==, reaches);
          g_assert_cmpstr (decision->rule, ==, reaches ? rule : "default deny");
          g_assert_true (g_str_has_prefix (answer, reaches ? "HTTP/1.1 200 "
                                                           : "HTTP/1.1 403 "));
        }
    }
  g_assert_cmpuint (g_hash_table_size (cloche_egress_proxy_get_session_allow (fixture->proxy)),
                    ==, 0);
  /* "*" would be every host under one session's name. */
  hosts[0] = "*";
  g_assert_false (cloche_egress_proxy_set_session_allow (fixture->proxy, "agent1", hosts, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID);
  g_socket_service_stop (server);
  g_socket_listener_close (G_SOCKET_LISTENER (server));
}

/* A line that is not one session id, or a second line the client wrote
 * after its forwarder's, is no request: 400, and nothing is allowed or
 * passed on. Like every refusal it is a decision (bad-request): a bad line
 * names no session, and a forged second line is logged as the session
 * whose forwarder sent the first, never as the one it names. */
static void
test_session_line_forged (Fixture       *fixture,
                          gconstpointer  data)
{
  static const struct { const char *request; const char *session; const char *why; } cases[] = {
    { "CLOCHE-SESSION \nGET http://example.com/ HTTP/1.1\r\n\r\n", "", "session line" },
    { "CLOCHE-SESSION a/b\nGET http://example.com/ HTTP/1.1\r\n\r\n", "", "session line" },
    { "CLOCHE-SESSION a b\nGET http://example.com/ HTTP/1.1\r\n\r\n", "", "session line" },
    /* an id longer than 64 */
    { ("CLOCHE-SESSION aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
       "GET http://example.com/ HTTP/1.1\r\n\r\n"), "", "session line" },
    { "CLOCHE-SESSION aaa111\nCLOCHE-SESSION bbb222\nGET http://example.com/ HTTP/1.1\r\n\r\n",
      "aaa111", "request line" },
  };
  g_autoptr(GPtrArray) decisions = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *answer = exchange (fixture, cases[i].request);

      g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 400 Bad Request\r\n"));
    }
  decisions = ended_decisions (fixture, G_N_ELEMENTS (cases));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ClocheEgressDecision *decision = g_ptr_array_index (decisions, i);

      g_assert_cmpstr (decision->rule, ==, CLOCHE_EGRESS_RULE_BAD_REQUEST);
      g_assert_false (decision->allowed);
      g_assert_cmpstr (decision->session, ==, cases[i].session);
      g_assert_cmpstr (decision->host, ==, "");
      g_assert_nonnull (strstr (decision->error, cases[i].why));
      g_assert_cmpuint (decision->bytes_in + decision->bytes_out, ==, 0);
    }
}

/* The forwarder's line may come in pieces, in reads of its own: the
 * connection reads on until it is whole (GREET), then takes the request
 * that follows as the line's session's. */
static void
pieces_client (Fixture  *fixture,
               gpointer  data)
{
  static const char * const pieces[] = { "CLOCHE-SES", "SION ab", "c123\r", "\nCONNECT 127.0.0.1",
                                         ":9 HTTP/1.1\r\n\r\n" };
  char **answer = data;
  int fd = connect_proxy (fixture);

  for (guint i = 0; i < G_N_ELEMENTS (pieces); i++)
    {
      send_text (fd, pieces[i]);
      /* Apart, so that the proxy reads each on its own (if it reads two
       * at once, the test still holds, but tries less). */
      g_usleep (50000);
    }
  *answer = receive_all (fd);
  close (fd);
}

static void
test_session_line_pieces (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *answer = NULL;
  g_autoptr(GPtrArray) decisions = NULL;
  ClocheEgressDecision *decision;

  run_client (fixture, pieces_client, &answer);
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 403 Forbidden\r\n"));
  decisions = ended_decisions (fixture, 1);
  decision = decisions->pdata[0];
  g_assert_cmpstr (decision->session, ==, "abc123");
  g_assert_cmpstr (decision->method, ==, "CONNECT");
  g_assert_cmpstr (decision->host, ==, "127.0.0.1");
}

/* The line as the parser sees it, cut anywhere. */
static void
test_session_line_parse (void)
{
  static const struct { const char *head; ClocheEgressSessionLine result;
                        const char *session; const char *rest; } cases[] = {
    /* nothing yet: the relay's hand-over comes with no byte of the head */
    { "", CLOCHE_EGRESS_SESSION_LINE_MORE, NULL, "" },
    { "C", CLOCHE_EGRESS_SESSION_LINE_MORE, NULL, "C" },
    { "CLOCHE-SESSION", CLOCHE_EGRESS_SESSION_LINE_MORE, NULL, "CLOCHE-SESSION" },
    { "CLOCHE-SESSION ab", CLOCHE_EGRESS_SESSION_LINE_MORE, NULL, "CLOCHE-SESSION ab" },
    { "CLOCHE-SESSION ab\nGET", CLOCHE_EGRESS_SESSION_LINE_FOUND, "ab", "GET" },
    { "CLOCHE-SESSION ab\r\n", CLOCHE_EGRESS_SESSION_LINE_FOUND, "ab", "" },
    { "CLOSE", CLOCHE_EGRESS_SESSION_LINE_NONE, NULL, "CLOSE" },
    { "GET / HTTP/1.1\r\n", CLOCHE_EGRESS_SESSION_LINE_NONE, NULL, "GET / HTTP/1.1\r\n" },
    { "CLOCHE-SESSION a\rb\n", CLOCHE_EGRESS_SESSION_LINE_BAD, NULL, NULL },
    { "CLOCHE-SESSION é\n", CLOCHE_EGRESS_SESSION_LINE_BAD, NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GByteArray) head = g_byte_array_new ();
      g_autofree char *session = NULL;

      g_byte_array_append (head, (const guint8 *) cases[i].head, strlen (cases[i].head));
      g_assert_cmpint (_cloche_egress_session_line_take (head, &session), ==, cases[i].result);
      g_assert_cmpstr (session, ==, cases[i].session);
      if (cases[i].rest != NULL)
        {
          g_assert_cmpuint (head->len, ==, strlen (cases[i].rest));
          g_assert_true (head->len == 0 || memcmp (head->data, cases[i].rest, head->len) == 0);
        }
    }
}

static void
assert_refused (const char *answer,
                const char *rule)
{
  g_autofree char *rule_header = g_strdup_printf ("X-Cloche-Rule: %s\r\n", rule);
  g_autofree char *rule_line = g_strdup_printf ("Rule: %s\n", rule);

  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 403 Forbidden\r\n"));
  g_assert_nonnull (strstr (answer, rule_header));
  g_assert_nonnull (strstr (answer, rule_line));
  g_assert_nonnull (strstr (answer, "policy"));
}

/* An allowed host on another port, and a host no rule names. */
static void
test_refused (Fixture       *fixture,
              gconstpointer  data)
{
  g_autofree char *other_port = exchange (fixture, "CLOCHE-SESSION s2\r\n"
                                          "CONNECT 127.0.0.1:9 HTTP/1.1\r\n\r\n");
  g_autofree char *unlisted = exchange (fixture, "GET http://example.com/ HTTP/1.1\r\n\r\n");
  g_autoptr(GPtrArray) decisions = cloche_egress_proxy_dup_decisions (fixture->proxy, 0);
  ClocheEgressDecision *first, *second;

  assert_refused (other_port, "default deny");
  g_assert_nonnull (strstr (other_port, "add “127.0.0.1:9”"));
  g_assert_nonnull (strstr (other_port, "Session: s2\n"));
  assert_refused (unlisted, "default deny");
  g_assert_cmpuint (decisions->len, ==, 2);
  first = g_ptr_array_index (decisions, 0);
  second = g_ptr_array_index (decisions, 1);
  g_assert_false (first->allowed);
  g_assert_cmpstr (first->host, ==, "127.0.0.1");
  g_assert_cmpuint (first->port, ==, 9);
  g_assert_cmpstr (first->session, ==, "s2");
  g_assert_cmpstr (second->host, ==, "example.com");
  g_assert_cmpuint (second->port, ==, 80);
  g_assert_cmpuint (second->id, ==, first->id + 1);
  /* Both ended at once, with nothing sent anywhere. */
  g_assert_cmpuint (fixture->ended->len, ==, 2);
  g_assert_cmpuint (first->bytes_in + first->bytes_out, ==, 0);
  /* "since" is a decision id */
  g_ptr_array_unref (decisions);
  decisions = cloche_egress_proxy_dup_decisions (fixture->proxy, first->id);
  g_assert_cmpuint (decisions->len, ==, 1);
}

/* New rules decide the next request, with nothing restarted. */
static void
test_set_rules (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *request = g_strdup_printf ("GET http://localhost:%u/ HTTP/1.1\r\n\r\n",
                                              fixture->http_port);
  g_autofree char *deny = g_strdup_printf ("localhost:%u", fixture->http_port);
  const char *deny_list[] = { deny, NULL };
  g_autoptr(ClocheEgressRules) rules =
    cloche_egress_rules_new (TRUE, NULL, deny_list, NULL);
  g_autofree char *before = NULL, *after = NULL, *rule = g_strdup_printf ("deny %s", deny);

  before = exchange (fixture, request);
  g_assert_true (g_str_has_prefix (before, "HTTP/1.1 200 "));
  cloche_egress_proxy_set_rules (fixture->proxy, rules);
  after = exchange (fixture, request);
  assert_refused (after, rule);
  g_assert_nonnull (strstr (after, "remove or narrow"));
}

/* A non-loopback address of this host's own interfaces, or NULL. */
static char *
own_address (void)
{
  struct ifaddrs *list = NULL;
  char *found = NULL;

  g_assert_cmpint (getifaddrs (&list), ==, 0);
  for (struct ifaddrs *i = list; i != NULL && found == NULL; i = i->ifa_next)
    if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET
        && !(i->ifa_flags & IFF_LOOPBACK))
      {
        g_autoptr(GSocketAddress) address =
          g_socket_address_new_from_native (i->ifa_addr, sizeof (struct sockaddr_in));

        found = g_inet_address_to_string (
          g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
      }
  freeifaddrs (list);
  return found;
}

static void
assert_host_local (Fixture    *fixture,
                   const char *authority,
                   const char *address)
{
  g_autofree char *request = g_strdup_printf ("CONNECT %s HTTP/1.1\r\n\r\n", authority);
  g_autofree char *answer = NULL;
  g_autofree char *named = g_strdup_printf ("(%s)", address != NULL ? address : "");
  g_autoptr(ClocheEgressDecision) decision = NULL;

  g_test_message ("CONNECT %s", authority);
  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "Egress: refused *: it resolves to *");
  answer = exchange (fixture, request);
  g_test_assert_expected_messages ();
  assert_refused (answer, "host-local");
  if (address != NULL)
    g_assert_nonnull (strstr (answer, named));
  g_assert_nonnull (strstr (answer, "allow rule naming the host"));
  decision = last_decision (fixture);
  g_assert_false (decision->allowed);
  g_assert_cmpstr (decision->rule, ==, "host-local");
  g_assert_true (decision->ended);
}

/* With "default allow" (or "allow *"), a request that resolves to the
 * host itself or its private network is refused, by the rule
 * "host-local"; one an allow rule names goes through. */
static void
test_host_local (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *named = g_strdup_printf ("127.0.0.1:%u", fixture->http_port);
  g_autofree char *echo = g_strdup_printf ("127.0.0.1:%u", fixture->echo_port);
  g_autofree char *by_name = g_strdup_printf ("localhost:%u", fixture->http_port);
  g_autofree char *get = g_strdup_printf ("GET http://%s/ HTTP/1.1\r\n\r\n", named);
  g_autofree char *own = own_address ();
  g_autofree char *own_authority = g_strdup_printf ("%s:80", own);
  const char *allow[] = { named, NULL };
  const char *allow_any[] = { "*", NULL };
  g_autoptr(ClocheEgressRules) default_allow = cloche_egress_rules_new (TRUE, allow, NULL, NULL);
  g_autoptr(ClocheEgressRules) star = cloche_egress_rules_new (FALSE, allow_any, NULL, NULL);
  g_autofree char *answer = NULL;

  cloche_egress_proxy_set_rules (fixture->proxy, default_allow);
  assert_host_local (fixture, echo, "127.0.0.1");
  /* A name is judged by what it resolves to (127.0.0.1 or ::1, whichever
   * the resolver gives first); the rule names 127.0.0.1, not this name. */
  assert_host_local (fixture, by_name, NULL);
  assert_host_local (fixture, "[::1]:80", "::1");
  /* An IPv4 address written inside IPv6 is decided, logged and reached
   * as the IPv4 address. */
  assert_host_local (fixture, "[::ffff:127.0.0.1]:80", "127.0.0.1");
  assert_host_local (fixture, "0.0.0.0:80", "0.0.0.0");
  assert_host_local (fixture, "169.254.169.254:80", "169.254.169.254");
  assert_host_local (fixture, "10.1.2.3:443", "10.1.2.3");
  assert_host_local (fixture, "172.20.0.1:443", "172.20.0.1");
  assert_host_local (fixture, "192.168.1.1:443", "192.168.1.1");
  assert_host_local (fixture, "[fd00::1]:443", "fd00::1");
  assert_host_local (fixture, "[fe80::1]:443", "fe80::1");
  if (own != NULL)
    assert_host_local (fixture, own_authority, own);

  /* The allow rule that names the host itself. */
  answer = exchange (fixture, get);
  g_assert_cmpstr (answer, ==, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");

  /* "*" names no host either. */
  cloche_egress_proxy_set_rules (fixture->proxy, star);
  assert_host_local (fixture, echo, "127.0.0.1");
}

static void
test_server_closed (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autofree char *request = g_strdup_printf ("CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n",
                                              fixture->closed_port);
  g_autofree char *answer = exchange (fixture, request);
  g_autoptr(ClocheEgressDecision) decision = last_decision (fixture);

  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 502 Bad Gateway\r\n"));
  g_assert_nonnull (strstr (answer, "could not make it"));
  g_assert_true (decision->allowed);
  g_assert_nonnull (decision->error);
  g_assert_true (decision->ended);
}

/* Bad input */

static void
assert_status (const char *answer,
               const char *status_line)
{
  if (!g_str_has_prefix (answer, status_line))
    g_error ("expected “%s”, got “%s”", status_line, answer);
}

/* A refusal the rules did not make: a decision all the same. */
static void
assert_refusal (ClocheEgressDecision *decision,
                const char           *method,
                const char           *host,
                guint16               port,
                const char           *rule,
                const char           *why)
{
  g_assert_false (decision->allowed);
  g_assert_true (decision->ended);
  g_assert_cmpstr (decision->method, ==, method);
  g_assert_cmpstr (decision->host, ==, host);
  g_assert_cmpuint (decision->port, ==, port);
  g_assert_cmpstr (decision->rule, ==, rule);
  g_assert_nonnull (decision->error);
  if (strstr (decision->error, why) == NULL)
    g_error ("the decision says “%s”, not “%s”", decision->error, why);
  g_assert_cmpuint (decision->bytes_in + decision->bytes_out, ==, 0);
}

static void
test_garbage (Fixture       *fixture,
              gconstpointer  data)
{
  static const char tls[] = "\x16\x03\x01\x02\xff\x01\x7f\x01\xfc\x03\x03\r\n\r\n";
  g_autofree char *binary = NULL, *origin = NULL, *empty = NULL;
  g_autoptr(GPtrArray) decisions = NULL;

  /* One log line each. */
  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "Egress: 400 Bad Request: *request line*");
  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "Egress: 400 Bad Request: *itself*");
  binary = exchange (fixture, tls);
  origin = exchange (fixture, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  empty = exchange (fixture, "");
  g_test_assert_expected_messages ();
  assert_status (binary, "HTTP/1.1 400 Bad Request\r\n");
  assert_status (origin, "HTTP/1.1 400 Bad Request\r\n");
  g_assert_nonnull (strstr (origin, "request for this proxy itself"));
  g_assert_nonnull (strstr (origin, "X-Cloche-Rule: bad-request\r\n"));
  /* A client that says nothing and leaves gets nothing. */
  g_assert_cmpstr (empty, ==, "");
  /* Each refusal is a decision, ended at once, with what it asked for as
   * far as it can be told and why; the client that said nothing made none. */
  decisions = ended_decisions (fixture, 2);
  assert_refusal (decisions->pdata[0], "", "", 0, "bad-request", "request line");
  assert_refusal (decisions->pdata[1], "GET", "", 0, "bad-request", "itself");
  g_assert_cmpuint (cloche_egress_proxy_get_connections (fixture->proxy), ==, 0);
}

/* busybox wget sends "GET https://…" to a proxy: refused, as a decision
 * that names the host, the session (its session line's, not the "s4" its
 * Proxy-Authorization names) and the reason. */
static void
test_https_without_connect (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autofree char *answer = NULL;
  g_autoptr(GPtrArray) decisions = NULL;
  ClocheEgressDecision *decision;

  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "Egress: 400 Bad Request: *CONNECT*");
  answer = exchange (fixture, "CLOCHE-SESSION s3\n"
                              "GET https://Example.com/file HTTP/1.1\r\nHost: example.com\r\n"
                              "User-Agent: Wget\r\nProxy-Authorization: Basic czQ=\r\n\r\n");
  g_test_assert_expected_messages ();
  assert_status (answer, "HTTP/1.1 400 Bad Request\r\n");
  decisions = ended_decisions (fixture, 1);
  decision = decisions->pdata[0];
  assert_refusal (decision, "GET", "example.com", 443, "bad-request", "must go through CONNECT");
  g_assert_cmpstr (decision->session, ==, "s3");
}

static void
test_oversized_head (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GString) request = g_string_new ("GET http://example.com/ HTTP/1.1\r\n");
  g_autofree char *answer = NULL;
  g_autoptr(GPtrArray) decisions = NULL;
  ClocheEgressLimits limits;

  cloche_egress_proxy_get_limits (fixture->proxy, &limits);
  limits.max_header_size = 2048;
  cloche_egress_proxy_set_limits (fixture->proxy, &limits);
  /* Never-ending headers: the proxy must stop reading at its limit. */
  while (request->len < 64 * 1024)
    g_string_append (request, "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "Egress: 431 *");
  answer = exchange (fixture, request->str);
  g_test_assert_expected_messages ();
  assert_status (answer, "HTTP/1.1 431 Request Header Fields Too Large\r\n");
  decisions = ended_decisions (fixture, 1);
  assert_refusal (decisions->pdata[0], "GET", "example.com", 80, "head-too-large", "2048");
}

/* A head cut off before its blank line, then nothing more. */
static void
slow_client (Fixture  *fixture,
             gpointer  data)
{
  char **answer = data;
  int fd = connect_proxy (fixture);

  send_text (fd, "GET http://example.com/ HTTP/1.1\r\nHost: exa");
  *answer = receive_all (fd);
  close (fd);
}

static void
test_slow_sender (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *answer = NULL;
  g_autoptr(GPtrArray) decisions = NULL;
  ClocheEgressLimits limits;

  cloche_egress_proxy_get_limits (fixture->proxy, &limits);
  limits.header_timeout_ms = 300;
  cloche_egress_proxy_set_limits (fixture->proxy, &limits);
  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "Egress: 408 *");
  run_client (fixture, slow_client, &answer);
  g_test_assert_expected_messages ();
  assert_status (answer, "HTTP/1.1 408 Request Timeout\r\n");
  g_assert_cmpuint (cloche_egress_proxy_get_connections (fixture->proxy), ==, 0);
  decisions = ended_decisions (fixture, 1);
  assert_refusal (decisions->pdata[0], "GET", "example.com", 80, "head-timeout", "in time");
}

/* A tunnel nobody uses is closed after the idle limit; one in use is not. */
static void
idle_client (Fixture  *fixture,
             gpointer  data)
{
  g_autofree char *request = g_strdup_printf ("CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n",
                                              fixture->echo_port);
  g_autofree char *head = NULL;
  char **answer = data;
  int fd = connect_proxy (fixture);

  send_text (fd, request);
  head = receive_head (fd);
  g_assert_true (g_str_has_prefix (head, "HTTP/1.1 200 "));
  /* The echo server answers only at the end; the proxy ends it first. */
  *answer = receive_all (fd);
  close (fd);
}

static void
test_idle_tunnel (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autofree char *answer = NULL;
  ClocheEgressLimits limits;

  cloche_egress_proxy_get_limits (fixture->proxy, &limits);
  limits.idle_timeout_ms = 300;
  cloche_egress_proxy_set_limits (fixture->proxy, &limits);
  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "*nothing either way*");
  run_client (fixture, idle_client, &answer);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (answer, ==, "");
  while (fixture->ended->len < 1)
    g_main_context_iteration (NULL, TRUE);
}

/* Keep-alive: many requests on one connection, each decided on its own */

typedef struct
{
  char     *send;       /* NULL: send nothing */
  char     *expect;     /* exactly these bytes back; NULL: one answer framed by Content-Length */
  char     *got;        /* what came back for a NULL expect */
} Step;

typedef struct
{
  Step     steps[8];
  guint    n_steps;
  gboolean keep_open;   /* do not shut down the sending side at the end */
  char    *tail;        /* everything after the last step, until the proxy closed */
} Script;

static void
script_add (Script     *script,
            char       *send,
            const char *expect)
{
  g_assert_cmpuint (script->n_steps, <, G_N_ELEMENTS (script->steps));
  script->steps[script->n_steps].send = send;
  script->steps[script->n_steps].expect = g_strdup (expect);
  script->n_steps++;
}

static void
script_clear (Script *script)
{
  for (guint i = 0; i < script->n_steps; i++)
    {
      g_free (script->steps[i].send);
      g_free (script->steps[i].expect);
      g_free (script->steps[i].got);
    }
  g_free (script->tail);
}

/* Exactly @expected, or the test fails (an early close included). */
static void
receive_exactly (int         fd,
                 const char *expected)
{
  gsize length = strlen (expected);
  g_autofree char *got = g_malloc0 (length + 1);
  gsize have = 0;

  while (have < length)
    {
      gssize n = recv (fd, got + have, length - have, 0);

      if (n <= 0)
        break;
      have += n;
    }
  g_assert_cmpstr (got, ==, expected);
}

/* One answer: its head, then as many bytes as its Content-Length says. */
static char *
receive_answer (int fd)
{
  g_autofree char *head = receive_head (fd);
  const char *length = strstr (head, "Content-Length: ");
  gsize n = length != NULL ? g_ascii_strtoull (length + 16, NULL, 10) : 0;
  g_autofree char *body = g_malloc0 (n + 1);
  gsize have = 0;

  while (have < n)
    {
      gssize got = recv (fd, body + have, n - have, 0);

      g_assert_cmpint (got, >, 0);
      have += got;
    }
  return g_strconcat (head, body, NULL);
}

static void
script_client (Fixture  *fixture,
               gpointer  data)
{
  Script *script = data;
  int fd = connect_proxy (fixture);

  for (guint i = 0; i < script->n_steps; i++)
    {
      Step *step = &script->steps[i];

      if (step->send != NULL)
        send_text (fd, step->send);
      if (step->expect != NULL)
        receive_exactly (fd, step->expect);
      else
        step->got = receive_answer (fd);
    }
  if (!script->keep_open)
    g_assert_cmpint (shutdown (fd, SHUT_WR), ==, 0);
  script->tail = receive_all (fd);
  close (fd);
}

static char *
get (const char *method,
     const char *host,
     guint16     port,
     const char *path,
     const char *headers)
{
  return g_strdup_printf ("%s http://%s:%u%s HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, host,
                          port, path, host, headers != NULL ? headers : "");
}

#define HELLO "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
#define GOT_NOTHING "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngot "

static void
assert_decision (GPtrArray  *decisions,
                 guint       i,
                 const char *host,
                 gboolean    allowed,
                 const char *rule)
{
  ClocheEgressDecision *decision = g_ptr_array_index (decisions, i);

  g_assert_cmpstr (decision->host, ==, host);
  g_assert_cmpint (decision->allowed, ==, allowed);
  g_assert_cmpstr (decision->rule, ==, rule);
}

/* Two allowed hosts, one after the other on one connection: each request
 * its own decision, rule and bytes. */
static void
test_keep_alive_two_hosts (Fixture       *fixture,
                           gconstpointer  data)
{
  Script script = { 0 };
  g_autoptr(GPtrArray) decisions = NULL;
  g_autofree char *first_rule = g_strdup_printf ("allow localhost:%u", fixture->http_port);
  g_autofree char *second_rule = g_strdup_printf ("allow 127.0.0.1:%u", fixture->canned_port);
  ClocheEgressDecision *first;

  script_add (&script, get ("GET", "localhost", fixture->http_port, "/a", NULL), HELLO);
  script_add (&script, get ("GET", "127.0.0.1", fixture->canned_port, "/b", NULL), GOT_NOTHING);
  run_client (fixture, script_client, &script);
  g_assert_cmpstr (script.tail, ==, "");
  decisions = ended_decisions (fixture, 2);
  assert_decision (decisions, 0, "localhost", TRUE, first_rule);
  assert_decision (decisions, 1, "127.0.0.1", TRUE, second_rule);
  first = g_ptr_array_index (decisions, 0);
  g_assert_cmpuint (first->bytes_in, ==, strlen (HELLO));
  g_assert_cmpuint (((ClocheEgressDecision *) g_ptr_array_index (decisions, 1))->bytes_in, ==,
                    strlen (GOT_NOTHING));
  g_assert_cmpuint (cloche_egress_proxy_get_connections (fixture->proxy), ==, 0);
  script_clear (&script);
}

/* Allowed, refused, allowed: the refusal is answered and the connection
 * carries on; each request is logged with the rule that decided it. */
static void
test_keep_alive_refused_between (Fixture       *fixture,
                                 gconstpointer  data)
{
  Script script = { 0 };
  g_autoptr(GPtrArray) decisions = NULL;
  g_autofree char *rule = g_strdup_printf ("allow localhost:%u", fixture->http_port);

  script_add (&script, get ("GET", "localhost", fixture->http_port, "/", NULL), HELLO);
  script_add (&script, get ("GET", "example.com", 80, "/", NULL), NULL);
  script_add (&script, get ("GET", "localhost", fixture->http_port, "/", NULL), HELLO);
  run_client (fixture, script_client, &script);
  assert_refused (script.steps[1].got, "default deny");
  g_assert_null (strstr (script.steps[1].got, "Connection: close"));
  g_assert_cmpstr (script.tail, ==, "");
  decisions = ended_decisions (fixture, 3);
  assert_decision (decisions, 0, "localhost", TRUE, rule);
  assert_decision (decisions, 1, "example.com", FALSE, "default deny");
  assert_decision (decisions, 2, "localhost", TRUE, rule);
  script_clear (&script);
}

/* A chunked answer is passed on as it is, to its last chunk and trailer,
 * and the next request follows. */
static void
test_keep_alive_chunked (Fixture       *fixture,
                         gconstpointer  data)
{
  Script script = { 0 };

  script_add (&script, get ("GET", "127.0.0.1", fixture->canned_port, "/chunked", NULL),
              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
  script_add (&script, get ("GET", "localhost", fixture->http_port, "/", NULL), HELLO);
  run_client (fixture, script_client, &script);
  g_assert_cmpstr (script.tail, ==, "");
  g_ptr_array_unref (ended_decisions (fixture, 2));
  script_clear (&script);
}

/* HEAD (a length, no body), 204 (no body) and 100 Continue (an interim
 * answer): none may make the proxy wait for bytes that never come. */
static void
test_keep_alive_no_body (Fixture       *fixture,
                         gconstpointer  data)
{
  Script script = { 0 };

  script_add (&script, get ("HEAD", "127.0.0.1", fixture->canned_port, "/", NULL),
              "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  script_add (&script, get ("GET", "127.0.0.1", fixture->canned_port, "/204", NULL),
              "HTTP/1.1 204 No Content\r\nX-Empty: yes\r\n\r\n");
  script_add (&script, get ("GET", "127.0.0.1", fixture->canned_port, "/continue", NULL),
              "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  script_add (&script, get ("GET", "localhost", fixture->http_port, "/", NULL), HELLO);
  run_client (fixture, script_client, &script);
  g_assert_cmpstr (script.tail, ==, "");
  g_ptr_array_unref (ended_decisions (fixture, 4));
  script_clear (&script);
}

/* Request bodies, by length and chunked, end where their framing says:
 * the server gets each whole, and the next request is not part of it. */
static void
test_keep_alive_bodies (Fixture       *fixture,
                        gconstpointer  data)
{
  Script script = { 0 };
  g_autofree char *post = get ("POST", "127.0.0.1", fixture->canned_port, "/",
                               "Content-Length: 11\r\n");
  g_autofree char *chunked = get ("POST", "127.0.0.1", fixture->canned_port, "/",
                                  "Transfer-Encoding: chunked\r\n");

  /* Each body sent with the next request's head right behind it. */
  script_add (&script, g_strconcat (post, "hello world", chunked, "3\r\nabc\r\n0\r\n\r\n", NULL),
              "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\ngot hello world");
  script_add (&script, NULL, "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n"
                             "got 3\r\nabc\r\n0\r\n\r\n");
  script_add (&script, get ("GET", "localhost", fixture->http_port, "/", NULL), HELLO);
  run_client (fixture, script_client, &script);
  g_assert_cmpstr (script.tail, ==, "");
  g_ptr_array_unref (ended_decisions (fixture, 3));
  script_clear (&script);
}

/* A good request with garbage right behind it: the answer, then 400 and
 * the end; the proxy carries on for others. */
static void
test_keep_alive_pipelined_garbage (Fixture       *fixture,
                                   gconstpointer  data)
{
  Script script = { 0 };
  g_autofree char *good = get ("GET", "localhost", fixture->http_port, "/", NULL);
  g_autoptr(GPtrArray) decisions = NULL;

  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "Egress: 400 Bad Request: *");
  script_add (&script, g_strconcat (good, "\x16\x03\x01 NOT HTTP\r\n\r\n", NULL), HELLO);
  script.keep_open = TRUE;
  run_client (fixture, script_client, &script);
  g_test_assert_expected_messages ();
  assert_status (script.tail, "HTTP/1.1 400 Bad Request\r\n");
  g_assert_nonnull (strstr (script.tail, "Connection: close\r\n"));
  /* The garbage is a decision of its own, after the good request's. */
  decisions = ended_decisions (fixture, 2);
  assert_refusal (decisions->pdata[1], "", "", 0, "bad-request", "request line");
  script_clear (&script);

  memset (&script, 0, sizeof script);
  script_add (&script, get ("GET", "localhost", fixture->http_port, "/", NULL), HELLO);
  run_client (fixture, script_client, &script);
  g_assert_cmpstr (script.tail, ==, "");
  g_assert_cmpuint (cloche_egress_proxy_get_connections (fixture->proxy), ==, 0);
  script_clear (&script);
}

/* "Connection: close" from the client, and an answer that ends with the
 * server's close: the proxy says so and closes, without waiting for the
 * client to go. */
static void
test_keep_alive_close (Fixture       *fixture,
                       gconstpointer  data)
{
  Script script = { 0 };

  script_add (&script, get ("GET", "localhost", fixture->http_port, "/",
                            "Connection: close\r\n"), NULL);
  script.keep_open = TRUE;
  run_client (fixture, script_client, &script);
  g_assert_nonnull (strstr (script.steps[0].got, "\r\nConnection: close\r\n"));
  g_assert_true (g_str_has_suffix (script.steps[0].got, "hello"));
  g_assert_cmpstr (script.tail, ==, "");
  script_clear (&script);

  memset (&script, 0, sizeof script);
  script_add (&script, get ("GET", "127.0.0.1", fixture->canned_port, "/close", NULL),
              "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
  script.keep_open = TRUE;
  run_client (fixture, script_client, &script);
  g_assert_cmpstr (script.tail, ==, "until the server closes");
  g_ptr_array_unref (ended_decisions (fixture, 2));
  script_clear (&script);
}

/* A kept connection with no next request is closed after the idle limit. */
static void
test_keep_alive_idle (Fixture       *fixture,
                      gconstpointer  data)
{
  Script script = { 0 };
  ClocheEgressLimits limits;

  cloche_egress_proxy_get_limits (fixture->proxy, &limits);
  limits.idle_timeout_ms = 300;
  cloche_egress_proxy_set_limits (fixture->proxy, &limits);
  script_add (&script, get ("GET", "localhost", fixture->http_port, "/", NULL), HELLO);
  script.keep_open = TRUE;
  run_client (fixture, script_client, &script);
  g_assert_cmpstr (script.tail, ==, "");
  g_ptr_array_unref (ended_decisions (fixture, 1));
  g_assert_cmpuint (cloche_egress_proxy_get_connections (fixture->proxy), ==, 0);
  script_clear (&script);
}

#define KEPT_ANSWER(c, r) "HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\nconnection " c " request " r

/* Requests to one host and port on one guest connection share one server
 * connection, each still its own decision; another host, or a server that
 * closed the kept one, gets a new connection. */
static void
test_keep_alive_reuse (Fixture       *fixture,
                       gconstpointer  data)
{
  Script script = { 0 };
  g_autoptr(GPtrArray) decisions = NULL;
  g_autofree char *rule = g_strdup_printf ("allow 127.0.0.1:%u", fixture->kept_port);

  script_add (&script, get ("GET", "127.0.0.1", fixture->kept_port, "/1", NULL),
              KEPT_ANSWER ("1", "1"));
  script_add (&script, get ("GET", "127.0.0.1", fixture->kept_port, "/2", NULL),
              KEPT_ANSWER ("1", "2"));
  /* The test's other server closes after each answer: the next request
   * to it cannot use that connection. */
  script_add (&script, get ("GET", "localhost", fixture->http_port, "/", NULL), HELLO);
  script_add (&script, get ("GET", "localhost", fixture->http_port, "/", NULL), HELLO);
  script_add (&script, get ("GET", "127.0.0.1", fixture->kept_port, "/3", NULL),
              KEPT_ANSWER ("2", "1"));
  run_client (fixture, script_client, &script);
  g_assert_cmpstr (script.tail, ==, "");
  decisions = ended_decisions (fixture, 5);
  assert_decision (decisions, 0, "127.0.0.1", TRUE, rule);
  assert_decision (decisions, 1, "127.0.0.1", TRUE, rule);
  assert_decision (decisions, 4, "127.0.0.1", TRUE, rule);
  script_clear (&script);
}

/* Request smuggling (issue 15, item 11) */

/* The heads the recorder read, once it has read @n. */
static GPtrArray *
recorded_heads (guint n)
{
  GPtrArray *heads = g_ptr_array_new_with_free_func (g_free);

  for (gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
       g_get_monotonic_time () < end;)
    {
      g_mutex_lock (&server_lock);
      if (recorded->len >= n)
        {
          for (guint i = 0; i < recorded->len; i++)
            g_ptr_array_add (heads, g_strdup (recorded->pdata[i]));
          g_ptr_array_set_size (recorded, 0);
          g_mutex_unlock (&server_lock);
          return heads;
        }
      g_mutex_unlock (&server_lock);
      g_usleep (10 * 1000);
    }
  g_error ("the server read %u requests, not %u", recorded->len, n);
}

/* What reached the server for a request the proxy decided: its request
 * line, Host as the proxy decided it, none of the proxy's own headers. */
static void
assert_reached (const char *head,
                const char *request_line,
                guint16     port)
{
  g_autofree char *host = recorder_field (head, "host");
  g_autofree char *expected_host = g_strdup_printf ("127.0.0.1:%u", port);
  g_autofree char *connection = NULL;

  if (!g_str_has_prefix (head, request_line))
    g_error ("the server read “%s”, not “%s”", head, request_line);
  g_assert_cmpstr (host, ==, expected_host);
  g_assert_null (strstr (head, "Proxy-Authorization"));
  g_assert_null (connection = recorder_field (head, "connection"));
}

/* A POST whose body is a whole request, then a GET: whatever the POST's
 * Connection names, the server reads two requests, the ones the proxy
 * decided, and the POST's body as its body. @chunked: the body in the
 * chunked coding, else by Content-Length. */
static void
assert_not_smuggled (Fixture    *fixture,
                     const char *connection,
                     gboolean    chunked,
                     guint       round)
{
  static const char smuggled[] = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  guint16 port = fixture->recorder_port;
  g_autofree char *body = chunked ? g_strdup_printf ("%zx\r\n%s\r\n0\r\n\r\n", strlen (smuggled),
                                                     smuggled)
                                  : g_strdup (smuggled);
  g_autofree char *framing = chunked ? g_strdup ("Transfer-Encoding: chunked\r\n")
                                     : g_strdup_printf ("Content-Length: %zu\r\n", strlen (body));
  g_autofree char *answer = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n"
                                             "got %s", strlen (smuggled) + 4, smuggled);
  g_autoptr(GPtrArray) heads = NULL;
  Script script = { 0 };

  g_test_message ("%s (%s)", connection, chunked ? "chunked" : "Content-Length");
  script_add (&script, g_strdup_printf ("POST http://127.0.0.1:%u/a HTTP/1.1\r\n%s"
                                        "Proxy-Authorization: Basic czE=\r\n%s\r\n%s", port,
                                        connection, framing, body), answer);
  script_add (&script, get ("GET", "127.0.0.1", port, "/b", NULL), GOT_NOTHING);
  run_client (fixture, script_client, &script);
  g_assert_cmpstr (script.tail, ==, "");
  g_ptr_array_unref (ended_decisions (fixture, 2 * round));
  heads = recorded_heads (2);
  g_assert_cmpuint (heads->len, ==, 2);
  assert_reached (heads->pdata[0], "POST /a HTTP/1.1\r\n", port);
  assert_reached (heads->pdata[1], "GET /b HTTP/1.1\r\n", port);
  g_assert_nonnull (strstr (heads->pdata[0], chunked ? "Transfer-Encoding: chunked\r\n"
                                                     : "Content-Length: "));
  script_clear (&script);
}

static void
test_smuggle_connection (Fixture       *fixture,
                         gconstpointer  data)
{
  static const char * const connections[] = {
    "Connection: Content-Length, Transfer-Encoding\r\n",
    "connection: keep-alive, content-length\r\n",
    "CONNECTION:TRANSFER-ENCODING\r\n",
    "Connection: keep-alive\r\nConnection: \tContent-Length ,Transfer-Encoding,\r\n",
    "Connection: Host\r\n",
    "Connection: Proxy-Authorization, Proxy-Connection\r\nProxy-Connection: content-length\r\n",
  };
  guint round = 0;

  for (guint i = 0; i < G_N_ELEMENTS (connections); i++)
    {
      assert_not_smuggled (fixture, connections[i], FALSE, ++round);
      assert_not_smuggled (fixture, connections[i], TRUE, ++round);
    }
}

/* A kept server connection that the server closes as the next request
 * arrives: a request that may be sent twice (GET, RFC 9110 9.2.2) is sent
 * again on a new connection, once; any other reached the server once, as
 * decided once, and gets 502 rather than a second delivery. */
static void
test_retry_idempotent_only (Fixture       *fixture,
                            gconstpointer  data)
{
  static const char first[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst";
  guint16 port = fixture->flaky_port;
  g_autoptr(GPtrArray) heads = NULL;
  Script script = { 0 };

  script_add (&script, get ("GET", "127.0.0.1", port, "/1", NULL), first);
  script_add (&script, get ("GET", "127.0.0.1", port, "/2", NULL), first);
  script_add (&script, get ("POST", "127.0.0.1", port, "/3", "Content-Length: 0\r\n"), NULL);
  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "Egress: the answer of * cannot be "
                         "passed on: the server closed the connection without an answer");
  run_client (fixture, script_client, &script);
  g_test_assert_expected_messages ();
  assert_status (script.steps[2].got, "HTTP/1.1 502 Bad Gateway\r\n");
  g_ptr_array_unref (ended_decisions (fixture, 3));
  /* GET /2 twice (the first time on the closed connection), POST /3 once. */
  heads = recorded_heads (4);
  g_assert_cmpuint (heads->len, ==, 4);
  g_assert_true (g_str_has_prefix (heads->pdata[1], "GET /2 "));
  g_assert_true (g_str_has_prefix (heads->pdata[2], "GET /2 "));
  g_assert_true (g_str_has_prefix (heads->pdata[3], "POST /3 "));
  script_clear (&script);
}

/* Connections beyond the limit get 503 without being read; the ones
 * within it carry on. */
static void
crowd_client (Fixture  *fixture,
              gpointer  data)
{
  g_autofree char *request = g_strdup_printf ("CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\n",
                                              fixture->echo_port);
  char **answers = data;
  int held[2], extra;

  /* Two connections that have sent half a head, so they stay open. */
  for (guint i = 0; i < 2; i++)
    {
      held[i] = connect_proxy (fixture);
      send_text (held[i], "CONNECT 127.0.0.1:");
    }
  /* Let the proxy accept them before the third arrives. */
  g_usleep (200 * 1000);
  extra = connect_proxy (fixture);
  answers[0] = receive_all (extra);
  close (extra);
  send_text (held[0], request + strlen ("CONNECT 127.0.0.1:"));
  shutdown (held[0], SHUT_WR);
  answers[1] = receive_all (held[0]);
  close (held[0]);
  close (held[1]);
}

static void
test_too_many (Fixture       *fixture,
               gconstpointer  data)
{
  char *answers[2] = { NULL, NULL };
  g_autoptr(GPtrArray) decisions = NULL;
  ClocheEgressLimits limits;

  cloche_egress_proxy_get_limits (fixture->proxy, &limits);
  limits.max_connections = 2;
  cloche_egress_proxy_set_limits (fixture->proxy, &limits);
  g_test_expect_message ("Cloche", G_LOG_LEVEL_MESSAGE, "*limit*");
  run_client (fixture, crowd_client, answers);
  g_test_assert_expected_messages ();
  assert_status (answers[0], "HTTP/1.1 503 Service Unavailable\r\n");
  assert_status (answers[1], "HTTP/1.1 200 Connection established\r\n");
  g_assert_true (g_str_has_suffix (answers[1], "got 0 bytes\n"));
  /* Nothing of the refused one was read: a decision without a request. */
  decisions = ended_decisions (fixture, 2);
  assert_refusal (decisions->pdata[0], "", "", 0, "connection-limit", "2 connections");
  g_free (answers[0]);
  g_free (answers[1]);
}

/* The relay as QEMU runs it: the connection on its stdin and stdout. */

static void
relay_client (Fixture  *fixture,
              gpointer  data)
{
  g_autofree char *request = g_strdup_printf ("CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\nabc",
                                              fixture->echo_port);
  const char *argv[] = { g_getenv ("CLOCHE_EGRESS_RELAY"), fixture->socket_path, NULL };
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (0);
  g_autoptr(GSubprocess) relay = NULL;
  g_autoptr(GError) error = NULL;
  char **answer = data;
  int pair[2];

  g_assert_nonnull (argv[0]);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), ==, 0);
  g_subprocess_launcher_take_stdin_fd (launcher, dup (pair[1]));
  g_subprocess_launcher_take_stdout_fd (launcher, pair[1]);
  relay = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  /* It hands the connection to the proxy and is gone before a byte moves:
   * a relay that copied would wait here for the end of the connection. */
  g_subprocess_wait_check (relay, NULL, &error);
  g_assert_no_error (error);
  send_text (pair[0], request);
  g_assert_cmpint (shutdown (pair[0], SHUT_WR), ==, 0);
  *answer = receive_all (pair[0]);
  close (pair[0]);
}

/* stdin and stdout on two different sockets cannot be handed over as
 * one: the relay copies, and passes each end of file on. */
static void
relay_copy_client (Fixture  *fixture,
                   gpointer  data)
{
  g_autofree char *request = g_strdup_printf ("CONNECT 127.0.0.1:%u HTTP/1.1\r\n\r\nabcd",
                                              fixture->echo_port);
  const char *argv[] = { g_getenv ("CLOCHE_EGRESS_RELAY"), fixture->socket_path, NULL };
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (0);
  g_autoptr(GSubprocess) relay = NULL;
  g_autoptr(GError) error = NULL;
  char **answer = data;
  int in[2], out[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in), ==, 0);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out), ==, 0);
  g_subprocess_launcher_take_stdin_fd (launcher, in[1]);
  g_subprocess_launcher_take_stdout_fd (launcher, out[1]);
  relay = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  send_text (in[0], request);
  g_assert_cmpint (shutdown (in[0], SHUT_WR), ==, 0);
  *answer = receive_all (out[0]);
  close (in[0]);
  close (out[0]);
  g_subprocess_wait_check (relay, NULL, &error);
  g_assert_no_error (error);
}

static void
test_relay_copy (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *answer = NULL;

  run_client (fixture, relay_copy_client, &answer);
  g_assert_cmpstr (answer, ==, "HTTP/1.1 200 Connection established\r\n\r\ngot 4 bytes\n");
}

static void
test_relay (Fixture       *fixture,
            gconstpointer  data)
{
  g_autofree char *answer = NULL;

  run_client (fixture, relay_client, &answer);
  g_assert_cmpstr (answer, ==, "HTTP/1.1 200 Connection established\r\n\r\ngot 3 bytes\n");
}

/* Without a daemon the relay answers for it, and exits. */
static void
test_relay_no_proxy (void)
{
  const char *argv[] = { g_getenv ("CLOCHE_EGRESS_RELAY"), "/nonexistent/egress.sock", NULL };
  g_autoptr(GSubprocess) relay = NULL;
  g_autoptr(GBytes) stdin_bytes = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GError) error = NULL;

  relay = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                             &error);
  g_assert_no_error (error);
  g_subprocess_communicate (relay, stdin_bytes, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (g_bytes_get_data (out, NULL), "HTTP/1.1 502 Bad Gateway\r\n"));
  g_assert_cmpint (g_subprocess_get_exit_status (relay), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

#define ADD(path, func) \
  g_test_add ("/egress-proxy/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("connect-half-close", test_connect_half_close);
  ADD ("plain-http", test_plain_http);
  ADD ("refused", test_refused);
  ADD ("session-line", test_session_line);
  ADD ("session-allow", test_session_allow);
  ADD ("session-line-forged", test_session_line_forged);
  ADD ("session-line-pieces", test_session_line_pieces);
  ADD ("set-rules", test_set_rules);
  ADD ("host-local", test_host_local);
  ADD ("server-closed", test_server_closed);
  ADD ("garbage", test_garbage);
  ADD ("https-without-connect", test_https_without_connect);
  ADD ("oversized-head", test_oversized_head);
  ADD ("slow-sender", test_slow_sender);
  ADD ("idle-tunnel", test_idle_tunnel);
  ADD ("too-many", test_too_many);
  ADD ("relay", test_relay);
  ADD ("relay-copy", test_relay_copy);
  ADD ("keep-alive/two-hosts", test_keep_alive_two_hosts);
  ADD ("keep-alive/refused-between", test_keep_alive_refused_between);
  ADD ("keep-alive/chunked", test_keep_alive_chunked);
  ADD ("keep-alive/no-body", test_keep_alive_no_body);
  ADD ("keep-alive/bodies", test_keep_alive_bodies);
  ADD ("keep-alive/pipelined-garbage", test_keep_alive_pipelined_garbage);
  ADD ("keep-alive/close", test_keep_alive_close);
  ADD ("keep-alive/idle", test_keep_alive_idle);
  ADD ("keep-alive/reuse", test_keep_alive_reuse);
  ADD ("smuggle/connection", test_smuggle_connection);
  ADD ("keep-alive/retry-idempotent-only", test_retry_idempotent_only);
#undef ADD
  g_test_add_func ("/egress-proxy/relay-no-proxy", test_relay_no_proxy);
  g_test_add_func ("/egress-proxy/session-line-parse", test_session_line_parse);
  return g_test_run ();
}
