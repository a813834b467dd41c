/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl mcp: an MCP server on stdin and stdout for agents on the host
 * (docs/mcp.md). Nothing is started until the first tool call: not the
 * daemon, not the VM. At the end of the input, or on SIGTERM, SIGINT or
 * SIGHUP, calls still running are cancelled (their commands killed in the
 * guest) and the session is closed, unless it was given with --session.
 *
 * Rules: stdout carries MCP messages only. The transport writes to a copy
 * of it, and fd 1 itself is pointed at stderr, so that nothing printed by
 * a library can break the stream. Clients start servers with a small
 * environment (often without DBUS_SESSION_BUS_ADDRESS): the user's bus is
 * then looked for where systemd puts it.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clochectl.h"
#include "clochectl-mcp.h"
#include "clochectl-mcp-server.h"

#define CLOSE_TIMEOUT_S 20

typedef struct
{
  GMainLoop           *loop;
  ClochectlMcpServer  *server;
  ClochectlMcpSandbox *sandbox;
  gboolean             closing;
} Run;

static void
clochectl_mcp_find_session_bus (void)
{
  g_autofree char *runtime = NULL;
  g_autofree char *socket = NULL;
  g_autofree char *address = NULL;
  struct stat info;

  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") != NULL)
    return;
  runtime = g_strdup (g_getenv ("XDG_RUNTIME_DIR"));
  if (runtime == NULL)
    runtime = g_strdup_printf ("/run/user/%u", (guint) getuid ());
  socket = g_build_filename (runtime, "bus", NULL);
  /* Ours only: a socket someone else owns is not our session bus. */
  if (lstat (socket, &info) != 0 || !S_ISSOCK (info.st_mode) || info.st_uid != getuid ())
    return;
  address = g_strdup_printf ("unix:path=%s", socket);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
}

static void
clochectl_mcp_closed_cb (GObject      *object,
                         GAsyncResult *result,
                         gpointer      user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  if (!clochectl_mcp_sandbox_close_finish (CLOCHECTL_MCP_SANDBOX (object), result, &error))
    g_printerr (_("clochectl mcp: the session could not be closed: %s\n"), error->message);
  g_main_loop_quit (run->loop);
}

static gboolean
clochectl_mcp_close_timeout_cb (gpointer user_data)
{
  Run *run = user_data;

  g_printerr (_("clochectl mcp: the daemon did not close the session within %d s; it closes "
                "it when this process is gone\n"), CLOSE_TIMEOUT_S);
  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

static void
clochectl_mcp_finished_cb (ClochectlMcpServer *server,
                           Run                *run)
{
  g_timeout_add_seconds (CLOSE_TIMEOUT_S, clochectl_mcp_close_timeout_cb, run);
  clochectl_mcp_sandbox_close_async (run->sandbox, clochectl_mcp_closed_cb, run);
}

static gboolean
clochectl_mcp_signal_cb (gpointer user_data)
{
  Run *run = user_data;

  if (!run->closing)
    {
      run->closing = TRUE;
      clochectl_mcp_server_shutdown (run->server);
    }
  return G_SOURCE_CONTINUE;
}

/* The transport gets stdout's descriptor; fd 1 becomes stderr's. */
static GOutputStream *
clochectl_mcp_claim_stdout (void)
{
  int fd = dup (STDOUT_FILENO);

  if (fd < 0)
    return NULL;
  dup2 (STDERR_FILENO, STDOUT_FILENO);
  return g_unix_output_stream_new (fd, TRUE);
}

static int
clochectl_mcp_serve (const char *title,
                     GVariant   *mounts,
                     const char *session)
{
  g_autoptr(GInputStream) input = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_autoptr(GOutputStream) output = clochectl_mcp_claim_stdout ();
  g_autoptr(ClochectlMcpTransport) transport = NULL;
  g_autoptr(ClochectlMcpTools) tools = NULL;
  g_autoptr(ClochectlMcpSandbox) sandbox = NULL;
  g_autoptr(ClochectlMcpServer) server = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Run run = { loop, NULL, NULL, FALSE };

  if (output == NULL)
    {
      g_printerr (_("clochectl mcp: cannot use stdout\n"));
      return EXIT_FAILURE;
    }
  transport = clochectl_mcp_transport_new (input, output);
  sandbox = clochectl_mcp_sandbox_new (title, mounts, session);
  tools = clochectl_mcp_tools_new (sandbox);
  server = clochectl_mcp_server_new (transport, tools);
  run.server = server;
  run.sandbox = sandbox;
  g_signal_connect (server, "finished", G_CALLBACK (clochectl_mcp_finished_cb), &run);
  g_unix_signal_add (SIGTERM, clochectl_mcp_signal_cb, &run);
  g_unix_signal_add (SIGINT, clochectl_mcp_signal_cb, &run);
  g_unix_signal_add (SIGHUP, clochectl_mcp_signal_cb, &run);
  clochectl_mcp_server_start (server);
  g_main_loop_run (loop);
  return EXIT_SUCCESS;
}

/* What --print-config repeats: "mcp" and the options that shape the session. */
static GStrv
clochectl_mcp_config_args (GStrv        mounts,
                           const char  *title,
                           const char  *session)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_strv_builder_add (builder, "mcp");
  for (guint i = 0; mounts != NULL && mounts[i] != NULL; i++)
    {
      g_autofree char *spec = clochectl_mount_spec_canonical (mounts[i]);

      g_strv_builder_add_many (builder, "--mount", spec != NULL ? spec : mounts[i], NULL);
    }
  if (title != NULL)
    g_strv_builder_add_many (builder, "--title", title, NULL);
  if (session != NULL)
    g_strv_builder_add_many (builder, "--session", session, NULL);
  return g_strv_builder_end (builder);
}

int
clochectl_mcp (int    argc,
               char **argv)
{
  g_auto(GStrv) mounts = NULL;
  g_autofree char *title = NULL;
  g_autofree char *session = NULL;
  g_autofree char *print_config = NULL;
  GVariantBuilder folders;
  GOptionEntry entries[] = {
    { "mount", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &mounts,
      "Mount a host folder at mnt/NAME in the session (read-only unless :rw)", "DIR[:ro|:rw]" },
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, "The session's title", "TITLE" },
    { "session", 0, 0, G_OPTION_ARG_STRING, &session,
      "Work in this open session (never closed here) instead of opening one", "ID" },
    { "print-config", 0, 0, G_OPTION_ARG_STRING, &print_config,
      "Print the configuration for claude-code, claude-desktop, goose or zed", "CLIENT" },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- an MCP server on stdio"))
    return 2;
  if (argc > 1)
    return clochectl_usage ();
  if (print_config != NULL)
    {
      g_auto(GStrv) args = clochectl_mcp_config_args (mounts, title, session);

      return clochectl_mcp_print_config (print_config, (const char * const *) args);
    }
  if (session != NULL && mounts != NULL)
    {
      g_printerr (_("clochectl mcp: --mount opens a new session; it cannot be given with "
                    "--session (that session keeps its own folders)\n"));
      return 2;
    }
  /* No daemon is asked for the policy's default mode: that would start it
   * before any call. A folder is read-only unless it says :rw. */
  g_variant_builder_init (&folders, G_VARIANT_TYPE ("a(sb)"));
  for (guint i = 0; mounts != NULL && mounts[i] != NULL; i++)
    if (!clochectl_parse_mount (mounts[i], TRUE, &folders))
      {
        g_variant_builder_clear (&folders);
        return 2;
      }
  signal (SIGPIPE, SIG_IGN);
  g_log_writer_default_set_use_stderr (TRUE);
  clochectl_mcp_find_session_bus ();
  return clochectl_mcp_serve (title != NULL ? title : "MCP", g_variant_builder_end (&folders),
                              session);
}
