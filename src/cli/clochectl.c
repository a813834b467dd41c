/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl: the daemon's API for scripts and agent front-ends. Blocking
 * D-Bus calls are fine here: a command line has no window to freeze.
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cloche-dbus-generated.h"
#include "cloche-error.h"

/* Booting under software emulation takes seconds, not the 25 s default. */
#define CALL_TIMEOUT_MS (10 * 60 * 1000)

typedef int (*CommandFunc) (ClocheDbusDaemon *daemon, int argc, char **argv);

static int
fail (const char   *what,
      const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);

  g_dbus_error_strip_remote_error (copy);
  g_printerr ("clochectl: %s: %s\n", what, copy->message);
  return EXIT_FAILURE;
}

static int
usage (void)
{
  g_printerr ("Usage:\n"
              "  clochectl status [--json]\n"
              "  clochectl session open [--title TITLE]\n"
              "  clochectl session close ID\n"
              "  clochectl exec ID [--cwd DIR] [--env NAME=VALUE]… -- COMMAND [ARG…]\n"
              "  clochectl vm stop\n");
  return 2;
}

static gboolean
parse_options (int           *argc,
               char        ***argv,
               GOptionEntry  *entries,
               const char    *what)
{
  g_autoptr(GOptionContext) context = g_option_context_new (what);
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_help_enabled (context, TRUE);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      g_printerr ("clochectl: %s\n", error->message);
      return FALSE;
    }
  return TRUE;
}

/* status */

static char *
format_uptime (gint64 booted_at)
{
  gint64 seconds;

  if (booted_at == 0)
    return g_strdup ("-");
  seconds = MAX (0, (g_get_real_time () - booted_at) / G_USEC_PER_SEC);
  return g_strdup_printf ("%" G_GINT64_FORMAT ":%02d:%02d", seconds / 3600,
                          (int) (seconds / 60 % 60), (int) (seconds % 60));
}

static void
print_status_text (ClocheDbusDaemon *daemon)
{
  g_autofree char *uptime = format_uptime (cloche_dbus_daemon_get_booted_at (daemon));
  const char *reason = cloche_dbus_daemon_get_state_reason (daemon);
  const char * const *console = cloche_dbus_daemon_get_console_tail (daemon);

  g_print ("State:        %s%s%s%s\n", cloche_dbus_daemon_get_state (daemon),
           reason != NULL && reason[0] ? " (" : "", reason ? reason : "",
           reason != NULL && reason[0] ? ")" : "");
  g_print ("Accelerator:  %s — %s\n", cloche_dbus_daemon_get_accelerator (daemon),
           cloche_dbus_daemon_get_accelerator_reason (daemon));
  g_print ("Uptime:       %s\n", uptime);
  g_print ("Sessions:     %u open\n", cloche_dbus_daemon_get_open_sessions (daemon));
  g_print ("Idle timeout: %u s\n", cloche_dbus_daemon_get_idle_timeout (daemon));
  g_print ("Bundle:       %s\n", cloche_dbus_daemon_get_bundle_path (daemon));
  for (guint i = 0; console != NULL && console[i] != NULL; i++)
    g_print ("%s %s\n", i == 0 ? "Console:     " : "             ", console[i]);
}

static void
print_status_json (ClocheDbusDaemon *daemon)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  const char * const *console = cloche_dbus_daemon_get_console_tail (daemon);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_state (daemon));
  json_builder_set_member_name (builder, "state_reason");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_state_reason (daemon));
  json_builder_set_member_name (builder, "accelerator");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_accelerator (daemon));
  json_builder_set_member_name (builder, "accelerator_reason");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_accelerator_reason (daemon));
  json_builder_set_member_name (builder, "booted_at_us");
  json_builder_add_int_value (builder, cloche_dbus_daemon_get_booted_at (daemon));
  json_builder_set_member_name (builder, "open_sessions");
  json_builder_add_int_value (builder, cloche_dbus_daemon_get_open_sessions (daemon));
  json_builder_set_member_name (builder, "idle_timeout_s");
  json_builder_add_int_value (builder, cloche_dbus_daemon_get_idle_timeout (daemon));
  json_builder_set_member_name (builder, "bundle_path");
  json_builder_add_string_value (builder, cloche_dbus_daemon_get_bundle_path (daemon));
  json_builder_set_member_name (builder, "console_tail");
  json_builder_begin_array (builder);
  for (guint i = 0; console != NULL && console[i] != NULL; i++)
    json_builder_add_string_value (builder, console[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

static int
cmd_status (ClocheDbusDaemon  *daemon,
            int                argc,
            char             **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };

  if (!parse_options (&argc, &argv, entries, "- show the sandbox VM"))
    return 2;
  if (cloche_dbus_daemon_get_state (daemon) == NULL)
    {
      g_printerr ("clochectl: the Cloche service (%s) is not running and could not be started\n",
                  DAEMON_BUS_NAME);
      return EXIT_FAILURE;
    }
  if (json)
    print_status_json (daemon);
  else
    print_status_text (daemon);
  return EXIT_SUCCESS;
}

/* session */

static int
cmd_session_open (ClocheDbusDaemon  *daemon,
                  int                argc,
                  char             **argv)
{
  g_autofree char *title = NULL;
  g_autofree char *id = NULL;
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, "A title for the session", "TITLE" },
    { NULL }
  };

  if (!parse_options (&argc, &argv, entries, "- open a session (boots the VM)"))
    return 2;
  if (!cloche_dbus_daemon_call_open_session_sync (daemon, title ? title : "", &id, NULL, &error))
    return fail ("cannot open a session", error);
  g_print ("%s\n", id);
  return EXIT_SUCCESS;
}

static int
cmd_session_close (ClocheDbusDaemon  *daemon,
                   int                argc,
                   char             **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    return usage ();
  if (!cloche_dbus_daemon_call_close_session_sync (daemon, argv[1], NULL, &error))
    return fail ("cannot close the session", error);
  return EXIT_SUCCESS;
}

static int
cmd_session (ClocheDbusDaemon  *daemon,
             int                argc,
             char             **argv)
{
  if (argc >= 2 && g_str_equal (argv[1], "open"))
    return cmd_session_open (daemon, argc - 1, argv + 1);
  if (argc >= 2 && g_str_equal (argv[1], "close"))
    return cmd_session_close (daemon, argc - 1, argv + 1);
  return usage ();
}

/* exec */

static void
write_all (int       fd,
           GVariant *bytes)
{
  gsize length = 0;
  const char *data = g_variant_get_fixed_array (bytes, &length, 1);

  while (length > 0)
    {
      ssize_t written = write (fd, data, length);

      if (written <= 0)
        return;
      data += written;
      length -= written;
    }
}

static int
cmd_exec (ClocheDbusDaemon  *daemon,
          int                argc,
          char             **argv)
{
  g_autofree char *cwd = NULL;
  g_auto(GStrv) env = NULL;
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GError) error = NULL;
  int exit_code;
  GOptionEntry entries[] = {
    { "cwd", 0, 0, G_OPTION_ARG_STRING, &cwd, "Folder in the guest (default: the session's)", "DIR" },
    { "env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &env, "Set a variable", "NAME=VALUE" },
    { NULL }
  };

  /* The command after "--" keeps its own options. */
  if (!parse_options (&argc, &argv, entries, "ID -- COMMAND [ARG…]") || argc < 3)
    return usage ();
  if (!cloche_dbus_daemon_call_exec_sync (daemon, argv[1], (const char * const *) argv + 2,
                                          env ? (const char * const *) env : (const char *[]) { NULL },
                                          cwd ? cwd : "", &exit_code, &out, &err, NULL, &error))
    return fail ("cannot run the command", error);

  write_all (STDOUT_FILENO, out);
  write_all (STDERR_FILENO, err);
  return exit_code & 0xff;
}

/* vm */

static int
cmd_vm (ClocheDbusDaemon  *daemon,
        int                argc,
        char             **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc != 2 || !g_str_equal (argv[1], "stop"))
    return usage ();
  if (!cloche_dbus_daemon_call_stop_vm_sync (daemon, NULL, &error))
    return fail ("cannot stop the VM", error);
  return EXIT_SUCCESS;
}

static const struct {
  const char  *name;
  CommandFunc  func;
} commands[] = {
  { "status", cmd_status },
  { "session", cmd_session },
  { "exec", cmd_exec },
  { "vm", cmd_vm },
};

static ClocheDbusDaemon *
connect_daemon (GError **error)
{
  ClocheDbusDaemon *daemon;

  /* Auto-start lets D-Bus activation bring the daemon up; reading its
   * properties never boots the VM. */
  daemon = cloche_dbus_daemon_proxy_new_for_bus_sync (G_BUS_TYPE_SESSION,
                                                      G_DBUS_PROXY_FLAGS_NONE,
                                                      DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                                      NULL, error);
  if (daemon != NULL)
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (daemon), CALL_TIMEOUT_MS);
  return daemon;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(ClocheDbusDaemon) daemon = NULL;
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");
  /* Registers the error domain so remote errors keep their CLOCHE_ERROR code. */
  (void) CLOCHE_ERROR;
  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    return usage ();

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (!g_str_equal (argv[1], commands[i].name))
        continue;
      daemon = connect_daemon (&error);
      if (daemon == NULL)
        return fail ("cannot reach the Cloche service", error);
      return commands[i].func (daemon, argc - 1, argv + 1);
    }
  g_printerr ("clochectl: unknown command \"%s\"\n", argv[1]);
  return usage ();
}
