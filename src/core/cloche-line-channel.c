/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A newline-delimited stream in both directions, as QMP and qemu-guest-agent
 * speak it. It only cuts lines and queues writes; what a line means is for
 * the client on top (ClocheQmpClient, ClocheGuestAgent) to decide.
 */
#include "config.h"

#include <gio/gunixfdmessage.h>
#include <unistd.h>

#include "cloche-line-channel.h"

/* Far above any real line (a guest-exec-status with QEMU's 16 MiB of
 * output, base64), far below what would hurt: past it the peer is not
 * speaking the protocol, and buffering on would let it take our memory. */
#define LINE_MAX_BYTES (64u * 1024 * 1024)
#define READ_CHUNK 65536

struct _ClocheLineChannel
{
  GObject           parent_instance;
  GIOStream        *stream;
  GByteArray       *partial;     /* what was read after the last newline */
  gsize             scanned;     /* how much of it holds no newline */
  GCancellable     *cancellable;
  GQueue            pending_writes;
  GBytes           *in_flight;
  GHashTable       *fds;             /* a queued line → the descriptor it carries */
  gboolean          closed;
};

enum {
  LINE,
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheLineChannel, cloche_line_channel, G_TYPE_OBJECT)

static void cloche_line_channel_read_next_chunk (ClocheLineChannel *self);
static void cloche_line_channel_write_next      (ClocheLineChannel *self);

/* The descriptors of lines that will never be sent. */
static void
cloche_line_channel_close_fds (ClocheLineChannel *self)
{
  GHashTableIter iter;
  gpointer fd;

  g_hash_table_iter_init (&iter, self->fds);
  while (g_hash_table_iter_next (&iter, NULL, &fd))
    close (GPOINTER_TO_INT (fd));
  g_hash_table_remove_all (self->fds);
}

static void
cloche_line_channel_finish_closed (ClocheLineChannel *self,
                                   const GError      *error)
{
  if (self->closed)
    return;
  self->closed = TRUE;
  g_cancellable_cancel (self->cancellable);
  cloche_line_channel_close_fds (self);
  g_queue_clear_full (&self->pending_writes, (GDestroyNotify) g_bytes_unref);
  g_signal_emit (self, signals[CLOSED], 0, error);
}

/* A line ends at its first NUL, as a C string must; trailing blanks (the
 * \r of a CRLF) go, and blank lines are not emitted. */
static void
cloche_line_channel_emit_line (ClocheLineChannel *self,
                               const guint8      *data,
                               gsize              length)
{
  g_autofree char *line = NULL;

  if (length == 0)
    return;
  line = g_strndup ((const char *) data, length);
  g_strchomp (line);
  if (line[0] != '\0')
    g_signal_emit (self, signals[LINE], 0, line);
}

static void
cloche_line_channel_emit_complete_lines (ClocheLineChannel *self)
{
  gsize start = 0;
  gsize search = self->scanned;  /* a long line is searched once, not per chunk */
  const guint8 *newline;

  while (!self->closed
         && (newline = memchr (self->partial->data + search, '\n',
                               self->partial->len - search)) != NULL)
    {
      gsize end = newline - self->partial->data;

      cloche_line_channel_emit_line (self, self->partial->data + start, end - start);
      start = search = end + 1;
    }
  if (self->closed)
    return;
  g_byte_array_remove_range (self->partial, 0, start);
  self->scanned = self->partial->len;
}

static void
cloche_line_channel_finish_at_end (ClocheLineChannel *self)
{
  /* The last line may lack its newline. */
  cloche_line_channel_emit_line (self, self->partial->data, self->partial->len);
  cloche_line_channel_finish_closed (self, NULL);
}

static void
cloche_line_channel_chunk_read_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(ClocheLineChannel) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) chunk = NULL;

  chunk = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (self->closed)
    return;
  if (chunk == NULL)
    {
      cloche_line_channel_finish_closed (self, error);
      return;
    }
  if (g_bytes_get_size (chunk) == 0)
    {
      cloche_line_channel_finish_at_end (self);
      return;
    }

  g_byte_array_append (self->partial, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  cloche_line_channel_emit_complete_lines (self);
  if (!self->closed && self->partial->len > LINE_MAX_BYTES)
    {
      g_autoptr(GError) too_long = g_error_new (G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                                                "it sent a line longer than %u MiB",
                                                LINE_MAX_BYTES / (1024 * 1024));

      cloche_line_channel_finish_closed (self, too_long);
      return;
    }
  cloche_line_channel_read_next_chunk (self);
}

static void
cloche_line_channel_read_next_chunk (ClocheLineChannel *self)
{
  if (self->closed)
    return;
  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (self->stream), READ_CHUNK,
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   cloche_line_channel_chunk_read_cb, g_object_ref (self));
}

static void
cloche_line_channel_written_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheLineChannel) self = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->in_flight, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result,
                                         NULL, &error))
    {
      cloche_line_channel_finish_closed (self, error);
      return;
    }
  cloche_line_channel_write_next (self);
}

/* A line that carries a descriptor (SCM_RIGHTS, QMP's getfd) goes out
 * at its turn in the queue, in one sendmsg on the socket itself: a line of
 * a hundred bytes, which a stream socket takes whole. */
static gboolean
cloche_line_channel_send_with_fd_internal (ClocheLineChannel  *self,
                                           GBytes             *line,
                                           int                 fd,
                                           GError            **error)
{
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (self->stream));
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GSocketControlMessage) message = NULL;
  GOutputVector vector = { g_bytes_get_data (line, NULL), g_bytes_get_size (line) };
  gssize sent;

  if (g_unix_fd_list_append (list, fd, error) < 0)
    return FALSE;
  message = g_unix_fd_message_new_with_fd_list (list);
  sent = g_socket_send_message (socket, NULL, &vector, 1, &message, 1, 0, self->cancellable,
                                error);
  if (sent < 0)
    return FALSE;
  if ((gsize) sent != vector.size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "A line with a descriptor was cut");
      return FALSE;
    }
  return TRUE;
}

/* GOutputStream allows one pending operation at a time, so writes queue. */
static void
cloche_line_channel_write_next (ClocheLineChannel *self)
{
  GOutputStream *output;
  gpointer fd;

  if (self->in_flight != NULL || self->closed)
    return;
  self->in_flight = g_queue_pop_head (&self->pending_writes);
  if (self->in_flight == NULL)
    return;
  if (g_hash_table_steal_extended (self->fds, self->in_flight, NULL, &fd))
    {
      g_autoptr(GError) error = NULL;
      gboolean sent =
        cloche_line_channel_send_with_fd_internal (self, self->in_flight, GPOINTER_TO_INT (fd),
                                                   &error);

      close (GPOINTER_TO_INT (fd));
      g_clear_pointer (&self->in_flight, g_bytes_unref);
      if (!sent)
        cloche_line_channel_finish_closed (self, error);
      else
        cloche_line_channel_write_next (self);
      return;
    }

  output = g_io_stream_get_output_stream (self->stream);
  g_output_stream_write_all_async (output,
                                   g_bytes_get_data (self->in_flight, NULL),
                                   g_bytes_get_size (self->in_flight),
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   cloche_line_channel_written_cb, g_object_ref (self));
}

/**
 * cloche_line_channel_send_with_fd:
 * @fd: a descriptor to send with the line (SCM_RIGHTS; the stream must
 *   be a socket connection), which the channel takes, or -1
 *
 * Queues @node as one line.
 */
void
cloche_line_channel_send_with_fd (ClocheLineChannel *self,
                                  JsonNode          *node,
                                  int                fd)
{
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  GBytes *bytes;

  g_return_if_fail (CLOCHE_IS_LINE_CHANNEL (self));
  g_return_if_fail (fd < 0 || G_IS_SOCKET_CONNECTION (self->stream));

  if (self->closed)
    {
      if (fd >= 0)
        close (fd);
      return;
    }
  text = json_to_string (node, FALSE);
  line = g_strconcat (text, "\n", NULL);
  bytes = g_bytes_new_take (g_steal_pointer (&line), strlen (text) + 1);
  if (fd >= 0)
    g_hash_table_insert (self->fds, bytes, GINT_TO_POINTER (fd));
  g_queue_push_tail (&self->pending_writes, bytes);
  cloche_line_channel_write_next (self);
}

void
cloche_line_channel_send (ClocheLineChannel *self,
                          JsonNode          *node)
{
  cloche_line_channel_send_with_fd (self, node, -1);
}

void
cloche_line_channel_start (ClocheLineChannel *self)
{
  g_return_if_fail (CLOCHE_IS_LINE_CHANNEL (self));

  cloche_line_channel_read_next_chunk (self);
}

void
cloche_line_channel_close (ClocheLineChannel *self)
{
  g_return_if_fail (CLOCHE_IS_LINE_CHANNEL (self));

  if (self->closed)
    return;
  cloche_line_channel_finish_closed (self, NULL);
  g_io_stream_close (self->stream, NULL, NULL);
}

gboolean
cloche_line_channel_is_closed (ClocheLineChannel *self)
{
  g_return_val_if_fail (CLOCHE_IS_LINE_CHANNEL (self), TRUE);

  return self->closed;
}

static void
cloche_line_channel_finalize (GObject *object)
{
  ClocheLineChannel *self = CLOCHE_LINE_CHANNEL (object);

  cloche_line_channel_close_fds (self);
  g_hash_table_unref (self->fds);
  g_queue_clear_full (&self->pending_writes, (GDestroyNotify) g_bytes_unref);
  g_clear_pointer (&self->in_flight, g_bytes_unref);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->partial, g_byte_array_unref);
  g_clear_object (&self->stream);

  G_OBJECT_CLASS (cloche_line_channel_parent_class)->finalize (object);
}

static void
cloche_line_channel_class_init (ClocheLineChannelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cloche_line_channel_finalize;

  /**
   * ClocheLineChannel::line:
   * @line: one line, without its terminator, never empty
   */
  signals[LINE] =
    g_signal_new ("line", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  /**
   * ClocheLineChannel::closed:
   * @error: (nullable): why, or %NULL at end of stream or on close()
   */
  signals[CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
cloche_line_channel_init (ClocheLineChannel *self)
{
  self->cancellable = g_cancellable_new ();
  self->partial = g_byte_array_new ();
  g_queue_init (&self->pending_writes);
  self->fds = g_hash_table_new (NULL, NULL);
}

ClocheLineChannel *
cloche_line_channel_new (GIOStream *stream)
{
  ClocheLineChannel *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);

  self = g_object_new (CLOCHE_TYPE_LINE_CHANNEL, NULL);
  self->stream = g_object_ref (stream);
  return self;
}
