/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Every D-Bus call of `clochectl mcp`, in one place: connecting, opening
 * (or adopting, with --session) the session, running a command in it,
 * stopping one, closing, and what the session looks like. Sessions and
 * commands go through io.github.cloche.Sessions' generated proxy; the VM's
 * state is io.github.cloche.Daemon's, the egress rules and refusals
 * io.github.cloche.Egress'. The rest of the MCP server knows nothing of
 * the bus.
 *
 * Rules: nothing here runs before the first tool call (connecting may
 * start the daemon through D-Bus activation, opening boots the VM); a
 * session is opened once, however many calls wait for it, and a failed
 * open is tried again at the next call (a bundle may have been installed
 * meanwhile). The session we open is tied to our bus connection (no
 * keep-open), so the daemon closes it if we die; one given with --session
 * is the user's, and never closed here. While opening, "progress" is
 * emitted once a second and at each change of the VM's state. Commands
 * are stopped by Sessions.CancelExec with a tag of ours: the daemon kills
 * them in the guest, and the call still waits for its answer, so a
 * cancelled call ends only once the command is gone. A command past its
 * deadline is asked to come back with its output ("output-on-timeout").
 */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>

#include "cloche-dbus-generated.h"
#include "cloche-error.h"
#include "cloche-session-codec.h"
#include "clochectl-mcp-sandbox.h"

/* Booting under software emulation takes seconds; a D-Bus default of 25 s
 * would cut a slow boot. */
#define OPEN_TIMEOUT_MS (10 * 60 * 1000)
/* An exec's answer comes after its deadline, which the daemon enforces;
 * this only bounds a daemon that stopped answering. */
#define EXEC_GRACE_MS   (5 * 60 * 1000)

struct _ClochectlMcpSandbox
{
  GObject           parent_instance;
  char             *title;
  GVariant         *mounts_request;   /* a(sb) */
  char             *given_id;         /* --session */
  char             *client;

  ClocheDbusDaemon   *daemon;
  ClocheDbusSessions *sessions;
  ClocheDbusEgress   *egress;         /* nullable: a daemon without it */
  char             *session_id;
  char             *guest_dir;
  GPtrArray        *mounts;           /* ClochectlMcpMount */
  gboolean          opened_here;

  GPtrArray        *waiters;          /* GTask: opens waiting for the one running */
  gint64            open_started;
  guint             tick_source;
  gulong            state_handler;

  GPtrArray        *denied;           /* egress refusals of our session, as text */
  guint             exec_count;
};

enum {
  PROGRESS,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClochectlMcpSandbox, clochectl_mcp_sandbox, G_TYPE_OBJECT)

static void
clochectl_mcp_sandbox_mount_free (ClochectlMcpMount *mount)
{
  g_free (mount->name);
  g_free (mount->host_path);
  g_free (mount);
}

void
clochectl_mcp_exec_result_clear (ClochectlMcpExecResult *result)
{
  g_clear_pointer (&result->out, g_bytes_unref);
  g_clear_pointer (&result->err, g_bytes_unref);
  g_clear_pointer (&result->denied, g_ptr_array_unref);
}

/* Progress while opening */

static void
clochectl_mcp_sandbox_emit_progress_cb (ClochectlMcpSandbox *self)
{
  const char *state = self->daemon != NULL ? cloche_dbus_daemon_get_state (self->daemon) : NULL;
  const char *accel = self->daemon != NULL ? cloche_dbus_daemon_get_accelerator (self->daemon)
                                           : NULL;
  gint64 seconds = (g_get_monotonic_time () - self->open_started) / G_USEC_PER_SEC;
  g_autofree char *message = NULL;

  if (g_strcmp0 (state, "starting") == 0)
    message = g_strdup_printf (_("Starting the sandbox VM (%s), %" PRId64 " s"),
                               g_strcmp0 (accel, "kvm") == 0 ? "KVM" : _("software emulation"),
                               seconds);
  else
    message = g_strdup_printf (_("Opening the sandbox session, %" PRId64 " s"),
                               seconds);
  g_signal_emit (self, signals[PROGRESS], 0, message);
}

static gboolean
clochectl_mcp_sandbox_tick_cb (gpointer user_data)
{
  clochectl_mcp_sandbox_emit_progress_cb (user_data);
  return G_SOURCE_CONTINUE;
}

static void
clochectl_mcp_sandbox_stop_progress (ClochectlMcpSandbox *self)
{
  g_clear_handle_id (&self->tick_source, g_source_remove);
  g_clear_signal_handler (&self->state_handler, self->daemon);
}

static void
clochectl_mcp_sandbox_open_done (ClochectlMcpSandbox *self,
                                 const GError        *error)
{
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&self->waiters);

  clochectl_mcp_sandbox_stop_progress (self);
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
}

static void
clochectl_mcp_sandbox_open_failed (ClochectlMcpSandbox *self,
                                   GError              *error)
{
  g_dbus_error_strip_remote_error (error);
  clochectl_mcp_sandbox_open_done (self, error);
  g_error_free (error);
}

/* Egress refusals of our session, as they are decided */

static void
clochectl_mcp_sandbox_decision_cb (ClocheDbusEgress    *egress,
                                   GVariant            *decision,
                                   ClochectlMcpSandbox *self)
{
  const char *session = NULL, *host = NULL, *rule = NULL;
  gboolean allowed = TRUE;
  guint16 port = 0;

  if (!g_variant_lookup (decision, "session", "&s", &session)
      || g_strcmp0 (session, self->session_id) != 0
      || !g_variant_lookup (decision, "allowed", "b", &allowed) || allowed
      || !g_variant_lookup (decision, "host", "&s", &host))
    return;
  g_variant_lookup (decision, "port", "q", &port);
  g_variant_lookup (decision, "rule", "&s", &rule);
  /* Bounded: a command that tries a million hosts keeps the last ones. */
  if (self->denied->len >= 1000)
    g_ptr_array_remove_range (self->denied, 0, 500);
  g_ptr_array_add (self->denied, g_strdup_printf ("%s:%u (rule \"%s\")", host, port,
                                                  rule != NULL ? rule : "?"));
}

/* Opening: connect, open (or adopt), read the session back */

static void
clochectl_mcp_sandbox_read_mounts (ClochectlMcpSandbox *self,
                                   GVariant            *mounts)
{
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly;

  g_ptr_array_set_size (self->mounts, 0);
  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    {
      ClochectlMcpMount *mount = g_new0 (ClochectlMcpMount, 1);

      mount->name = g_strdup (name);
      mount->host_path = g_strdup (path);
      mount->readonly = readonly;
      g_ptr_array_add (self->mounts, mount);
    }
}

static void
clochectl_mcp_sandbox_got_session_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  g_autoptr(ClochectlMcpSandbox) self = user_data;
  g_autoptr(GVariant) record = NULL;
  g_auto(ClocheSessionInfo) info = { 0 };
  GError *error = NULL;

  if (!cloche_dbus_sessions_call_get_finish (self->sessions, &record, result, &error))
    {
      clochectl_mcp_sandbox_open_failed (self, error);
      return;
    }
  cloche_session_info_init (&info, record);
  if (g_strcmp0 (info.state, "open") != 0)
    {
      clochectl_mcp_sandbox_open_failed (self,
                                         g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND,
                                                      _("Session %s is %s, not open: open one with "
                                                        "\"clochectl session open\" and give its "
                                                        "id to --session, or leave --session out"),
                                                      self->session_id, info.state));
      return;
    }
  clochectl_mcp_sandbox_read_mounts (self, info.mounts);
  self->guest_dir = g_strdup_printf ("/sessions/%s", self->session_id);
  clochectl_mcp_sandbox_open_done (self, NULL);
}

static void
clochectl_mcp_sandbox_read_session (ClochectlMcpSandbox *self)
{
  cloche_dbus_sessions_call_get (self->sessions, self->session_id, NULL,
                                 clochectl_mcp_sandbox_got_session_cb,
                                 g_object_ref (self));
}

static void
clochectl_mcp_sandbox_opened_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(ClochectlMcpSandbox) self = user_data;
  g_autofree char *id = NULL;
  GError *error = NULL;

  if (!cloche_dbus_sessions_call_open_finish (self->sessions, &id, result, &error))
    {
      clochectl_mcp_sandbox_open_failed (self, error);
      return;
    }
  self->session_id = g_steal_pointer (&id);
  self->opened_here = TRUE;
  clochectl_mcp_sandbox_read_session (self);
}

static void
clochectl_mcp_sandbox_open_session (ClochectlMcpSandbox *self)
{
  GVariantDict options;

  if (self->given_id != NULL)
    {
      self->session_id = g_strdup (self->given_id);
      clochectl_mcp_sandbox_read_session (self);
      return;
    }
  /* No keep-open: the daemon closes the session if this process dies. */
  g_variant_dict_init (&options, NULL);
  g_variant_dict_insert_value (&options, "mounts", self->mounts_request);
  g_variant_dict_insert (&options, "client", "s",
                         self->client != NULL ? self->client : "clochectl mcp");
  cloche_dbus_sessions_call_open (self->sessions, self->title, g_variant_dict_end (&options),
                                  NULL, clochectl_mcp_sandbox_opened_cb, g_object_ref (self));
}

static void
clochectl_mcp_sandbox_egress_proxy_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(ClochectlMcpSandbox) self = user_data;
  g_autoptr(GError) error = NULL;

  /* Without it, refusals are not reported with the output: not fatal. */
  self->egress = cloche_dbus_egress_proxy_new_finish (result, &error);
  if (self->egress != NULL)
    g_signal_connect_object (self->egress, "decision",
                             G_CALLBACK (clochectl_mcp_sandbox_decision_cb), self, 0);
  clochectl_mcp_sandbox_open_session (self);
}

static void
clochectl_mcp_sandbox_sessions_proxy_cb (GObject      *object,
                                         GAsyncResult *result,
                                         gpointer      user_data)
{
  g_autoptr(ClochectlMcpSandbox) self = user_data;
  GError *error = NULL;

  self->sessions = cloche_dbus_sessions_proxy_new_finish (result, &error);
  if (self->sessions == NULL)
    {
      clochectl_mcp_sandbox_open_failed (self, error);
      return;
    }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (self->sessions), OPEN_TIMEOUT_MS);
  cloche_dbus_egress_proxy_new (g_dbus_proxy_get_connection (G_DBUS_PROXY (self->daemon)),
                                G_DBUS_PROXY_FLAGS_NONE, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                NULL, clochectl_mcp_sandbox_egress_proxy_cb, g_object_ref (self));
}

static void
clochectl_mcp_sandbox_daemon_proxy_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(ClochectlMcpSandbox) self = user_data;
  GError *error = NULL;

  /* A retry after a failed connection starts again from here. */
  g_clear_object (&self->daemon);
  self->daemon = cloche_dbus_daemon_proxy_new_finish (result, &error);
  if (self->daemon == NULL)
    {
      clochectl_mcp_sandbox_open_failed (self, error);
      return;
    }
  self->state_handler =
    g_signal_connect_swapped (self->daemon, "notify::state",
                              G_CALLBACK (clochectl_mcp_sandbox_emit_progress_cb), self);
  /* Its properties and signals are not used: the calls only. */
  cloche_dbus_sessions_proxy_new (g_dbus_proxy_get_connection (G_DBUS_PROXY (self->daemon)),
                                  G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES
                                  | G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS,
                                  DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL,
                                  clochectl_mcp_sandbox_sessions_proxy_cb,
                                  g_object_ref (self));
}

static void
clochectl_mcp_sandbox_bus_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(ClochectlMcpSandbox) self = user_data;
  g_autoptr(GDBusConnection) bus = NULL;
  GError *error = NULL;

  bus = g_bus_get_finish (result, &error);
  if (bus == NULL)
    {
      clochectl_mcp_sandbox_open_failed (self, error);
      return;
    }
  /* Auto-start: D-Bus activation brings the daemon up if it is not. */
  cloche_dbus_daemon_proxy_new (bus, G_DBUS_PROXY_FLAGS_NONE, DAEMON_BUS_NAME,
                                DAEMON_OBJECT_PATH, NULL, clochectl_mcp_sandbox_daemon_proxy_cb,
                                g_object_ref (self));
}

static void
clochectl_mcp_sandbox_start_open (ClochectlMcpSandbox *self)
{
  self->open_started = g_get_monotonic_time ();
  self->tick_source = g_timeout_add_seconds (1, clochectl_mcp_sandbox_tick_cb, self);
  g_clear_pointer (&self->session_id, g_free);
  if (self->sessions != NULL)
    {
      self->state_handler =
        g_signal_connect_swapped (self->daemon, "notify::state",
                                  G_CALLBACK (clochectl_mcp_sandbox_emit_progress_cb), self);
      clochectl_mcp_sandbox_open_session (self);
      return;
    }
  g_bus_get (G_BUS_TYPE_SESSION, NULL, clochectl_mcp_sandbox_bus_cb, g_object_ref (self));
}

gboolean
clochectl_mcp_sandbox_is_open (ClochectlMcpSandbox *self)
{
  g_return_val_if_fail (CLOCHECTL_IS_MCP_SANDBOX (self), FALSE);

  return self->guest_dir != NULL;
}

/**
 * clochectl_mcp_sandbox_open_async:
 *
 * Opens the session, or joins the open already running; at once when open.
 * @cancellable stops the wait of this caller only.
 */
void
clochectl_mcp_sandbox_open_async (ClochectlMcpSandbox *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHECTL_IS_MCP_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, clochectl_mcp_sandbox_open_async);
  if (clochectl_mcp_sandbox_is_open (self))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (self->waiters == NULL)
    {
      self->waiters = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (self->waiters, g_steal_pointer (&task));
      clochectl_mcp_sandbox_start_open (self);
      return;
    }
  g_ptr_array_add (self->waiters, g_steal_pointer (&task));
}

gboolean
clochectl_mcp_sandbox_open_finish (ClochectlMcpSandbox  *self,
                                   GAsyncResult         *result,
                                   GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Commands */

typedef struct
{
  char          *tag;
  guint          denied_before;
  GCancellable  *cancellable;
  gulong         cancelled_id;
} ExecCall;

static void
clochectl_mcp_sandbox_exec_call_free (ExecCall *call)
{
  if (call->cancelled_id != 0)
    g_cancellable_disconnect (call->cancellable, call->cancelled_id);
  g_clear_object (&call->cancellable);
  g_free (call->tag);
  g_free (call);
}

static void
clochectl_mcp_sandbox_exec_cancelled_cb (GCancellable *cancellable,
                                         GTask        *task)
{
  ClochectlMcpSandbox *self = g_task_get_source_object (task);
  ExecCall *call = g_task_get_task_data (task);

  /* The answer to the exec itself tells when the command is gone. */
  cloche_dbus_sessions_call_cancel_exec (self->sessions, call->tag, NULL, NULL, NULL);
}

static GPtrArray *
clochectl_mcp_sandbox_denied_since (ClochectlMcpSandbox *self,
                                    guint                before)
{
  GPtrArray *denied = g_ptr_array_new_with_free_func (g_free);

  for (guint i = MIN (before, self->denied->len); i < self->denied->len; i++)
    g_ptr_array_add (denied, g_strdup (g_ptr_array_index (self->denied, i)));
  return denied;
}

static void
clochectl_mcp_sandbox_exec_done_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClochectlMcpSandbox *self = g_task_get_source_object (task);
  ExecCall *call = g_task_get_task_data (task);
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GVariant) info = NULL;
  ClochectlMcpExecResult *done = g_new0 (ClochectlMcpExecResult, 1);
  GError *error = NULL;

  if (!cloche_dbus_sessions_call_exec_finish (CLOCHE_DBUS_SESSIONS (object), &done->exit_code,
                                              &out, &err, &info, result, &error))
    {
      g_free (done);
      g_dbus_error_strip_remote_error (error);
      g_task_return_error (task, error);
      return;
    }
  done->out = g_variant_get_data_as_bytes (out);
  done->err = g_variant_get_data_as_bytes (err);
  g_variant_lookup (info, "timed-out", "b", &done->timed_out);
  done->denied = clochectl_mcp_sandbox_denied_since (self, call->denied_before);
  g_task_return_pointer (task, done, g_free);
}

static GVariant *
clochectl_mcp_sandbox_exec_options (const char         *tag,
                                    const char * const *env,
                                    const char         *cwd,
                                    GBytes             *input,
                                    guint               timeout_ms)
{
  GVariantDict options;

  g_variant_dict_init (&options, NULL);
  g_variant_dict_insert (&options, "tag", "s", tag);
  g_variant_dict_insert (&options, "output-on-timeout", "b", TRUE);
  if (env != NULL)
    g_variant_dict_insert (&options, "env", "^as", env);
  if (cwd != NULL && cwd[0] != '\0')
    g_variant_dict_insert (&options, "cwd", "s", cwd);
  if (timeout_ms > 0)
    g_variant_dict_insert (&options, "timeout-ms", "u", timeout_ms);
  if (input != NULL)
    g_variant_dict_insert_value (&options, "stdin",
                                 g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                           input, TRUE));
  return g_variant_dict_end (&options);
}

/**
 * clochectl_mcp_sandbox_exec_async:
 * @cwd: a folder in the guest, or %NULL for the session folder
 * @input: (nullable): the command's stdin
 * @timeout_ms: 0 for the daemon's default (30 minutes); the daemon kills
 *   the command after it, and the result then says timed_out
 *
 * Cancelling @cancellable kills the command in the guest; the call then
 * fails with %G_IO_ERROR_CANCELLED once it is gone.
 */
void
clochectl_mcp_sandbox_exec_async (ClochectlMcpSandbox *self,
                                  const char * const  *argv,
                                  const char * const  *env,
                                  const char          *cwd,
                                  GBytes              *input,
                                  guint                timeout_ms,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ExecCall *call;

  g_return_if_fail (CLOCHECTL_IS_MCP_SANDBOX (self));
  g_return_if_fail (clochectl_mcp_sandbox_is_open (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, clochectl_mcp_sandbox_exec_async);
  call = g_new0 (ExecCall, 1);
  call->tag = g_strdup_printf ("mcp-%u", ++self->exec_count);
  call->denied_before = self->denied->len;
  g_task_set_task_data (task, call, (GDestroyNotify) clochectl_mcp_sandbox_exec_call_free);
  /* The generated call takes the proxy's default timeout, set here per
   * call: the answer comes after the command's deadline. */
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (self->sessions),
                                    timeout_ms > 0
                                    ? (int) MIN ((guint64) timeout_ms + EXEC_GRACE_MS, G_MAXINT)
                                    : G_MAXINT);
  cloche_dbus_sessions_call_exec (self->sessions, self->session_id, argv,
                                  clochectl_mcp_sandbox_exec_options (call->tag, env, cwd, input,
                                                                      timeout_ms), NULL,
                                  clochectl_mcp_sandbox_exec_done_cb, g_object_ref (task));
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (self->sessions), OPEN_TIMEOUT_MS);
  if (cancellable != NULL)
    {
      call->cancellable = g_object_ref (cancellable);
      call->cancelled_id =
        g_cancellable_connect (cancellable, G_CALLBACK (clochectl_mcp_sandbox_exec_cancelled_cb),
                               task, NULL);
    }
}

gboolean
clochectl_mcp_sandbox_exec_finish (ClochectlMcpSandbox     *self,
                                   GAsyncResult            *result,
                                   ClochectlMcpExecResult  *result_out,
                                   GError                 **error)
{
  g_autofree ClochectlMcpExecResult *done = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  memset (result_out, 0, sizeof *result_out);
  done = g_task_propagate_pointer (G_TASK (result), error);
  if (done == NULL)
    return FALSE;
  *result_out = *done;
  return TRUE;
}

/* What the session looks like */

static JsonArray *
clochectl_mcp_sandbox_strv_array (const char * const *strv)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    json_array_add_string_element (array, strv[i]);
  return array;
}

static JsonArray *
clochectl_mcp_sandbox_describe_folders (ClochectlMcpSandbox *self)
{
  JsonArray *folders = json_array_new ();

  for (guint i = 0; i < self->mounts->len; i++)
    {
      ClochectlMcpMount *mount = g_ptr_array_index (self->mounts, i);
      JsonObject *folder = json_object_new ();
      g_autofree char *path = g_strdup_printf ("mnt/%s", mount->name);
      g_autofree char *guest = g_strdup_printf ("%s/mnt/%s", self->guest_dir, mount->name);

      json_object_set_string_member (folder, "path", path);
      json_object_set_string_member (folder, "guest_path", guest);
      json_object_set_string_member (folder, "host_path", mount->host_path);
      json_object_set_string_member (folder, "mode", mount->readonly ? "ro" : "rw");
      json_array_add_object_element (folders, folder);
    }
  return folders;
}

static JsonObject *
clochectl_mcp_sandbox_describe_vm (ClochectlMcpSandbox *self)
{
  JsonObject *vm = json_object_new ();
  const char *reason = cloche_dbus_daemon_get_state_reason (self->daemon);

  json_object_set_string_member (vm, "state", cloche_dbus_daemon_get_state (self->daemon));
  if (reason != NULL && reason[0] != '\0')
    json_object_set_string_member (vm, "state_reason", reason);
  json_object_set_string_member (vm, "accelerator",
                                 cloche_dbus_daemon_get_accelerator (self->daemon));
  json_object_set_string_member (vm, "accelerator_reason",
                                 cloche_dbus_daemon_get_accelerator_reason (self->daemon));
  return vm;
}

static JsonObject *
clochectl_mcp_sandbox_describe_egress (ClochectlMcpSandbox *self)
{
  JsonObject *egress = json_object_new ();
  const char * const *rules;

  if (self->egress == NULL || cloche_dbus_egress_get_default_rule (self->egress) == NULL)
    {
      json_object_set_string_member (egress, "default_rule", "unknown");
      json_object_set_array_member (egress, "rules", json_array_new ());
      return egress;
    }
  json_object_set_string_member (egress, "default_rule",
                                 cloche_dbus_egress_get_default_rule (self->egress));
  rules = cloche_dbus_egress_get_rules (self->egress);
  json_object_set_array_member (egress, "rules", clochectl_mcp_sandbox_strv_array (rules));
  return egress;
}

/**
 * clochectl_mcp_sandbox_describe:
 *
 * Returns: (transfer full): the session's id and folders, the VM's state
 *   and the egress rules in force, as session_info shows them
 */
JsonObject *
clochectl_mcp_sandbox_describe (ClochectlMcpSandbox *self)
{
  JsonObject *info = json_object_new ();

  g_return_val_if_fail (clochectl_mcp_sandbox_is_open (self), info);

  json_object_set_string_member (info, "session_id", self->session_id);
  json_object_set_string_member (info, "session_folder", self->guest_dir);
  json_object_set_array_member (info, "folders", clochectl_mcp_sandbox_describe_folders (self));
  json_object_set_object_member (info, "vm", clochectl_mcp_sandbox_describe_vm (self));
  json_object_set_object_member (info, "egress", clochectl_mcp_sandbox_describe_egress (self));
  return info;
}

/* Closing */

static void
clochectl_mcp_sandbox_closed_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!cloche_dbus_sessions_call_close_finish (CLOCHE_DBUS_SESSIONS (object), result, &error))
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* Closes the session if it was opened here; one given with --session stays. */
void
clochectl_mcp_sandbox_close_async (ClochectlMcpSandbox *self,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHECTL_IS_MCP_SANDBOX (self));

  task = g_task_new (self, NULL, callback, user_data);
  g_task_set_source_tag (task, clochectl_mcp_sandbox_close_async);
  if (!self->opened_here || self->session_id == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  self->opened_here = FALSE;
  cloche_dbus_sessions_call_close (self->sessions, self->session_id, NULL,
                                   clochectl_mcp_sandbox_closed_cb,
                                   g_steal_pointer (&task));
}

gboolean
clochectl_mcp_sandbox_close_finish (ClochectlMcpSandbox  *self,
                                    GAsyncResult         *result,
                                    GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

const char *
clochectl_mcp_sandbox_get_session_id (ClochectlMcpSandbox *self)
{
  g_return_val_if_fail (CLOCHECTL_IS_MCP_SANDBOX (self), NULL);
  return self->session_id;
}

const char *
clochectl_mcp_sandbox_get_guest_dir (ClochectlMcpSandbox *self)
{
  g_return_val_if_fail (CLOCHECTL_IS_MCP_SANDBOX (self), NULL);
  return self->guest_dir;
}

/**
 * clochectl_mcp_sandbox_get_mounts:
 *
 * Returns: (transfer none) (element-type ClochectlMcpMount): the session's
 *   host folders, empty until it is open
 */
GPtrArray *
clochectl_mcp_sandbox_get_mounts (ClochectlMcpSandbox *self)
{
  g_return_val_if_fail (CLOCHECTL_IS_MCP_SANDBOX (self), NULL);
  return self->mounts;
}

/* The name the Sessions page shows, from the client's initialize. */
void
clochectl_mcp_sandbox_set_client (ClochectlMcpSandbox *self,
                                  const char          *client)
{
  g_return_if_fail (CLOCHECTL_IS_MCP_SANDBOX (self));

  g_free (self->client);
  self->client = g_strdup (client);
}

static void
clochectl_mcp_sandbox_dispose (GObject *object)
{
  ClochectlMcpSandbox *self = CLOCHECTL_MCP_SANDBOX (object);

  g_clear_handle_id (&self->tick_source, g_source_remove);
  g_clear_signal_handler (&self->state_handler, self->daemon);
  g_clear_object (&self->egress);
  g_clear_object (&self->sessions);
  g_clear_object (&self->daemon);

  G_OBJECT_CLASS (clochectl_mcp_sandbox_parent_class)->dispose (object);
}

static void
clochectl_mcp_sandbox_finalize (GObject *object)
{
  ClochectlMcpSandbox *self = CLOCHECTL_MCP_SANDBOX (object);

  g_free (self->title);
  g_clear_pointer (&self->mounts_request, g_variant_unref);
  g_free (self->given_id);
  g_free (self->client);
  g_free (self->session_id);
  g_free (self->guest_dir);
  g_ptr_array_unref (self->mounts);
  g_ptr_array_unref (self->denied);

  G_OBJECT_CLASS (clochectl_mcp_sandbox_parent_class)->finalize (object);
}

static void
clochectl_mcp_sandbox_class_init (ClochectlMcpSandboxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = clochectl_mcp_sandbox_dispose;
  object_class->finalize = clochectl_mcp_sandbox_finalize;

  /* (message): how far opening is, for people to read. */
  signals[PROGRESS] = g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
clochectl_mcp_sandbox_init (ClochectlMcpSandbox *self)
{
  self->mounts = g_ptr_array_new_with_free_func ((GDestroyNotify) clochectl_mcp_sandbox_mount_free);
  self->denied = g_ptr_array_new_with_free_func (g_free);
}

/**
 * clochectl_mcp_sandbox_new:
 * @mounts: a(sb): host folders (absolute path, read-only) for the session
 * @session_id: (nullable): an open session to work in instead of opening one
 */
ClochectlMcpSandbox *
clochectl_mcp_sandbox_new (const char *title,
                           GVariant   *mounts,
                           const char *session_id)
{
  ClochectlMcpSandbox *self = g_object_new (CLOCHECTL_TYPE_MCP_SANDBOX, NULL);

  self->title = g_strdup (title != NULL ? title : "");
  self->mounts_request = g_variant_ref_sink (mounts);
  self->given_id = g_strdup (session_id);
  return self;
}
