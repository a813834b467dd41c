/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <signal.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* The first line of tests/data/NAME, without its newline. */
static inline char *
cloche_test_fixture_line (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_strchomp (contents);
  return contents;
}

/* What a command in the guest gave back: its status, and its output as text. */
typedef struct
{
  int   status;
  char *out;
  char *err;
} ClocheTestRun;

static inline void
cloche_test_run_clear (ClocheTestRun *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClocheTestRun, cloche_test_run_clear)

/* @bytes as a string ("" for none). */
static inline char *
cloche_test_gbytes_string (GBytes *bytes)
{
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    return g_strdup ("");
  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* Runs the default main context until *done or the deadline passes. */
static inline gboolean
cloche_test_wait (gboolean *done,
                  guint     timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (!*done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  return *done;
}

/* A connected pair of streams: one end for the client under test, the
 * other for the test to play the peer. */
static inline void
cloche_test_stream_pair (GIOStream **client,
                         GIOStream **peer)
{
  int fds[2];
  GSocket *a, *b;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  a = g_socket_new_from_fd (fds[0], NULL);
  b = g_socket_new_from_fd (fds[1], NULL);
  *client = G_IO_STREAM (g_socket_connection_factory_create_connection (a));
  *peer = G_IO_STREAM (g_socket_connection_factory_create_connection (b));
  g_object_unref (a);
  g_object_unref (b);
}

static inline void
cloche_test_peer_write (GIOStream  *peer,
                        const char *text)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (peer), text, strlen (text),
                             NULL, NULL, &error);
  g_assert_no_error (error);
}

/* A GAsyncReadyCallback that keeps the result in *user_data. */
static inline void
cloche_test_store_result (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* One line the client under test wrote, read while its main context runs
 * (its writes are asynchronous). */
static inline char *
cloche_test_peer_read_line (GIOStream *peer)
{
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (peer));
  GString *line = g_string_new (NULL);
  char c;

  for (;;)
    {
      while (!(g_socket_condition_check (socket, G_IO_IN) & G_IO_IN))
        g_main_context_iteration (NULL, FALSE);
      g_assert_cmpint (g_socket_receive (socket, &c, 1, NULL, NULL), ==, 1);
      if (c == '\n')
        return g_string_free (line, FALSE);
      g_string_append_c (line, c);
    }
}

static pid_t cloche_test_bus_pid;

static inline void
cloche_test_bus_abort_handler (int signum)
{
  kill (cloche_test_bus_pid, SIGTERM);
  signal (signum, SIG_DFL);
  raise (signum);
}

/* GTestDBus's dbus-daemon outlives a test that aborts, and so do the
 * services it started; both hold the test's stderr, and meson then waits
 * for its timeout instead of reporting the failure. Killing the bus on
 * SIGABRT ends them all: the daemon leaves when it loses its bus. */
static inline void
cloche_test_bus_kill_on_abort (GDBusConnection *connection)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint32 pid = 0;

  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                       g_variant_new ("(s)", "org.freedesktop.DBus"),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1,
                                       NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &pid);
  cloche_test_bus_pid = (pid_t) pid;
  signal (SIGABRT, cloche_test_bus_abort_handler);
}

G_END_DECLS
