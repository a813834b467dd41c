/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The exec channel's reader against whatever a hostile guest writes on the
 * exec port: a READY first (so that the input reaches the frames of
 * running commands), three commands sent, then the input, then the port's
 * end. Each command must finish exactly once, with a result or an error of
 * ours, whatever the frames were.
 */
#include "config.h"

#include <sys/socket.h>

#include "cloche-error.h"
#include "cloche-exec-channel-private.h"
#include "cloche-fuzz.h"

#define N_COMMANDS 3

static void
on_ran (GObject      *object,
        GAsyncResult *result,
        gpointer      user_data)
{
  guint *finished = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  int code = -1;

  if (cloche_exec_channel_exec_finish (CLOCHE_EXEC_CHANNEL (object), result, &code, &out, &err,
                                       &error))
    g_assert_true (code >= 0 && code <= 255 && out != NULL && err != NULL);
  else
    g_assert_true (error->domain == CLOCHE_ERROR);
  (*finished)++;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  static const guint8 ready[] = { 13, 0, 0, 0, CLOCHE_EXEC_FRAME_READY, 0, 0, 0, 0,
                                  'c', 'l', 'o', 'c', 'h', 'e', '-', 'e', 'x', 'e', 'c',
                                  ' ', '1' };
  const char *argv[] = { "true", NULL };
  g_autoptr(ClocheExecChannel) channel = NULL;
  g_autoptr(GSocketConnection) ours = NULL;
  g_autoptr(GSocket) a = NULL, b = NULL;
  guint finished = 0;
  int fds[2];

  cloche_fuzz_init ();
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  a = g_socket_new_from_fd (fds[0], NULL);
  b = g_socket_new_from_fd (fds[1], NULL);
  ours = g_socket_connection_factory_create_connection (a);
  channel = cloche_exec_channel_new_for_stream (G_IO_STREAM (ours));
  g_assert_cmpint (g_socket_send (b, (const char *) ready, sizeof ready, NULL, NULL), ==,
                   sizeof ready);
  while (!cloche_exec_channel_is_open (channel))
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < N_COMMANDS; i++)
    cloche_exec_channel_exec_async (channel, "s", "/", argv, NULL, 60, NULL, CLOCHE_EXEC_NONE,
                                    NULL, on_ran, &finished);
  /* Blocking writes to a socket the main loop reads: up to -max_len. */
  g_socket_set_blocking (b, FALSE);
  for (size_t sent = 0; sent < size;)
    {
      gssize n = g_socket_send (b, (const char *) data + sent, size - sent, NULL, NULL);

      if (n > 0)
        sent += (size_t) n;
      g_main_context_iteration (NULL, FALSE);
    }
  g_socket_shutdown (b, FALSE, TRUE, NULL);
  cloche_fuzz_run_until (&finished, N_COMMANDS);
  g_socket_close (b, NULL);
  return 0;
}
