/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Sessions' terminals: OpenTerminal, ResizeTerminal,
 * ListTerminals, AttachTerminal and TerminalEnded, on the sandbox's
 * terminals (cloche-sandbox-terminal.c).
 * OpenTerminal answers with the client's end of the terminal's stream as a
 * descriptor (a GUnixFDList): from then on the bytes go between the client
 * and QEMU, and the daemon only hears how the terminal ended.
 *
 * The options are read strictly: a known key of another type, or a number
 * out of range, fails the call naming the key; an unknown key is ignored
 * (a newer client's).
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gio/gunixfdlist.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-sessions-service.h"
#include "cloche-sessions-terminals.h"

typedef struct
{
  ClocheDbusSessions    *skeleton;
  ClocheSandbox         *sandbox;
  GDBusMethodInvocation *invocation;
} Call;

static void
cloche_sessions_terminals_call_free (Call *call)
{
  g_object_unref (call->skeleton);
  g_object_unref (call->sandbox);
  g_object_unref (call->invocation);
  g_free (call);
}

static ClocheSandbox *
cloche_sessions_terminals_sandbox_of (ClocheDbusSessions *skeleton)
{
  return cloche_sessions_service_get_sandbox (CLOCHE_SESSIONS_SERVICE (skeleton));
}

static Call *
cloche_sessions_terminals_call_new (ClocheDbusSessions    *skeleton,
                                    GDBusMethodInvocation *invocation)
{
  Call *call = g_new0 (Call, 1);

  call->skeleton = g_object_ref (skeleton);
  call->sandbox = g_object_ref (cloche_sessions_terminals_sandbox_of (skeleton));
  call->invocation = g_object_ref (invocation);
  return call;
}

/* @key of @type, or absent (@found NULL); another type is an error. */
static gboolean
cloche_sessions_terminals_lookup (GVariant            *options,
                                  const char          *key,
                                  const GVariantType  *type,
                                  GVariant           **found,
                                  GError             **error)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (options, key, NULL);

  *found = NULL;
  if (value == NULL)
    return TRUE;
  if (!g_variant_is_of_type (value, type))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("Option \"%s\" must be of type %s, not %s"), key,
                   g_variant_type_peek_string (type), g_variant_get_type_string (value));
      return FALSE;
    }
  *found = g_steal_pointer (&value);
  return TRUE;
}

typedef struct
{
  GVariant *env, *cwd, *rows, *cols, *pipe;
} Options;

static void
cloche_sessions_terminals_options_clear (Options *options)
{
  g_clear_pointer (&options->env, g_variant_unref);
  g_clear_pointer (&options->cwd, g_variant_unref);
  g_clear_pointer (&options->rows, g_variant_unref);
  g_clear_pointer (&options->cols, g_variant_unref);
  g_clear_pointer (&options->pipe, g_variant_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, cloche_sessions_terminals_options_clear)

static gboolean
cloche_sessions_terminals_read_options (GVariant              *options,
                                        Options               *read,
                                        ClocheTerminalRequest *request,
                                        GError               **error)
{
  if (!cloche_sessions_terminals_lookup (options, "env", G_VARIANT_TYPE_STRING_ARRAY, &read->env,
                                         error)
      || !cloche_sessions_terminals_lookup (options, "cwd", G_VARIANT_TYPE_STRING, &read->cwd,
                                            error)
      || !cloche_sessions_terminals_lookup (options, "rows", G_VARIANT_TYPE_UINT32, &read->rows,
                                            error)
      || !cloche_sessions_terminals_lookup (options, "cols", G_VARIANT_TYPE_UINT32, &read->cols,
                                            error)
      || !cloche_sessions_terminals_lookup (options, "pipe", G_VARIANT_TYPE_BOOLEAN, &read->pipe,
                                            error))
    return FALSE;
  request->env = read->env != NULL ? g_variant_get_strv (read->env, NULL) : NULL;
  request->cwd = read->cwd != NULL ? g_variant_get_string (read->cwd, NULL) : NULL;
  request->rows = read->rows != NULL ? g_variant_get_uint32 (read->rows) : 0;
  request->cols = read->cols != NULL ? g_variant_get_uint32 (read->cols) : 0;
  request->pipe = read->pipe != NULL && g_variant_get_boolean (read->pipe);
  if ((read->rows != NULL && request->rows == 0) || (read->cols != NULL && request->cols == 0))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("Options \"rows\" and \"cols\" must be 1 to %u"), CLOCHE_TERMINAL_MAX_SIZE);
      return FALSE;
    }
  return TRUE;
}

static void
cloche_sessions_terminals_terminal_ended_cb (ClocheTerminal     *terminal,
                                             int                 status,
                                             const char         *message,
                                             ClocheDbusSessions *skeleton)
{
  cloche_dbus_sessions_emit_terminal_ended (skeleton, cloche_terminal_get_id (terminal),
                                            cloche_terminal_get_session (terminal), status,
                                            message != NULL ? message : "");
}

static void
cloche_sessions_terminals_opened_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  Call *call = user_data;
  g_autoptr(ClocheTerminal) terminal = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GError) error = NULL;
  int fd, index;

  terminal = cloche_sandbox_open_terminal_finish (CLOCHE_SANDBOX (object), result, &error);
  if (terminal == NULL)
    {
      g_dbus_method_invocation_return_gerror (call->invocation, error);
      cloche_sessions_terminals_call_free (call);
      return;
    }
  g_signal_connect_object (terminal, "ended",
                           G_CALLBACK (cloche_sessions_terminals_terminal_ended_cb), call->skeleton,
                           0);
  fd = cloche_terminal_steal_fd (terminal);
  fds = g_unix_fd_list_new ();
  index = g_unix_fd_list_append (fds, fd, &error);
  close (fd);
  if (index < 0)
    g_dbus_method_invocation_return_gerror (call->invocation, error);
  else
    cloche_dbus_sessions_complete_open_terminal (call->skeleton, call->invocation, fds,
                                                 g_variant_new_handle (index),
                                                 cloche_terminal_get_id (terminal));
  cloche_sessions_terminals_call_free (call);
}

gboolean
cloche_sessions_terminals_handle_open (ClocheDbusSessions    *skeleton,
                                       GDBusMethodInvocation *invocation,
                                       GUnixFDList           *fd_list,
                                       const char            *id,
                                       const char * const    *argv,
                                       GVariant              *options)
{
  ClocheTerminalRequest request = { .argv = argv };
  g_auto(Options) read = { 0 };
  g_autofree const char **env = NULL;
  g_autoptr(GError) error = NULL;

  if (!cloche_sessions_terminals_read_options (options, &read, &request, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return TRUE;
    }
  env = (const char **) request.env;
  cloche_sandbox_open_terminal_async (cloche_sessions_terminals_sandbox_of (skeleton), id, &request,
                                      NULL,
                                      cloche_sessions_terminals_opened_cb,
                                      cloche_sessions_terminals_call_new (skeleton, invocation));
  return TRUE;
}

static void
cloche_sessions_terminals_resized_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  Call *call = user_data;
  g_autoptr(GError) error = NULL;

  if (cloche_sandbox_resize_terminal_finish (CLOCHE_SANDBOX (object), result, &error))
    cloche_dbus_sessions_complete_resize_terminal (call->skeleton, call->invocation);
  else
    g_dbus_method_invocation_return_gerror (call->invocation, error);
  cloche_sessions_terminals_call_free (call);
}

gboolean
cloche_sessions_terminals_handle_resize (ClocheDbusSessions    *skeleton,
                                         GDBusMethodInvocation *invocation,
                                         const char            *terminal,
                                         guint                  rows,
                                         guint                  cols)
{
  cloche_sandbox_resize_terminal_async (cloche_sessions_terminals_sandbox_of (skeleton), terminal,
                                        rows, cols, NULL,
                                        cloche_sessions_terminals_resized_cb,
                                        cloche_sessions_terminals_call_new (skeleton, invocation));
  return TRUE;
}

static GVariant *
cloche_sessions_terminals_terminal_entry (ClocheTerminal *terminal)
{
  GVariantDict entry;

  g_variant_dict_init (&entry, NULL);
  g_variant_dict_insert (&entry, "terminal", "s", cloche_terminal_get_id (terminal));
  g_variant_dict_insert (&entry, "session", "s", cloche_terminal_get_session (terminal));
  g_variant_dict_insert_value (&entry, "command",
                               g_variant_new_strv (cloche_terminal_get_command (terminal), -1));
  g_variant_dict_insert (&entry, "started", "x", cloche_terminal_get_started (terminal));
  g_variant_dict_insert (&entry, "attached", "b",
                         cloche_terminal_port_has_client (cloche_terminal_get_port (terminal)));
  return g_variant_dict_end (&entry);
}

gboolean
cloche_sessions_terminals_handle_list (ClocheDbusSessions    *skeleton,
                                       GDBusMethodInvocation *invocation,
                                       const char            *id)
{
  g_autoptr(GPtrArray) terminals = NULL;
  GVariantBuilder list;

  terminals =
    cloche_sandbox_list_terminals (cloche_sessions_terminals_sandbox_of (skeleton),
                                   id[0] != '\0' ? id : NULL);
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < terminals->len; i++)
    g_variant_builder_add_value (&list,
                                 cloche_sessions_terminals_terminal_entry (terminals->pdata[i]));
  cloche_dbus_sessions_complete_list_terminals (skeleton, invocation,
                                                g_variant_builder_end (&list));
  return TRUE;
}

static void
cloche_sessions_terminals_attached_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  Call *call = user_data;
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr(GError) error = NULL;
  int fd, index = -1;

  fd = cloche_sandbox_attach_terminal_finish (CLOCHE_SANDBOX (object), result, &error);
  if (fd >= 0)
    {
      index = g_unix_fd_list_append (fds, fd, &error);
      close (fd);
    }
  if (index < 0)
    g_dbus_method_invocation_return_gerror (call->invocation, error);
  else
    cloche_dbus_sessions_complete_attach_terminal (call->skeleton, call->invocation, fds,
                                                   g_variant_new_handle (index));
  cloche_sessions_terminals_call_free (call);
}

gboolean
cloche_sessions_terminals_handle_attach (ClocheDbusSessions    *skeleton,
                                         GDBusMethodInvocation *invocation,
                                         GUnixFDList           *fd_list,
                                         const char            *terminal,
                                         GVariant              *options)
{
  cloche_sandbox_attach_terminal_async (cloche_sessions_terminals_sandbox_of (skeleton), terminal,
                                        NULL,
                                        cloche_sessions_terminals_attached_cb,
                                        cloche_sessions_terminals_call_new (skeleton, invocation));
  return TRUE;
}
