/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "clochectl.h"

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

  if (!clochectl_parse_options (&argc, &argv, entries, "- open a session (boots the VM)"))
    return 2;
  if (!cloche_dbus_daemon_call_open_session_sync (daemon, title ? title : "", &id, NULL, &error))
    return clochectl_fail ("cannot open a session", error);
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
    return clochectl_usage ();
  if (!cloche_dbus_daemon_call_close_session_sync (daemon, argv[1], NULL, &error))
    return clochectl_fail ("cannot close the session", error);
  return EXIT_SUCCESS;
}

int
clochectl_session (ClocheDbusDaemon  *daemon,
             int                argc,
             char             **argv)
{
  if (argc >= 2 && g_str_equal (argv[1], "open"))
    return cmd_session_open (daemon, argc - 1, argv + 1);
  if (argc >= 2 && g_str_equal (argv[1], "close"))
    return cmd_session_close (daemon, argc - 1, argv + 1);
  return clochectl_usage ();
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

int
clochectl_exec (ClocheDbusDaemon  *daemon,
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
  if (!clochectl_parse_options (&argc, &argv, entries, "ID -- COMMAND [ARG…]") || argc < 3)
    return clochectl_usage ();
  if (!cloche_dbus_daemon_call_exec_sync (daemon, argv[1], (const char * const *) argv + 2,
                                          env ? (const char * const *) env : (const char *[]) { NULL },
                                          cwd ? cwd : "", &exit_code, &out, &err, NULL, &error))
    return clochectl_fail ("cannot run the command", error);

  write_all (STDOUT_FILENO, out);
  write_all (STDERR_FILENO, err);
  return exit_code & 0xff;
}

