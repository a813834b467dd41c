/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl exec: a command in a session, through io.github.cloche.Sessions'
 * Exec. Its output comes back when it has ended, on this process's stdout
 * and stderr; its exit status is ours. With --stdin, what this process
 * reads on its standard input (up to 16 MiB) is the command's.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <gio/gunixinputstream.h>
#include <stdlib.h>
#include <unistd.h>

#include "clochectl.h"

/* What Exec takes on stdin, and as a deadline (a week, in seconds). */
#define INPUT_MAX (16 * 1024 * 1024)
#define TIMEOUT_MAX_S (7 * 24 * 3600)

static void
clochectl_exec_write_all (int       fd,
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

/* All of stdin, refused past INPUT_MAX rather than cut. */
static GBytes *
clochectl_exec_read_stdin (GError **error)
{
  g_autoptr(GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_autoptr(GByteArray) data = g_byte_array_new ();
  guint8 buffer[64 * 1024];
  gssize n;

  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, error)) > 0)
    {
      if (data->len + (gsize) n > INPUT_MAX)
        {
          g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                       _("standard input holds more than 16 MiB: give the command a file "
                         "in the session folder instead"));
          return NULL;
        }
      g_byte_array_append (data, buffer, n);
    }
  if (n < 0)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&data));
}

typedef struct
{
  char     *cwd;
  GStrv     env;
  gboolean  input;
  int       timeout_s;
} ExecArgs;

static void
clochectl_exec_args_clear (ExecArgs *args)
{
  g_free (args->cwd);
  g_strfreev (args->env);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ExecArgs, clochectl_exec_args_clear)

static GVariant *
clochectl_exec_options (ExecArgs  *args,
                        GError   **error)
{
  g_auto(GVariantDict) options = G_VARIANT_DICT_INIT (NULL);

  if (args->env != NULL)
    g_variant_dict_insert_value (&options, "env",
                                 g_variant_new_strv ((const char * const *) args->env, -1));
  if (args->cwd != NULL)
    g_variant_dict_insert (&options, "cwd", "s", args->cwd);
  if (args->timeout_s > 0)
    g_variant_dict_insert (&options, "timeout-ms", "u", (guint32) args->timeout_s * 1000);
  if (args->input)
    {
      g_autoptr(GBytes) input = clochectl_exec_read_stdin (error);

      if (input == NULL)
        return NULL;
      g_variant_dict_insert_value (&options, "stdin",
                                   g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, input,
                                                             TRUE));
    }
  return g_variant_ref_sink (g_variant_dict_end (&options));
}

int
clochectl_exec (ClocheDbusDaemon  *daemon,
                int                argc,
                char             **argv)
{
  g_auto(ExecArgs) args = { 0 };
  g_autoptr(ClocheDbusSessions) sessions = NULL;
  g_autoptr(GVariant) options = NULL;
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GError) error = NULL;
  int exit_code;
  int first = 2;
  GOptionEntry entries[] = {
    { "cwd", 0, 0, G_OPTION_ARG_STRING, &args.cwd, "Folder in the guest (default: the session's)",
      "DIR" },
    { "env", 0, 0, G_OPTION_ARG_STRING_ARRAY, &args.env, "Set a variable", "NAME=VALUE" },
    { "stdin", 0, 0, G_OPTION_ARG_NONE, &args.input,
      "Give the command what this reads on standard input (up to 16 MiB)", NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &args.timeout_s,
      "Give up on the command after this many seconds (1 to 604800)", "SECONDS" },
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
  if (args.timeout_s < 0 || args.timeout_s > TIMEOUT_MAX_S)
    {
      g_printerr (_("clochectl: --timeout %d is out of range: give from 1 to %d seconds\n"),
                  args.timeout_s, TIMEOUT_MAX_S);
      return 2;
    }
  options = clochectl_exec_options (&args, &error);
  if (options != NULL)
    sessions = clochectl_sessions_proxy (daemon, CLOCHECTL_SESSIONS_CALLS, &error);
  if (sessions == NULL
      || !cloche_dbus_sessions_call_exec_sync (sessions, argv[1],
                                               (const char * const *) argv + first, options,
                                               &exit_code, &out, &err, NULL, NULL, &error))
    return clochectl_fail (_("cannot run the command"), error);

  clochectl_exec_write_all (STDOUT_FILENO, out);
  clochectl_exec_write_all (STDERR_FILENO, err);
  return exit_code & 0xff;
}
