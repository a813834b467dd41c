/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Terminals in a session (issue 17), on the real VM: a ClocheSandbox opens
 * them as the daemon does, and the test is the client, on the end of the
 * socket pair the daemon would pass over D-Bus. Each case checks what a
 * user of a terminal sees: a PTY inside the session's walls, its size and
 * SIGWINCH, Ctrl-C reaching the command, the exit status, the last bytes
 * before the end of the stream, a detach when the client goes (the command
 * goes on, what it prints is kept, bounded, for the client that attaches
 * next, even after it ended), a hang-up when a pipe's client goes, the pipe mode, several
 * terminals at once, and no port left in the guest after.
 * The cases share one boot and run in order.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <unistd.h>

#include "cloche-test-sandbox.h"

static char *session_a;
static char *session_b;

typedef struct
{
  ClocheTerminal *terminal;
  int             fd;
  guint           watch;
  GString        *out;
  gboolean        eof;
  gboolean        ended;
  int             status;
  char           *message;
} Term;

static gboolean
on_readable (int          fd,
             GIOCondition condition,
             gpointer     user_data)
{
  Term *term = user_data;
  char buffer[4096];
  ssize_t n = read (fd, buffer, sizeof buffer);

  if (n > 0)
    {
      g_string_append_len (term->out, buffer, n);
      return G_SOURCE_CONTINUE;
    }
  if (n < 0 && errno == EAGAIN)
    return G_SOURCE_CONTINUE;
  term->eof = TRUE;
  term->watch = 0;
  return G_SOURCE_REMOVE;
}

static void
on_ended (ClocheTerminal *terminal,
          int             status,
          const char     *message,
          Term           *term)
{
  term->ended = TRUE;
  term->status = status;
  term->message = g_strdup (message);
}

static Term *
term_open_full (const char                  *id,
                const ClocheTerminalRequest *request,
                GError                     **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  Wait wait = { 0 };
  Term *term;
  ClocheTerminal *terminal;

  cloche_sandbox_open_terminal_async (sandbox, id, request, NULL, on_done, &wait);
  result = wait_result (&wait);
  terminal = cloche_sandbox_open_terminal_finish (sandbox, result, error);
  if (terminal == NULL)
    return NULL;
  term = g_new0 (Term, 1);
  term->terminal = terminal;
  term->out = g_string_new (NULL);
  term->fd = cloche_terminal_steal_fd (terminal);
  g_assert_cmpint (term->fd, >=, 0);
  g_unix_set_fd_nonblocking (term->fd, TRUE, NULL);
  term->watch = g_unix_fd_add (term->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, term);
  g_signal_connect (terminal, "ended", G_CALLBACK (on_ended), term);
  return term;
}

static Term *
term_open (const char         *id,
           const char * const *argv,
           guint               rows,
           guint               cols,
           gboolean            pipe)
{
  ClocheTerminalRequest request = { .argv = argv, .rows = rows, .cols = cols, .pipe = pipe };
  g_autoptr(GError) error = NULL;
  Term *term = term_open_full (id, &request, &error);

  g_assert_no_error (error);
  return term;
}

static void
term_free (Term *term)
{
  g_clear_handle_id (&term->watch, g_source_remove);
  if (term->fd >= 0)
    close (term->fd);
  g_signal_handlers_disconnect_by_data (term->terminal, term);
  g_object_unref (term->terminal);
  g_string_free (term->out, TRUE);
  g_free (term->message);
  g_free (term);
}

static void
term_write (Term       *term,
            const char *text)
{
  g_assert_cmpint (write (term->fd, text, strlen (text)), ==, (gssize) strlen (text));
}

/* Until @text has been read (TRUE) or the stream ended without it. */
static gboolean
term_wait_for (Term       *term,
               const char *text)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while (strstr (term->out->str, text) == NULL && !term->eof
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (strstr (term->out->str, text) == NULL)
    g_test_message ("waited for \"%s\", read: \"%s\"", text, term->out->str);
  return strstr (term->out->str, text) != NULL;
}

/* Until the end of the stream and the terminal's end; its status. */
static int
term_wait_end (Term *term)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while ((!term->eof || !term->ended) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (term->ended);
  g_assert_true (term->eof);
  if (term->message != NULL)
    g_test_message ("terminal %s ended: %s", cloche_terminal_get_id (term->terminal),
                    term->message);
  return term->status;
}

static char *
open_plain_session (void)
{
  const char *paths[] = { NULL };

  return open_session (paths, NULL);
}

static void
test_open (void)
{
  session_a = open_plain_session ();
  session_b = open_plain_session ();
}

/* A real PTY of the session's: its user, its devpts, its folder; what is
 * typed reaches the command, echoed; the status comes back. */
static void
test_shell (void)
{
  const char *argv[] = { "/bin/sh", "-c",
                         "echo \"uid=$(id -u) tty=$(tty) pwd=$(pwd)\"; ls /sessions; "
                         "read line; echo \"got:$line\"; exit 7", NULL };
  g_autofree char *expect = g_strdup_printf ("pwd=/sessions/%s", session_a);
  Term *term = term_open (session_a, argv, 0, 0, FALSE);

  g_assert_true (term_wait_for (term, expect));
  g_assert_true (term_wait_for (term, "tty=/dev/pts/"));
  g_assert_null (strstr (term->out->str, "uid=0 "));
  g_assert_null (strstr (term->out->str, session_b));
  term_write (term, "hello\r");
  g_assert_true (term_wait_for (term, "hello"));   /* the PTY's echo */
  g_assert_true (term_wait_for (term, "got:hello\r\n"));
  g_assert_cmpint (term_wait_end (term), ==, 7);
  term_free (term);
}

/* The size asked at open, then a resize: SIGWINCH and the new size. */
static void
test_size (void)
{
  const char *argv[] = { "/bin/sh", "-c",
                         "trap 'echo \"now $(stty size)\"; exit 3' WINCH; "
                         "echo \"size $(stty size)\"; while :; do sleep 0.1; done", NULL };
  Term *term = term_open (session_a, argv, 30, 100, FALSE);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  g_assert_true (term_wait_for (term, "size 30 100"));
  cloche_sandbox_resize_terminal_async (sandbox, cloche_terminal_get_id (term->terminal),
                                        41, 123, NULL, on_done, &wait);
  result = wait_result (&wait);
  g_assert_true (cloche_sandbox_resize_terminal_finish (sandbox, result, &error));
  g_assert_no_error (error);
  g_assert_true (term_wait_for (term, "now 41 123"));
  g_assert_cmpint (term_wait_end (term), ==, 3);
  term_free (term);
}

/* Ctrl-C is the terminal's: SIGINT to the foreground command. */
static void
test_interrupt (void)
{
  const char *argv[] = { "/bin/sh", "-c", "echo started; exec sleep 600", NULL };
  Term *term = term_open (session_a, argv, 0, 0, FALSE);

  g_assert_true (term_wait_for (term, "started"));
  term_write (term, "\003");
  g_assert_cmpint (term_wait_end (term), ==, 128 + SIGINT);
  term_free (term);
}

/* Everything the command wrote arrives before the end of the stream. */
static void
test_last_bytes (void)
{
  const char *argv[] = { "/bin/sh", "-c",
                         "i=0; while [ $i -lt 2000 ]; do echo \"line $i of the end\"; "
                         "i=$((i+1)); done; echo LAST", NULL };
  Term *term = term_open (session_a, argv, 0, 0, FALSE);

  g_assert_cmpint (term_wait_end (term), ==, 0);
  g_assert_nonnull (strstr (term->out->str, "line 1999 of the end\r\nLAST\r\n"));
  term_free (term);
}

/* Pipe mode: no echo, no CR, and the client's ^D is the end of input. */
static void
test_pipe (void)
{
  const char *argv[] = { "cat", NULL };
  Term *term = term_open (session_a, argv, 0, 0, TRUE);

  term_write (term, "one\ntwo\n\004");
  g_assert_cmpint (term_wait_end (term), ==, 0);
  g_assert_cmpstr (term->out->str, ==, "one\ntwo\n");
  term_free (term);
}

/* A pipe terminal's client goes away: the command is hung up (SIGHUP),
 * the terminal ends, and its port leaves the guest. */
static void
test_hangup (void)
{
  g_autofree char *script = g_strdup_printf (
    "trap 'echo hung-up > /sessions/%s/hup; exit 0' HUP; echo waiting; "
    "while :; do sleep 0.1; done", session_a);
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  Term *term = term_open (session_a, argv, 0, 0, TRUE);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (term_wait_for (term, "waiting"));
  g_clear_handle_id (&term->watch, g_source_remove);
  close (term->fd);
  term->fd = -1;
  term->eof = TRUE;
  term_wait_end (term);
  g_assert_true (session_sh (session_a, "cat hup", &out, &error));
  g_assert_cmpstr (out, ==, "hung-up\n");
  term_free (term);
}

/* The client goes: the command goes on. */
static void
term_detach (Term *term)
{
  g_clear_handle_id (&term->watch, g_source_remove);
  close (term->fd);
  term->fd = -1;
}

/* Whether a client holds terminal @term, as ListTerminals says. */
static gboolean
term_listed_attached (Term *term)
{
  g_autoptr(GPtrArray) list = NULL;

  list = cloche_sandbox_list_terminals (sandbox, cloche_terminal_get_session (term->terminal));
  g_assert_cmpuint (list->len, ==, 1);
  g_assert_true (list->pdata[0] == term->terminal);
  return cloche_terminal_port_has_client (cloche_terminal_get_port (term->terminal));
}

/* AttachTerminal: a new stream, read from the start. */
static int
term_attach (Term    *term,
             GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  Wait wait = { 0 };
  int fd;

  cloche_sandbox_attach_terminal_async (sandbox, cloche_terminal_get_id (term->terminal), NULL,
                                        on_done, &wait);
  result = wait_result (&wait);
  fd = cloche_sandbox_attach_terminal_finish (sandbox, result, error);
  if (fd < 0)
    return fd;
  term->fd = fd;
  g_string_truncate (term->out, 0);
  g_unix_set_fd_nonblocking (term->fd, TRUE, NULL);
  term->watch = g_unix_fd_add (term->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, term);
  return fd;
}

/* Until @path exists in @id's folder (the command has got that far). */
static void
wait_for_file (const char *id,
               const char *name)
{
  g_autofree char *script = g_strdup_printf ("test -e %s", name);
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while (!session_sh (id, script, NULL, NULL))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (200 * 1000);
    }
}

/* The window closes: the command goes on, printing; a client attaches
 * again, reads what was printed meanwhile, types, and gets the status. A
 * second client while one holds it is refused. */
static void
test_detach (void)
{
  const char *argv[] = { "/bin/sh", "-c",
                         "echo started; while [ ! -e go ]; do sleep 0.1; done; "
                         "echo printed-while-detached; touch printed; read line; "
                         "echo \"got:$line\"; exit 7", NULL };
  Term *term = term_open (session_a, argv, 0, 0, FALSE);
  g_autoptr(GError) error = NULL;

  g_assert_true (term_wait_for (term, "started"));
  g_assert_true (term_listed_attached (term));
  term_detach (term);
  g_assert_false (term_listed_attached (term));
  assert_sh (session_a, "touch go");
  wait_for_file (session_a, "printed");
  g_assert_false (term->ended);
  g_assert_cmpint (term_attach (term, &error), >=, 0);
  g_assert_no_error (error);
  g_assert_true (term_listed_attached (term));
  g_assert_cmpint (term_attach (term, &error), <, 0);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_TERMINAL_BUSY);
  g_assert_true (term_wait_for (term, "printed-while-detached\r\n"));
  term_write (term, "hello\r");
  g_assert_true (term_wait_for (term, "got:hello\r\n"));
  g_assert_cmpint (term_wait_end (term), ==, 7);
  assert_sh (session_a, "rm go printed");
  term_free (term);
}

/* While detached, the guest keeps the newest output only (64 KiB): a
 * command printing ~290 kB never blocks, and the client that attaches
 * reads its last lines, not its first. */
static void
test_detach_bounded (void)
{
  const char *argv[] = { "/bin/sh", "-c",
                         "echo started; while [ ! -e go ]; do sleep 0.1; done; "
                         "i=0; while [ $i -lt 20000 ]; do echo \"line $i, long enough\"; "
                         "i=$((i+1)); done; echo LAST; touch printed; read x; exit 0", NULL };
  Term *term = term_open (session_a, argv, 0, 0, FALSE);
  g_autoptr(GError) error = NULL;

  g_assert_true (term_wait_for (term, "started"));
  term_detach (term);
  assert_sh (session_a, "touch go");
  wait_for_file (session_a, "printed");
  g_assert_cmpint (term_attach (term, &error), >=, 0);
  g_assert_true (term_wait_for (term, "line 19999, long enough\r\nLAST\r\n"));
  g_assert_null (strstr (term->out->str, "line 10,"));
  g_assert_cmpuint (term->out->len, <=, 65536);
  g_assert_cmpuint (term->out->len, >=, 65536 * 3 / 4 - 100);
  term_write (term, "\r");
  g_assert_cmpint (term_wait_end (term), ==, 0);
  assert_sh (session_a, "rm go printed");
  term_free (term);
}

/* A detached terminal ends with its session. */
static void
test_detach_close (void)
{
  const char *argv[] = { "/bin/sh", "-c", "echo started; exec sleep 600", NULL };
  g_autofree char *id = open_plain_session ();
  Term *term = term_open (id, argv, 0, 0, FALSE);
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  g_assert_true (term_wait_for (term, "started"));
  term_detach (term);
  g_assert_true (cloche_sandbox_close_session (sandbox, id, &error));
  g_assert_no_error (error);
  while (!term->ended && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (term->ended);
  g_assert_cmpint (term->status, ==, 128 + SIGKILL);
  term_free (term);
}

/* Until the command whose pid it wrote to @name in @id's folder has
 * ended and been reaped by its relay (a zombie still answers kill -0). */
static void
wait_reaped (const char *id,
             const char *name)
{
  g_autofree char *script = g_strdup_printf (
    "while kill -0 \"$(cat %s)\" 2>/dev/null; do sleep 0.1; done", name);

  assert_sh (id, script);
}

/* The command ends while no client holds it: what it printed after the
 * detach and its status are there for the next client, and the terminal
 * is gone after that. */
static void
test_detach_ended (void)
{
  const char *argv[] = { "/bin/sh", "-c",
                         "echo $$ > pid; echo started; while [ ! -e go ]; do sleep 0.1; done; "
                         "echo printed-after-the-detach; exit 5", NULL };
  Term *term = term_open (session_a, argv, 0, 0, FALSE);
  g_autoptr(GPtrArray) left = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (term_wait_for (term, "started"));
  term_detach (term);
  assert_sh (session_a, "touch go");
  wait_reaped (session_a, "pid");
  g_assert_cmpint (term_attach (term, &error), >=, 0);
  g_assert_no_error (error);
  g_assert_true (term_wait_for (term, "printed-after-the-detach\r\n"));
  g_assert_cmpint (term_wait_end (term), ==, 5);
  left = cloche_sandbox_list_terminals (sandbox, session_a);
  g_assert_cmpuint (left->len, ==, 0);
  assert_sh (session_a, "rm go pid");
  term_free (term);
}

/* Such a terminal, which no one attached to again, ends with its session:
 * its relay does not wait for a client that cannot come. */
static void
test_detach_ended_close (void)
{
  const char *argv[] = { "/bin/sh", "-c", "echo $$ > pid; echo started; exit 4", NULL };
  g_autofree char *id = open_plain_session ();
  Term *term = term_open (id, argv, 0, 0, FALSE);
  g_autoptr(GError) error = NULL;
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  g_assert_true (term_wait_for (term, "started"));
  term_detach (term);
  wait_reaped (id, "pid");
  g_assert_true (cloche_sandbox_close_session (sandbox, id, &error));
  g_assert_no_error (error);
  while (!term->ended && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (term->ended);
  g_assert_cmpint (term->status, ==, 4);
  term_free (term);
}

/* Several at once, in two sessions; each its own stream and status. */
static void
test_several (void)
{
  const char *argv_a[] = { "/bin/sh", "-c", "read x; echo \"A:$x\"; exit 11", NULL };
  const char *argv_b[] = { "/bin/sh", "-c", "read x; echo \"B:$x\"; exit 12", NULL };
  const char *argv_c[] = { "/bin/sh", "-c", "read x; echo \"C:$x\"; exit 13", NULL };
  Term *a = term_open (session_a, argv_a, 0, 0, FALSE);
  Term *b = term_open (session_a, argv_b, 0, 0, FALSE);
  Term *c = term_open (session_b, argv_c, 0, 0, FALSE);

  term_write (c, "3\r");
  term_write (b, "2\r");
  term_write (a, "1\r");
  g_assert_cmpint (term_wait_end (a), ==, 11);
  g_assert_cmpint (term_wait_end (b), ==, 12);
  g_assert_cmpint (term_wait_end (c), ==, 13);
  g_assert_nonnull (strstr (a->out->str, "A:1"));
  g_assert_nonnull (strstr (b->out->str, "B:2"));
  g_assert_nonnull (strstr (c->out->str, "C:3"));
  g_assert_null (strstr (a->out->str, "B:"));
  term_free (a);
  term_free (b);
  term_free (c);
}

/* One QMP command on the VM's own client; its reply, or NULL with @error. */
static JsonNode *
qmp (const char  *command,
     JsonObject  *args,
     GError     **error)
{
  ClocheQmpClient *client = cloche_vm_get_qmp_client (cloche_sandbox_get_vm (sandbox));
  g_autoptr(GAsyncResult) result = NULL;
  Wait wait = { 0 };

  cloche_qmp_client_execute_async (client, command, args, NULL, on_done, &wait);
  result = wait_result (&wait);
  return cloche_qmp_client_execute_finish (client, result, error);
}

/* A chardev-add QEMU refuses after the terminal's descriptor was given
 * with getfd (here, for real: a chardev of the same id is already there)
 * must not leave that descriptor with QEMU: the port closes it (closefd),
 * so a closefd of ours afterwards finds nothing of that name. Without the
 * fix, QEMU kept it open for the VM's life, and that closefd succeeded. */
static void
test_chardev_refused (void)
{
  const char *argv[] = { "true", NULL };
  ClocheTerminalRequest request = { .argv = argv };
  Term *before = term_open (session_a, argv, 0, 0, TRUE);
  guint next = (guint) g_ascii_strtoull (cloche_terminal_get_id (before->terminal), NULL, 10) + 1;
  g_autofree char *taken = g_strdup_printf ("cloche-term%u", next);
  g_autoptr(JsonObject) backend = json_object_new ();
  g_autoptr(JsonObject) add = json_object_new ();
  g_autoptr(JsonObject) close_args = json_object_new ();
  g_autoptr(JsonObject) remove_args = json_object_new ();
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (term_wait_end (before), ==, 0);
  term_free (before);
  json_object_set_string_member (backend, "type", "null");
  json_object_set_object_member (backend, "data", json_object_new ());
  json_object_set_string_member (add, "id", taken);
  json_object_set_object_member (add, "backend", json_object_ref (backend));
  reply = qmp ("chardev-add", add, &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, json_node_unref);

  g_assert_null (term_open_full (session_a, &request, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "chardev-add"));
  g_clear_error (&error);

  json_object_set_string_member (close_args, "fdname", taken);
  reply = qmp ("closefd", close_args, &error);
  g_assert_null (reply);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, taken));
  g_clear_error (&error);

  json_object_set_string_member (remove_args, "id", taken);
  reply = qmp ("chardev-remove", remove_args, &error);
  g_assert_no_error (error);
}

/* Nothing of the terminals is left in the guest. */
static void
test_nothing_left (void)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (session_sh (session_a, "cat /sys/class/virtio-ports/*/name", &out, &error));
  g_assert_no_error (error);
  g_assert_null (strstr (out, "io.github.cloche.term."));
  g_assert_nonnull (strstr (out, "org.qemu.guest_agent.0"));
}

static void
test_refused (void)
{
  const char *argv[] = { "true", NULL };
  ClocheTerminalRequest big = { .argv = argv, .rows = 10000, .cols = 80 };
  ClocheTerminalRequest relative = { .argv = argv, .cwd = "tmp" };
  ClocheTerminalRequest fine = { .argv = argv };
  g_autoptr(GError) error = NULL;

  g_assert_null (term_open_full (session_a, &big, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (term_open_full (session_a, &relative, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (term_open_full ("000000000000", &fine, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND);
}

/* A command that cannot be run: the shell's 127, said on the terminal. */
static void
test_not_found (void)
{
  const char *argv[] = { "no-such-command-here", NULL };
  Term *term = term_open (session_a, argv, 0, 0, FALSE);

  g_assert_cmpint (term_wait_end (term), ==, 127);
  g_assert_nonnull (strstr (term->out->str, "no-such-command-here"));
  term_free (term);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  sandbox_home_set_up ();

  g_test_add_func ("/vm-terminal/start", sandbox_start);
  g_test_add_func ("/vm-terminal/open", test_open);
  g_test_add_func ("/vm-terminal/shell", test_shell);
  g_test_add_func ("/vm-terminal/size", test_size);
  g_test_add_func ("/vm-terminal/interrupt", test_interrupt);
  g_test_add_func ("/vm-terminal/last-bytes", test_last_bytes);
  g_test_add_func ("/vm-terminal/pipe", test_pipe);
  g_test_add_func ("/vm-terminal/hangup", test_hangup);
  g_test_add_func ("/vm-terminal/detach", test_detach);
  g_test_add_func ("/vm-terminal/detach-bounded", test_detach_bounded);
  g_test_add_func ("/vm-terminal/detach-close", test_detach_close);
  g_test_add_func ("/vm-terminal/detach-ended", test_detach_ended);
  g_test_add_func ("/vm-terminal/detach-ended-close", test_detach_ended_close);
  g_test_add_func ("/vm-terminal/several", test_several);
  g_test_add_func ("/vm-terminal/not-found", test_not_found);
  g_test_add_func ("/vm-terminal/refused", test_refused);
  g_test_add_func ("/vm-terminal/chardev-refused", test_chardev_refused);
  g_test_add_func ("/vm-terminal/nothing-left", test_nothing_left);
  g_test_add_func ("/vm-terminal/stop", sandbox_stop);
  status = g_test_run ();

  g_free (session_a);
  g_free (session_b);
  sandbox_home_tear_down (status);
  return status;
}
