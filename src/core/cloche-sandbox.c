/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent mode: sessions over one lazily booted VM. The VM boots when a
 * session opens (or a command runs in an open session after a stop) and
 * shuts down idle_timeout seconds after the last session closed.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-sandbox.h"
#include "cloche-session.h"

/* Runs argv in the folder given as $1, the way a terminal would. The
 * session's own folder is made first: the guest's root is new at each boot,
 * and a session outlives the VM it was opened in. */
#define CWD_SCRIPT "cd \"$1\" && shift && exec \"$@\""
static const char *cwd_wrapper[] = { "/bin/sh", "-c", CWD_SCRIPT, "sh", NULL };
static const char *session_wrapper[] = { "/bin/sh", "-c", "mkdir -p \"$1\" && " CWD_SCRIPT, "sh", NULL };

struct _ClocheSandbox
{
  GObject     parent_instance;
  ClocheVm   *vm;
  GHashTable *sessions;       /* id → ClocheSession */
  guint       opening;        /* opens waiting for the VM */
  guint       idle_timeout_s;
  guint       idle_source;
};

enum {
  PROP_0,
  PROP_VM,
  PROP_OPEN_SESSIONS,
  PROP_IDLE_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (ClocheSandbox, cloche_sandbox, G_TYPE_OBJECT)

/* Idle */

static void
on_idle_stopped (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!cloche_vm_stop_finish (CLOCHE_VM (object), result, &error))
    g_warning ("Stopping the idle VM failed: %s", error->message);
}

static gboolean
on_idle_timeout (gpointer user_data)
{
  ClocheSandbox *self = user_data;

  self->idle_source = 0;
  g_debug ("No session for %u s: stopping the VM", self->idle_timeout_s);
  cloche_vm_stop_async (self->vm, "idle", NULL, on_idle_stopped, NULL);
  return G_SOURCE_REMOVE;
}

/* The one place that decides whether the idle timer runs. */
static void
update_idle_timer (ClocheSandbox *self)
{
  gboolean idle = g_hash_table_size (self->sessions) == 0 && self->opening == 0
                  && cloche_vm_get_state (self->vm) == CLOCHE_VM_STATE_RUNNING;

  if (!idle)
    g_clear_handle_id (&self->idle_source, g_source_remove);
  else if (self->idle_source == 0)
    self->idle_source = g_timeout_add_seconds (self->idle_timeout_s, on_idle_timeout, self);
}

/* Sessions */

static void
notify_sessions (ClocheSandbox *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPEN_SESSIONS]);
  update_idle_timer (self);
}

static void
on_vm_started_for_open (GObject      *object,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  ClocheSession *session = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  self->opening--;
  if (!cloche_vm_start_finish (self->vm, result, &error))
    {
      update_idle_timer (self);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* Its folder in the guest is made by its first command (see exec). */
  g_hash_table_insert (self->sessions, g_strdup (cloche_session_get_id (session)),
                       g_object_ref (session));
  notify_sessions (self);
  g_task_return_pointer (task, g_strdup (cloche_session_get_id (session)), g_free);
}

void
cloche_sandbox_open_session_async (ClocheSandbox       *self,
                                   const char          *title,
                                   const char          *client,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_open_session_async);
  g_task_set_task_data (task, cloche_session_new (title, client), g_object_unref);

  self->opening++;
  update_idle_timer (self);
  cloche_vm_start_async (self->vm, cancellable, on_vm_started_for_open, g_steal_pointer (&task));
}

/**
 * cloche_sandbox_open_session_finish:
 *
 * Returns: (transfer full): the new session's id
 */
char *
cloche_sandbox_open_session_finish (ClocheSandbox  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static ClocheSession *
lookup_session (ClocheSandbox  *self,
                const char     *id,
                GError        **error)
{
  ClocheSession *session = g_hash_table_lookup (self->sessions, id);

  if (session == NULL)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND,
                 "No open session has the id \"%s\"", id);
  return session;
}

gboolean
cloche_sandbox_close_session (ClocheSandbox  *self,
                              const char     *id,
                              GError        **error)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), FALSE);

  if (lookup_session (self, id, error) == NULL)
    return FALSE;
  g_hash_table_remove (self->sessions, id);
  notify_sessions (self);
  return TRUE;
}

/* Exec */

typedef struct
{
  GStrv argv;
  GStrv env;
} ExecData;

static void
exec_data_free (ExecData *data)
{
  g_strfreev (data->argv);
  g_strfreev (data->env);
  g_free (data);
}

typedef struct
{
  int     exit_code;
  GBytes *out;
  GBytes *err;
} ExecResult;

static void
exec_result_free (ExecResult *result)
{
  g_clear_pointer (&result->out, g_bytes_unref);
  g_clear_pointer (&result->err, g_bytes_unref);
  g_free (result);
}

static void
on_exec_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ExecResult *done = g_new0 (ExecResult, 1);
  GError *error = NULL;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result,
                                       &done->exit_code, &done->out, &done->err, &error))
    {
      exec_result_free (done);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, done, (GDestroyNotify) exec_result_free);
}

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

  if (!cloche_vm_start_finish (self->vm, result, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* (The task moves into the call, so nothing may read it in the argument list.) */
  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (self->vm),
                                 (const char * const *) data->argv,
                                 (const char * const *) data->env,
                                 cancellable, on_exec_done, g_steal_pointer (&task));
}

static GStrv
build_argv (const char * const *argv,
            const char         *cwd,
            const char         *session_dir)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (cwd == NULL || cwd[0] == '\0')
    {
      g_strv_builder_addv (builder, session_wrapper);
      g_strv_builder_add (builder, session_dir);
    }
  else
    {
      g_strv_builder_addv (builder, cwd_wrapper);
      g_strv_builder_add (builder, cwd);
    }
  g_strv_builder_addv (builder, (const char **) argv);
  return g_strv_builder_end (builder);
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
  /* Later entries win in the guest, so the caller's override ours. */
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
                   "No command was given to run");
      return FALSE;
    }
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    if (strchr (env[i], '=') == NULL || env[i][0] == '=')
      {
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                     "Environment entry \"%s\" is not NAME=value", env[i]);
        return FALSE;
      }
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
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *session_dir = NULL;
  ClocheSession *session;
  ExecData *data;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_exec_async);

  session = lookup_session (self, id, &error);
  if (session == NULL || !check_exec_args (argv, env, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  session_dir = cloche_session_dup_guest_dir (session);
  data = g_new0 (ExecData, 1);
  data->argv = build_argv (argv, cwd, session_dir);
  data->env = build_env (session, env);
  g_task_set_task_data (task, data, (GDestroyNotify) exec_data_free);
  /* After a stop or a crash, an open session boots the VM again. */
  cloche_vm_start_async (self->vm, cancellable, on_vm_started_for_exec, g_steal_pointer (&task));
}

gboolean
cloche_sandbox_exec_finish (ClocheSandbox  *self,
                            GAsyncResult   *result,
                            int            *exit_code,
                            GBytes        **stdout_bytes,
                            GBytes        **stderr_bytes,
                            GError        **error)
{
  ExecResult *done;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  done = g_task_propagate_pointer (G_TASK (result), error);
  if (done == NULL)
    return FALSE;
  *exit_code = done->exit_code;
  *stdout_bytes = g_steal_pointer (&done->out);
  *stderr_bytes = g_steal_pointer (&done->err);
  exec_result_free (done);
  return TRUE;
}

/* Accessors */

ClocheVm *
cloche_sandbox_get_vm (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), NULL);
  return self->vm;
}

guint
cloche_sandbox_get_open_sessions (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), 0);
  return g_hash_table_size (self->sessions);
}

guint
cloche_sandbox_get_idle_timeout (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), 0);
  return self->idle_timeout_s;
}

void
cloche_sandbox_set_idle_timeout (ClocheSandbox *self,
                                 guint          seconds)
{
  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  if (self->idle_timeout_s == seconds)
    return;
  self->idle_timeout_s = seconds;
  /* A running timer restarts with the new length. */
  g_clear_handle_id (&self->idle_source, g_source_remove);
  update_idle_timer (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDLE_TIMEOUT]);
}

/* GObject */

static void
on_vm_state_changed (ClocheSandbox *self)
{
  update_idle_timer (self);
}

static void
cloche_sandbox_constructed (GObject *object)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  G_OBJECT_CLASS (cloche_sandbox_parent_class)->constructed (object);

  g_signal_connect_object (self->vm, "notify::state",
                           G_CALLBACK (on_vm_state_changed), self, G_CONNECT_SWAPPED);
}

static void
cloche_sandbox_dispose (GObject *object)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  g_clear_handle_id (&self->idle_source, g_source_remove);
  g_clear_object (&self->vm);
  g_clear_pointer (&self->sessions, g_hash_table_unref);

  G_OBJECT_CLASS (cloche_sandbox_parent_class)->dispose (object);
}

static void
cloche_sandbox_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  switch (prop_id)
    {
    case PROP_VM:
      g_value_set_object (value, self->vm);
      break;
    case PROP_OPEN_SESSIONS:
      g_value_set_uint (value, cloche_sandbox_get_open_sessions (self));
      break;
    case PROP_IDLE_TIMEOUT:
      g_value_set_uint (value, self->idle_timeout_s);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_sandbox_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  ClocheSandbox *self = CLOCHE_SANDBOX (object);

  switch (prop_id)
    {
    case PROP_VM:
      self->vm = g_value_dup_object (value);
      break;
    case PROP_IDLE_TIMEOUT:
      cloche_sandbox_set_idle_timeout (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_sandbox_class_init (ClocheSandboxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = cloche_sandbox_constructed;
  object_class->dispose = cloche_sandbox_dispose;
  object_class->get_property = cloche_sandbox_get_property;
  object_class->set_property = cloche_sandbox_set_property;

  properties[PROP_VM] =
    g_param_spec_object ("vm", NULL, NULL, CLOCHE_TYPE_VM,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OPEN_SESSIONS] =
    g_param_spec_uint ("open-sessions", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IDLE_TIMEOUT] =
    g_param_spec_uint ("idle-timeout", NULL, NULL, 1, G_MAXUINT, CLOCHE_DEFAULT_IDLE_TIMEOUT_S,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cloche_sandbox_init (ClocheSandbox *self)
{
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->idle_timeout_s = CLOCHE_DEFAULT_IDLE_TIMEOUT_S;
}

ClocheSandbox *
cloche_sandbox_new (ClocheVm *vm)
{
  g_return_val_if_fail (CLOCHE_IS_VM (vm), NULL);

  return g_object_new (CLOCHE_TYPE_SANDBOX, "vm", vm, NULL);
}
