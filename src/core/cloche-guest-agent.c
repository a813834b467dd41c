/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A client of qemu-guest-agent on its virtio-serial port. The agent answers
 * strictly in order and its replies carry no id, so commands wait in a FIFO.
 * Before the first command a guest-sync with a fresh id, repeated until it
 * comes back, tells us the agent is up and that no stale reply is in flight.
 *
 * Every call has a deadline. A command the agent does not answer in time
 * fails with AgentTimeout, but keeps its place in the FIFO: its reply, if
 * it ever comes, is dropped there instead of being taken for the next
 * command's. A guest-exec has a deadline of its own for the whole command
 * (ExecTimeout): past it the guest process is killed and the caller told,
 * with what it wrote until then; cancelling a guest-exec kills it too.
 * qemu-ga keeps only the first 16 MiB of each output stream; a cut stream
 * is an error (OutputTruncated), never a short result that looks whole.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-guest-agent-private.h"
#include "cloche-json.h"
#include "cloche-line-channel.h"

#define PEER "The guest agent"
/* Until the guest opens its port QEMU holds what we write, and the agent then
 * answers every sync queued: resending often would only make it answer a
 * backlog. Once a second recovers a sync lost to an agent restart. */
#define SYNC_INTERVAL_MS 1000
/* A command's end is polled every STATUS_POLL_SHARE-th of the time it has
 * run, between these: it is seen at most an eighth late (and a millisecond),
 * with a dozen polls for a command of a tenth of a second, forty for a
 * minute's. Doubling the wait from 2 ms, as before, made a command that
 * ended just after a poll wait as long again (issue 21: 76 ms of
 * `clochectl exec … true` against 12 ms for the agent). */
#define STATUS_POLL_MIN_MS 1
#define STATUS_POLL_MAX_MS 100
#define STATUS_POLL_SHARE 8
/* Killing a command that was stopped, and waiting for its end. */
#define KILL_TIMEOUT_S 10
/* qemu-ga's GUEST_EXEC_MAX_OUTPUT, for the message. */
#define OUTPUT_LIMIT_MIB 16

/* A command sent and not yet answered. Once its deadline has passed its
 * task is gone, but it keeps its place: the agent answers in order. */
typedef struct
{
  GTask *task;
  char  *command;
  guint  timer;
} Pending;

struct _ClocheGuestAgent
{
  GObject            parent_instance;
  ClocheLineChannel *channel;
  GQueue             pending;        /* Pending, in the order sent */
  guint              command_timeout_s;

  /* While syncing, replies are matched against sync_id instead. */
  GTask             *sync_task;
  gint64             sync_id;
  guint              sync_resend_source;
  guint              sync_timeout_source;
  char              *last_garbage;

  /* While held: commands wait here, in order, unsent (cloche_guest_agent_hold). */
  guint              holds;
  GQueue             held;           /* JsonNode */
};

G_DEFINE_FINAL_TYPE (ClocheGuestAgent, cloche_guest_agent, G_TYPE_OBJECT)

JsonNode *
cloche_guest_agent_parse_reply (const char  *line,
                                GError     **error)
{
  g_autoptr(JsonObject) object = NULL;
  g_autofree char *quoted = NULL;
  JsonObject *agent_error;

  object = cloche_json_parse_line (line, PEER, CLOCHE_ERROR_AGENT_PROTOCOL, error);
  if (object == NULL)
    return NULL;

  if (json_object_has_member (object, "return"))
    return json_node_copy (json_object_get_member (object, "return"));

  agent_error = cloche_json_get_object (object, "error");
  if (agent_error != NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_COMMAND,
                   "The guest agent refused the command: %s",
                   cloche_json_get_string (agent_error, "desc", "no description"));
      return NULL;
    }

  quoted = cloche_json_quote (line);
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
               "The guest agent sent a message that is not a reply: %s", quoted);
  return NULL;
}

void
cloche_exec_status_clear (ClocheExecStatus *status)
{
  g_clear_pointer (&status->stdout_bytes, g_bytes_unref);
  g_clear_pointer (&status->stderr_bytes, g_bytes_unref);
}

static GBytes *
cloche_guest_agent_decode_output (JsonObject *object,
                                  const char *member)
{
  const char *encoded = cloche_json_get_string (object, member, NULL);
  guchar *data;
  gsize length = 0;

  if (encoded == NULL)
    return g_bytes_new (NULL, 0);
  data = g_base64_decode (encoded, &length);
  return g_bytes_new_take (data, length);
}

static GType
cloche_guest_agent_get_value_type (JsonObject *object,
                                   const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node)
                                                      : G_TYPE_INVALID;
}

/* The shell's convention, so a killed command reads the same as in a
 * terminal: 128 + the signal. The guest can claim anything, so whatever no
 * process can end with is refused rather than passed on as an exit status. */
static gboolean
cloche_guest_agent_get_exit_code (JsonObject  *object,
                                  int         *exit_code,
                                  GError     **error)
{
  gint64 signal = cloche_json_get_int (object, "signal", 0);
  gint64 code = cloche_json_get_int (object, "exitcode", 0);

  if (json_object_has_member (object, "signal") && signal > 0 && signal < 128)
    code = 128 + signal;
  else if (json_object_has_member (object, "signal") || code < 0 || code > 255)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                   "The guest agent answered guest-exec-status with an impossible "
                   "exit status (exitcode %" G_GINT64_FORMAT ", signal %" G_GINT64_FORMAT ")",
                   code, signal);
      return FALSE;
    }
  *exit_code = (int) code;
  return TRUE;
}

gboolean
cloche_guest_agent_parse_exec_status (JsonNode          *reply,
                                      ClocheExecStatus  *status,
                                      GError           **error)
{
  JsonObject *object;

  memset (status, 0, sizeof *status);
  if (reply == NULL || !JSON_NODE_HOLDS_OBJECT (reply))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                   "The guest agent answered guest-exec-status without an object");
      return FALSE;
    }

  object = json_node_get_object (reply);
  if (cloche_guest_agent_get_value_type (object, "exited") != G_TYPE_BOOLEAN)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                   "The guest agent answered guest-exec-status without \"exited\"");
      return FALSE;
    }

  status->exited = cloche_json_get_boolean (object, "exited", FALSE);
  if (!status->exited)
    return TRUE;

  if (!cloche_guest_agent_get_exit_code (object, &status->exit_code, error))
    return FALSE;
  status->stdout_bytes = cloche_guest_agent_decode_output (object, "out-data");
  status->stderr_bytes = cloche_guest_agent_decode_output (object, "err-data");
  status->stdout_truncated = cloche_json_get_boolean (object, "out-truncated", FALSE);
  status->stderr_truncated = cloche_json_get_boolean (object, "err-truncated", FALSE);
  return TRUE;
}

/* Sync */

static void
cloche_guest_agent_stop_syncing (ClocheGuestAgent *self)
{
  g_clear_handle_id (&self->sync_resend_source, g_source_remove);
  g_clear_handle_id (&self->sync_timeout_source, g_source_remove);
}

static gboolean
cloche_guest_agent_send_sync_cb (gpointer user_data)
{
  ClocheGuestAgent *self = user_data;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) node = NULL;

  /* A fresh id each time: replies to older syncs still queued in the guest
   * are recognised as stale and dropped. */
  self->sync_id = g_random_int_range (1, G_MAXINT32);
  json_object_set_int_member (arguments, "id", self->sync_id);
  node = cloche_json_command_new ("guest-sync", arguments);
  cloche_line_channel_send (self->channel, node);
  return G_SOURCE_CONTINUE;
}

static gboolean
cloche_guest_agent_sync_timeout_cb (gpointer user_data)
{
  ClocheGuestAgent *self = user_data;
  g_autoptr(GTask) task = g_steal_pointer (&self->sync_task);
  guint timeout_s = GPOINTER_TO_UINT (g_task_get_task_data (task));

  self->sync_timeout_source = 0;
  cloche_guest_agent_stop_syncing (self);
  if (self->last_garbage != NULL)
    g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                             "The guest agent did not answer within %u s; "
                             "the guest sent this instead of JSON on the agent port: %s",
                             timeout_s, self->last_garbage);
  else
    g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT,
                             "The guest agent (qemu-guest-agent on %s) did not answer "
                             "within %u s",
                             CLOCHE_GUEST_AGENT_PORT, timeout_s);
  return G_SOURCE_REMOVE;
}

static void
cloche_guest_agent_handle_sync_line (ClocheGuestAgent *self,
                                     const char       *line)
{
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;

  reply = cloche_guest_agent_parse_reply (line, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL))
        {
          g_free (self->last_garbage);
          self->last_garbage = cloche_json_quote (line);
        }
      return;
    }
  if (!JSON_NODE_HOLDS_VALUE (reply) || json_node_get_int (reply) != self->sync_id)
    return;

  task = g_steal_pointer (&self->sync_task);
  cloche_guest_agent_stop_syncing (self);
  g_task_return_boolean (task, TRUE);
}

void
cloche_guest_agent_sync_async (ClocheGuestAgent    *self,
                               guint                timeout_s,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHE_IS_GUEST_AGENT (self));
  g_return_if_fail (self->sync_task == NULL);
  g_return_if_fail (g_queue_is_empty (&self->pending));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_guest_agent_sync_async);
  g_task_set_task_data (task, GUINT_TO_POINTER (timeout_s), NULL);
  self->sync_task = g_steal_pointer (&task);
  g_clear_pointer (&self->last_garbage, g_free);

  cloche_guest_agent_send_sync_cb (self);
  self->sync_resend_source = g_timeout_add (SYNC_INTERVAL_MS, cloche_guest_agent_send_sync_cb,
                                            self);
  self->sync_timeout_source = g_timeout_add_seconds (timeout_s, cloche_guest_agent_sync_timeout_cb,
                                                     self);
}

gboolean
cloche_guest_agent_sync_finish (ClocheGuestAgent  *self,
                                GAsyncResult      *result,
                                GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Commands */

/* Returns: (transfer full) (nullable): the task, if its deadline has not passed */
static GTask *
cloche_guest_agent_pending_free (Pending *pending)
{
  GTask *task = g_steal_pointer (&pending->task);

  g_clear_handle_id (&pending->timer, g_source_remove);
  g_free (pending->command);
  g_free (pending);
  return task;
}

static gboolean
cloche_guest_agent_command_timeout_cb (gpointer user_data)
{
  Pending *pending = user_data;
  g_autoptr(GTask) task = g_steal_pointer (&pending->task);
  ClocheGuestAgent *self = g_task_get_source_object (task);

  pending->timer = 0;
  g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT,
                           "The guest agent did not answer %s within %u s (the guest may be "
                           "overloaded, or qemu-guest-agent stuck): try again, or restart the "
                           "VM (clochectl stop)", pending->command, self->command_timeout_s);
  return G_SOURCE_REMOVE;
}

static void
cloche_guest_agent_line_cb (ClocheGuestAgent *self,
                            const char       *line)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonNode) reply = NULL;
  Pending *pending;
  GError *error = NULL;

  if (self->sync_task != NULL)
    {
      cloche_guest_agent_handle_sync_line (self, line);
      return;
    }

  pending = g_queue_pop_head (&self->pending);
  if (pending == NULL)
    {
      g_warning ("The guest agent sent a line nobody asked for: %s", line);
      return;
    }
  task = cloche_guest_agent_pending_free (pending);
  if (task == NULL)
    {
      g_debug ("The guest agent answered a command after its deadline: dropped");
      return;
    }
  reply = cloche_guest_agent_parse_reply (line, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_steal_pointer (&reply), (GDestroyNotify) json_node_unref);
}

static void
cloche_guest_agent_closed_cb (ClocheGuestAgent *self,
                              const GError     *error)
{
  g_autoptr(GTask) sync_task = g_steal_pointer (&self->sync_task);
  Pending *pending;

  if (sync_task != NULL)
    {
      cloche_guest_agent_stop_syncing (self);
      g_task_return_new_error (sync_task, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                               "The connection to the guest agent closed before it answered");
    }
  while ((pending = g_queue_pop_head (&self->pending)))
    {
      g_autoptr(GTask) task = cloche_guest_agent_pending_free (pending);

      if (task != NULL)
        g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                                 "The connection to the guest agent closed: the VM stopped "
                                 "before the command finished%s%s",
                                 error ? ": " : "", error ? error->message : "");
    }
}

void
cloche_guest_agent_execute_async (ClocheGuestAgent    *self,
                                  const char          *command,
                                  JsonObject          *arguments,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonNode) node = NULL;
  Pending *pending;

  g_return_if_fail (CLOCHE_IS_GUEST_AGENT (self));
  g_return_if_fail (self->sync_task == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_guest_agent_execute_async);
  if (cloche_line_channel_is_closed (self->channel))
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                               "Cannot run %s: the guest agent is not connected", command);
      return;
    }

  node = cloche_json_command_new (command, arguments);
  pending = g_new0 (Pending, 1);
  pending->task = g_steal_pointer (&task);
  pending->command = g_strdup (command);
  pending->timer = g_timeout_add_seconds (self->command_timeout_s,
                                          cloche_guest_agent_command_timeout_cb, pending);
  g_queue_push_tail (&self->pending, pending);
  if (self->holds > 0)
    g_queue_push_tail (&self->held, g_steal_pointer (&node));
  else
    cloche_line_channel_send (self->channel, node);
}

/**
 * cloche_guest_agent_hold:
 *
 * Holds back the commands sent from now on, in order, until as many
 * cloche_guest_agent_release() calls: their deadlines run meanwhile. For a
 * guest process about to open a virtio-serial port: a request the agent is
 * reading on its own port while the guest opens another is lost (seen with
 * a guest-exec carrying 300 KB of input, QEMU 7.2, Linux 6.1: qemu-ga never
 * answers it, and every reply after it would go to the wrong command).
 */
void
cloche_guest_agent_hold (ClocheGuestAgent *self)
{
  g_return_if_fail (CLOCHE_IS_GUEST_AGENT (self));

  self->holds++;
}

void
cloche_guest_agent_release (ClocheGuestAgent *self)
{
  JsonNode *node;

  g_return_if_fail (CLOCHE_IS_GUEST_AGENT (self));
  g_return_if_fail (self->holds > 0);

  if (--self->holds > 0)
    return;
  while ((node = g_queue_pop_head (&self->held)) != NULL)
    {
      cloche_line_channel_send (self->channel, node);
      json_node_unref (node);
    }
}

/**
 * cloche_guest_agent_execute_finish:
 *
 * Returns: (transfer full): the "return" member of the reply
 */
JsonNode *
cloche_guest_agent_execute_finish (ClocheGuestAgent  *self,
                                   GAsyncResult      *result,
                                   GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* guest-exec, then guest-exec-status until the process has exited. The poll
 * interval starts short, since most commands an agent runs are quick.
 *
 * Stopping a command means stopping it in the guest, not only no longer
 * waiting. Past its deadline (ExecTimeout), or when the caller cancels, the
 * process is sent SIGTERM and a moment later SIGKILL (qemu-ga 7.2 cannot
 * signal: a second guest-exec runs kill); cloche-guest exec, which runs
 * every command of a session, takes SIGTERM as the order to kill the
 * command's whole process group. The caller is told at once, or, with
 * CLOCHE_EXEC_WAIT_FOR_STOP, once the status polled on shows the end, so
 * that nothing of the command outlives the call and what it wrote until
 * then is known (exec_finish hands it out with ExecTimeout); the agent
 * gets KILL_TIMEOUT_S for that, after which the call ends anyway. Told at
 * once, the kill reaps it. The agent's commands are never given the caller's
 * cancellable: a guest-exec cancelled in flight would leave its process
 * running, and a poll cancelled would leave its record in qemu-ga. */

typedef enum
{
  EXEC_RUNNING,
  EXEC_TIMED_OUT,
  EXEC_CANCELLED,
} ExecStop;

typedef struct
{
  gint64            pid;          /* -1 until guest-exec has answered */
  gint64            started;      /* monotonic µs, when guest-exec answered */
  guint             timeout_s;
  ClocheExecFlags   flags;
  guint             timer;        /* the deadline, then the kill's own */
  ExecStop          stop;
  gboolean          finished;     /* the caller has its answer: drop whatever comes */
  GCancellable     *cancellable;
  gulong            cancelled_id;
  ClocheExecStatus  stopped;      /* the end of a stopped command, for _finish */
} ExecState;

static void
cloche_guest_agent_exec_state_free (ExecState *state)
{
  g_clear_handle_id (&state->timer, g_source_remove);
  if (state->cancelled_id != 0)
    g_cancellable_disconnect (state->cancellable, state->cancelled_id);
  g_clear_object (&state->cancellable);
  cloche_exec_status_clear (&state->stopped);
  g_free (state);
}

static void cloche_guest_agent_poll_exec_status_cb (GTask *task);
static void cloche_guest_agent_kill_guest_process (ClocheGuestAgent *self,
                                                   gint64            pid,
                                                   gboolean          reap);

/* Once: the first of the answer, an error and the end of a stop wins. */
static gboolean
cloche_guest_agent_exec_finishing (GTask *task)
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

/* A stopped command has ended (or the agent did not say so in time). */
static void
cloche_guest_agent_exec_end_stopped (GTask *task)
{
  ExecState *state = g_task_get_task_data (task);

  if (!cloche_guest_agent_exec_finishing (task))
    return;
  if (state->stop == EXEC_CANCELLED)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "The command was cancelled and killed in the guest");
  else
    g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT,
                             "The command did not finish within %u s and was killed; give a "
                             "longer timeout if it needs more time", state->timeout_s);
}

static gboolean
cloche_guest_agent_kill_deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  ExecState *state = g_task_get_task_data (task);

  state->timer = 0;
  cloche_guest_agent_exec_end_stopped (task);
  /* Nobody polls it any more: the kill reaps it. */
  if (state->pid >= 0)
    cloche_guest_agent_kill_guest_process (g_task_get_source_object (task), state->pid, TRUE);
  return G_SOURCE_REMOVE;
}

static void
cloche_guest_agent_exec_stop (GTask    *task,
                              ExecStop  why)
{
  ExecState *state = g_task_get_task_data (task);

  if (state->finished || state->stop != EXEC_RUNNING)
    return;
  state->stop = why;
  if (!(state->flags & CLOCHE_EXEC_WAIT_FOR_STOP))
    {
      cloche_guest_agent_exec_end_stopped (task);
      /* Else guest-exec has not answered yet: cloche_guest_agent_exec_started_cb kills it. */
      if (state->pid >= 0)
        cloche_guest_agent_kill_guest_process (g_task_get_source_object (task), state->pid, TRUE);
      return;
    }
  g_clear_handle_id (&state->timer, g_source_remove);
  state->timer = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, KILL_TIMEOUT_S,
                                             cloche_guest_agent_kill_deadline_cb,
                                             g_object_ref (task),
                                             g_object_unref);
  /* Else guest-exec has not answered yet: cloche_guest_agent_exec_started_cb kills it. */
  if (state->pid >= 0)
    cloche_guest_agent_kill_guest_process (g_task_get_source_object (task), state->pid, FALSE);
}

static gboolean
cloche_guest_agent_exec_deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  ExecState *state = g_task_get_task_data (task);

  state->timer = 0;
  cloche_guest_agent_exec_stop (task, EXEC_TIMED_OUT);
  return G_SOURCE_REMOVE;
}

static gboolean
cloche_guest_agent_cancel_in_context_cb (gpointer task)
{
  cloche_guest_agent_exec_stop (task, EXEC_CANCELLED);
  return G_SOURCE_REMOVE;
}

static void
cloche_guest_agent_exec_cancelled_cb (GCancellable *cancellable,
                                      GTask        *task)
{
  /* May run in the thread that cancelled: the kill goes out from the
   * task's own context, and later, never from here: ending the call
   * disconnects this handler, which would deadlock inside it. */
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_callback (source, cloche_guest_agent_cancel_in_context_cb, g_object_ref (task),
                         g_object_unref);
  g_source_attach (source, g_task_get_context (task));
}

static void
cloche_guest_agent_exec_fail (GTask  *task,
                              GError *error)
{
  ExecState *state = g_task_get_task_data (task);

  if (state->stop != EXEC_RUNNING)
    {
      /* The stop is what the caller asked about; its end is unknown. */
      g_error_free (error);
      cloche_guest_agent_exec_end_stopped (task);
    }
  else if (cloche_guest_agent_exec_finishing (task))
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

static guint
cloche_guest_agent_next_poll_ms (ExecState *state)
{
  gint64 ran_ms = (g_get_monotonic_time () - state->started) / 1000;

  return (guint) CLAMP (ran_ms / STATUS_POLL_SHARE, STATUS_POLL_MIN_MS, STATUS_POLL_MAX_MS);
}

static void
cloche_guest_agent_exec_status_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ExecState *state = g_task_get_task_data (task);
  g_auto(ClocheExecStatus) status = { 0 };
  g_autoptr(JsonNode) reply = NULL;
  GError *error = NULL;

  reply = cloche_guest_agent_execute_finish (CLOCHE_GUEST_AGENT (object), result, &error);
  if (state->finished)
    {
      g_clear_error (&error);
      return;
    }
  if (reply == NULL || !cloche_guest_agent_parse_exec_status (reply, &status, &error))
    {
      cloche_guest_agent_exec_fail (task, error);
      return;
    }
  if (!status.exited)
    {
      g_timeout_add_once (cloche_guest_agent_next_poll_ms (state),
                          (GSourceOnceFunc) cloche_guest_agent_poll_exec_status_cb,
                          g_steal_pointer (&task));
      return;
    }
  if (state->stop != EXEC_RUNNING)
    {
      state->stopped = status;
      memset (&status, 0, sizeof status);
      cloche_guest_agent_exec_end_stopped (task);
      return;
    }
  cloche_guest_agent_exec_finishing (task);
  g_task_return_pointer (task, g_memdup2 (&status, sizeof status), g_free);
  memset (&status, 0, sizeof status);
}

static void
cloche_guest_agent_poll_exec_status_cb (GTask *task)
{
  ExecState *state = g_task_get_task_data (task);
  g_autoptr(JsonObject) arguments = json_object_new ();

  if (state->finished)
    {
      g_object_unref (task);
      return;
    }
  json_object_set_int_member (arguments, "pid", state->pid);
  cloche_guest_agent_execute_async (g_task_get_source_object (task),
                                    "guest-exec-status", arguments, NULL,
                                    cloche_guest_agent_exec_status_cb, task);
}

static void
cloche_guest_agent_exec_started_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ExecState *state = g_task_get_task_data (task);
  g_autoptr(JsonNode) reply = NULL;
  GError *error = NULL;
  gint64 pid;

  reply = cloche_guest_agent_execute_finish (CLOCHE_GUEST_AGENT (object), result, &error);
  pid = reply != NULL && JSON_NODE_HOLDS_OBJECT (reply)
        ? cloche_json_get_int (json_node_get_object (reply), "pid", -1) : -1;
  /* Its stop ran out while the agent was starting it: kill and reap it. */
  if (state->finished)
    {
      g_clear_error (&error);
      if (pid >= 0)
        cloche_guest_agent_kill_guest_process (CLOCHE_GUEST_AGENT (object), pid, TRUE);
      return;
    }
  if (reply == NULL)
    {
      cloche_guest_agent_exec_fail (task, error);
      return;
    }
  if (pid < 0)
    {
      cloche_guest_agent_exec_fail (task, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                                                       "The guest agent answered guest-exec "
                                                       "without a pid"));
      return;
    }

  state->pid = pid;
  /* Its deadline passed, or it was cancelled, while the agent started it. */
  if (state->stop != EXEC_RUNNING)
    cloche_guest_agent_kill_guest_process (CLOCHE_GUEST_AGENT (object), pid, FALSE);
  state->started = g_get_monotonic_time ();
  g_timeout_add_once (STATUS_POLL_MIN_MS, (GSourceOnceFunc) cloche_guest_agent_poll_exec_status_cb,
                      g_steal_pointer (&task));
}

static JsonArray *
cloche_guest_agent_strv_to_array (const char * const *strv)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_array_add_string_element (array, strv[i]);
  return array;
}

static JsonObject *
cloche_guest_agent_exec_arguments (const char * const *argv,
                                   const char * const *env,
                                   GBytes             *input)
{
  JsonObject *arguments = json_object_new ();

  if (input != NULL)
    {
      g_autofree char *encoded = g_base64_encode (g_bytes_get_data (input, NULL),
                                                  g_bytes_get_size (input));

      json_object_set_string_member (arguments, "input-data", encoded);
    }
  json_object_set_string_member (arguments, "path", argv[0]);
  json_object_set_array_member (arguments, "arg", cloche_guest_agent_strv_to_array (argv + 1));
  /* The agent replaces the whole environment when "env" is given. */
  if (env != NULL)
    json_object_set_array_member (arguments, "env", cloche_guest_agent_strv_to_array (env));
  json_object_set_boolean_member (arguments, "capture-output", TRUE);
  return arguments;
}

/**
 * cloche_guest_agent_exec_async:
 * @env: (nullable): the whole environment of the command
 * @timeout_s: the deadline of the whole command, in seconds (> 0); 0
 *   with %CLOCHE_EXEC_NO_DEADLINE
 * @input: (nullable): what the command reads on its standard input
 * @flags: when a stopped command's call ends; %CLOCHE_EXEC_NO_DEADLINE for
 *   one that runs until it ends or is cancelled (a terminal)
 * @cancellable: (nullable): cancelling it kills the command in the guest
 *
 * Runs @argv in the guest and collects its exit status and output.
 * Fails with %CLOCHE_ERROR_EXEC_TIMEOUT past @timeout_s and with
 * %G_IO_ERROR_CANCELLED when cancelled, the command being killed in the
 * guest in both cases (see above); with %CLOCHE_ERROR_OUTPUT_TRUNCATED when
 * an output was cut.
 */
void
cloche_guest_agent_exec_async (ClocheGuestAgent    *self,
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
  g_autoptr(JsonObject) arguments = NULL;
  ExecState *state;

  g_return_if_fail (CLOCHE_IS_GUEST_AGENT (self));
  g_return_if_fail (argv != NULL && argv[0] != NULL);
  g_return_if_fail ((timeout_s > 0) != !!(flags & CLOCHE_EXEC_NO_DEADLINE));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_guest_agent_exec_async);
  state = g_new0 (ExecState, 1);
  state->pid = -1;
  state->timeout_s = timeout_s;
  state->flags = flags;
  g_task_set_task_data (task, state, (GDestroyNotify) cloche_guest_agent_exec_state_free);
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!(flags & CLOCHE_EXEC_NO_DEADLINE))
    state->timer = g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, timeout_s,
                                               cloche_guest_agent_exec_deadline_cb,
                                               g_object_ref (task), g_object_unref);
  if (cancellable != NULL)
    {
      state->cancellable = g_object_ref (cancellable);
      state->cancelled_id =
        g_cancellable_connect (cancellable, G_CALLBACK (cloche_guest_agent_exec_cancelled_cb),
                               task, NULL);
    }
  arguments = cloche_guest_agent_exec_arguments (argv, env, input);
  cloche_guest_agent_execute_async (self, "guest-exec", arguments, NULL,
                                    cloche_guest_agent_exec_started_cb, g_steal_pointer (&task));
}

/* Killing a command that was stopped */

static void
cloche_guest_agent_killed_reaped_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_guest_agent_execute_finish (CLOCHE_GUEST_AGENT (object), result, &error);
  if (reply == NULL)
    g_debug ("Reaping a command that was killed: %s", error->message);
}

static void
cloche_guest_agent_kill_done_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  ClocheGuestAgent *self = CLOCHE_GUEST_AGENT (object);
  gint64 pid = GPOINTER_TO_SIZE (user_data) >> 1;
  gboolean reap = GPOINTER_TO_SIZE (user_data) & 1;
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if (!cloche_guest_agent_exec_finish (self, result, &status, &out, &err, &error))
    {
      g_message ("Killing guest process %" G_GINT64_FORMAT ": %s", pid, error->message);
      return;
    }
  if (!reap)
    return;
  /* qemu-ga forgets a process once its end has been asked for. */
  json_object_set_int_member (arguments, "pid", pid);
  cloche_guest_agent_execute_async (self, "guest-exec-status", arguments, NULL,
                                    cloche_guest_agent_killed_reaped_cb, NULL);
}

/* SIGTERM first: cloche-guest exec then kills the command's process group
 * (SIGKILL would end cloche-guest alone, and with it only the process it
 * forked). SIGKILL a moment later for a process that ignored SIGTERM.
 * @reap: ask for its end afterwards, when no exec polls it any more. */
static void
cloche_guest_agent_kill_guest_process (ClocheGuestAgent *self,
                                       gint64            pid,
                                       gboolean          reap)
{
  g_autofree char *number = g_strdup_printf ("%" G_GINT64_FORMAT, pid);
  const char *argv[] = { "/bin/sh", "-c",
                         "kill -TERM \"$1\" 2>/dev/null || exit 0; sleep 1; "
                         "kill -KILL \"$1\" 2>/dev/null; exit 0",
                         "sh", number, NULL };

  if (cloche_line_channel_is_closed (self->channel))
    return;
  cloche_guest_agent_exec_async (self, argv, NULL, KILL_TIMEOUT_S, NULL, CLOCHE_EXEC_NONE, NULL,
                                 cloche_guest_agent_kill_done_cb,
                                 GSIZE_TO_POINTER (((gsize) pid << 1) | (reap ? 1 : 0)));
}

/* Also the exec channel's (cloche-exec-channel.c), which keeps as much. */
GError *
cloche_exec_status_truncated_error (const ClocheExecStatus *status)
{
  const char *which = status->stdout_truncated && status->stderr_truncated ? "stdout and stderr"
                      : status->stdout_truncated ? "stdout" : "stderr";

  return g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_OUTPUT_TRUNCATED,
                      "The command's %s was over the limit of %d MiB and was "
                      "cut (the command ended with status %d): write large output to a file "
                      "in the session folder and read it from there",
                      which, OUTPUT_LIMIT_MIB, status->exit_code);
}

/* The end of an exec task whose pointer is a ClocheExecStatus, the guest
 * agent's and the exec channel's alike: @stopped is what a command killed
 * at its deadline wrote, handed out with ExecTimeout; a cut output is an
 * error, never passed off as the whole. */
gboolean
cloche_exec_status_finish (GTask             *task,
                           ClocheExecStatus  *stopped,
                           int               *exit_code,
                           GBytes           **stdout_bytes,
                           GBytes           **stderr_bytes,
                           GError           **error)
{
  g_autofree ClocheExecStatus *status = NULL;
  GError *local_error = NULL;

  status = g_task_propagate_pointer (task, &local_error);
  if (status == NULL)
    {
      if (g_error_matches (local_error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT))
        {
          *exit_code = stopped->exited ? stopped->exit_code : -1;
          *stdout_bytes = g_steal_pointer (&stopped->stdout_bytes);
          *stderr_bytes = g_steal_pointer (&stopped->stderr_bytes);
        }
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (status->stdout_truncated || status->stderr_truncated)
    {
      g_propagate_error (error, cloche_exec_status_truncated_error (status));
      cloche_exec_status_clear (status);
      return FALSE;
    }
  *exit_code = status->exit_code;
  *stdout_bytes = g_steal_pointer (&status->stdout_bytes);
  *stderr_bytes = g_steal_pointer (&status->stderr_bytes);
  return TRUE;
}

/**
 * cloche_guest_agent_exec_finish:
 * @exit_code: (out): its exit status (128 + the signal that ended it)
 * @stdout_bytes: (out): what it wrote on stdout
 * @stderr_bytes: (out): what it wrote on stderr
 *
 * On %CLOCHE_ERROR_EXEC_TIMEOUT the outputs are set too, as
 * g_output_stream_write_all() sets what it wrote: with
 * %CLOCHE_EXEC_WAIT_FOR_STOP, what the command wrote until it was killed,
 * with the status it was killed with; else, or when the guest did not
 * report its end in time, %NULL and -1.
 *
 * Returns: %FALSE with %CLOCHE_ERROR_OUTPUT_TRUNCATED when qemu-ga cut an
 *   output: a part of it is never passed off as the whole
 */
gboolean
cloche_guest_agent_exec_finish (ClocheGuestAgent  *self,
                                GAsyncResult      *result,
                                int               *exit_code,
                                GBytes           **stdout_bytes,
                                GBytes           **stderr_bytes,
                                GError           **error)
{
  ExecState *state;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  state = g_task_get_task_data (G_TASK (result));
  return cloche_exec_status_finish (G_TASK (result), &state->stopped, exit_code, stdout_bytes,
                                    stderr_bytes, error);
}

/**
 * cloche_guest_agent_set_command_timeout:
 * @seconds: how long any one command may wait for its answer (> 0)
 */
void
cloche_guest_agent_set_command_timeout (ClocheGuestAgent *self,
                                        guint             seconds)
{
  g_return_if_fail (CLOCHE_IS_GUEST_AGENT (self));
  g_return_if_fail (seconds > 0);

  self->command_timeout_s = seconds;
}

/* guest-shutdown has no reply when it works: the guest just goes away. */
void
cloche_guest_agent_shutdown (ClocheGuestAgent *self)
{
  g_autoptr(JsonNode) node = NULL;

  g_return_if_fail (CLOCHE_IS_GUEST_AGENT (self));

  node = cloche_json_command_new ("guest-shutdown", NULL);
  cloche_line_channel_send (self->channel, node);
}

void
cloche_guest_agent_close (ClocheGuestAgent *self)
{
  g_return_if_fail (CLOCHE_IS_GUEST_AGENT (self));

  cloche_line_channel_close (self->channel);
}

static void
cloche_guest_agent_dispose (GObject *object)
{
  ClocheGuestAgent *self = CLOCHE_GUEST_AGENT (object);

  cloche_guest_agent_stop_syncing (self);
  /* Only commands past their deadline can be left (the others hold us). */
  g_queue_clear_full (&self->pending, (GDestroyNotify) cloche_guest_agent_pending_free);
  g_queue_clear_full (&self->held, (GDestroyNotify) json_node_unref);
  if (self->channel != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->channel, self);
      cloche_line_channel_close (self->channel);
    }
  g_clear_object (&self->channel);
  g_clear_pointer (&self->last_garbage, g_free);

  G_OBJECT_CLASS (cloche_guest_agent_parent_class)->dispose (object);
}

static void
cloche_guest_agent_class_init (ClocheGuestAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cloche_guest_agent_dispose;
}

static void
cloche_guest_agent_init (ClocheGuestAgent *self)
{
  g_queue_init (&self->pending);
  self->command_timeout_s = CLOCHE_GUEST_AGENT_COMMAND_TIMEOUT_S;
}

ClocheGuestAgent *
cloche_guest_agent_new (GIOStream *stream)
{
  ClocheGuestAgent *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);

  self = g_object_new (CLOCHE_TYPE_GUEST_AGENT, NULL);
  self->channel = cloche_line_channel_new (stream);
  g_signal_connect_swapped (self->channel, "line", G_CALLBACK (cloche_guest_agent_line_cb), self);
  g_signal_connect_swapped (self->channel, "closed", G_CALLBACK (cloche_guest_agent_closed_cb),
                            self);
  cloche_line_channel_start (self->channel);
  return self;
}
