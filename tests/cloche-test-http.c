/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A real HTTP/1.0 server on this host for the egress tests: it reads a
 * request's head and answers 200 with a fixed body. It accepts on a thread
 * and main context of its own, so that a test may block its own loop while
 * it waits for the proxy's answer.
 */
#include "config.h"

#include <string.h>

#include "cloche-test-http.h"

struct _ClocheTestHttp
{
  char                *reply;
  ClocheTestHttpFlags  flags;
  GMainContext        *context;
  GThread             *thread;
  gint                 port;
  gint                 stopping;
};

static gboolean
on_request (GThreadedSocketService *service,
            GSocketConnection      *connection,
            GObject                *source,
            gpointer                user_data)
{
  const char *reply = user_data;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GString) head = g_string_new (NULL);
  char c;

  while (!g_str_has_suffix (head->str, "\r\n\r\n")
         && g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
    g_string_append_c (head, c);
  g_output_stream_write_all (out, reply, strlen (reply), NULL, NULL, NULL);
  return TRUE;
}

static guint16
listen_on (ClocheTestHttp *self,
           GSocketService *service)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  if (self->flags & CLOCHE_TEST_HTTP_ANY_ADDRESS)
    port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (service), NULL, &error);
  else if (g_socket_listener_add_address (G_SOCKET_LISTENER (service), address,
                                          G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                          &effective, &error))
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  else
    port = 0;
  g_assert_no_error (error);
  return port;
}

static gpointer
server_thread (gpointer data)
{
  ClocheTestHttp *self = data;
  g_autoptr(GSocketService) service = NULL;

  g_main_context_push_thread_default (self->context);
  service = g_threaded_socket_service_new (4);
  /* The service owns its copy: a request may still be answered after
   * cloche_test_http_stop(). */
  g_signal_connect_data (service, "run", G_CALLBACK (on_request), g_strdup (self->reply),
                         (GClosureNotify) g_free, 0);
  g_atomic_int_set (&self->port, listen_on (self, service));
  g_socket_service_start (service);
  while (!g_atomic_int_get (&self->stopping))
    g_main_context_iteration (self->context, TRUE);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

/**
 * cloche_test_http_start:
 * @body: what every request gets back
 *
 * Returns once the server listens.
 */
ClocheTestHttp *
cloche_test_http_start (const char          *body,
                        ClocheTestHttpFlags  flags)
{
  ClocheTestHttp *self = g_new0 (ClocheTestHttp, 1);

  self->reply = g_strdup_printf ("HTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                                 strlen (body), body);
  self->flags = flags;
  self->context = g_main_context_new ();
  self->thread = g_thread_new ("http-server", server_thread, self);
  while (g_atomic_int_get (&self->port) == 0)
    g_usleep (1000);
  return self;
}

guint16
cloche_test_http_get_port (ClocheTestHttp *self)
{
  return (guint16) g_atomic_int_get (&self->port);
}

/* Stops listening; a request being answered finishes on its own. */
void
cloche_test_http_stop (ClocheTestHttp *self)
{
  g_atomic_int_set (&self->stopping, TRUE);
  g_main_context_wakeup (self->context);
  g_thread_join (self->thread);
  g_main_context_unref (self->context);
  g_free (self->reply);
  g_free (self);
}
