/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A client of qemu-guest-agent on its virtio-serial port. The agent answers
 * strictly in order and its replies carry no id, so commands wait in a FIFO.
 * Before the first command a guest-sync with a fresh id, repeated until it
 * comes back, tells us the agent is up and that no stale reply is in flight.
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
#define STATUS_POLL_MIN_MS 2
#define STATUS_POLL_MAX_MS 100

struct _ClocheGuestAgent
{
  GObject            parent_instance;
  ClocheLineChannel *channel;
  GQueue             pending;        /* GTask, in the order sent */

  /* While syncing, replies are matched against sync_id instead. */
  GTask             *sync_task;
  gint64             sync_id;
  guint              sync_resend_source;
  guint              sync_timeout_source;
  char              *last_garbage;
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
decode_output (JsonObject *object,
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
get_value_type (JsonObject *object,
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
get_exit_code (JsonObject  *object,
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
  if (get_value_type (object, "exited") != G_TYPE_BOOLEAN)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                   "The guest agent answered guest-exec-status without \"exited\"");
      return FALSE;
    }

  status->exited = cloche_json_get_boolean (object, "exited", FALSE);
  if (!status->exited)
    return TRUE;

  if (!get_exit_code (object, &status->exit_code, error))
    return FALSE;
  status->stdout_bytes = decode_output (object, "out-data");
  status->stderr_bytes = decode_output (object, "err-data");
  return TRUE;
}

/* Sync */

static void
stop_syncing (ClocheGuestAgent *self)
{
  g_clear_handle_id (&self->sync_resend_source, g_source_remove);
  g_clear_handle_id (&self->sync_timeout_source, g_source_remove);
}

static gboolean
send_sync (gpointer user_data)
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
on_sync_timeout (gpointer user_data)
{
  ClocheGuestAgent *self = user_data;
  g_autoptr(GTask) task = g_steal_pointer (&self->sync_task);
  guint timeout_s = GPOINTER_TO_UINT (g_task_get_task_data (task));

  self->sync_timeout_source = 0;
  stop_syncing (self);
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
handle_sync_line (ClocheGuestAgent *self,
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
  stop_syncing (self);
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

  send_sync (self);
  self->sync_resend_source = g_timeout_add (SYNC_INTERVAL_MS, send_sync, self);
  self->sync_timeout_source = g_timeout_add_seconds (timeout_s, on_sync_timeout, self);
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

static void
on_line (ClocheGuestAgent *self,
         const char       *line)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonNode) reply = NULL;
  GError *error = NULL;

  if (self->sync_task != NULL)
    {
      handle_sync_line (self, line);
      return;
    }

  task = g_queue_pop_head (&self->pending);
  reply = cloche_guest_agent_parse_reply (line, &error);
  if (task == NULL)
    {
      g_warning ("The guest agent sent a line nobody asked for: %s", line);
      g_clear_error (&error);
      return;
    }
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_steal_pointer (&reply), (GDestroyNotify) json_node_unref);
}

static void
on_closed (ClocheGuestAgent *self,
           const GError     *error)
{
  g_autoptr(GTask) sync_task = g_steal_pointer (&self->sync_task);
  GTask *task;

  if (sync_task != NULL)
    {
      stop_syncing (self);
      g_task_return_new_error (sync_task, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                               "The connection to the guest agent closed before it answered");
    }
  while ((task = g_queue_pop_head (&self->pending)))
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                               "The connection to the guest agent closed: the VM stopped "
                               "before the command finished%s%s",
                               error ? ": " : "", error ? error->message : "");
      g_object_unref (task);
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
  g_queue_push_tail (&self->pending, g_steal_pointer (&task));
  cloche_line_channel_send (self->channel, node);
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
 * waiting: on cancellation or at its deadline the process group the command
 * leads is killed (SIGKILL, from a second guest-exec), and the status is
 * still polled until the agent reports the exit, so nothing of it outlives
 * the call. The agent's own commands are therefore never given the caller's
 * cancellable. A command that made itself a process group or session of its
 * own (setsid, a daemon) is not in that group. */

typedef struct
{
  gint64        pid;
  guint         delay_ms;
  guint         timeout_ms;
  guint         timeout_source;
  gulong        cancelled_id;
  GCancellable *cancellable;
  gboolean      kill_sent;
  gboolean      timed_out;
  gint64        kill_pid;      /* the killer's own pid, read once at the end */
} ExecState;

static void disarm_stop (ExecState *state);

static void
exec_state_free (ExecState *state)
{
  disarm_stop (state);
  g_clear_object (&state->cancellable);
  g_free (state);
}

static void poll_exec_status (GTask *task);

/* The killer is reaped by reading its status once; qemu-ga keeps every
 * process's record until its status has been read after it exited. */
static void
on_killer_status (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  JsonNode *reply = cloche_guest_agent_execute_finish (CLOCHE_GUEST_AGENT (object), result, NULL);

  g_clear_pointer (&reply, json_node_unref);
}

static void
reap_killer (ClocheGuestAgent *self,
             gint64            pid)
{
  g_autoptr(JsonObject) arguments = json_object_new ();

  if (pid <= 0 || cloche_line_channel_is_closed (self->channel))
    return;
  json_object_set_int_member (arguments, "pid", pid);
  cloche_guest_agent_execute_async (self, "guest-exec-status", arguments, NULL,
                                    on_killer_status, NULL);
}

static void
on_killer_started (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ExecState *state = g_task_get_task_data (task);
  g_autoptr(JsonNode) reply = NULL;

  reply = cloche_guest_agent_execute_finish (CLOCHE_GUEST_AGENT (object), result, NULL);
  if (reply != NULL && JSON_NODE_HOLDS_OBJECT (reply))
    state->kill_pid = cloche_json_get_int (json_node_get_object (reply), "pid", -1);
}

/* The group first (the command leads one when its wrapper ran setsid),
 * else the process alone. */
static void
kill_command (GTask *task)
{
  ClocheGuestAgent *self = g_task_get_source_object (task);
  ExecState *state = g_task_get_task_data (task);
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonArray) args = json_array_new ();
  g_autofree char *pid = NULL;

  if (state->kill_sent || state->pid <= 0 || cloche_line_channel_is_closed (self->channel))
    return;
  state->kill_sent = TRUE;
  pid = g_strdup_printf ("%" G_GINT64_FORMAT, state->pid);
  json_array_add_string_element (args, "-c");
  json_array_add_string_element (args, "kill -KILL -\"$1\" 2>/dev/null || kill -KILL \"$1\"");
  json_array_add_string_element (args, "sh");
  json_array_add_string_element (args, pid);
  json_object_set_string_member (arguments, "path", "/bin/sh");
  json_object_set_array_member (arguments, "arg", g_steal_pointer (&args));
  cloche_guest_agent_execute_async (self, "guest-exec", arguments, NULL,
                                    on_killer_started, g_object_ref (task));
}

static gboolean
kill_in_context (gpointer task)
{
  kill_command (task);
  return G_SOURCE_REMOVE;
}

static void
on_exec_cancelled (GCancellable *cancellable,
                   GTask        *task)
{
  /* May run in the thread that cancelled; the kill goes out from the
   * task's context. */
  g_main_context_invoke_full (g_task_get_context (task), G_PRIORITY_DEFAULT,
                              kill_in_context, g_object_ref (task), g_object_unref);
}

/* Once the process is gone its pid may be reused: nothing may kill it. */
static void
disarm_stop (ExecState *state)
{
  g_clear_handle_id (&state->timeout_source, g_source_remove);
  if (state->cancelled_id != 0)
    g_cancellable_disconnect (state->cancellable, state->cancelled_id);
  state->cancelled_id = 0;
  state->pid = -1;
}

static gboolean
on_exec_timeout (gpointer user_data)
{
  GTask *task = user_data;
  ExecState *state = g_task_get_task_data (task);

  state->timeout_source = 0;
  state->timed_out = TRUE;
  kill_command (task);
  return G_SOURCE_REMOVE;
}

static void
exec_return (GTask            *task,
             ClocheExecStatus *status)
{
  ExecState *state = g_task_get_task_data (task);

  reap_killer (g_task_get_source_object (task), state->kill_pid);
  if (state->kill_sent && !state->timed_out)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The command was cancelled; its processes in the guest "
                               "were killed");
      return;
    }
  status->timed_out = state->timed_out;
  g_task_return_pointer (task, g_memdup2 (status, sizeof *status), g_free);
  memset (status, 0, sizeof *status);
}

static void
on_exec_status (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ExecState *state = g_task_get_task_data (task);
  g_auto(ClocheExecStatus) status = { 0 };
  g_autoptr(JsonNode) reply = NULL;
  GError *error = NULL;

  reply = cloche_guest_agent_execute_finish (CLOCHE_GUEST_AGENT (object), result, &error);
  if (reply != NULL && cloche_guest_agent_parse_exec_status (reply, &status, &error)
      && !status.exited)
    {
      state->delay_ms = MIN (state->delay_ms * 2, STATUS_POLL_MAX_MS);
      g_timeout_add_once (state->delay_ms, (GSourceOnceFunc) poll_exec_status,
                          g_steal_pointer (&task));
      return;
    }
  disarm_stop (state);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    exec_return (task, &status);
}

static void
poll_exec_status (GTask *task)
{
  ExecState *state = g_task_get_task_data (task);
  g_autoptr(JsonObject) arguments = json_object_new ();

  json_object_set_int_member (arguments, "pid", state->pid);
  cloche_guest_agent_execute_async (g_task_get_source_object (task),
                                    "guest-exec-status", arguments, NULL,
                                    on_exec_status, task);
}

/* From here on the command can be stopped: its pid is known. */
static void
arm_stop (GTask *task)
{
  ExecState *state = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (state->timeout_ms > 0)
    state->timeout_source = g_timeout_add_full (G_PRIORITY_DEFAULT, state->timeout_ms,
                                                on_exec_timeout, task, NULL);
  if (cancellable != NULL)
    {
      state->cancellable = g_object_ref (cancellable);
      state->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_exec_cancelled),
                                                   task, NULL);
    }
}

static void
on_exec_started (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ExecState *state = g_task_get_task_data (task);
  g_autoptr(JsonNode) reply = NULL;
  GError *error = NULL;

  reply = cloche_guest_agent_execute_finish (CLOCHE_GUEST_AGENT (object), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (!JSON_NODE_HOLDS_OBJECT (reply)
      || cloche_json_get_int (json_node_get_object (reply), "pid", -1) < 0)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL,
                               "The guest agent answered guest-exec without a pid");
      return;
    }

  state->pid = cloche_json_get_int (json_node_get_object (reply), "pid", -1);
  state->delay_ms = STATUS_POLL_MIN_MS;
  arm_stop (task);
  g_timeout_add_once (state->delay_ms, (GSourceOnceFunc) poll_exec_status,
                      g_steal_pointer (&task));
}

static JsonArray *
strv_to_array (const char * const *strv)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_array_add_string_element (array, strv[i]);
  return array;
}

static JsonObject *
exec_arguments (const char * const      *argv,
                const char * const      *env,
                const ClocheExecOptions *options)
{
  JsonObject *arguments = json_object_new ();

  json_object_set_string_member (arguments, "path", argv[0]);
  json_object_set_array_member (arguments, "arg", strv_to_array (argv + 1));
  /* The agent replaces the whole environment when "env" is given. */
  if (env != NULL)
    json_object_set_array_member (arguments, "env", strv_to_array (env));
  if (options != NULL && options->input != NULL)
    {
      gsize length = 0;
      const guchar *data = g_bytes_get_data (options->input, &length);
      g_autofree char *encoded = g_base64_encode (data, length);

      json_object_set_string_member (arguments, "input-data", encoded);
    }
  json_object_set_boolean_member (arguments, "capture-output", TRUE);
  return arguments;
}

/**
 * cloche_guest_agent_exec_full_async:
 * @options: (nullable): stdin and a deadline
 *
 * Runs @argv in the guest and waits for it. Cancelling @cancellable kills
 * the command's process group in the guest; the call then ends with
 * %G_IO_ERROR_CANCELLED once the agent saw it exit. At the deadline it is
 * killed the same way and the call ends normally, with timed_out set.
 */
void
cloche_guest_agent_exec_full_async (ClocheGuestAgent        *self,
                                    const char * const      *argv,
                                    const char * const      *env,
                                    const ClocheExecOptions *options,
                                    GCancellable            *cancellable,
                                    GAsyncReadyCallback      callback,
                                    gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonObject) arguments = NULL;
  ExecState *state;

  g_return_if_fail (CLOCHE_IS_GUEST_AGENT (self));
  g_return_if_fail (argv != NULL && argv[0] != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_guest_agent_exec_full_async);
  state = g_new0 (ExecState, 1);
  state->timeout_ms = options != NULL ? options->timeout_ms : 0;
  g_task_set_task_data (task, state, (GDestroyNotify) exec_state_free);
  if (g_task_return_error_if_cancelled (task))
    return;

  arguments = exec_arguments (argv, env, options);
  cloche_guest_agent_execute_async (self, "guest-exec", arguments, NULL,
                                    on_exec_started, g_steal_pointer (&task));
}

/**
 * cloche_guest_agent_exec_full_finish:
 * @result_out: (out caller-allocates): exit code, output, whether the
 *   deadline ended it; clear it with cloche_exec_result_clear()
 */
gboolean
cloche_guest_agent_exec_full_finish (ClocheGuestAgent  *self,
                                     GAsyncResult      *result,
                                     ClocheExecResult  *result_out,
                                     GError           **error)
{
  g_autofree ClocheExecStatus *status = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  memset (result_out, 0, sizeof *result_out);
  status = g_task_propagate_pointer (G_TASK (result), error);
  if (status == NULL)
    return FALSE;
  result_out->exit_code = status->exit_code;
  result_out->out = g_steal_pointer (&status->stdout_bytes);
  result_out->err = g_steal_pointer (&status->stderr_bytes);
  result_out->timed_out = status->timed_out;
  return TRUE;
}

void
cloche_exec_result_clear (ClocheExecResult *result)
{
  g_clear_pointer (&result->out, g_bytes_unref);
  g_clear_pointer (&result->err, g_bytes_unref);
}

void
cloche_guest_agent_exec_async (ClocheGuestAgent    *self,
                               const char * const  *argv,
                               const char * const  *env,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  cloche_guest_agent_exec_full_async (self, argv, env, NULL, cancellable, callback, user_data);
}

gboolean
cloche_guest_agent_exec_finish (ClocheGuestAgent  *self,
                                GAsyncResult      *result,
                                int               *exit_code,
                                GBytes           **stdout_bytes,
                                GBytes           **stderr_bytes,
                                GError           **error)
{
  ClocheExecResult done;

  if (!cloche_guest_agent_exec_full_finish (self, result, &done, error))
    return FALSE;
  *exit_code = done.exit_code;
  *stdout_bytes = g_steal_pointer (&done.out);
  *stderr_bytes = g_steal_pointer (&done.err);
  return TRUE;
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

  stop_syncing (self);
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
}

ClocheGuestAgent *
cloche_guest_agent_new (GIOStream *stream)
{
  ClocheGuestAgent *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);

  self = g_object_new (CLOCHE_TYPE_GUEST_AGENT, NULL);
  self->channel = cloche_line_channel_new (stream);
  g_signal_connect_swapped (self->channel, "line", G_CALLBACK (on_line), self);
  g_signal_connect_swapped (self->channel, "closed", G_CALLBACK (on_closed), self);
  cloche_line_channel_start (self->channel);
  return self;
}
