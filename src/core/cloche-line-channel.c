/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A newline-delimited stream in both directions, as QMP and qemu-guest-agent
 * speak it. It only cuts lines and queues writes; what a line means is for
 * the client on top (ClocheQmpClient, ClocheGuestAgent) to decide.
 */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
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
  GHashTable       *fds;         /* queued line (GBytes *) -> its fd + 1 */
  GBytes           *in_flight;
  GSource          *fd_wait;     /* a line with an fd waits for room */
  gboolean          closed;
};

enum {
  LINE,
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheLineChannel, cloche_line_channel, G_TYPE_OBJECT)

static void read_next_chunk (ClocheLineChannel *self);

static void
close_fd_value (gpointer value)
{
  close (GPOINTER_TO_INT (value) - 1);
}

static void write_next      (ClocheLineChannel *self);

static void
finish_closed (ClocheLineChannel *self,
               const GError      *error)
{
  if (self->closed)
    return;
  self->closed = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_queue_clear_full (&self->pending_writes, (GDestroyNotify) g_bytes_unref);
  g_hash_table_remove_all (self->fds);
  if (self->fd_wait != NULL)
    g_source_destroy (self->fd_wait);
  g_clear_pointer (&self->fd_wait, g_source_unref);
  g_signal_emit (self, signals[CLOSED], 0, error);
}

/* A line ends at its first NUL, as a C string must; trailing blanks (the
 * \r of a CRLF) go, and blank lines are not emitted. */
static void
emit_line (ClocheLineChannel *self,
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
emit_complete_lines (ClocheLineChannel *self)
{
  gsize start = 0;
  gsize search = self->scanned;  /* a long line is searched once, not per chunk */
  const guint8 *newline;

  while (!self->closed
         && (newline = memchr (self->partial->data + search, '\n',
                               self->partial->len - search)) != NULL)
    {
      gsize end = newline - self->partial->data;

      emit_line (self, self->partial->data + start, end - start);
      start = search = end + 1;
    }
  if (self->closed)
    return;
  g_byte_array_remove_range (self->partial, 0, start);
  self->scanned = self->partial->len;
}

static void
finish_at_end (ClocheLineChannel *self)
{
  /* The last line may lack its newline. */
  emit_line (self, self->partial->data, self->partial->len);
  finish_closed (self, NULL);
}

static void
on_chunk_read (GObject      *object,
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
      finish_closed (self, error);
      return;
    }
  if (g_bytes_get_size (chunk) == 0)
    {
      finish_at_end (self);
      return;
    }

  g_byte_array_append (self->partial, g_bytes_get_data (chunk, NULL), g_bytes_get_size (chunk));
  emit_complete_lines (self);
  if (!self->closed && self->partial->len > LINE_MAX_BYTES)
    {
      g_autoptr(GError) too_long = g_error_new (G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                                                "it sent a line longer than %u MiB",
                                                LINE_MAX_BYTES / (1024 * 1024));

      finish_closed (self, too_long);
      return;
    }
  read_next_chunk (self);
}

static void
read_next_chunk (ClocheLineChannel *self)
{
  if (self->closed)
    return;
  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (self->stream), READ_CHUNK,
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   on_chunk_read, g_object_ref (self));
}

static void
on_written (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(ClocheLineChannel) self = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->in_flight, g_bytes_unref);
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result,
                                         NULL, &error))
    {
      finish_closed (self, error);
      return;
    }
  write_next (self);
}

static gboolean on_room_for_fd (GSocket      *socket,
                                GIOCondition  condition,
                                gpointer      user_data);

/* Sends the head of @line with @fd attached; the rest, if the socket took
 * only part, is queued first. FALSE: try again when there is room. */
static gboolean
send_with_fd (ClocheLineChannel *self,
              GBytes            *line,
              int                fd)
{
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (self->stream));
  union { struct cmsghdr header; char space[CMSG_SPACE (sizeof (int))]; } control = { 0 };
  gsize size;
  const char *data = g_bytes_get_data (line, &size);
  struct iovec vector = { (void *) data, size };
  struct msghdr message = { .msg_iov = &vector, .msg_iovlen = 1,
                            .msg_control = control.space, .msg_controllen = sizeof control.space };
  ssize_t sent;

  control.header.cmsg_level = SOL_SOCKET;
  control.header.cmsg_type = SCM_RIGHTS;
  control.header.cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (&control.header), &fd, sizeof fd);
  sent = sendmsg (g_socket_get_fd (socket), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent < 0 && (errno == EAGAIN || errno == EINTR))
    return FALSE;
  if (sent < 0)
    {
      g_autoptr(GError) error = g_error_new (G_IO_ERROR, g_io_error_from_errno (errno),
                                             "Cannot pass a descriptor: %s", g_strerror (errno));
      finish_closed (self, error);
      return TRUE;
    }
  if ((gsize) sent < size)
    g_queue_push_head (&self->pending_writes, g_bytes_new_from_bytes (line, sent, size - sent));
  return TRUE;
}

/* GOutputStream allows one pending operation at a time, so writes queue. */
static void
write_next (ClocheLineChannel *self)
{
  GOutputStream *output;
  GBytes *line;
  int fd;

  if (self->in_flight != NULL || self->fd_wait != NULL || self->closed)
    return;
  line = g_queue_peek_head (&self->pending_writes);
  if (line == NULL)
    return;
  if ((fd = GPOINTER_TO_INT (g_hash_table_lookup (self->fds, line)) - 1) >= 0)
    {
      if (!send_with_fd (self, line, fd))
        {
          GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (self->stream));

          self->fd_wait = g_socket_create_source (socket, G_IO_OUT, self->cancellable);
          g_source_set_callback (self->fd_wait, G_SOURCE_FUNC (on_room_for_fd), self, NULL);
          g_source_attach (self->fd_wait, NULL);
          return;
        }
      g_queue_remove (&self->pending_writes, line);
      g_hash_table_remove (self->fds, line);
      g_bytes_unref (line);
      write_next (self);
      return;
    }
  self->in_flight = g_queue_pop_head (&self->pending_writes);
  output = g_io_stream_get_output_stream (self->stream);
  g_output_stream_write_all_async (output,
                                   g_bytes_get_data (self->in_flight, NULL),
                                   g_bytes_get_size (self->in_flight),
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   on_written, g_object_ref (self));
}

static gboolean
on_room_for_fd (GSocket      *socket,
                GIOCondition  condition,
                gpointer      user_data)
{
  ClocheLineChannel *self = user_data;

  g_clear_pointer (&self->fd_wait, g_source_unref);
  write_next (self);
  return G_SOURCE_REMOVE;
}

static GBytes *
line_bytes (JsonNode *node)
{
  g_autofree char *text = json_to_string (node, FALSE);
  gsize length = strlen (text);
  char *line = g_strconcat (text, "\n", NULL);

  return g_bytes_new_take (line, length + 1);
}

void
cloche_line_channel_send (ClocheLineChannel *self,
                          JsonNode          *node)
{
  g_return_if_fail (CLOCHE_IS_LINE_CHANNEL (self));

  if (self->closed)
    return;
  g_queue_push_tail (&self->pending_writes, line_bytes (node));
  write_next (self);
}

/**
 * cloche_line_channel_send_with_fd:
 * @fd: (transfer full): the descriptor to pass with the line; closed once
 *   sent, or when the channel closes
 *
 * Needs a stream that is a #GSocketConnection on a Unix socket.
 */
void
cloche_line_channel_send_with_fd (ClocheLineChannel *self,
                                  JsonNode          *node,
                                  int                fd)
{
  GBytes *line;

  g_return_if_fail (CLOCHE_IS_LINE_CHANNEL (self));
  g_return_if_fail (G_IS_SOCKET_CONNECTION (self->stream));
  g_return_if_fail (fd >= 0);

  if (self->closed)
    {
      close (fd);
      return;
    }
  line = line_bytes (node);
  g_hash_table_insert (self->fds, line, GINT_TO_POINTER (fd + 1));
  g_queue_push_tail (&self->pending_writes, line);
  write_next (self);
}

void
cloche_line_channel_start (ClocheLineChannel *self)
{
  g_return_if_fail (CLOCHE_IS_LINE_CHANNEL (self));

  read_next_chunk (self);
}

void
cloche_line_channel_close (ClocheLineChannel *self)
{
  g_return_if_fail (CLOCHE_IS_LINE_CHANNEL (self));

  if (self->closed)
    return;
  finish_closed (self, NULL);
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

  g_queue_clear_full (&self->pending_writes, (GDestroyNotify) g_bytes_unref);
  g_clear_pointer (&self->fds, g_hash_table_unref);
  if (self->fd_wait != NULL)
    g_source_destroy (self->fd_wait);
  g_clear_pointer (&self->fd_wait, g_source_unref);
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
  /* By the line's address (each line is its own GBytes); the fd closed
   * when its entry goes. */
  self->fds = g_hash_table_new_full (NULL, NULL, NULL, close_fd_value);
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
