/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl shell [ID] and clochectl run [ID] -- COMMAND: a terminal in a
 * session (io.github.cloche.Sessions.OpenTerminal), attached to ours
 * (clochectl-terminal.c). Without an ID a session is opened for it, with
 * the folders given (--mount), and closed when the terminal ends unless
 * --keep. shell runs the session user's login shell; run runs COMMAND, and
 * clochectl's exit status is the command's.
 *
 * A terminal outlives its client (the daemon keeps it when we go, unless
 * it is a pipe): shell --list [ID] shows a session's terminals, and shell
 * --attach TERMINAL takes one again (AttachTerminal), what it printed
 * meanwhile first.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gio/gunixfdlist.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clochectl.h"

void
clochectl_shell_request_clear (ClochectlShellRequest *request)
{
  g_free (request->id);
  g_free (request->title);
  g_free (request->client);
  g_free (request->cwd);
  g_free (request->attach);
  g_strfreev (request->mounts);
  g_strfreev (request->env);
  g_strfreev (request->command);
  g_strfreev (request->egress_allow);
}

/* What follows the first "--" is the command, untouched by GOption. */
static gboolean
clochectl_shell_parse (int        argc,
                       char     **argv,
                       gboolean   with_command,
                       ClochectlShellRequest *request)
{
  g_autoptr(GPtrArray) options = g_ptr_array_new ();
  GOptionEntry entries[] = {
    { "mount", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &request->mounts,
      "Mount a host folder in the new session (default: the policy's mode, read-only)",
      "PATH[:ro|:rw]" },
    { "title", 0, 0, G_OPTION_ARG_STRING, &request->title, "A title for the new session",
      "TITLE" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &request->keep,
      "Leave the new session open when the terminal ends", NULL },
    { "cwd", 0, 0, G_OPTION_ARG_STRING, &request->cwd,
      "Folder in the guest (default: the session's)", "DIR" },
    { "env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &request->env, "Set a variable", "NAME=VALUE" },
    /* shell only */
    { "list", 0, 0, G_OPTION_ARG_NONE, &request->list,
      "List the session's terminals (every session's without ID)", NULL },
    { "attach", 0, 0, G_OPTION_ARG_STRING, &request->attach,
      "Attach to a terminal whose client went away", "TERMINAL" },
    { NULL }
  };
  int split = argc, count;
  char **list;

  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--"))
      {
        split = i;
        break;
      }
  for (int i = 0; i < split; i++)
    g_ptr_array_add (options, argv[i]);
  g_ptr_array_add (options, NULL);
  count = split;
  list = (char **) options->pdata;
  if (!clochectl_parse_options (&count, &list, entries,
                                with_command ? "[ID] -- COMMAND [ARG…]" : "[ID]"))
    return FALSE;
  if (count > 2 || (with_command && split + 1 >= argc) || (!with_command && split < argc)
      || (with_command && (request->list || request->attach != NULL)))
    return FALSE;
  request->id = count == 2 ? g_strdup (list[1]) : NULL;
  if (with_command)
    request->command = g_strdupv (argv + split + 1);
  return TRUE;
}

static char *
clochectl_shell_open_session (ClocheDbusDaemon   *daemon,
                              ClocheDbusSessions *sessions,
                              ClochectlShellRequest *request,
                              GError            **error)
{
  GVariantBuilder folders, options;
  gboolean default_readonly;
  char *id = NULL;

  g_variant_builder_init (&folders, G_VARIANT_TYPE ("a(sb)"));
  default_readonly = request->mounts == NULL || clochectl_policy_mounts_readonly (daemon);
  for (guint i = 0; request->mounts != NULL && request->mounts[i] != NULL; i++)
    if (!clochectl_parse_mount (request->mounts[i], default_readonly, &folders))
      {
        g_variant_builder_clear (&folders);
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT, _("bad --mount"));
        return NULL;
      }
  /* Kept open on the daemon's side: we close it ourselves at the end, and
   * --keep leaves it for later. */
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "mounts", g_variant_builder_end (&folders));
  g_variant_builder_add (&options, "{sv}", "keep-open", g_variant_new_boolean (TRUE));
  g_variant_builder_add (&options, "{sv}", "client",
                         g_variant_new_string (request->client ? request->client : "clochectl"));
  if (request->tools_writable)
    g_variant_builder_add (&options, "{sv}", "tools-writable", g_variant_new_boolean (TRUE));
  if (request->egress_allow != NULL)
    g_variant_builder_add (&options, "{sv}", "egress-allow",
                           g_variant_new_strv ((const char * const *) request->egress_allow, -1));
  if (!cloche_dbus_sessions_call_open_sync (sessions, request->title ? request->title : "",
                                            g_variant_builder_end (&options), &id, NULL, error))
    return NULL;
  return id;
}

static GVariant *
clochectl_shell_terminal_options (ClochectlShellRequest *request,
                                  gboolean  pipe)
{
  g_autoptr(GStrvBuilder) env = g_strv_builder_new ();
  g_auto(GStrv) entries = NULL;
  GVariantBuilder options;
  guint rows, cols;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (!pipe && g_getenv ("TERM") != NULL)
    {
      g_autofree char *term = g_strdup_printf ("TERM=%s", g_getenv ("TERM"));

      g_strv_builder_add (env, term);
    }
  if (request->env != NULL)
    g_strv_builder_addv (env, (const char **) request->env);
  entries = g_strv_builder_end (env);
  g_variant_builder_add (&options, "{sv}", "env",
                         g_variant_new_strv ((const char * const *) entries, -1));
  if (request->cwd != NULL)
    g_variant_builder_add (&options, "{sv}", "cwd", g_variant_new_string (request->cwd));
  if (!pipe && clochectl_terminal_size (&rows, &cols))
    {
      g_variant_builder_add (&options, "{sv}", "rows", g_variant_new_uint32 (rows));
      g_variant_builder_add (&options, "{sv}", "cols", g_variant_new_uint32 (cols));
    }
  g_variant_builder_add (&options, "{sv}", "pipe", g_variant_new_boolean (pipe));
  return g_variant_builder_end (&options);
}

/* Resizes go one at a time, the newest size winning. */
typedef struct
{
  ClocheDbusSessions *sessions;
  char               *terminal;
  gboolean            busy;
  guint               rows, cols;   /* waiting: 0 if none */
} Resizer;

static void clochectl_shell_resize (guint rows, guint cols, gpointer data);

static void
clochectl_shell_resized_cb (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  Resizer *resizer = user_data;
  guint rows = resizer->rows, cols = resizer->cols;

  /* A terminal that has just ended cannot be resized: nothing to say. */
  cloche_dbus_sessions_call_resize_terminal_finish (CLOCHE_DBUS_SESSIONS (object), result, NULL);
  resizer->busy = FALSE;
  resizer->rows = resizer->cols = 0;
  if (rows > 0)
    clochectl_shell_resize (rows, cols, resizer);
}

static void
clochectl_shell_resize (guint    rows,
                        guint    cols,
                        gpointer data)
{
  Resizer *resizer = data;

  if (resizer->busy)
    {
      resizer->rows = rows;
      resizer->cols = cols;
      return;
    }
  resizer->busy = TRUE;
  cloche_dbus_sessions_call_resize_terminal (resizer->sessions, resizer->terminal, rows, cols,
                                             NULL, clochectl_shell_resized_cb, resizer);
}

static void
clochectl_shell_terminal_ended_cb (ClocheDbusSessions *sessions,
                                   const char         *terminal,
                                   const char         *session,
                                   int                 status,
                                   const char         *message,
                                   ClochectlTerminal  *attached)
{
  Resizer *resizer = attached->data;

  if (resizer->terminal == NULL || !g_str_equal (terminal, resizer->terminal))
    return;
  attached->ended = TRUE;
  attached->status = status;
  attached->message = g_strdup (message);
}

static void
clochectl_shell_owner_cb (GObject           *object,
                          GParamSpec        *pspec,
                          ClochectlTerminal *attached)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (object));

  if (owner == NULL)
    attached->daemon_gone = TRUE;
}

/* The stream: a new terminal in session @id, or terminal
 * request->attach again (then sized to ours: it kept the size it had). */
static gboolean
clochectl_shell_get_stream (ClocheDbusSessions     *sessions,
                            const char             *id,
                            ClochectlShellRequest  *request,
                            gboolean                pipe,
                            Resizer                *resizer,
                            GVariant              **stream,
                            GUnixFDList           **fds,
                            GError                **error)
{
  guint rows, cols;

  if (request->attach == NULL)
    return cloche_dbus_sessions_call_open_terminal_sync (sessions, id,
                                                         request->command != NULL
                                                         ? (const char * const *) request->command
                                                         : (const char *[]) { NULL },
                                                         clochectl_shell_terminal_options (request,
                                                                                           pipe),
                                                         NULL,
                                                         stream, &resizer->terminal, fds, NULL,
                                                         error);
  resizer->terminal = g_strdup (request->attach);
  if (!cloche_dbus_sessions_call_attach_terminal_sync (sessions, request->attach,
                                                       g_variant_new ("a{sv}", NULL), NULL,
                                                       stream, fds, NULL, error))
    return FALSE;
  if (!pipe && clochectl_terminal_size (&rows, &cols))
    clochectl_shell_resize (rows, cols, resizer);
  return TRUE;
}

static int
clochectl_shell_attach (ClocheDbusSessions    *sessions,
                        const char            *id,
                        ClochectlShellRequest *request)
{
  gboolean pipe = !isatty (STDIN_FILENO);
  g_autoptr(GVariant) stream = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GError) error = NULL;
  Resizer resizer = { .sessions = sessions };
  ClochectlTerminal attached = { .fd = -1, .pipe = pipe, .resize = clochectl_shell_resize,
                                 .data = &resizer };
  const char *failed = request->attach != NULL ? _("cannot attach to the terminal")
                                               : _("cannot open a terminal");
  int status;

  g_signal_connect (sessions, "terminal-ended", G_CALLBACK (clochectl_shell_terminal_ended_cb),
                    &attached);
  g_signal_connect (sessions, "notify::g-name-owner", G_CALLBACK (clochectl_shell_owner_cb),
                    &attached);
  if (!clochectl_shell_get_stream (sessions, id, request, pipe, &resizer, &stream, &fds, &error))
    status = clochectl_fail (failed, error);
  else if ((attached.fd = g_unix_fd_list_get (fds, g_variant_get_handle (stream), &error)) < 0)
    status = clochectl_fail (failed, error);
  else
    status = clochectl_terminal_run (&attached);
  g_signal_handlers_disconnect_by_data (sessions, &attached);
  if (attached.fd >= 0)
    close (attached.fd);
  g_free (attached.message);
  g_free (resizer.terminal);
  return status;
}

/* TERMINAL  SESSION  attached|detached  COMMAND, oldest first. */
static int
clochectl_shell_list_terminals (ClocheDbusSessions *sessions,
                                const char         *id)
{
  g_autoptr(GVariant) terminals = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  GVariant *entry;

  if (!cloche_dbus_sessions_call_list_terminals_sync (sessions, id != NULL ? id : "",
                                                      &terminals, NULL, &error))
    return clochectl_fail (_("cannot list the terminals"), error);
  g_variant_iter_init (&iter, terminals);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      GVariantDict dict;
      const char *terminal = "", *session = "";
      g_autofree const char **command = NULL;
      g_autofree char *line = NULL;
      gboolean held = FALSE;

      g_variant_dict_init (&dict, entry);
      g_variant_dict_lookup (&dict, "terminal", "&s", &terminal);
      g_variant_dict_lookup (&dict, "session", "&s", &session);
      g_variant_dict_lookup (&dict, "attached", "b", &held);
      g_variant_dict_lookup (&dict, "command", "^a&s", &command);
      line = command != NULL ? g_strjoinv (" ", (char **) command) : g_strdup ("");
      /* TRANSLATORS: a terminal's state in clochectl shell --list */
      g_print ("%s\t%s\t%s\t%s\n", terminal, session, held ? _("attached") : _("detached"),
               line);
      g_variant_dict_clear (&dict);
      g_variant_unref (entry);
    }
  return EXIT_SUCCESS;
}

static int clochectl_shell_or_run (ClocheDbusDaemon *daemon, ClochectlShellRequest *request);

/* Where the session's first folder is in the guest: /sessions/ID/mnt/NAME. */
static char *
clochectl_shell_first_mount_dir (ClocheDbusSessions  *sessions,
                                 const char          *id,
                                 GError             **error)
{
  g_autoptr(GVariant) record = NULL;
  g_auto(ClocheSessionInfo) info = { 0 };
  const char *name = NULL;

  if (!cloche_dbus_sessions_call_get_sync (sessions, id, &record, NULL, error))
    return NULL;
  cloche_session_info_init (&info, record);
  if (g_variant_n_children (info.mounts) > 0)
    g_variant_get_child (info.mounts, 0, "(&s&sb)", NULL, &name, NULL);
  if (name == NULL || name[0] == '\0' || strchr (name, '/') != NULL || name[0] == '.')
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FAILED,
                   _("session %s has no folder to run in"), id);
      return NULL;
    }
  return g_strdup_printf ("/sessions/%s/mnt/%s", id, name);
}

/**
 * clochectl_shell_request_run:
 *
 * The terminal @request asks for: in session @request->id, or in a new one
 * (closed at the end unless @request->keep); clochectl shell, run and
 * agent all come here. Returns: the exit status to leave with
 */
int
clochectl_shell_request_run (ClocheDbusDaemon      *daemon,
                             ClochectlShellRequest *request)
{
  return clochectl_shell_or_run (daemon, request);
}

static int
clochectl_shell_or_run (ClocheDbusDaemon      *daemon,
                        ClochectlShellRequest *request)
{
  g_autoptr(ClocheDbusSessions) sessions = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *opened = NULL;
  const char *id;
  int status;

  if (request->id != NULL && request->mounts != NULL)
    {
      g_printerr (_("clochectl: --mount opens a new session: give no session ID with it\n"));
      return 2;
    }
  if ((request->list || request->attach != NULL)
      && (request->mounts != NULL || request->keep || request->title != NULL
          || (request->attach != NULL && (request->id != NULL || request->list))))
    {
      g_printerr (_("clochectl: --list and --attach take no other option (--attach no ID)\n"));
      return 2;
    }
  sessions = clochectl_sessions_proxy (daemon, CLOCHECTL_SESSIONS_SIGNALS, &error);
  if (sessions == NULL)
    return clochectl_fail (_("cannot reach the Cloche service"), error);
  if (request->list)
    return clochectl_shell_list_terminals (sessions, request->id);
  if (request->attach != NULL)
    return clochectl_shell_attach (sessions, NULL, request);
  if (request->id == NULL)
    opened = clochectl_shell_open_session (daemon, sessions, request, &error);
  if (request->id == NULL && opened == NULL)
    return clochectl_fail (_("cannot open a session"), error);
  id = request->id != NULL ? request->id : opened;
  if (request->cwd_in_first_mount && request->cwd == NULL
      && (request->cwd = clochectl_shell_first_mount_dir (sessions, id, &error)) == NULL)
    clochectl_fail (_("cannot find the folder to run in"), error);
  status = clochectl_shell_attach (sessions, id, request);
  if (opened != NULL && !request->keep
      && !cloche_dbus_sessions_call_close_sync (sessions, opened, NULL, &error))
    clochectl_fail (_("cannot close the session"), error);
  else if (opened != NULL && request->keep)
    g_printerr (_("clochectl: session %s is still open\n"), opened);
  return status;
}

int
clochectl_shell (ClocheDbusDaemon  *daemon,
                 int                argc,
                 char             **argv)
{
  g_auto(ClochectlShellRequest) request = { 0 };

  if (!clochectl_shell_parse (argc, argv, FALSE, &request))
    return clochectl_usage ();
  return clochectl_shell_or_run (daemon, &request);
}

int
clochectl_run (ClocheDbusDaemon  *daemon,
               int                argc,
               char             **argv)
{
  g_auto(ClochectlShellRequest) request = { 0 };

  if (!clochectl_shell_parse (argc, argv, TRUE, &request))
    return clochectl_usage ();
  return clochectl_shell_or_run (daemon, &request);
}
