/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * MCP's stdio transport: messages are lines of UTF-8 on stdin and stdout.
 * Reading is bounded: a line longer than CLOCHECTL_MCP_LINE_MAX_BYTES is
 * not kept in memory; its bytes are dropped up to the next newline, and
 * "overlong" is emitted once for it, so the server answers and goes on.
 * Writing keeps the order of send(): one write in flight at a time, each
 * line followed by its newline. The end of the input is "closed".
 */
#include "config.h"

#include "clochectl-mcp-transport.h"

#define READ_CHUNK 65536

struct _ClochectlMcpTransport
{
  GObject        parent_instance;
  GInputStream  *input;
  GOutputStream *output;
  GByteArray    *partial;     /* what was read after the last newline */
  gsize          skipping;    /* bytes of an overlong line dropped so far; 0: none */
  GCancellable  *cancellable;
  GQueue         queue;       /* GBytes, each a line with its newline */
  gboolean       writing;
  GQueue         flushes;     /* GTask waiting for the queue to empty */
  gboolean       closed;
};

enum {
  LINE,
  OVERLONG,
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClochectlMcpTransport, clochectl_mcp_transport, G_TYPE_OBJECT)

static void clochectl_mcp_transport_read_next (ClochectlMcpTransport *self);

static void
clochectl_mcp_transport_emit_line (ClochectlMcpTransport *self,
                                   const guint8          *data,
                                   gsize                  length)
{
  /* A CRLF client's \r goes; blank lines (keep-alives of some clients) too. */
  while (length > 0 && (data[length - 1] == '\r' || data[length - 1] == ' '))
    length--;
  if (length > 0)
    g_signal_emit (self, signals[LINE], 0, data, (guint64) length);
}

/* Bytes of a line too long to keep: count them, drop them. */
static gsize
clochectl_mcp_transport_skip_overlong (ClochectlMcpTransport *self,
                                       const guint8          *data,
                                       gsize                  length)
{
  const guint8 *newline = memchr (data, '\n', length);
  gsize used = newline != NULL ? (gsize) (newline - data) + 1 : length;

  self->skipping += newline != NULL ? used - 1 : used;
  if (newline != NULL)
    {
      g_signal_emit (self, signals[OVERLONG], 0, (guint64) self->skipping);
      self->skipping = 0;
    }
  return used;
}

static void
clochectl_mcp_transport_take_bytes (ClochectlMcpTransport *self,
                                    const guint8          *data,
                                    gsize                  length)
{
  while (length > 0 && !self->closed)
    {
      const guint8 *newline;
      gsize used;

      if (self->skipping > 0)
        {
          used = clochectl_mcp_transport_skip_overlong (self, data, length);
          data += used;
          length -= used;
          continue;
        }
      newline = memchr (data, '\n', length);
      used = newline != NULL ? (gsize) (newline - data) + 1 : length;
      if (self->partial->len + used > CLOCHECTL_MCP_LINE_MAX_BYTES + 1)
        {
          self->skipping = MAX (self->partial->len, 1);
          g_byte_array_set_size (self->partial, 0);
          continue;
        }
      g_byte_array_append (self->partial, data, used);
      data += used;
      length -= used;
      if (newline != NULL)
        {
          g_autoptr(GByteArray) line = g_steal_pointer (&self->partial);

          self->partial = g_byte_array_new ();
          clochectl_mcp_transport_emit_line (self, line->data, line->len - 1);
        }
    }
}

static void
clochectl_mcp_transport_finish_closed (ClochectlMcpTransport *self)
{
  if (self->closed)
    return;
  /* A last message without its newline still counts. */
  if (self->partial->len > 0 && self->skipping == 0)
    clochectl_mcp_transport_emit_line (self, self->partial->data, self->partial->len);
  else if (self->skipping > 0)
    g_signal_emit (self, signals[OVERLONG], 0, (guint64) self->skipping);
  g_byte_array_set_size (self->partial, 0);
  self->closed = TRUE;
  g_signal_emit (self, signals[CLOSED], 0);
}

static void
clochectl_mcp_transport_read_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(ClochectlMcpTransport) self = user_data;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      if (error != NULL)
        g_printerr ("clochectl mcp: reading the client's messages failed: %s\n",
                    error->message);
      clochectl_mcp_transport_finish_closed (self);
      return;
    }
  clochectl_mcp_transport_take_bytes (self, g_bytes_get_data (bytes, NULL),
                                      g_bytes_get_size (bytes));
  clochectl_mcp_transport_read_next (self);
}

static void
clochectl_mcp_transport_read_next (ClochectlMcpTransport *self)
{
  if (self->closed)
    return;
  g_input_stream_read_bytes_async (self->input, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   self->cancellable, clochectl_mcp_transport_read_cb,
                                   g_object_ref (self));
}

void
clochectl_mcp_transport_start (ClochectlMcpTransport *self)
{
  g_return_if_fail (CLOCHECTL_IS_MCP_TRANSPORT (self));

  clochectl_mcp_transport_read_next (self);
}

/* Writing */

static void clochectl_mcp_transport_write_next (ClochectlMcpTransport *self);

static void
clochectl_mcp_transport_complete_flushes (ClochectlMcpTransport *self,
                                          const GError          *error)
{
  GTask *task;

  while ((task = g_queue_pop_head (&self->flushes)) != NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

static void
clochectl_mcp_transport_written_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(ClochectlMcpTransport) self = user_data;
  g_autoptr(GError) error = NULL;

  self->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      /* The client is gone: nobody reads what is left. */
      g_queue_clear_full (&self->queue, (GDestroyNotify) g_bytes_unref);
      clochectl_mcp_transport_complete_flushes (self, error);
      return;
    }
  clochectl_mcp_transport_write_next (self);
}

static void
clochectl_mcp_transport_write_next (ClochectlMcpTransport *self)
{
  g_autoptr(GBytes) line = NULL;

  if (self->writing)
    return;
  line = g_queue_pop_head (&self->queue);
  if (line == NULL)
    {
      clochectl_mcp_transport_complete_flushes (self, NULL);
      return;
    }
  self->writing = TRUE;
  /* The bytes live as long as the operation: its user data keeps them. */
  g_object_set_data_full (G_OBJECT (self), "clochectl-mcp-in-flight", g_bytes_ref (line),
                          (GDestroyNotify) g_bytes_unref);
  g_output_stream_write_all_async (self->output, g_bytes_get_data (line, NULL),
                                   g_bytes_get_size (line), G_PRIORITY_DEFAULT, NULL,
                                   clochectl_mcp_transport_written_cb, g_object_ref (self));
}

/**
 * clochectl_mcp_transport_send:
 * @line: (transfer full): one message, without a newline
 */
void
clochectl_mcp_transport_send (ClochectlMcpTransport *self,
                              char                  *line)
{
  gsize length;

  g_return_if_fail (CLOCHECTL_IS_MCP_TRANSPORT (self));

  length = strlen (line);
  line = g_realloc (line, length + 2);
  line[length] = '\n';
  line[length + 1] = '\0';
  g_queue_push_tail (&self->queue, g_bytes_new_take (line, length + 1));
  clochectl_mcp_transport_write_next (self);
}

/* Completes once every line sent so far is written (or cannot be). */
void
clochectl_mcp_transport_flush_async (ClochectlMcpTransport *self,
                                     GAsyncReadyCallback    callback,
                                     gpointer               user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, clochectl_mcp_transport_flush_async);
  g_queue_push_tail (&self->flushes, task);
  if (!self->writing && g_queue_is_empty (&self->queue))
    clochectl_mcp_transport_complete_flushes (self, NULL);
}

gboolean
clochectl_mcp_transport_flush_finish (ClochectlMcpTransport  *self,
                                      GAsyncResult           *result,
                                      GError                **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
clochectl_mcp_transport_dispose (GObject *object)
{
  ClochectlMcpTransport *self = CLOCHECTL_MCP_TRANSPORT (object);

  g_cancellable_cancel (self->cancellable);
  g_queue_clear_full (&self->queue, (GDestroyNotify) g_bytes_unref);
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (clochectl_mcp_transport_parent_class)->dispose (object);
}

static void
clochectl_mcp_transport_finalize (GObject *object)
{
  ClochectlMcpTransport *self = CLOCHECTL_MCP_TRANSPORT (object);

  g_byte_array_unref (self->partial);

  G_OBJECT_CLASS (clochectl_mcp_transport_parent_class)->finalize (object);
}

static void
clochectl_mcp_transport_class_init (ClochectlMcpTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = clochectl_mcp_transport_dispose;
  object_class->finalize = clochectl_mcp_transport_finalize;

  /* (data, length): one line without its newline, not NUL-terminated. */
  signals[LINE] = g_signal_new ("line", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                G_TYPE_POINTER, G_TYPE_UINT64);
  /* (length): a line longer than the limit was dropped. */
  signals[OVERLONG] = g_signal_new ("overlong", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
  signals[CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
clochectl_mcp_transport_init (ClochectlMcpTransport *self)
{
  self->partial = g_byte_array_new ();
  self->cancellable = g_cancellable_new ();
}

ClochectlMcpTransport *
clochectl_mcp_transport_new (GInputStream  *input,
                             GOutputStream *output)
{
  ClochectlMcpTransport *self = g_object_new (CLOCHECTL_TYPE_MCP_TRANSPORT, NULL);

  self->input = g_object_ref (input);
  self->output = g_object_ref (output);
  return self;
}
