/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One message body of a forwarded plain request, in one direction: the
 * bytes already read with the head first, then from the socket, passed on
 * unchanged until the body's end as its head framed it (Content-Length,
 * the chunked coding, or the sender's close). Whatever was read past the
 * end is handed back: on the guest's side, the start of its next request.
 *
 * The head to pass on before the body goes out in the same write as the
 * first of the body: a head and a body written apart would wait on each
 * other's acknowledgement (Nagle's algorithm against delayed ACKs, tens
 * of milliseconds a request on loopback TCP).
 *
 * Copied through a buffer, not spliced: a plain request's body is small
 * next to the cost of the request around it, and the chunked coding has to
 * be read to find its end anyway. Tunnels (CONNECT) splice
 * (cloche-egress-proxy-pump.c).
 */
#include "config.h"

#include "cloche-egress-proxy-private.h"

#define READ_BYTES (64 * 1024)

struct _ClocheEgressBody
{
  gint                     refs;
  GIOStream               *from;
  GIOStream               *to;
  ClocheHttpBody           kind;
  guint64                  remaining;   /* for LENGTH */
  ClocheHttpChunks         chunks;
  GByteArray              *buffer;      /* [prefix] + read, not yet passed on */
  gsize                    prefix;      /* bytes at the start of buffer that are the head */
  gsize                    writing;     /* bytes of buffer being written */
  gboolean                 complete;    /* the end is within what is being written */
  gboolean                 stopped;
  GCancellable            *cancellable;
  ClocheEgressPumpCounted  counted;
  ClocheEgressBodyDone     done;
  gpointer                 data;
  char                     chunk[READ_BYTES];
};

static ClocheEgressBody *
cloche_egress_body_ref (ClocheEgressBody *self)
{
  self->refs++;
  return self;
}

static void
cloche_egress_body_unref (ClocheEgressBody *self)
{
  if (--self->refs > 0)
    return;
  g_clear_object (&self->from);
  g_clear_object (&self->to);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->buffer, g_byte_array_unref);
  g_free (self);
}

static void
cloche_egress_body_end (ClocheEgressBody *self,
                        gboolean          ok)
{
  GByteArray *rest = g_steal_pointer (&self->buffer);

  self->buffer = g_byte_array_new ();
  self->stopped = TRUE;
  self->done (self->data, ok, rest);
}

static void cloche_egress_body_step (ClocheEgressBody *self);

static void
cloche_egress_body_written_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  ClocheEgressBody *self = user_data;
  gboolean ok = g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL);

  if (self->stopped)
    ;
  else if (!ok)
    cloche_egress_body_end (self, FALSE);
  else
    {
      gsize n = self->writing;

      g_byte_array_remove_range (self->buffer, 0, self->prefix + n);
      self->writing = 0;
      if (self->kind == CLOCHE_HTTP_BODY_LENGTH)
        self->remaining -= n;
      self->counted (self->data, self->prefix + n);
      self->prefix = 0;
      if (self->complete)
        cloche_egress_body_end (self, TRUE);
      else
        cloche_egress_body_step (self);
    }
  cloche_egress_body_unref (self);
}

static void
cloche_egress_body_read_cb (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  ClocheEgressBody *self = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (object), result, NULL);

  if (self->stopped)
    ;
  else if (n < 0)
    cloche_egress_body_end (self, FALSE);
  else if (n == 0)
    /* Only a body that ends with the connection may end with it. */
    cloche_egress_body_end (self, self->kind == CLOCHE_HTTP_BODY_CLOSE);
  else
    {
      g_byte_array_append (self->buffer, (guint8 *) self->chunk, n);
      cloche_egress_body_step (self);
    }
  cloche_egress_body_unref (self);
}

/* How much of the buffer belongs to the body (-1: bad framing); sets
 * self->complete when the body ends within it. */
static gssize
cloche_egress_body_measure (ClocheEgressBody *self)
{
  g_autoptr(GError) error = NULL;
  const char *data = (const char *) self->buffer->data + self->prefix;
  gsize length = self->buffer->len - self->prefix;
  gssize n;

  switch (self->kind)
    {
    case CLOCHE_HTTP_BODY_NONE:
      self->complete = TRUE;
      return 0;
    case CLOCHE_HTTP_BODY_LENGTH:
      n = (gssize) MIN (self->remaining, (guint64) length);
      self->complete = (guint64) n == self->remaining;
      return n;
    case CLOCHE_HTTP_BODY_CHUNKED:
      n = cloche_http_chunks_feed (&self->chunks, data, length, &self->complete, &error);
      if (n < 0)
        g_message ("Egress: %s", error->message);
      return n;
    case CLOCHE_HTTP_BODY_CLOSE:
    default:
      return length;
    }
}

static void
cloche_egress_body_step (ClocheEgressBody *self)
{
  gssize n = cloche_egress_body_measure (self);
  gsize room = READ_BYTES;

  if (n < 0)
    cloche_egress_body_end (self, FALSE);
  else if (n > 0 || self->prefix > 0)
    {
      /* The head goes now even if no byte of the body is here yet. */
      self->writing = n;
      g_output_stream_write_all_async (g_io_stream_get_output_stream (self->to),
                                       self->buffer->data, self->prefix + n, G_PRIORITY_DEFAULT,
                                       self->cancellable, cloche_egress_body_written_cb,
                                       cloche_egress_body_ref (self));
    }
  else if (self->complete)
    cloche_egress_body_end (self, TRUE);
  else
    {
      /* Never read past a length: what follows is the next message's. */
      if (self->kind == CLOCHE_HTTP_BODY_LENGTH)
        room = (gsize) MIN ((guint64) room, self->remaining);
      g_input_stream_read_async (g_io_stream_get_input_stream (self->from), self->chunk, room,
                                 G_PRIORITY_DEFAULT, self->cancellable, cloche_egress_body_read_cb,
                                 cloche_egress_body_ref (self));
    }
}

/**
 * _cloche_egress_body_new:
 * @head: (nullable): the head to write before the body, counted with it
 * @buffered: (transfer full): bytes read from @from after the head
 * @counted: told the bytes each time some have been passed on
 * @done: told once: whether the body ended as framed, and (transfer full)
 *   what was read past its end
 *
 * Returns: a body, to start with _cloche_egress_body_start() once the
 *   caller holds it; _cloche_egress_body_free() stops it
 */
ClocheEgressBody *
_cloche_egress_body_new (GIOStream               *from,
                         GIOStream               *to,
                         ClocheHttpBody           kind,
                         guint64                  length,
                         const char              *head,
                         gsize                    head_length,
                         GByteArray              *buffered,
                         GCancellable            *cancellable,
                         ClocheEgressPumpCounted  counted,
                         ClocheEgressBodyDone     done,
                         gpointer                 data)
{
  ClocheEgressBody *self = g_new0 (ClocheEgressBody, 1);

  self->refs = 1;
  self->from = g_object_ref (from);
  self->to = g_object_ref (to);
  self->kind = kind;
  self->remaining = length;
  self->buffer = buffered;
  if (head != NULL)
    g_byte_array_prepend (self->buffer, (const guint8 *) head, head_length);
  self->prefix = head_length;
  self->cancellable = g_object_ref (cancellable);
  self->counted = counted;
  self->done = done;
  self->data = data;
  return self;
}

/* @done may be told before this returns (a bad chunked coding in what was
 * already read), and may free the body's owner: nothing here touches
 * @self after it. */
void
_cloche_egress_body_start (ClocheEgressBody *self)
{
  cloche_egress_body_ref (self);
  cloche_egress_body_step (self);
  cloche_egress_body_unref (self);
}

/* Stops it (nothing more is told) and drops the caller's reference. */
void
_cloche_egress_body_free (ClocheEgressBody *self)
{
  if (self == NULL)
    return;
  self->stopped = TRUE;
  cloche_egress_body_unref (self);
}
