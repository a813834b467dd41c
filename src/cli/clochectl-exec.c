/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>
#include <unistd.h>

#include "clochectl.h"

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
  int first = 2;
  GOptionEntry entries[] = {
    { "cwd", 0, 0, G_OPTION_ARG_STRING, &cwd, "Folder in the guest (default: the session's)", "DIR" },
    { "env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &env, "Set a variable", "NAME=VALUE" },
    { NULL }
  };

  /* The command after "--" keeps its own options. */
  if (!clochectl_parse_options (&argc, &argv, entries, "ID -- COMMAND [ARG…]"))
    return clochectl_usage ();
  /* GOption leaves a "--" that comes after the ID in argv. It is not part of
   * the command: busybox's exec skipped it, dash's runs "--" and fails. */
  if (argc > 2 && g_strcmp0 (argv[2], "--") == 0)
    first = 3;
  if (argc <= first)
    return clochectl_usage ();
  if (!cloche_dbus_daemon_call_exec_sync (daemon, argv[1], (const char * const *) argv + first,
                                          env ? (const char * const *) env : (const char *[]) { NULL },
                                          cwd ? cwd : "", &exit_code, &out, &err, NULL, &error))
    return clochectl_fail (_("cannot run the command"), error);

  write_all (STDOUT_FILENO, out);
  write_all (STDERR_FILENO, err);
  return exit_code & 0xff;
}

