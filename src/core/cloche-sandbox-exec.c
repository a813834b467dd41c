/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Running a command in a session: boot the VM if it is down, mount the
 * session's folders if this boot has not got them, then guest-exec.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-audit-events.h"
#include "cloche-error.h"
#include "cloche-sandbox-private.h"
#include "cloche-vm-command.h"

/* Runs argv in the folder given as $1, the way a terminal would (qemu-ga's
 * guest-exec has no working directory of its own), as the leader of a
 * process group of its own (setsid, in place: qemu-ga's children lead no
 * group), so that cancelling or a deadline kills what it started too. */
static const char *cwd_wrapper[] = {
  "/bin/sh", "-c",
  "cd \"$1\" && shift && if [ -x /usr/bin/setsid ]; then exec /usr/bin/setsid \"$@\"; fi; "
  "exec \"$@\"",
  "sh", NULL
};

typedef struct
{
  char  *id;
  GStrv  argv;
  GStrv  env;
  /* For the audit log: the command as asked, where, and since when. */
  GStrv   command;
  char   *cwd;
  gint64  started;
  GBytes *input;
  guint   timeout_ms;
} ExecData;

static void
exec_data_free (ExecData *data)
{
  g_free (data->id);
  g_strfreev (data->argv);
  g_strfreev (data->env);
  g_strfreev (data->command);
  g_free (data->cwd);
  g_clear_pointer (&data->input, g_bytes_unref);
  g_free (data);
}

static void
exec_result_free (ClocheExecResult *result)
{
  cloche_exec_result_clear (result);
  g_free (result);
}

static void
on_exec_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheExecResult *done = g_new0 (ClocheExecResult, 1);
  GError *error = NULL;

  if (!cloche_guest_agent_exec_full_finish (CLOCHE_GUEST_AGENT (object), result, done, &error))
    {
      exec_result_free (done);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, done, (GDestroyNotify) exec_result_free);
}

static void
run_command (GTask *task)
{
  ClocheSandbox *self = g_task_get_source_object (task);
  ExecData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  ClocheExecOptions options = { data->input, data->timeout_ms };

  cloche_guest_agent_exec_full_async (cloche_vm_get_guest_agent (self->vm),
                                      (const char * const *) data->argv,
                                      (const char * const *) data->env, &options,
                                      cancellable, on_exec_done, task);
}

static void
on_mounted_for_exec (GObject      *object,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = CLOCHE_SANDBOX (object);
  ExecData *data = g_task_get_task_data (task);
  ClocheOpenSession *open;
  GError *error = NULL;
  gint64 boot;

  if (!_cloche_sandbox_mount_finish (self, result, &boot, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  open = g_hash_table_lookup (self->sessions, data->id);
  if (open != NULL)
    open->mounted_boot = boot;
  run_command (g_steal_pointer (&task));
}

/* After a stop or a crash the VM boots again, and the session's folders
 * are mounted again in the new boot before the command runs. */
static void
on_vm_started_for_exec (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  ExecData *data = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(GError) error = NULL;
  ClocheOpenSession *open;

  if (!cloche_vm_start_finish (self->vm, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  open = g_hash_table_lookup (self->sessions, data->id);
  if (open == NULL)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND,
                               "Session %s was closed before the command could run", data->id);
      return;
    }
  if (open->mounted_boot == cloche_vm_get_booted_at (self->vm))
    run_command (g_steal_pointer (&task));
  else
    _cloche_sandbox_mount_async (self, open->session, cancellable, on_mounted_for_exec,
                                 g_steal_pointer (&task));
}

static GStrv
build_argv (const char * const *argv,
            const char         *cwd)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_strv_builder_addv (builder, cwd_wrapper);
  g_strv_builder_add (builder, cwd);
  g_strv_builder_addv (builder, (const char **) argv);
  return g_strv_builder_end (builder);
}

/* The egress proxy, for the tools that follow these variables (curl,
 * wget, pip, apt, git…). The session id is the proxy URL's user name, so
 * each request the proxy decides carries it (Proxy-Authorization) and the
 * decision log says which session asked. Addresses inside the guest are
 * not the proxy's business: it would resolve "localhost" on the host. */
static void
add_proxy_env (GStrvBuilder  *builder,
               ClocheSession *session)
{
  static const char * const names[] = { "http_proxy", "https_proxy",
                                        "HTTP_PROXY", "HTTPS_PROXY", NULL };
  g_autofree char *url = g_strdup_printf ("http://%s@%s:%u", cloche_session_get_id (session),
                                          CLOCHE_VM_EGRESS_ADDRESS, (guint) CLOCHE_VM_EGRESS_PORT);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *variable = g_strdup_printf ("%s=%s", names[i], url);

      g_strv_builder_add (builder, variable);
    }
  g_strv_builder_add_many (builder, "no_proxy=localhost,127.0.0.1,::1",
                           "NO_PROXY=localhost,127.0.0.1,::1", NULL);
}

static GStrv
build_env (ClocheSession       *session,
           const char * const  *env)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *session_var = g_strdup_printf ("CLOCHE_SESSION=%s",
                                                  cloche_session_get_id (session));

  g_strv_builder_add_many (builder,
                           "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "HOME=/root", "LANG=C.UTF-8", NULL);
  g_strv_builder_add (builder, session_var);
  add_proxy_env (builder, session);
  /* Later entries win in the guest, so the caller's override ours — the
   * proxy variables too: restrict=on leaves the proxy the only way out
   * whatever they say, so a caller who sets or clears them can break its
   * own downloads but reach nothing more. */
  if (env != NULL)
    g_strv_builder_addv (builder, (const char **) env);
  return g_strv_builder_end (builder);
}

static gboolean
check_exec_args (const char * const  *argv,
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
 * cloche_sandbox_exec_full_async:
 * @options: (nullable): stdin and a deadline (counted once the command
 *   runs, not while the VM boots)
 *
 * Cancelling @cancellable kills the command in the guest (its process
 * group); the call then fails with %G_IO_ERROR_CANCELLED.
 */
void
cloche_sandbox_exec_full_async (ClocheSandbox           *self,
                                const char              *id,
                                const char * const      *argv,
                                const char * const      *env,
                                const char              *cwd,
                                const ClocheExecOptions *options,
                                GCancellable            *cancellable,
                                GAsyncReadyCallback      callback,
                                gpointer                 user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *session_dir = NULL;
  ClocheOpenSession *open;
  ExecData *data;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_exec_full_async);

  open = _cloche_sandbox_lookup (self, id, &error);
  if (open == NULL || !check_exec_args (argv, env, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  session_dir = cloche_session_dup_guest_dir (open->session);
  data = g_new0 (ExecData, 1);
  data->id = g_strdup (id);
  data->cwd = g_strdup (cwd != NULL && cwd[0] != '\0' ? cwd : session_dir);
  data->argv = build_argv (argv, data->cwd);
  data->command = g_strdupv ((char **) argv);
  data->started = g_get_monotonic_time ();
  data->env = build_env (open->session, env);
  data->input = options != NULL && options->input != NULL ? g_bytes_ref (options->input) : NULL;
  data->timeout_ms = options != NULL ? options->timeout_ms : 0;
  g_task_set_task_data (task, data, (GDestroyNotify) exec_data_free);
  _cloche_sandbox_touch (self, open);
  cloche_vm_start_async (self->vm, cancellable, on_vm_started_for_exec, g_steal_pointer (&task));
}

/**
 * cloche_sandbox_exec_full_finish:
 * @result_out: (out caller-allocates): clear it with cloche_exec_result_clear()
 */
gboolean
cloche_sandbox_exec_full_finish (ClocheSandbox     *self,
                                 GAsyncResult      *result,
                                 ClocheExecResult  *result_out,
                                 GError           **error)
{
  ExecData *data = g_task_get_task_data (G_TASK (result));
  GError *local_error = NULL;
  ClocheExecResult *done;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  memset (result_out, 0, sizeof *result_out);
  done = g_task_propagate_pointer (G_TASK (result), &local_error);
  /* Logged here, the one place every exec ends; a call refused before it
   * had a command (no such session, no argv) has no task data. */
  if (data != NULL)
    cloche_audit_command (self->audit, data->id, (const char * const *) data->command,
                          data->cwd, done != NULL ? done->exit_code : -1,
                          g_get_monotonic_time () - data->started, local_error);
  if (done == NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  *result_out = *done;
  g_free (done);
  return TRUE;
}

void
cloche_sandbox_exec_async (ClocheSandbox       *self,
                           const char          *id,
                           const char * const  *argv,
                           const char * const  *env,
                           const char          *cwd,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  cloche_sandbox_exec_full_async (self, id, argv, env, cwd, NULL, cancellable,
                                  callback, user_data);
}

gboolean
cloche_sandbox_exec_finish (ClocheSandbox  *self,
                            GAsyncResult   *result,
                            int            *exit_code,
                            GBytes        **stdout_bytes,
                            GBytes        **stderr_bytes,
                            GError        **error)
{
  ClocheExecResult done;

  if (!cloche_sandbox_exec_full_finish (self, result, &done, error))
    return FALSE;
  *exit_code = done.exit_code;
  *stdout_bytes = g_steal_pointer (&done.out);
  *stderr_bytes = g_steal_pointer (&done.err);
  return TRUE;
}
