/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A CONNECT tunnel: the guest's socket and the server's, bytes as they
 * are both ways, each direction a pump (cloche-egress-proxy-pump.c,
 * splice through a pipe, never through the daemon's memory). An end of
 * file on one side is passed on as a half-close (shutdown for writing) on
 * the other, which may still answer; the tunnel ends when both directions
 * have ended, or at the first failure. The idle limit is its owner's
 * (cloche-egress-proxy-connection.c), told of every byte.
 */
#include "config.h"

#include "cloche-egress-proxy-private.h"

typedef struct
{
  ClocheEgressTunnel *tunnel;
  ClocheEgressPump   *pump;
  GSocket            *out_socket;    /* shut down for writing at the end */
  gboolean            inbound;       /* server → guest */
  gboolean            ended;
} Direction;

struct _ClocheEgressTunnel
{
  Direction                directions[2];   /* out (guest → server), in */
  ClocheEgressCounted      counted;
  ClocheEgressTunnelEnded  ended;
  gpointer                 data;
};

static void
cloche_egress_tunnel_counted_cb (gpointer data,
                                 gsize    bytes)
{
  Direction *direction = data;
  ClocheEgressTunnel *self = direction->tunnel;

  self->counted (self->data, bytes, direction->inbound);
}

/* Nothing touches the tunnel after telling its owner, who may stop it. */
static void
cloche_egress_tunnel_ended_cb (gpointer data,
                               gboolean failed)
{
  Direction *direction = data;
  ClocheEgressTunnel *self = direction->tunnel;

  if (failed)
    {
      self->ended (self->data);
      return;
    }
  direction->ended = TRUE;
  /* The other side learns that no more is coming, and may still answer. */
  g_socket_shutdown (direction->out_socket, FALSE, TRUE, NULL);
  if (self->directions[0].ended && self->directions[1].ended)
    self->ended (self->data);
}

static gboolean
cloche_egress_tunnel_direction_start (ClocheEgressTunnel  *self,
                                      Direction           *direction,
                                      GSocket             *from,
                                      GSocket             *to,
                                      gboolean             inbound,
                                      GError             **error)
{
  direction->tunnel = self;
  direction->out_socket = to;
  direction->inbound = inbound;
  direction->pump = _cloche_egress_pump_new (g_socket_get_fd (from), g_socket_get_fd (to),
                                             cloche_egress_tunnel_counted_cb,
                                             cloche_egress_tunnel_ended_cb, direction, error);
  return direction->pump != NULL;
}

/**
 * _cloche_egress_tunnel_new:
 * @client: the guest's socket
 * @server: the server's socket
 * @counted: told the bytes taken from either side as they pass
 * @ended: told once: both directions ended, or one failed
 *
 * Returns: (nullable): a running tunnel, or %NULL with @error (no pipe)
 */
ClocheEgressTunnel *
_cloche_egress_tunnel_new (GSocket                  *client,
                           GSocket                  *server,
                           ClocheEgressCounted       counted,
                           ClocheEgressTunnelEnded   ended,
                           gpointer                  data,
                           GError                  **error)
{
  ClocheEgressTunnel *self = g_new0 (ClocheEgressTunnel, 1);

  self->counted = counted;
  self->ended = ended;
  self->data = data;
  if (!cloche_egress_tunnel_direction_start (self, &self->directions[0], client, server, FALSE,
                                             error)
      || !cloche_egress_tunnel_direction_start (self, &self->directions[1], server, client, TRUE,
                                                error))
    {
      _cloche_egress_tunnel_free (self);
      return NULL;
    }
  return self;
}

/* Nothing is told after this; the sockets are the owner's to close. */
void
_cloche_egress_tunnel_stop (ClocheEgressTunnel *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->directions); i++)
    if (self->directions[i].pump != NULL)
      _cloche_egress_pump_stop (self->directions[i].pump);
}

void
_cloche_egress_tunnel_free (ClocheEgressTunnel *self)
{
  if (self == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (self->directions); i++)
    g_clear_pointer (&self->directions[i].pump, _cloche_egress_pump_free);
  g_free (self);
}
