/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's end of the exec server (`cloche-guest serve`,
 * src/guest/cloche-guest-serve.c): one virtio-serial port a boot
 * (ClocheTerminalPort, named io.github.cloche.exec.N), the server started on
 * it through the guest agent, and a session's commands sent as frames
 * whose replies are matched by id. A command's end is pushed to us: no
 * guest-exec and no guest-exec-status poll per command (issue 21).
 *
 * exec_async has exactly the semantics of cloche_guest_agent_exec_async():
 * past the deadline the command is killed (KILL: the server's child kills
 * its process group) and the call fails with ExecTimeout, at once, or with
 * CLOCHE_EXEC_WAIT_FOR_STOP once its end came, with what it wrote until
 * then; cancelling kills it and fails with G_IO_ERROR_CANCELLED; each
 * output is kept up to 16 MiB, and a cut one is OutputTruncated.
 *
 * The guest is hostile: anything on the port may be forged by its root or
 * kernel. Every frame is checked where it is used: its length before any
 * of it is kept, its type, its id one of a command we sent and whose end
 * has not come, an exit status in range, the outputs capped. A frame that
 * fails a check drops the channel: logged with the reason, the port
 * unplugged (the server exits on the hang-up, killing what it runs), every
 * command still running failed with an error naming the cause (they were
 * started: they are not run again behind the caller's back), and the
 * boot's next commands go through guest-exec again. So does the end of the
 * server itself, which the guest agent reports.
 */
#include "config.h"

#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "cloche-error.h"
#include "cloche-exec-channel-private.h"
#include "cloche-guest-agent-private.h"
#include "cloche-terminal-port.h"

#define READ_CHUNK        65536
#define READY_TEXT        "cloche-exec 1"
#define READY_TIMEOUT_S   30
#define HOLD_MAX_MS       2000
#define KILL_TIMEOUT_S    10
#define OUTPUT_LIMIT      (16u << 20)
#define MAX_STRINGS       8192
#define MAX_STATUS        255

struct _ClocheExecChannel
{
  GObject             parent_instance;
  GIOStream          *stream;
  GSocket            *socket;         /* nullable: the stream's, to shut it down */
  GCancellable       *cancellable;    /* the reads and writes, until dropped */
  GByteArray         *partial;        /* read, not yet a whole frame */
  GQueue              writes;         /* GBytes */
  gboolean            writing;
  GHashTable         *commands;       /* id → GTask, until its EXIT */
  guint32             next_id;
  gboolean            ready;
  GError             *dropped;        /* set: why the channel is no more */
  /* Opened by open_async: the port and the server on it. */
  ClocheTerminalPort *port;
  GCancellable       *server_cancellable;
  GTask              *open_task;      /* until READY */
  guint               ready_timer;
  GTask              *close_task;     /* until the port is out */
  gboolean            unplugging;
  ClocheGuestAgent   *held_agent;     /* held until the server has opened its port */
  guint               hold_timer;
  gint64              held_since;     /* monotonic µs */
};

enum
{
  DROPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheExecChannel, cloche_exec_channel, G_TYPE_OBJECT)

static void cloche_exec_channel_drop (ClocheExecChannel *self,
                                      GError            *why);

/* The guest agent's other commands go out again: the server's port is
 * open (or it never will be). */
static void
cloche_exec_channel_release_agent (ClocheExecChannel *self)
{
  g_clear_handle_id (&self->hold_timer, g_source_remove);
  if (self->held_agent == NULL)
    return;
  g_message ("Exec channel: the guest agent was held %" G_GINT64_FORMAT " ms while the exec "
             "server started", (g_get_monotonic_time () - self->held_since) / 1000);
  cloche_guest_agent_release (self->held_agent);
  g_clear_object (&self->held_agent);
}

static void
cloche_exec_channel_dispose (GObject *object)
{
  ClocheExecChannel *self = CLOCHE_EXEC_CHANNEL (object);

  g_clear_handle_id (&self->ready_timer, g_source_remove);
  cloche_exec_channel_release_agent (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->port);
  G_OBJECT_CLASS (cloche_exec_channel_parent_class)->dispose (object);
}

static void
cloche_exec_channel_finalize (GObject *object)
{
  ClocheExecChannel *self = CLOCHE_EXEC_CHANNEL (object);

  g_queue_clear_full (&self->writes, (GDestroyNotify) g_bytes_unref);
  g_hash_table_unref (self->commands);
  g_byte_array_unref (self->partial);
  g_clear_object (&self->socket);
  g_clear_object (&self->stream);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->server_cancellable);
  g_clear_error (&self->dropped);
  G_OBJECT_CLASS (cloche_exec_channel_parent_class)->finalize (object);
}

static void
cloche_exec_channel_class_init (ClocheExecChannelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cloche_exec_channel_dispose;
  object_class->finalize = cloche_exec_channel_finalize;

  /* Once, when the channel can no longer be used: the reason's message. */
  signals[DROPPED] = g_signal_new ("dropped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
cloche_exec_channel_init (ClocheExecChannel *self)
{
  self->cancellable = g_cancellable_new ();
  self->partial = g_byte_array_new ();
  self->commands = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  self->next_id = 1;
}

/**
 * cloche_exec_channel_is_open:
 *
 * Returns: whether commands can go through the channel now (its server has
 *   said it is ready, and nothing has dropped it)
 */
gboolean
cloche_exec_channel_is_open (ClocheExecChannel *self)
{
  g_return_val_if_fail (CLOCHE_IS_EXEC_CHANNEL (self), FALSE);

  return self->ready && self->dropped == NULL;
}

const GError *
cloche_exec_channel_get_drop_reason (ClocheExecChannel *self)
{
  g_return_val_if_fail (CLOCHE_IS_EXEC_CHANNEL (self), NULL);

  return self->dropped;
}

/* Frames */

static guint32
cloche_exec_channel_read_u32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static void
cloche_exec_channel_write_u32 (guint8  *p,
                               guint32  value)
{
  for (guint i = 0; i < 4; i++)
    p[i] = (guint8) (value >> (8 * i));
}

/**
 * cloche_exec_channel_next_frame:
 * @frame: (out): the first frame of @data, pointing into it
 *
 * Returns: the bytes the frame takes in @data; 0 when @data does not hold
 *   a whole one yet (with @error set when it never will: its length is
 *   over CLOCHE_EXEC_FRAME_MAX, checked before anything waits for it)
 */
gsize
cloche_exec_channel_next_frame (const guint8     *data,
                                gsize             size,
                                ClocheExecFrame  *frame,
                                GError          **error)
{
  guint32 length;

  if (size < CLOCHE_EXEC_FRAME_HEADER)
    return 0;
  length = cloche_exec_channel_read_u32 (data);
  if (length > CLOCHE_EXEC_FRAME_MAX)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                   _("a frame of %u bytes, over the limit of %u"), length,
                   (guint) CLOCHE_EXEC_FRAME_MAX);
      return 0;
    }
  if (size - CLOCHE_EXEC_FRAME_HEADER < length)
    return 0;
  frame->type = data[4];
  frame->id = cloche_exec_channel_read_u32 (data + 5);
  frame->payload = data + CLOCHE_EXEC_FRAME_HEADER;
  frame->length = length;
  return CLOCHE_EXEC_FRAME_HEADER + length;
}

/* Writing: one write at a time, in the order queued. */

static void cloche_exec_channel_write_next (ClocheExecChannel *self);

static void
cloche_exec_channel_written_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(ClocheExecChannel) self = user_data;
  g_autoptr(GError) error = NULL;

  self->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        cloche_exec_channel_drop (self, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                                                     _("cannot write to the exec port: %s"),
                                                     error->message));
      return;
    }
  g_bytes_unref (g_queue_pop_head (&self->writes));
  cloche_exec_channel_write_next (self);
}

static void
cloche_exec_channel_write_next (ClocheExecChannel *self)
{
  GBytes *next = g_queue_peek_head (&self->writes);

  if (self->writing || next == NULL || self->dropped != NULL)
    return;
  self->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (self->stream),
                                   g_bytes_get_data (next, NULL), g_bytes_get_size (next),
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   cloche_exec_channel_written_cb, g_object_ref (self));
}

/* A frame whose payload is @payload's bytes from @offset, @length of them. */
static void
cloche_exec_channel_send (ClocheExecChannel *self,
                          guint8             type,
                          guint32            id,
                          GBytes            *payload,
                          gsize              offset,
                          gsize              length)
{
  guint8 *header = g_malloc (CLOCHE_EXEC_FRAME_HEADER);

  g_assert (length <= CLOCHE_EXEC_FRAME_MAX);
  cloche_exec_channel_write_u32 (header, (guint32) length);
  header[4] = type;
  cloche_exec_channel_write_u32 (header + 5, id);
  g_queue_push_tail (&self->writes, g_bytes_new_take (header, CLOCHE_EXEC_FRAME_HEADER));
  if (length > 0)
    g_queue_push_tail (&self->writes, g_bytes_new_from_bytes (payload, offset, length));
  cloche_exec_channel_write_next (self);
}

/* Commands: as cloche_guest_agent_exec_async() runs them (the comment
 * there says why each stop ends as it does). */

typedef enum
{
  EXEC_RUNNING,
  EXEC_TIMED_OUT,
  EXEC_CANCELLED,
} ExecStop;

typedef struct
{
  guint32           id;
  guint             timeout_s;
  ClocheExecFlags   flags;
  guint             timer;        /* the deadline, then the kill's own */
  ExecStop          stop;
  gboolean          finished;     /* the caller has its answer: drop what comes */
  GCancellable     *cancellable;
  gulong            cancelled_id;
  GByteArray       *out, *err;
  gboolean          out_cut, err_cut;
  ClocheExecStatus  stopped;      /* the end of a stopped command, for _finish */
} ExecState;

static void
cloche_exec_channel_exec_state_free (ExecState *state)
{
  g_clear_handle_id (&state->timer, g_source_remove);
  if (state->cancelled_id != 0)
    g_cancellable_disconnect (state->cancellable, state->cancelled_id);
  g_clear_object (&state->cancellable);
  g_clear_pointer (&state->out, g_byte_array_unref);
  g_clear_pointer (&state->err, g_byte_array_unref);
  cloche_exec_status_clear (&state->stopped);
  g_free (state);
}

/* Once: the first of the answer, an error and the end of a stop wins. */
static gboolean
cloche_exec_channel_exec_finishing (GTask *task)
{
  ExecState *state = g_task_get_task_data (task);

  if (state->finished)
    return FALSE;
  state->finished = TRUE;
  g_clear_handle_id (&state->timer, g_source_remove);
  if (state->cancelled_id != 0)
    g_cancellable_disconnect (state->cancellable, state->cancelled_id);
  state->cancelled_id = 0;
  return TRUE;
}

static void
cloche_exec_channel_exec_end_stopped (GTask *task)
{
  ExecState *state = g_task_get_task_data (task);

  if (!cloche_exec_channel_exec_finishing (task))
    return;
  if (state->stop == EXEC_CANCELLED)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             _("The command was cancelled and killed in the guest"));
  else
    g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT,
                             _("The command did not finish within %u s and was killed; give a "
                               "longer timeout if it needs more time"), state->timeout_s);
}

static gboolean
cloche_exec_channel_kill_deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  ExecState *state = g_task_get_task_data (task);

  state->timer = 0;
  cloche_exec_channel_exec_end_stopped (task);
  return G_SOURCE_REMOVE;
}

static void
cloche_exec_channel_exec_stop (GTask    *task,
                               ExecStop  why)
{
  ClocheExecChannel *self = g_task_get_source_object (task);
  ExecState *state = g_task_get_task_data (task);

  if (state->finished || state->stop != EXEC_RUNNING)
    return;
  state->stop = why;
  if (self->dropped == NULL)
    cloche_exec_channel_send (self, CLOCHE_EXEC_FRAME_KILL, state->id, NULL, 0, 0);
  if (!(state->flags & CLOCHE_EXEC_WAIT_FOR_STOP))
    {
      cloche_exec_channel_exec_end_stopped (task);
      return;
    }
  g_clear_handle_id (&state->timer, g_source_remove);
  state->timer = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, KILL_TIMEOUT_S,
                                             cloche_exec_channel_kill_deadline_cb,
                                             g_object_ref (task), g_object_unref);
}

static gboolean
cloche_exec_channel_exec_deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  ExecState *state = g_task_get_task_data (task);

  state->timer = 0;
  cloche_exec_channel_exec_stop (task, EXEC_TIMED_OUT);
  return G_SOURCE_REMOVE;
}

static gboolean
cloche_exec_channel_cancel_in_context_cb (gpointer task)
{
  cloche_exec_channel_exec_stop (task, EXEC_CANCELLED);
  return G_SOURCE_REMOVE;
}

static void
cloche_exec_channel_exec_cancelled_cb (GCancellable *cancellable,
                                       GTask        *task)
{
  /* May run in the thread that cancelled: the kill goes out from the
   * task's own context, later (ending the call disconnects this handler). */
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_callback (source, cloche_exec_channel_cancel_in_context_cb, g_object_ref (task),
                         g_object_unref);
  g_source_attach (source, g_task_get_context (task));
}

/* Its EXIT: the command is over, its id free again. */
static void
cloche_exec_channel_exec_ended (ClocheExecChannel *self,
                                GTask             *task,
                                int                status)
{
  ExecState *state = g_task_get_task_data (task);
  ClocheExecStatus end = { .exited = TRUE, .exit_code = status,
                           .stdout_truncated = state->out_cut,
                           .stderr_truncated = state->err_cut };

  end.stdout_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&state->out));
  end.stderr_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&state->err));
  if (state->stop != EXEC_RUNNING)
    {
      state->stopped = end;
      cloche_exec_channel_exec_end_stopped (task);
    }
  else if (cloche_exec_channel_exec_finishing (task))
    g_task_return_pointer (task, g_memdup2 (&end, sizeof end), g_free);
  else
    cloche_exec_status_clear (&end);
  g_hash_table_remove (self->commands, GUINT_TO_POINTER (state->id));
}

/* The START's payload: whether input follows, then the strings. */
static GBytes *
cloche_exec_channel_start_payload (const char         *session,
                                   const char         *cwd,
                                   const char * const *argv,
                                   const char * const *env,
                                   gboolean            input)
{
  GByteArray *payload = g_byte_array_new ();
  guint8 flag = input ? 1 : 0;

  g_byte_array_append (payload, &flag, 1);
  g_byte_array_append (payload, (const guint8 *) session, strlen (session) + 1);
  g_byte_array_append (payload, (const guint8 *) cwd, strlen (cwd) + 1);
  for (guint i = 0; argv[i] != NULL; i++)
    g_byte_array_append (payload, (const guint8 *) argv[i], strlen (argv[i]) + 1);
  g_byte_array_append (payload, (const guint8 *) "", 1);
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    g_byte_array_append (payload, (const guint8 *) env[i], strlen (env[i]) + 1);
  return g_byte_array_free_to_bytes (payload);
}

/**
 * cloche_exec_channel_fits:
 *
 * Returns: whether a command this long goes in one START frame (64 KiB);
 *   a longer one goes through guest-exec, which takes it
 */
gboolean
cloche_exec_channel_fits (const char         *session,
                          const char         *cwd,
                          const char * const *argv,
                          const char * const *env)
{
  gsize size = 1 + strlen (session) + 1 + strlen (cwd) + 1 + 1;
  guint count = 3;

  for (guint i = 0; argv[i] != NULL; i++, count++)
    size += strlen (argv[i]) + 1;
  for (guint i = 0; env != NULL && env[i] != NULL; i++, count++)
    size += strlen (env[i]) + 1;
  return size <= CLOCHE_EXEC_FRAME_MAX && count <= MAX_STRINGS;
}

static void
cloche_exec_channel_send_command (ClocheExecChannel  *self,
                                  guint32             id,
                                  const char         *session,
                                  const char         *cwd,
                                  const char * const *argv,
                                  const char * const *env,
                                  GBytes             *input)
{
  g_autoptr(GBytes) start = cloche_exec_channel_start_payload (session, cwd, argv, env,
                                                               input != NULL);
  gsize size = input != NULL ? g_bytes_get_size (input) : 0;

  cloche_exec_channel_send (self, CLOCHE_EXEC_FRAME_START, id, start, 0, g_bytes_get_size (start));
  if (input == NULL)
    return;
  for (gsize offset = 0; offset < size; offset += CLOCHE_EXEC_FRAME_MAX)
    cloche_exec_channel_send (self, CLOCHE_EXEC_FRAME_IN, id, input, offset,
                              MIN (size - offset, (gsize) CLOCHE_EXEC_FRAME_MAX));
  cloche_exec_channel_send (self, CLOCHE_EXEC_FRAME_IN, id, NULL, 0, 0);
}

/**
 * cloche_exec_channel_exec_async:
 * @session: the session's id
 * @cwd: the guest folder to run in (absolute)
 * @argv: the command; it must fit (cloche_exec_channel_fits())
 * @env: (nullable): its whole environment
 *
 * Runs @argv in @session as `cloche-guest exec` would, with the semantics
 * of cloche_guest_agent_exec_async() (see there). A channel dropped while
 * it runs fails it with %CLOCHE_ERROR_AGENT_PROTOCOL, naming why.
 */
void
cloche_exec_channel_exec_async (ClocheExecChannel   *self,
                                const char          *session,
                                const char          *cwd,
                                const char * const  *argv,
                                const char * const  *env,
                                guint                timeout_s,
                                GBytes              *input,
                                ClocheExecFlags      flags,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ExecState *state;

  g_return_if_fail (CLOCHE_IS_EXEC_CHANNEL (self));
  g_return_if_fail (argv != NULL && argv[0] != NULL);
  g_return_if_fail ((timeout_s > 0) != !!(flags & CLOCHE_EXEC_NO_DEADLINE));
  g_return_if_fail (input == NULL || g_bytes_get_size (input) <= OUTPUT_LIMIT);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_exec_channel_exec_async);
  state = g_new0 (ExecState, 1);
  state->timeout_s = timeout_s;
  state->flags = flags;
  state->out = g_byte_array_new ();
  state->err = g_byte_array_new ();
  g_task_set_task_data (task, state, (GDestroyNotify) cloche_exec_channel_exec_state_free);
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!cloche_exec_channel_is_open (self)
      || !cloche_exec_channel_fits (session, cwd, argv, env))
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                               _("The exec channel cannot take this command: %s"),
                               self->dropped != NULL ? self->dropped->message
                               : !self->ready ? _("its server is not ready")
                               : _("it is over 64 KiB"));
      return;
    }
  /* An id not in use: ids wrap, and 0 is the server's own. */
  do
    state->id = self->next_id++;
  while (state->id == 0 || g_hash_table_contains (self->commands, GUINT_TO_POINTER (state->id)));
  g_hash_table_insert (self->commands, GUINT_TO_POINTER (state->id), g_object_ref (task));
  if (!(flags & CLOCHE_EXEC_NO_DEADLINE))
    state->timer = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, timeout_s,
                                               cloche_exec_channel_exec_deadline_cb,
                                               g_object_ref (task), g_object_unref);
  if (cancellable != NULL)
    {
      state->cancellable = g_object_ref (cancellable);
      state->cancelled_id =
        g_cancellable_connect (cancellable, G_CALLBACK (cloche_exec_channel_exec_cancelled_cb),
                               task, NULL);
    }
  cloche_exec_channel_send_command (self, state->id, session, cwd, argv, env, input);
}

/**
 * cloche_exec_channel_exec_finish:
 *
 * As cloche_guest_agent_exec_finish().
 */
gboolean
cloche_exec_channel_exec_finish (ClocheExecChannel  *self,
                                 GAsyncResult       *result,
                                 int                *exit_code,
                                 GBytes            **stdout_bytes,
                                 GBytes            **stderr_bytes,
                                 GError            **error)
{
  ExecState *state;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  state = g_task_get_task_data (G_TASK (result));
  return cloche_exec_status_finish (G_TASK (result), &state->stopped, exit_code, stdout_bytes,
                                    stderr_bytes, error);
}

/* Reading: every frame checked here, where it is used. */

static GError *
cloche_exec_channel_bad_frame (const char *format,
                               ...) G_GNUC_PRINTF (1, 2);

static GError *
cloche_exec_channel_bad_frame (const char *format,
                               ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  return g_error_new_literal (CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL, what);
}

/* Up to the cap; past it, counted as cut and dropped. */
static void
cloche_exec_channel_keep_output (GByteArray         *kept,
                                 gboolean           *cut,
                                 const ClocheExecFrame *frame)
{
  gsize room = OUTPUT_LIMIT - MIN (kept->len, OUTPUT_LIMIT);

  if (frame->length > room)
    *cut = TRUE;
  g_byte_array_append (kept, frame->payload, MIN (frame->length, room));
}

static GError *
cloche_exec_channel_ready_frame (ClocheExecChannel     *self,
                                 const ClocheExecFrame *frame)
{
  if (self->ready)
    return cloche_exec_channel_bad_frame (_("a second READY"));
  if (frame->id != 0 || frame->length != strlen (READY_TEXT)
      || memcmp (frame->payload, READY_TEXT, frame->length) != 0)
    return cloche_exec_channel_bad_frame (_("a READY that is not \"%s\" (another version of "
                                            "cloche-guest?)"), READY_TEXT);
  self->ready = TRUE;
  g_clear_handle_id (&self->ready_timer, g_source_remove);
  cloche_exec_channel_release_agent (self);
  if (self->open_task != NULL)
    {
      GTask *task = g_steal_pointer (&self->open_task);

      g_task_return_pointer (task, g_object_ref (self), g_object_unref);
      g_object_unref (task);
    }
  return NULL;
}

static GError *
cloche_exec_channel_command_frame (ClocheExecChannel     *self,
                                   const ClocheExecFrame *frame)
{
  GTask *task = g_hash_table_lookup (self->commands, GUINT_TO_POINTER (frame->id));
  ExecState *state;
  guint32 status;

  if (task == NULL)
    return cloche_exec_channel_bad_frame (_("a frame of type %u for command %u, which is not "
                                            "running"), frame->type, frame->id);
  state = g_task_get_task_data (task);
  if (frame->type == CLOCHE_EXEC_FRAME_OUT)
    cloche_exec_channel_keep_output (state->out, &state->out_cut, frame);
  else if (frame->type == CLOCHE_EXEC_FRAME_ERR)
    cloche_exec_channel_keep_output (state->err, &state->err_cut, frame);
  else if (frame->length != 4
           || (status = cloche_exec_channel_read_u32 (frame->payload)) > MAX_STATUS)
    return cloche_exec_channel_bad_frame (_("an exit status for command %u that is not one "
                                            "(%zu bytes)"), frame->id, frame->length);
  else
    cloche_exec_channel_exec_ended (self, task, (int) status);
  return NULL;
}

static GError *
cloche_exec_channel_handle_frame (ClocheExecChannel     *self,
                                  const ClocheExecFrame *frame)
{
  if (frame->type == CLOCHE_EXEC_FRAME_READY)
    return cloche_exec_channel_ready_frame (self, frame);
  if (!self->ready)
    return cloche_exec_channel_bad_frame (_("a frame of type %u before READY"), frame->type);
  if (frame->type == CLOCHE_EXEC_FRAME_OUT || frame->type == CLOCHE_EXEC_FRAME_ERR
      || frame->type == CLOCHE_EXEC_FRAME_EXIT)
    return cloche_exec_channel_command_frame (self, frame);
  return cloche_exec_channel_bad_frame (_("a frame of unknown type %u"), frame->type);
}

/* Every whole frame read; the first bad one drops the channel. */
static gboolean
cloche_exec_channel_handle_input (ClocheExecChannel *self)
{
  gsize used = 0, taken;
  ClocheExecFrame frame;
  GError *error = NULL;

  while (self->dropped == NULL
         && (taken = cloche_exec_channel_next_frame (self->partial->data + used,
                                                     self->partial->len - used, &frame,
                                                     &error)) > 0)
    {
      error = cloche_exec_channel_handle_frame (self, &frame);
      if (error != NULL)
        break;
      used += taken;
    }
  if (self->dropped != NULL)
    {
      g_clear_error (&error);
      return FALSE;
    }
  if (error != NULL)
    {
      cloche_exec_channel_drop (self, error);
      return FALSE;
    }
  g_byte_array_remove_range (self->partial, 0, used);
  return TRUE;
}

static void cloche_exec_channel_read_next (ClocheExecChannel *self);

static void
cloche_exec_channel_read_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr(ClocheExecChannel) self = user_data;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (object), result, &error);
  if (self->dropped != NULL)
    return;
  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      cloche_exec_channel_drop (self, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                                                   _("the exec port closed: %s"),
                                                   error != NULL ? error->message
                                                   : _("end of stream")));
      return;
    }
  g_byte_array_append (self->partial, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  if (cloche_exec_channel_handle_input (self))
    cloche_exec_channel_read_next (self);
}

static void
cloche_exec_channel_read_next (ClocheExecChannel *self)
{
  g_input_stream_read_bytes_async (g_io_stream_get_input_stream (self->stream), READ_CHUNK,
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   cloche_exec_channel_read_cb, g_object_ref (self));
}

ClocheExecChannel *
cloche_exec_channel_new_for_stream (GIOStream *stream)
{
  ClocheExecChannel *self = g_object_new (CLOCHE_TYPE_EXEC_CHANNEL, NULL);

  self->stream = g_object_ref (stream);
  if (G_IS_SOCKET_CONNECTION (stream))
    self->socket = g_object_ref (g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream)));
  cloche_exec_channel_read_next (self);
  return self;
}

/* Dropping */

/* A command still running when the channel went: it was started, so it
 * is failed, not run again. */
static void
cloche_exec_channel_fail_command (GTask        *task,
                                  const GError *why)
{
  ExecState *state = g_task_get_task_data (task);

  if (state->stop != EXEC_RUNNING)
    cloche_exec_channel_exec_end_stopped (task);
  else if (cloche_exec_channel_exec_finishing (task))
    g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                             _("The channel to the guest's exec server was dropped while the "
                               "command ran (%s); it may have run in part: check, and run it "
                               "again"), why->message);
}

static void
cloche_exec_channel_port_unplugged_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(ClocheExecChannel) self = user_data;
  GTask *task = g_steal_pointer (&self->close_task);

  cloche_terminal_port_unplug_finish (CLOCHE_TERMINAL_PORT (object), result, NULL);
  self->unplugging = FALSE;
  if (task != NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

/* Our end shut: QEMU's chardev sees the hang-up and tells the guest, whose
 * server kills what it runs and exits; then the port goes. */
static void
cloche_exec_channel_let_go (ClocheExecChannel *self)
{
  g_cancellable_cancel (self->cancellable);
  if (self->socket != NULL)
    g_socket_shutdown (self->socket, TRUE, TRUE, NULL);
  if (self->port != NULL)
    {
      self->unplugging = TRUE;
      cloche_terminal_port_unplug_async (self->port, cloche_exec_channel_port_unplugged_cb,
                                         g_object_ref (self));
    }
  else if (self->close_task != NULL)
    {
      GTask *task = g_steal_pointer (&self->close_task);

      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

static void
cloche_exec_channel_drop (ClocheExecChannel *self,
                          GError            *why)
{
  g_autoptr(GList) tasks = NULL;

  if (self->dropped != NULL)
    {
      g_error_free (why);
      return;
    }
  /* Whoever is told may drop the last reference but ours. */
  g_object_ref (self);
  self->dropped = why;
  if (self->close_task == NULL)
    g_message ("Exec channel %s dropped, commands go through guest-exec again: %s",
               self->port != NULL ? cloche_terminal_port_get_name (self->port) : "(no port)",
               why->message);
  g_clear_handle_id (&self->ready_timer, g_source_remove);
  cloche_exec_channel_release_agent (self);
  tasks = g_hash_table_get_values (self->commands);
  for (GList *l = tasks; l != NULL; l = l->next)
    g_object_ref (l->data);
  g_hash_table_remove_all (self->commands);
  for (GList *l = tasks; l != NULL; l = l->next)
    {
      cloche_exec_channel_fail_command (l->data, why);
      g_object_unref (l->data);
    }
  if (self->open_task != NULL)
    {
      GTask *task = g_steal_pointer (&self->open_task);

      g_task_return_error (task, g_error_copy (why));
      g_object_unref (task);
    }
  /* A server that broke the protocol, or hangs, is killed; one we close
   * exits on the hang-up by itself (a kill would be one more guest
   * process, right before the VM is saved). */
  if (self->close_task == NULL)
    g_cancellable_cancel (self->server_cancellable);
  cloche_exec_channel_let_go (self);
  g_signal_emit (self, signals[DROPPED], 0, why->message);
  g_object_unref (self);
}

/* Opening: the port, then the server on it, then its READY. */

static void
cloche_exec_channel_server_ended_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  g_autoptr(ClocheExecChannel) self = user_data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *said = NULL;
  int status = -1;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status, &out, &err,
                                       &error))
    {
      cloche_exec_channel_drop (self, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                                                   _("the exec server is lost: %s"),
                                                   error->message));
      return;
    }
  said = g_strndup (g_bytes_get_size (err) > 0 ? g_bytes_get_data (err, NULL) : "",
                    MIN (g_bytes_get_size (err), (gsize) 512));
  g_strstrip (said);
  cloche_exec_channel_drop (self, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                                               _("the exec server in the guest ended with "
                                                 "status %d%s%s"), status,
                                               said[0] != '\0' ? ": " : "", said));
}

static gboolean
cloche_exec_channel_ready_timeout_cb (gpointer user_data)
{
  ClocheExecChannel *self = user_data;

  self->ready_timer = 0;
  cloche_exec_channel_drop (self, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT,
                                               _("the exec server did not say it was ready "
                                                 "within %d s"), READY_TIMEOUT_S));
  return G_SOURCE_REMOVE;
}

static gboolean
cloche_exec_channel_hold_timeout_cb (gpointer user_data)
{
  ClocheExecChannel *self = user_data;

  self->hold_timer = 0;
  cloche_exec_channel_release_agent (self);
  return G_SOURCE_REMOVE;
}

static void
cloche_exec_channel_port_plugged_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  GTask *task = user_data;
  ClocheGuestAgent *agent = g_task_get_task_data (task);
  g_autoptr(ClocheTerminalPort) port = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(ClocheExecChannel) self = NULL;
  GError *error = NULL;
  const char *argv[] = { g_object_get_data (G_OBJECT (task), "helper"), "serve", NULL, NULL };
  int fd = -1;

  port = cloche_terminal_port_plug_finish (result, &error);
  if (port != NULL)
    fd = cloche_terminal_port_steal_client_fd (port);
  if (port == NULL || (socket = g_socket_new_from_fd (fd, &error)) == NULL)
    {
      if (port != NULL)
        {
          close (fd);
          cloche_terminal_port_unplug_async (port, NULL, NULL);
        }
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  stream = g_socket_connection_factory_create_connection (socket);
  self = cloche_exec_channel_new_for_stream (G_IO_STREAM (stream));
  self->port = g_steal_pointer (&port);
  self->open_task = task;
  self->server_cancellable = g_cancellable_new ();
  self->ready_timer = g_timeout_add_seconds (READY_TIMEOUT_S,
                                             cloche_exec_channel_ready_timeout_cb, self);
  argv[2] = cloche_terminal_port_get_name (self->port);
  cloche_guest_agent_exec_async (agent, argv, NULL, 0, NULL, CLOCHE_EXEC_NO_DEADLINE,
                                 self->server_cancellable, cloche_exec_channel_server_ended_cb,
                                 g_object_ref (self));
  /* The server opens its port as it starts: what the agent would read
   * meanwhile could be lost (cloche_guest_agent_hold), so it waits for
   * READY, at most HOLD_MAX_MS (a bundle whose cloche-guest has no serve). */
  self->held_agent = g_object_ref (agent);
  cloche_guest_agent_hold (agent);
  self->held_since = g_get_monotonic_time ();
  self->hold_timer = g_timeout_add (HOLD_MAX_MS, cloche_exec_channel_hold_timeout_cb, self);
}

/**
 * cloche_exec_channel_open_async:
 * @helper: cloche-guest's path in the guest
 * @number: unique among the ports of this daemon's life
 *
 * Plugs an exec port into the running VM and starts `@helper serve` on it
 * through @agent; finishes once the server has said it is ready. A bundle
 * whose cloche-guest has no `serve` fails here, with what it said.
 */
void
cloche_exec_channel_open_async (ClocheQmpClient     *qmp,
                                ClocheGuestAgent    *agent,
                                const char          *helper,
                                guint                number,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);

  g_task_set_source_tag (task, cloche_exec_channel_open_async);
  g_task_set_task_data (task, g_object_ref (agent), g_object_unref);
  g_object_set_data_full (G_OBJECT (task), "helper", g_strdup (helper), g_free);
  cloche_terminal_port_plug_async (qmp, "exec", number, NULL,
                                   cloche_exec_channel_port_plugged_cb, task);
}

/**
 * cloche_exec_channel_open_finish:
 *
 * Returns: (transfer full): the channel, its server ready
 */
ClocheExecChannel *
cloche_exec_channel_open_finish (GAsyncResult  *result,
                                 GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cloche_exec_channel_close_async:
 *
 * Drops the channel (commands still running fail, naming it) and takes
 * its port out of the VM: finishes once it is out (a VM about to be saved
 * must not have it: QEMU could not restore it). Never fails.
 */
void
cloche_exec_channel_close_async (ClocheExecChannel   *self,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, cloche_exec_channel_close_async);
  if (self->dropped != NULL && self->unplugging)
    {
      /* Dropped, its port on its way out: done when it is out. */
      g_clear_object (&self->close_task);
      self->close_task = task;
      return;
    }
  if (self->dropped != NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  self->close_task = task;
  cloche_exec_channel_drop (self, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                                               _("the VM is being stopped")));
}

gboolean
cloche_exec_channel_close_finish (ClocheExecChannel  *self,
                                  GAsyncResult       *result,
                                  GError            **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
