/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A terminal in a session: the VM running and the session walled in (as
 * for exec), a port plugged for it (cloche-terminal-port.c), then
 * `cloche-guest pty ID CWD PORT ROWS COLS tty|pipe -- ARGV…` started
 * through the guest agent, with no deadline: the terminal lasts as long
 * as its command, or its client (a client that closes its end hangs the
 * terminal up). The caller gets the terminal as soon as the relay is
 * started; it ends when the relay does: then the port is taken out (after
 * the client has read what the command wrote) and "ended" is emitted with
 * the command's status. Opened and ended, each terminal is in the audit
 * log.
 *
 * A terminal outlives its client (cloche-guest-pty.c keeps it): attach
 * gives it to a new one, on the same port (cloche-terminal-port.c swaps
 * the port's chardev); the session's close ends it, as it ends every
 * process of the session.
 *
 * Resize is one more guest-agent command (`cloche-guest resize`), which
 * sets the PTY's window size from the guest's side.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-audit-events.h"
#include "cloche-error.h"
#include "cloche-guest-agent.h"
#include "cloche-sandbox-private.h"
#include "cloche-vm-command.h"

#define DEFAULT_ROWS 24
#define DEFAULT_COLS 80
#define RESIZE_TIMEOUT_S 30

/* The session user's login shell: bash where the bundle has it (the full
 * one), else the minimal bundle's sh. */
static const char * const login_shell[] = {
  "/bin/sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash -l; exec sh -l", NULL
};

typedef struct
{
  char     *id;
  GStrv     argv;
  GStrv     env;
  char     *cwd;
  guint     rows, cols;
  gboolean  pipe;
} OpenData;

static void
cloche_sandbox_open_data_free (OpenData *data)
{
  g_free (data->id);
  g_strfreev (data->argv);
  g_strfreev (data->env);
  g_free (data->cwd);
  g_free (data);
}

static GStrv
cloche_sandbox_relay_argv (OpenData   *data,
                           const char *port)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *rows = g_strdup_printf ("%u", data->rows);
  g_autofree char *cols = g_strdup_printf ("%u", data->cols);

  g_strv_builder_add_many (builder, CLOCHE_VM_GUEST_HELPER, "pty", data->id, data->cwd, port,
                           rows, cols, data->pipe ? "pipe" : "tty", "--", NULL);
  g_strv_builder_addv (builder, (const char **) data->argv);
  return g_strv_builder_end (builder);
}

static char *
cloche_sandbox_relay_message (GBytes *err)
{
  gsize size = 0;
  const char *text = err != NULL ? g_bytes_get_data (err, &size) : NULL;
  g_autofree char *message = NULL;

  if (size == 0)
    return NULL;
  message = g_utf8_make_valid (text, (gssize) MIN (size, 4096));
  return g_strdup (g_strstrip (message));
}

static void
cloche_sandbox_port_unplugged_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(ClocheTerminal) terminal = user_data;
  ClocheSandbox *self = g_object_get_data (G_OBJECT (terminal), "sandbox");
  int status = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (terminal), "status"));
  const char *message = g_object_get_data (G_OBJECT (terminal), "message");
  g_autoptr(GError) error = NULL;

  cloche_terminal_port_unplug_finish (CLOCHE_TERMINAL_PORT (object), result, NULL);
  if (status < 0)
    error = g_error_new_literal (CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING, message);
  cloche_audit_terminal_ended (self != NULL ? self->audit : NULL, terminal, status,
                               error);
  if (self != NULL)
    g_hash_table_remove (self->terminals, cloche_terminal_get_id (terminal));
  cloche_terminal_end (terminal, status, message);
}

/* The relay ended: its status is the command's; what it wrote on stderr
 * is cloche-guest's own (the command writes to the terminal). */
static void
cloche_sandbox_relay_done_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  ClocheTerminal *terminal = user_data;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;
  int status = -1;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status, &out,
                                       &err, &error))
    {
      status = -1;
      message = g_strdup_printf (_("The terminal broke: %s"), error->message);
    }
  else
    message = cloche_sandbox_relay_message (err);
  g_object_set_data (G_OBJECT (terminal), "status", GINT_TO_POINTER (status));
  g_object_set_data_full (G_OBJECT (terminal), "message", g_steal_pointer (&message), g_free);
  cloche_terminal_port_unplug_async (cloche_terminal_get_port (terminal),
                                     cloche_sandbox_port_unplugged_cb,
                                     terminal);
}

static void
cloche_sandbox_start_relay (ClocheSandbox  *self,
                            OpenData       *data,
                            ClocheTerminal *terminal)
{
  ClocheOpenSession *open = g_hash_table_lookup (self->sessions, data->id);
  ClocheTerminalPort *port = cloche_terminal_get_port (terminal);
  g_auto(GStrv) argv = cloche_sandbox_relay_argv (data, cloche_terminal_port_get_name (port));
  g_auto(GStrv) env = _cloche_sandbox_build_env (self, open->session, (const char * const *) data->env);

  g_object_set_data (G_OBJECT (terminal), "sandbox", self);
  g_hash_table_insert (self->terminals, g_strdup (cloche_terminal_get_id (terminal)),
                       g_object_ref (terminal));
  cloche_audit_terminal_opened (self->audit, terminal);
  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (self->vm),
                                 (const char * const *) argv, (const char * const *) env,
                                 0, NULL, CLOCHE_EXEC_NO_DEADLINE, NULL,
                                 cloche_sandbox_relay_done_cb,
                                 g_object_ref (terminal));
}

static void
cloche_sandbox_port_plugged_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  OpenData *data = g_task_get_task_data (task);
  g_autoptr(ClocheTerminalPort) port = NULL;
  g_autoptr(ClocheTerminal) terminal = NULL;
  g_autofree char *id = NULL;
  GError *error = NULL;

  port = cloche_terminal_port_plug_finish (result, &error);
  if (port == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_hash_table_lookup (self->sessions, data->id) == NULL)
    {
      cloche_terminal_port_unplug_async (port, NULL, NULL);
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND,
                               _("Session %s was closed before its terminal could start"),
                               data->id);
      return;
    }
  id = g_strdup_printf ("%u", self->terminal_count);
  terminal = cloche_terminal_new (id, data->id, (const char * const *) data->argv, data->cwd,
                                  port);
  cloche_sandbox_start_relay (self, data, terminal);
  g_task_return_pointer (task, g_steal_pointer (&terminal), g_object_unref);
}

static void
cloche_sandbox_ready_for_terminal_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = CLOCHE_SANDBOX (object);
  GCancellable *cancellable = g_task_get_cancellable (task);
  GError *error = NULL;

  if (!_cloche_sandbox_ready_finish (self, result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  cloche_terminal_port_plug_async (cloche_vm_get_qmp_client (self->vm), "term",
                                   ++self->terminal_count,
                                   cancellable, cloche_sandbox_port_plugged_cb,
                                   g_steal_pointer (&task));
}

static gboolean
cloche_sandbox_check_size (guint    rows,
                           guint    cols,
                           GError **error)
{
  if (rows <= CLOCHE_TERMINAL_MAX_SIZE && cols <= CLOCHE_TERMINAL_MAX_SIZE)
    return TRUE;
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("A terminal of %u rows and %u columns is out of range: give 1 to %u of "
                 "each (0 for the default)"), rows, cols, CLOCHE_TERMINAL_MAX_SIZE);
  return FALSE;
}

static OpenData *
cloche_sandbox_open_data_new (ClocheOpenSession           *open,
                              const char                  *id,
                              const ClocheTerminalRequest *request)
{
  OpenData *data = g_new0 (OpenData, 1);
  gboolean shell = request->argv == NULL || request->argv[0] == NULL;

  data->id = g_strdup (id);
  data->argv = g_strdupv ((char **) (shell ? login_shell : request->argv));
  data->env = g_strdupv ((char **) request->env);
  data->cwd = request->cwd != NULL && request->cwd[0] != '\0'
              ? g_strdup (request->cwd) : cloche_session_dup_guest_dir (open->session);
  data->rows = request->rows > 0 ? request->rows : DEFAULT_ROWS;
  data->cols = request->cols > 0 ? request->cols : DEFAULT_COLS;
  data->pipe = request->pipe;
  return data;
}

/**
 * cloche_sandbox_open_terminal_async:
 *
 * Opens a terminal in session @id (booting the VM and mounting the
 * session's folders if this boot has not got them). Refused as exec is:
 * no such session, a folder changed or lost, a bad environment entry, a
 * size out of range, a cwd that is not absolute.
 */
void
cloche_sandbox_open_terminal_async (ClocheSandbox               *self,
                                    const char                  *id,
                                    const ClocheTerminalRequest *request,
                                    GCancellable                *cancellable,
                                    GAsyncReadyCallback          callback,
                                    gpointer                     user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  ClocheOpenSession *open;
  const char * const *argv = request->argv != NULL && request->argv[0] != NULL
                             ? request->argv : login_shell;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_open_terminal_async);
  open = _cloche_sandbox_lookup (self, id, &error);
  if (open == NULL || !_cloche_sandbox_check_command (argv, request->env, &error)
      || !cloche_sandbox_check_size (request->rows, request->cols, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (request->cwd != NULL && request->cwd[0] != '\0' && request->cwd[0] != '/')
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                               _("The folder to run in, \"%s\", is not an absolute path in "
                                 "the guest"), request->cwd);
      return;
    }
  if (_cloche_sandbox_is_refused (self, open))
    {
      g_task_return_error (task, g_error_copy (open->broken));
      return;
    }
  g_task_set_task_data (task, cloche_sandbox_open_data_new (open, id, request),
                        (GDestroyNotify) cloche_sandbox_open_data_free);
  _cloche_sandbox_touch (self, open);
  _cloche_sandbox_ready_async (self, id, cancellable, cloche_sandbox_ready_for_terminal_cb,
                               g_steal_pointer (&task));
}

/**
 * cloche_sandbox_open_terminal_finish:
 *
 * Returns: (transfer full): the terminal, running; take the client's end
 *   with cloche_terminal_steal_fd()
 */
ClocheTerminal *
cloche_sandbox_open_terminal_finish (ClocheSandbox  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gint
cloche_sandbox_compare_started (gconstpointer a,
                                gconstpointer b)
{
  gint64 first = cloche_terminal_get_started (*(ClocheTerminal **) a);
  gint64 second = cloche_terminal_get_started (*(ClocheTerminal **) b);

  return first < second ? -1 : first > second;
}

/**
 * cloche_sandbox_lookup_terminal:
 *
 * Returns: (transfer none) (nullable): terminal @id, if it has not ended
 */
ClocheTerminal *
cloche_sandbox_lookup_terminal (ClocheSandbox *self,
                                const char    *id)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), NULL);

  return g_hash_table_lookup (self->terminals, id);
}

static void
cloche_sandbox_resized_cb (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autofree char *message = NULL;
  GError *error = NULL;
  int status;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status, &out,
                                       &err, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (status == 0)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  message = cloche_sandbox_relay_message (err);
  g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_TERMINAL_NOT_FOUND,
                           _("Cannot resize the terminal: %s"),
                           message != NULL ? message : _("it has ended"));
}

/**
 * cloche_sandbox_resize_terminal_async:
 *
 * Sets the window size of terminal @id: its command gets SIGWINCH.
 */
void
cloche_sandbox_resize_terminal_async (ClocheSandbox       *self,
                                      const char          *id,
                                      guint                rows,
                                      guint                cols,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *rows_text = g_strdup_printf ("%u", rows);
  g_autofree char *cols_text = g_strdup_printf ("%u", cols);
  g_autoptr(GError) error = NULL;
  ClocheTerminal *terminal;
  const char *argv[] = { CLOCHE_VM_GUEST_HELPER, "resize", NULL, rows_text, cols_text, NULL };

  g_task_set_source_tag (task, cloche_sandbox_resize_terminal_async);
  if ((terminal = g_hash_table_lookup (self->terminals, id)) == NULL)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_TERMINAL_NOT_FOUND,
                               _("No terminal %s is open (it has ended, or never was)"), id);
      return;
    }
  if (rows == 0 || cols == 0 || !cloche_sandbox_check_size (rows, cols, &error))
    {
      g_clear_error (&error);
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                               _("A terminal of %u rows and %u columns is out of range: give "
                                 "1 to %u of each"), rows, cols, CLOCHE_TERMINAL_MAX_SIZE);
      return;
    }
  if (cloche_vm_get_guest_agent (self->vm) == NULL)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_TERMINAL_NOT_FOUND,
                               _("Terminal %s has ended: the VM is not running"), id);
      return;
    }
  argv[2] = cloche_terminal_port_get_name (cloche_terminal_get_port (terminal));
  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (self->vm), argv, NULL,
                                 RESIZE_TIMEOUT_S, NULL, CLOCHE_EXEC_NONE, cancellable,
                                 cloche_sandbox_resized_cb,
                                 g_steal_pointer (&task));
}

gboolean
cloche_sandbox_resize_terminal_finish (ClocheSandbox  *self,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cloche_sandbox_list_terminals:
 * @session: (nullable): only this session's, or every session's
 *
 * Returns: (transfer container) (element-type ClocheTerminal): the
 *   terminals that have not ended, oldest first
 */
GPtrArray *
cloche_sandbox_list_terminals (ClocheSandbox *self,
                               const char    *session)
{
  GPtrArray *list = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer terminal;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), NULL);

  g_hash_table_iter_init (&iter, self->terminals);
  while (g_hash_table_iter_next (&iter, NULL, &terminal))
    if (session == NULL
        || g_strcmp0 (cloche_terminal_get_session (terminal), session) == 0)
      g_ptr_array_add (list, terminal);
  g_ptr_array_sort (list, cloche_sandbox_compare_started);
  return list;
}

static void
cloche_sandbox_reconnected_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  ClocheTerminal *terminal = g_task_get_task_data (task);
  GError *error = NULL;

  if (!cloche_terminal_port_reconnect_finish (CLOCHE_TERMINAL_PORT (object), result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  cloche_audit_terminal_attached (self->audit, terminal);
  g_task_return_int (task, cloche_terminal_port_steal_client_fd (CLOCHE_TERMINAL_PORT (object)));
}

/**
 * cloche_sandbox_attach_terminal_async:
 *
 * Gives terminal @id, which has lost its client (a window closed, a
 * clochectl gone), to a new one: what the command printed meanwhile (the
 * newest bytes, bounded in the guest) comes first on the new stream.
 * Refused while another client holds it.
 */
void
cloche_sandbox_attach_terminal_async (ClocheSandbox       *self,
                                      const char          *id,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  ClocheTerminal *terminal;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  g_task_set_source_tag (task, cloche_sandbox_attach_terminal_async);
  if ((terminal = g_hash_table_lookup (self->terminals, id)) == NULL)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_TERMINAL_NOT_FOUND,
                               _("No terminal %s is open (it has ended, or never was)"), id);
      return;
    }
  g_task_set_task_data (task, g_object_ref (terminal), g_object_unref);
  cloche_terminal_port_reconnect_async (cloche_terminal_get_port (terminal),
                                        cloche_sandbox_reconnected_cb,
                                        g_steal_pointer (&task));
}

/**
 * cloche_sandbox_attach_terminal_finish:
 *
 * Returns: the new client's end of the terminal's stream, or -1
 */
int
cloche_sandbox_attach_terminal_finish (ClocheSandbox  *self,
                                       GAsyncResult   *result,
                                       GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), -1);

  return (int) g_task_propagate_int (G_TASK (result), error);
}

/* The sandbox goes first (the daemon exits): terminals still running
 * forget it; their ends are no one's business any more. */
void
_cloche_sandbox_end_terminals (ClocheSandbox *self)
{
  GHashTableIter iter;
  gpointer terminal;

  g_hash_table_iter_init (&iter, self->terminals);
  while (g_hash_table_iter_next (&iter, NULL, &terminal))
    g_object_set_data (G_OBJECT (terminal), "sandbox", NULL);
}
