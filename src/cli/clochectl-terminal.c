/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl attached to a terminal of a session: its stdin and stdout
 * joined to the terminal's stream, the descriptor the daemon passed over
 * D-Bus (the bytes go between us and QEMU; the daemon never sees them).
 *
 * On a terminal (stdin is a tty), ours is put in raw mode for as long as
 * we are attached, so that every key (Ctrl-C, Ctrl-Z, Ctrl-D, arrows)
 * reaches the guest's PTY, which does what a terminal does with it; a
 * window-size change (SIGWINCH) is passed on as a resize call, one at a
 * time, the newest size winning. Otherwise the terminal was opened in pipe
 * mode: what stdin holds is sent as it is, then the end of input as the
 * guest's VEOF (^D), after a newline's worth so that a last line without
 * one is not lost. We leave when the stream has ended and the daemon has
 * said how the command ended; our status is the command's.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib-unix.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "clochectl.h"

#define CHUNK 16384

typedef struct
{
  ClochectlTerminal *terminal;
  gboolean           eof;         /* the stream ended */
  gboolean           input_done;
  gboolean           last_newline;
  gboolean           stop;        /* SIGTERM, SIGHUP: detach at once */
  struct termios     saved;
  gboolean           raw;
} Attach;

gboolean
clochectl_terminal_size (guint *rows,
                         guint *cols)
{
  struct winsize size = { 0 };

  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &size) != 0
      && ioctl (STDOUT_FILENO, TIOCGWINSZ, &size) != 0)
    return FALSE;
  if (size.ws_row == 0 || size.ws_col == 0)
    return FALSE;
  *rows = size.ws_row;
  *cols = size.ws_col;
  return TRUE;
}

static gboolean
clochectl_terminal_write_all (int         fd,
                              const char *data,
                              gsize       length)
{
  while (length > 0)
    {
      ssize_t written = write (fd, data, length);

      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0)
        return FALSE;
      data += written;
      length -= (gsize) written;
    }
  return TRUE;
}

static gboolean
clochectl_terminal_stream_cb (int          fd,
                              GIOCondition condition,
                              gpointer     user_data)
{
  Attach *attach = user_data;
  char buffer[CHUNK];
  ssize_t n = read (fd, buffer, sizeof buffer);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      attach->eof = TRUE;
      return G_SOURCE_REMOVE;
    }
  clochectl_terminal_write_all (STDOUT_FILENO, buffer, (gsize) n);
  return G_SOURCE_CONTINUE;
}

/* The end of piped input: ^D ends a line the command has not got yet,
 * a second one (at the start of a line) is the end of file. */
static void
clochectl_terminal_send_end_of_input (Attach *attach)
{
  const char *eof = attach->last_newline ? "\004" : "\004\004";

  attach->input_done = TRUE;
  if (attach->terminal->pipe)
    clochectl_terminal_write_all (attach->terminal->fd, eof, strlen (eof));
}

static gboolean
clochectl_terminal_input_cb (int          fd,
                             GIOCondition condition,
                             gpointer     user_data)
{
  Attach *attach = user_data;
  char buffer[CHUNK];
  ssize_t n = read (fd, buffer, sizeof buffer);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      clochectl_terminal_send_end_of_input (attach);
      return G_SOURCE_REMOVE;
    }
  attach->last_newline = buffer[n - 1] == '\n';
  if (!clochectl_terminal_write_all (attach->terminal->fd, buffer, (gsize) n))
    return G_SOURCE_REMOVE;
  return G_SOURCE_CONTINUE;
}

static gboolean
clochectl_terminal_winch_cb (gpointer user_data)
{
  Attach *attach = user_data;
  guint rows, cols;

  if (attach->terminal->resize != NULL && clochectl_terminal_size (&rows, &cols))
    attach->terminal->resize (rows, cols, attach->terminal->data);
  return G_SOURCE_CONTINUE;
}

static gboolean
clochectl_terminal_stop_cb (gpointer user_data)
{
  Attach *attach = user_data;

  attach->stop = TRUE;
  return G_SOURCE_CONTINUE;
}

static void
clochectl_terminal_raw_mode (Attach *attach)
{
  struct termios raw;

  if (attach->terminal->pipe || tcgetattr (STDIN_FILENO, &attach->saved) != 0)
    return;
  raw = attach->saved;
  cfmakeraw (&raw);
  /* TCSADRAIN, not TCSAFLUSH: what was typed ahead is kept for the guest. */
  attach->raw = tcsetattr (STDIN_FILENO, TCSADRAIN, &raw) == 0;
}

static void
clochectl_terminal_restore_mode (Attach *attach)
{
  if (attach->raw)
    tcsetattr (STDIN_FILENO, TCSADRAIN, &attach->saved);
  attach->raw = FALSE;
}

/**
 * clochectl_terminal_run:
 *
 * Attaches stdin and stdout to @terminal until its stream and the
 * command have ended (@terminal->ended, set by the caller's TerminalEnded
 * handler) or the daemon is gone.
 *
 * Returns: the exit status for clochectl: the command's
 */
int
clochectl_terminal_run (ClochectlTerminal *terminal)
{
  Attach attach = { .terminal = terminal, .last_newline = TRUE };
  guint sources[5];

  g_unix_set_fd_nonblocking (terminal->fd, TRUE, NULL);
  clochectl_terminal_raw_mode (&attach);
  sources[0] = g_unix_fd_add (terminal->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                              clochectl_terminal_stream_cb, &attach);
  sources[1] = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR,
                              clochectl_terminal_input_cb, &attach);
  sources[2] = g_unix_signal_add (SIGWINCH, clochectl_terminal_winch_cb, &attach);
  sources[3] = g_unix_signal_add (SIGTERM, clochectl_terminal_stop_cb, &attach);
  sources[4] = g_unix_signal_add (SIGHUP, clochectl_terminal_stop_cb, &attach);
  while (!(attach.eof && terminal->ended) && !terminal->daemon_gone && !attach.stop)
    g_main_context_iteration (NULL, TRUE);
  clochectl_terminal_restore_mode (&attach);
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    g_source_remove_by_user_data (&attach);
  if (terminal->message != NULL && terminal->message[0] != '\0')
    g_printerr ("clochectl: %s\n", terminal->message);
  if (attach.stop)
    return 128 + SIGTERM;
  if (!terminal->ended)
    {
      g_printerr (_("clochectl: the daemon went away before the command ended\n"));
      return 255;
    }
  return terminal->status < 0 ? 255 : terminal->status & 0xff;
}
