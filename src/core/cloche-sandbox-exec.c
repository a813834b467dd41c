/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Running a command in a session: boot the VM if it is down, mount the
 * session's folders (and make its walls) if this boot has not got them,
 * then guest-exec it through cloche-guest (src/guest), which enters the
 * session's namespaces, becomes its user for good and runs it there.
 * Cancelling the call, or its deadline, kills the command's whole process
 * group there (cloche_guest_agent_exec_async and cloche-guest exec);
 * with CLOCHE_EXEC_WAIT_FOR_STOP, past the deadline the caller still gets
 * what it wrote until then.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-audit-events.h"
#include "cloche-error.h"
#include "cloche-sandbox-private.h"
#include "cloche-tools.h"
#include "cloche-vm-command.h"

/* How long after a boot's first session is open its exec server starts. */
#define EXEC_CHANNEL_DELAY_MS 2000

typedef struct
{
  char   *id;
  GStrv   argv;
  GStrv   env;         /* the caller's; the whole one is built when the boot is ready */
  guint   timeout_s;
  GBytes *input;
  ClocheExecFlags flags;
  /* For the audit log: the command as asked, where, and since when. */
  GStrv   command;
  char   *cwd;
  gint64  started;
  /* What a command killed at its deadline wrote until then. */
  int     stopped_code;
  GBytes *stopped_out;
  GBytes *stopped_err;
} ExecData;

static void
cloche_sandbox_exec_data_free (ExecData *data)
{
  g_free (data->id);
  g_strfreev (data->argv);
  g_strfreev (data->env);
  g_clear_pointer (&data->input, g_bytes_unref);
  g_strfreev (data->command);
  g_free (data->cwd);
  g_clear_pointer (&data->stopped_out, g_bytes_unref);
  g_clear_pointer (&data->stopped_err, g_bytes_unref);
  g_free (data);
}

typedef struct
{
  int     exit_code;
  GBytes *out;
  GBytes *err;
} ExecResult;

static void
cloche_sandbox_exec_result_free (ExecResult *result)
{
  g_clear_pointer (&result->out, g_bytes_unref);
  g_clear_pointer (&result->err, g_bytes_unref);
  g_free (result);
}

static void
cloche_sandbox_exec_done_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ExecData *data = g_task_get_task_data (task);
  ExecResult *done = g_new0 (ExecResult, 1);
  GError *error = NULL;

  gboolean ran;

  if (CLOCHE_IS_EXEC_CHANNEL (object))
    ran = cloche_exec_channel_exec_finish (CLOCHE_EXEC_CHANNEL (object), result,
                                           &done->exit_code, &done->out, &done->err, &error);
  else
    ran = cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result,
                                          &done->exit_code, &done->out, &done->err, &error);
  if (!ran)
    {
      if (g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT))
        {
          data->stopped_code = done->exit_code;
          data->stopped_out = g_steal_pointer (&done->out);
          data->stopped_err = g_steal_pointer (&done->err);
        }
      cloche_sandbox_exec_result_free (done);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, done, (GDestroyNotify) cloche_sandbox_exec_result_free);
}

/* The boot's exec server, when it is ready and the command fits a frame;
 * else (not started yet, a bundle whose cloche-guest has none, dropped)
 * guest-exec of `cloche-guest exec`, as before it. */
static gboolean
cloche_sandbox_exec_has_channel (ClocheSandbox      *self,
                                 ExecData           *data,
                                 const char * const *env)
{
  return self->exec_channel != NULL && cloche_exec_channel_is_open (self->exec_channel)
         && self->exec_channel_boot == cloche_vm_get_booted_at (self->vm)
         && cloche_exec_channel_fits (data->id, data->cwd, (const char * const *) data->command,
                                      env);
}

static void
cloche_sandbox_exec_run_command (GTask *task)
{
  ClocheSandbox *self = g_task_get_source_object (task);
  ExecData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  ClocheOpenSession *open = g_hash_table_lookup (self->sessions, data->id);
  g_auto(GStrv) env = NULL;

  if (open == NULL)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND,
                               "Session %s was closed before the command could run", data->id);
      g_object_unref (task);
      return;
    }
  /* Built now, when this boot trusts the egress CA (its variables depend
   * on that), not when the call came, maybe before a boot. */
  env = _cloche_sandbox_build_env (self, open->session, (const char * const *) data->env);
  if (cloche_sandbox_exec_has_channel (self, data, (const char * const *) env))
    {
      cloche_exec_channel_exec_async (self->exec_channel, data->id, data->cwd,
                                      (const char * const *) data->command,
                                      (const char * const *) env, data->timeout_s, data->input,
                                      data->flags, cancellable, cloche_sandbox_exec_done_cb, task);
      return;
    }
  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (self->vm),
                                 (const char * const *) data->argv,
                                 (const char * const *) env,
                                 data->timeout_s, data->input, data->flags,
                                 cancellable, cloche_sandbox_exec_done_cb, task);
}

/* Ready: the VM running, and the session's folders mounted (and its walls
 * made) in this boot. After a stop or a crash the VM boots again, and the
 * folders are mounted again in the new boot before anything runs. */

static void
cloche_sandbox_exec_mounted_for_ready_cb (GObject      *object,
                                          GAsyncResult *result,
                                          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = CLOCHE_SANDBOX (object);
  const char *id = g_task_get_task_data (task);
  ClocheOpenSession *open;
  GError *error = NULL;
  gint64 boot;

  open = g_hash_table_lookup (self->sessions, id);
  if (!_cloche_sandbox_mount_finish (self, result, &boot, &error))
    {
      /* A folder that is no longer the one checked stays refused. */
      if (open != NULL && open->broken == NULL
          && g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_CHANGED))
        open->broken = g_error_copy (error);
      g_task_return_error (task, error);
      return;
    }
  if (open != NULL)
    {
      open->mounted_boot = boot;
      /* A lost folder is back, mounted afresh in this boot. */
      if (g_error_matches (open->broken, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_LOST))
        g_clear_error (&open->broken);
    }
  g_task_return_boolean (task, TRUE);
}

static void
cloche_sandbox_exec_trusted_for_ready_cb (GObject      *object,
                                          GAsyncResult *result,
                                          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  _cloche_sandbox_trust_finish (CLOCHE_SANDBOX (object), result, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
cloche_sandbox_exec_vm_started_for_ready_cb (GObject      *object,
                                             GAsyncResult *result,
                                             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  const char *id = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  ClocheOpenSession *open;

  if (!cloche_vm_start_finish (self->vm, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  open = g_hash_table_lookup (self->sessions, id);
  if (open == NULL)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND,
                               "Session %s was closed before the command could run", id);
      return;
    }
  /* The boot and the session's folders are shared with its other
   * commands: cancelling stops this command, not them. A CA made again
   * while the VM runs is trusted before the command (at once when it is
   * trusted already). */
  if (open->mounted_boot == cloche_vm_get_booted_at (self->vm))
    _cloche_sandbox_trust_async (self, NULL, cloche_sandbox_exec_trusted_for_ready_cb,
                                 g_steal_pointer (&task));
  else
    _cloche_sandbox_mount_async (self, open->session, NULL,
                                 cloche_sandbox_exec_mounted_for_ready_cb,
                                 g_steal_pointer (&task));
}

void
_cloche_sandbox_ready_async (ClocheSandbox       *self,
                             const char          *id,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, _cloche_sandbox_ready_async);
  g_task_set_task_data (task, g_strdup (id), g_free);
  cloche_vm_start_async (self->vm, NULL, cloche_sandbox_exec_vm_started_for_ready_cb, task);
}

gboolean
_cloche_sandbox_ready_finish (ClocheSandbox  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cloche_sandbox_exec_ready_for_exec_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!_cloche_sandbox_ready_finish (CLOCHE_SANDBOX (object), result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  cloche_sandbox_exec_run_command (g_steal_pointer (&task));
}

/* In session @id, in the folder @cwd (qemu-ga's guest-exec has neither):
 * `cloche-guest exec ID CWD -- ARGV…`, whose status is the command's. */
static GStrv
cloche_sandbox_exec_build_argv (const char         *id,
                                const char * const *argv,
                                const char         *cwd)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_strv_builder_add_many (builder, CLOCHE_VM_GUEST_HELPER, "exec", id, cwd, "--", NULL);
  g_strv_builder_addv (builder, (const char **) argv);
  return g_strv_builder_end (builder);
}

/* The egress proxy, for the tools that follow these variables (curl,
 * wget, pip, apt, git…): in the session's network namespace, the
 * session's forwarder listens at the proxy's address and tells the proxy
 * which session it serves (cloche-guest), so the URL names no session.
 * Addresses inside the guest are not the proxy's business: it would
 * resolve "localhost" on the host. */
static void
cloche_sandbox_exec_add_proxy_env (GStrvBuilder *builder)
{
  static const char * const names[] = { "http_proxy", "https_proxy",
                                        "HTTP_PROXY", "HTTPS_PROXY", NULL };
  g_autofree char *url = g_strdup_printf ("http://%s:%u", CLOCHE_VM_EGRESS_ADDRESS,
                                          (guint) CLOCHE_VM_EGRESS_PORT);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *variable = g_strdup_printf ("%s=%s", names[i], url);

      g_strv_builder_add (builder, variable);
    }
  g_strv_builder_add_many (builder, "no_proxy=localhost,127.0.0.1,::1",
                           "NO_PROXY=localhost,127.0.0.1,::1", NULL);
}

GStrv
_cloche_sandbox_build_env (ClocheSandbox      *self,
                           ClocheSession      *session,
                           const char * const *env)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *session_var = g_strdup_printf ("CLOCHE_SESSION=%s",
                                                  cloche_session_get_id (session));

  g_strv_builder_add_many (builder,
                           /* The tools folder first: its node, not the bundle's. */
                           "PATH=" CLOCHE_TOOLS_GUEST_BIN
                           ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "HOME=" CLOCHE_VM_SESSION_HOME, "LANG=C.UTF-8", NULL);
  g_strv_builder_add (builder, session_var);
  cloche_sandbox_exec_add_proxy_env (builder);
  _cloche_sandbox_add_secrets_env (self, session, builder);
  /* Later entries win in the guest, so the caller's override ours — the
   * proxy variables too: restrict=on leaves the proxy the only way out
   * whatever they say, so a caller who sets or clears them can break its
   * own downloads but reach nothing more. */
  if (env != NULL)
    g_strv_builder_addv (builder, (const char **) env);
  return g_strv_builder_end (builder);
}

/* A changed folder stays refused; a lost one until the VM boots again
 * (the next boot mounts the session's folders afresh). */
gboolean
_cloche_sandbox_is_refused (ClocheSandbox     *self,
                            ClocheOpenSession *open)
{
  if (open->broken == NULL)
    return FALSE;
  return !g_error_matches (open->broken, CLOCHE_ERROR, CLOCHE_ERROR_FOLDER_LOST)
         || open->mounted_boot == cloche_vm_get_booted_at (self->vm);
}

static gboolean
cloche_sandbox_exec_check_exec_args (const char * const  *argv,
                                     const char * const  *env,
                                     guint                timeout_s,
                                     GBytes              *input,
                                     GError             **error)
{
  if (timeout_s > CLOCHE_SANDBOX_EXEC_MAX_TIMEOUT_S)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("A timeout of %u s is out of range: give at most %u s (one week), or 0 "
                     "for the default of %u s"), timeout_s, CLOCHE_SANDBOX_EXEC_MAX_TIMEOUT_S,
                   CLOCHE_SANDBOX_EXEC_DEFAULT_TIMEOUT_S);
      return FALSE;
    }
  if (input != NULL && g_bytes_get_size (input) > CLOCHE_SANDBOX_EXEC_MAX_INPUT)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("A command's standard input may hold at most 16 MiB"));
      return FALSE;
    }
  return _cloche_sandbox_check_command (argv, env, error);
}

gboolean
_cloche_sandbox_check_command (const char * const  *argv,
                               const char * const  *env,
                               GError             **error)
{
  if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0')
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("No command was given to run"));
      return FALSE;
    }
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    if (strchr (env[i], '=') == NULL || env[i][0] == '=')
      {
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                     _("Environment entry \"%s\" is not NAME=value"), env[i]);
        return FALSE;
      }
  return TRUE;
}

/**
 * cloche_sandbox_exec_async:
 * @cwd: (nullable): the guest folder to run in; the session folder if %NULL
 *   or empty
 * @timeout_s: the command's deadline in seconds; 0 for
 *   %CLOCHE_SANDBOX_EXEC_DEFAULT_TIMEOUT_S, at most
 *   %CLOCHE_SANDBOX_EXEC_MAX_TIMEOUT_S
 * @input: (nullable): the command's standard input (at most
 *   %CLOCHE_SANDBOX_EXEC_MAX_INPUT bytes), which then ends
 * @flags: when the call of a stopped command ends (ClocheExecFlags)
 * @cancellable: (nullable): cancelling it once the command runs kills it
 *   in the guest, with what it started (its process group); the call then
 *   fails with %G_IO_ERROR_CANCELLED once it is gone
 *
 * Runs @argv in session @id, booting the VM and mounting the session's
 * folders first if this boot has not got them. A session whose folder
 * changed or was lost is refused with that error
 * (%CLOCHE_ERROR_FOLDER_CHANGED, _FOLDER_LOST).
 */
void
cloche_sandbox_exec_async (ClocheSandbox       *self,
                           const char          *id,
                           const char * const  *argv,
                           const char * const  *env,
                           const char          *cwd,
                           guint                timeout_s,
                           GBytes              *input,
                           ClocheExecFlags      flags,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *session_dir = NULL;
  ClocheOpenSession *open;
  ExecData *data;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_exec_async);

  open = _cloche_sandbox_lookup (self, id, &error);
  if (open == NULL || !cloche_sandbox_exec_check_exec_args (argv, env, timeout_s, input, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (_cloche_sandbox_is_refused (self, open))
    {
      g_task_return_error (task, g_error_copy (open->broken));
      return;
    }

  session_dir = cloche_session_dup_guest_dir (open->session);
  data = g_new0 (ExecData, 1);
  data->id = g_strdup (id);
  data->cwd = g_strdup (cwd != NULL && cwd[0] != '\0' ? cwd : session_dir);
  data->argv = cloche_sandbox_exec_build_argv (id, argv, data->cwd);
  data->command = g_strdupv ((char **) argv);
  data->started = g_get_monotonic_time ();
  data->env = g_strdupv ((char **) env);
  data->timeout_s = timeout_s > 0 ? timeout_s : CLOCHE_SANDBOX_EXEC_DEFAULT_TIMEOUT_S;
  data->input = input != NULL ? g_bytes_ref (input) : NULL;
  data->flags = flags;
  g_task_set_task_data (task, data, (GDestroyNotify) cloche_sandbox_exec_data_free);
  _cloche_sandbox_touch (self, open);
  _cloche_sandbox_ready_async (self, id, cancellable, cloche_sandbox_exec_ready_for_exec_cb,
                               g_steal_pointer (&task));
}

/**
 * cloche_sandbox_exec_finish:
 *
 * As cloche_guest_agent_exec_finish(): on %CLOCHE_ERROR_EXEC_TIMEOUT the
 * outputs are what the command wrote until it was killed, with
 * %CLOCHE_EXEC_WAIT_FOR_STOP (else %NULL).
 */
gboolean
cloche_sandbox_exec_finish (ClocheSandbox  *self,
                            GAsyncResult   *result,
                            int            *exit_code,
                            GBytes        **stdout_bytes,
                            GBytes        **stderr_bytes,
                            GError        **error)
{
  ExecData *data = g_task_get_task_data (G_TASK (result));
  GError *local_error = NULL;
  ExecResult *done;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  done = g_task_propagate_pointer (G_TASK (result), &local_error);
  /* Logged here, the one place every exec ends; a call refused before it
   * had a command (no such session, no argv) has no task data. */
  if (data != NULL)
    cloche_audit_command (self->audit, data->id, (const char * const *) data->command,
                          data->cwd, done != NULL ? done->exit_code : -1,
                          g_get_monotonic_time () - data->started, local_error);
  if (done == NULL)
    {
      if (data != NULL && g_error_matches (local_error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT))
        {
          *exit_code = data->stopped_code;
          *stdout_bytes = g_steal_pointer (&data->stopped_out);
          *stderr_bytes = g_steal_pointer (&data->stopped_err);
        }
      g_propagate_error (error, local_error);
      return FALSE;
    }
  *exit_code = done->exit_code;
  *stdout_bytes = g_steal_pointer (&done->out);
  *stderr_bytes = g_steal_pointer (&done->err);
  cloche_sandbox_exec_result_free (done);
  return TRUE;
}


/* The boot's exec server (cloche-exec-channel.c) */

static void
cloche_sandbox_exec_channel_dropped_cb (ClocheExecChannel *channel,
                                        const char        *reason,
                                        ClocheSandbox     *self)
{
  if (self->exec_channel == channel)
    g_clear_object (&self->exec_channel);
}

static void
cloche_sandbox_exec_channel_opened_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(ClocheSandbox) self = user_data;
  g_autoptr(ClocheExecChannel) channel = NULL;
  g_autoptr(GError) error = NULL;

  channel = cloche_exec_channel_open_finish (result, &error);
  if (channel == NULL)
    {
      g_message ("This boot's commands go through guest-exec: %s", error->message);
      return;
    }
  /* The boot it was opened in has ended, or the VM is being stopped. */
  if (self->exec_channel_boot != cloche_vm_get_booted_at (self->vm)
      || cloche_vm_get_state (self->vm) != CLOCHE_VM_STATE_RUNNING)
    {
      cloche_exec_channel_close_async (channel, NULL, NULL);
      return;
    }
  g_signal_connect_object (channel, "dropped",
                           G_CALLBACK (cloche_sandbox_exec_channel_dropped_cb), self, 0);
  g_set_object (&self->exec_channel, channel);
}

static gboolean
cloche_sandbox_exec_channel_open_cb (gpointer user_data)
{
  ClocheSandbox *self = user_data;

  self->exec_channel_timer = 0;
  if (self->exec_channel_boot != cloche_vm_get_booted_at (self->vm)
      || cloche_vm_get_state (self->vm) != CLOCHE_VM_STATE_RUNNING)
    return G_SOURCE_REMOVE;
  cloche_exec_channel_open_async (cloche_vm_get_qmp_client (self->vm),
                                  cloche_vm_get_guest_agent (self->vm), CLOCHE_VM_GUEST_HELPER,
                                  ++self->terminal_count, cloche_sandbox_exec_channel_opened_cb,
                                  g_object_ref (self));
  return G_SOURCE_REMOVE;
}

/* Once a boot: a server that failed or was dropped leaves the boot's
 * commands on guest-exec (a guest that breaks the protocol gets no
 * second channel to break). A moment after the open, not during it: the
 * guest agent holds its commands while the server opens its port
 * (cloche_guest_agent_hold), and an open's first command should not wait
 * for that (tools/bench/warm-wake: +1.5 s at load 6 when it did). */
void
_cloche_sandbox_exec_channel_start (ClocheSandbox *self)
{
  gint64 boot = cloche_vm_get_booted_at (self->vm);

  if (boot == 0 || self->exec_channel_boot == boot)
    return;
  self->exec_channel_boot = boot;
  g_clear_object (&self->exec_channel);
  g_clear_handle_id (&self->exec_channel_timer, g_source_remove);
  self->exec_channel_timer = g_timeout_add (EXEC_CHANNEL_DELAY_MS,
                                            cloche_sandbox_exec_channel_open_cb, self);
}

static void
cloche_sandbox_exec_channel_closed_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  cloche_exec_channel_close_finish (CLOCHE_EXEC_CHANNEL (object), result, NULL);
  g_task_return_boolean (task, TRUE);
}

/* Before the VM is saved: its port must be out (QEMU cannot restore a
 * device the restored machine lacks). The next boot starts a new one. */
void
_cloche_sandbox_exec_channel_close_async (ClocheSandbox       *self,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);
  g_autoptr(ClocheExecChannel) channel = g_steal_pointer (&self->exec_channel);

  g_task_set_source_tag (task, _cloche_sandbox_exec_channel_close_async);
  g_clear_handle_id (&self->exec_channel_timer, g_source_remove);
  if (channel == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  cloche_exec_channel_close_async (channel, cloche_sandbox_exec_channel_closed_cb, task);
}
