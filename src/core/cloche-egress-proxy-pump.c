/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One direction of a tunnel: bytes from one socket to the other through a
 * pipe with splice(2), so that they never pass through the daemon's own
 * memory (from a TCP socket the kernel moves pages; into one it sends them
 * without a copy). Driven by the main loop: it moves what it can without
 * blocking, then waits for the socket that held it up. An end of file on
 * the way in is passed on once the pipe is empty.
 */
/* splice(2) and F_SETPIPE_SZ are Linux's. */
#define _GNU_SOURCE
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <unistd.h>

#include "cloche-egress-proxy-private.h"

/* Moved per splice; also what one direction may hold in flight. */
#define PIPE_BYTES (256 * 1024)
/* Splices before letting the rest of the main loop run. */
#define STEPS_PER_TURN 32

struct _ClocheEgressPump
{
  int                     in_fd;
  int                     out_fd;
  int                     pipe[2];
  gsize                   pending;    /* bytes in the pipe */
  gboolean                in_ended;
  guint                   source;
  ClocheEgressPumpCounted counted;
  ClocheEgressPumpEnded   ended;
  gpointer                data;
};

static void cloche_egress_pump_step (ClocheEgressPump *self);

static gboolean
cloche_egress_pump_ready_cb (gint         fd,
                             GIOCondition condition,
                             gpointer     user_data)
{
  ClocheEgressPump *self = user_data;

  self->source = 0;
  cloche_egress_pump_step (self);
  return G_SOURCE_REMOVE;
}

static gboolean
cloche_egress_pump_turn_cb (gpointer user_data)
{
  ClocheEgressPump *self = user_data;

  self->source = 0;
  cloche_egress_pump_step (self);
  return G_SOURCE_REMOVE;
}

static void
cloche_egress_pump_wait_for (ClocheEgressPump *self,
                             int               fd,
                             GIOCondition      condition)
{
  self->source = g_unix_fd_add (fd, condition, cloche_egress_pump_ready_cb, self);
}

/* Empties the pipe into out_fd. FALSE when it has to wait or failed (and
 * said so); the pump is not touched after a failure. */
static gboolean
cloche_egress_pump_drain (ClocheEgressPump *self)
{
  ssize_t n = splice (self->pipe[0], NULL, self->out_fd, NULL, self->pending,
                      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

  if (n > 0)
    {
      self->pending -= n;
      return TRUE;
    }
  if (n < 0 && errno == EINTR)
    return TRUE;
  if (n < 0 && errno == EAGAIN)
    {
      cloche_egress_pump_wait_for (self, self->out_fd, G_IO_OUT);
      return FALSE;
    }
  self->ended (self->data, TRUE);
  return FALSE;
}

/* Fills the pipe from in_fd. FALSE when it has to wait or is done. */
static gboolean
cloche_egress_pump_fill (ClocheEgressPump *self)
{
  ssize_t n = splice (self->in_fd, NULL, self->pipe[1], NULL, PIPE_BYTES,
                      SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

  if (n > 0)
    {
      self->pending = n;
      self->counted (self->data, n);
      return TRUE;
    }
  if (n == 0)
    {
      self->in_ended = TRUE;
      return TRUE;
    }
  if (errno == EINTR)
    return TRUE;
  if (errno == EAGAIN)
    {
      cloche_egress_pump_wait_for (self, self->in_fd, G_IO_IN);
      return FALSE;
    }
  /* A reset is an end too: what came before it has been passed on. */
  self->ended (self->data, errno != ECONNRESET);
  return FALSE;
}

static void
cloche_egress_pump_step (ClocheEgressPump *self)
{
  for (guint i = 0; i < STEPS_PER_TURN; i++)
    {
      if (self->pending > 0)
        {
          if (!cloche_egress_pump_drain (self))
            return;
        }
      else if (self->in_ended)
        {
          self->ended (self->data, FALSE);
          return;
        }
      else if (!cloche_egress_pump_fill (self))
        return;
    }
  /* A fast tunnel must not keep the rest of the daemon waiting. */
  self->source = g_idle_add (cloche_egress_pump_turn_cb, self);
}

/**
 * _cloche_egress_pump_new:
 * @in_fd: the socket to read (non-blocking)
 * @out_fd: the socket to write (non-blocking)
 * @counted: told the bytes each time some are taken from @in_fd
 * @ended: told once, at the end of @in_fd with everything passed on
 *   (error FALSE) or at a failure (TRUE); the pump does nothing after it
 *
 * Returns: (nullable): a running pump, or %NULL with @error (no pipe)
 */
ClocheEgressPump *
_cloche_egress_pump_new (int                      in_fd,
                         int                      out_fd,
                         ClocheEgressPumpCounted  counted,
                         ClocheEgressPumpEnded    ended,
                         gpointer                 data,
                         GError                 **error)
{
  ClocheEgressPump *self = g_new0 (ClocheEgressPump, 1);

  if (pipe2 (self->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot make a pipe for the tunnel: %s"), g_strerror (errno));
      g_free (self);
      return NULL;
    }
  /* Larger than the default 64 KiB, fewer turns; refused above
   * fs.pipe-max-size, which is fine. */
  fcntl (self->pipe[1], F_SETPIPE_SZ, PIPE_BYTES);
  self->in_fd = in_fd;
  self->out_fd = out_fd;
  self->counted = counted;
  self->ended = ended;
  self->data = data;
  /* The first step from the main loop, not from inside the caller. */
  cloche_egress_pump_wait_for (self, in_fd, G_IO_IN);
  return self;
}

void
_cloche_egress_pump_stop (ClocheEgressPump *self)
{
  g_clear_handle_id (&self->source, g_source_remove);
}

void
_cloche_egress_pump_free (ClocheEgressPump *self)
{
  if (self == NULL)
    return;
  _cloche_egress_pump_stop (self);
  close (self->pipe[0]);
  close (self->pipe[1]);
  g_free (self);
}
