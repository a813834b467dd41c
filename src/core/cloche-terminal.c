/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One terminal of a session, as the sandbox keeps it: which session, what
 * it runs, where, since when, its port (cloche-terminal-port.c) and, once
 * over, how it ended. "ended" is emitted once, after the port is out of
 * the VM (so the client has read the end of its stream by then, or will
 * at once): the status is the command's (128 + a signal, as a shell says),
 * 125 with a message when it could not be started, -1 with a message when
 * the terminal broke (the VM stopped).
 */
#include "config.h"

#include <unistd.h>

#include "cloche-terminal.h"

struct _ClocheTerminal
{
  GObject             parent_instance;
  char               *id;
  char               *session;
  GStrv               command;
  char               *cwd;
  gint64              started;     /* real time, µs */
  ClocheTerminalPort *port;
  int                 fd;          /* the client's end until it is taken */
  gboolean            ended;
  int                 status;
  char               *message;
};

enum {
  ENDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheTerminal, cloche_terminal, G_TYPE_OBJECT)

static void
cloche_terminal_finalize (GObject *object)
{
  ClocheTerminal *self = CLOCHE_TERMINAL (object);

  if (self->fd >= 0)
    close (self->fd);
  g_clear_object (&self->port);
  g_free (self->id);
  g_free (self->session);
  g_strfreev (self->command);
  g_free (self->cwd);
  g_free (self->message);
  G_OBJECT_CLASS (cloche_terminal_parent_class)->finalize (object);
}

static void
cloche_terminal_class_init (ClocheTerminalClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cloche_terminal_finalize;

  /**
   * ClocheTerminal::ended:
   * @status: the command's exit status; -1 when the terminal broke
   * @message: (nullable): why it could not start or broke
   */
  signals[ENDED] =
    g_signal_new ("ended", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_STRING);
}

static void
cloche_terminal_init (ClocheTerminal *self)
{
  self->fd = -1;
}

ClocheTerminal *
cloche_terminal_new (const char         *id,
                     const char         *session,
                     const char * const *command,
                     const char         *cwd,
                     ClocheTerminalPort *port)
{
  ClocheTerminal *self = g_object_new (CLOCHE_TYPE_TERMINAL, NULL);

  self->id = g_strdup (id);
  self->session = g_strdup (session);
  self->command = g_strdupv ((char **) command);
  self->cwd = g_strdup (cwd);
  self->started = g_get_real_time ();
  self->port = g_object_ref (port);
  self->fd = cloche_terminal_port_steal_client_fd (port);
  return self;
}

const char *
cloche_terminal_get_id (ClocheTerminal *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL (self), NULL);
  return self->id;
}

const char *
cloche_terminal_get_session (ClocheTerminal *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL (self), NULL);
  return self->session;
}

const char * const *
cloche_terminal_get_command (ClocheTerminal *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL (self), NULL);
  return (const char * const *) self->command;
}

const char *
cloche_terminal_get_cwd (ClocheTerminal *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL (self), NULL);
  return self->cwd;
}

gint64
cloche_terminal_get_started (ClocheTerminal *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL (self), 0);
  return self->started;
}

ClocheTerminalPort *
cloche_terminal_get_port (ClocheTerminal *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL (self), NULL);
  return self->port;
}

/**
 * cloche_terminal_steal_fd:
 *
 * Returns: the client's end of the terminal's stream (once; -1 after)
 */
int
cloche_terminal_steal_fd (ClocheTerminal *self)
{
  int fd;

  g_return_val_if_fail (CLOCHE_IS_TERMINAL (self), -1);
  fd = self->fd;
  self->fd = -1;
  return fd;
}

gboolean
cloche_terminal_get_ended (ClocheTerminal  *self,
                           int             *status,
                           const char     **message)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL (self), FALSE);

  if (status != NULL)
    *status = self->status;
  if (message != NULL)
    *message = self->message;
  return self->ended;
}

/* Once; later calls are ignored. */
void
cloche_terminal_end (ClocheTerminal *self,
                     int             status,
                     const char     *message)
{
  g_return_if_fail (CLOCHE_IS_TERMINAL (self));

  if (self->ended)
    return;
  self->ended = TRUE;
  self->status = status;
  self->message = g_strdup (message);
  g_signal_emit (self, signals[ENDED], 0, status, message);
}
