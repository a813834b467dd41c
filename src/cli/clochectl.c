/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl: the daemon's API for scripts and agent front-ends. Blocking
 * D-Bus calls are fine here: a command line has no window to freeze.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloche-i18n.h"
#include "clochectl.h"

/* Booting under software emulation takes seconds, not the 25 s default. */
#define CALL_TIMEOUT_MS (10 * 60 * 1000)

/* Characters a terminal acts on or that reorder what it shows: C0, DEL,
 * C1, and the bidirectional controls (text that reads differently from
 * what it is). */
static gboolean
clochectl_is_unprintable (gunichar c)
{
  return g_unichar_iscntrl (c) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
         || c == 0x2028 || c == 0x2029;
}

/**
 * clochectl_printable:
 * @text: (nullable): text a guest, a file or a D-Bus caller chose
 *
 * Returns: (transfer full): @text for a terminal: valid UTF-8, and every
 *   character a terminal would act on (escape sequences start with one) or
 *   that reorders the line written as an escape (\x1b, \u202e), so that
 *   such text can neither move the cursor nor retitle the window nor hide
 *   what follows it
 */
char *
clochectl_printable (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);
  GString *out = g_string_sized_new (strlen (valid));

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (!clochectl_is_unprintable (c))
        g_string_append_unichar (out, c);
      else if (c < 0x100)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_printf (out, "\\u%04x", c);
    }
  return g_string_free (out, FALSE);
}

int
clochectl_fail (const char   *what,
                const GError *error)
{
  g_autoptr(GError) copy = g_error_copy (error);

  g_dbus_error_strip_remote_error (copy);
  g_printerr ("clochectl: %s: %s\n", what, copy->message);
  return EXIT_FAILURE;
}

int
clochectl_usage (void)
{
  g_printerr (_("Usage:\n"
                "  clochectl status [--json]\n"
                "  clochectl session open [--title TITLE] [--mount PATH[:ro|:rw]]…\n"
                "  clochectl session fork ID [--title TITLE]\n"
                "  clochectl session close ID\n"
                "  clochectl session list [--json] [--stale]\n"
                "  clochectl session show ID [--json]\n"
                "  clochectl session pin|unpin ID\n"
                "  clochectl cleanup [--dry-run] [--older-than DAYS] [--json]\n"
                "  clochectl exec ID [--cwd DIR] [--env NAME=VALUE]… [--stdin]\n"
                "                 [--timeout SECONDS] -- COMMAND [ARG…]\n"
                "  clochectl shell [ID] [--mount PATH[:ro|:rw]]… [--title T] [--keep]\n"
                "  clochectl shell --list [ID]\n"
                "  clochectl shell --attach TERMINAL\n"
                "  clochectl run [ID] [--mount PATH[:ro|:rw]]… [--env NAME=VALUE]… [--cwd DIR]\n"
                "                [--title T] [--keep] -- COMMAND [ARG…]\n"
                "  clochectl vm stop\n"
                "  clochectl monitor [--json] [--once]\n"
                "  clochectl policy show [--effective] [--json]\n"
                "  clochectl policy validate [--admin] [--json] FILE\n"
                "  clochectl policy reload\n"
                "  clochectl bundle info [--json]\n"
                "  clochectl bundle install SOURCE [--location DIR]\n"
                "  clochectl bundle verify\n"
                "  clochectl bundle relocate DIR\n"
                "  clochectl bundle remove [--force]\n"
                "  clochectl bundle remove-tools\n"
                "  clochectl audit [--follow] [--json] [--session ID] [--since TIME]\n"
                "  clochectl doctor [--json]\n"
                "  clochectl support-report FILE.tar.gz\n"
                "  clochectl egress log [--follow] [--json]\n"
                "  clochectl egress status [--json]\n"
                "  clochectl mcp [--mount DIR[:ro|:rw]]… [--title TITLE] [--session ID]\n"
                "  clochectl mcp --print-config claude-code|claude-desktop|goose|zed\n"
                "  clochectl secret set NAME --host HOST[,HOST…] [--header H] [--format F]\n"
                "  clochectl secret list\n"
                "  clochectl secret remove NAME\n"
                "  clochectl agent list [--json]\n"
                "  clochectl agent install [--cacert FILE] NAME\n"
                "  clochectl agent NAME [DIR…] [--title T] [--keep] [-- ARG…]\n"
                "  clochectl agent NAME --session ID [-- ARG…]\n"));
  return 2;
}

gboolean
clochectl_parse_options (int           *argc,
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

/* calls_only: the command reads none of the Daemon interface's properties
 * (and listens to none of its signals), so its proxy loads none: one
 * round trip less before the call that matters (exec, issue 21; session,
 * whose calls all go to the Sessions interface). */
static const struct {
  const char  *name;
  CommandFunc  func;
  gboolean     calls_only;
} commands[] = {
  { "status", clochectl_status, FALSE },
  { "session", clochectl_session, TRUE },
  { "exec", clochectl_exec, TRUE },
  { "shell", clochectl_shell, FALSE },
  { "run", clochectl_run, FALSE },
  { "vm", clochectl_vm, FALSE },
  { "monitor", clochectl_monitor, FALSE },
  { "cleanup", clochectl_cleanup, FALSE },
  { "bundle", clochectl_bundle, FALSE },
  { "egress", clochectl_egress, FALSE },
  /* Through the daemon, which keeps the keyring and the user's policy file. */
  { "secret", clochectl_secret, FALSE },
};

static const struct {
  const char       *name;
  LocalCommandFunc  func;
} local_commands[] = {
  { "audit", clochectl_audit },
  /* policy validate needs no daemon; the other policy commands connect by themselves. */
  { "policy", clochectl_policy },
  { "doctor", clochectl_doctor },
  { "support-report", clochectl_support_report },
  /* Reaches the daemon only at its first tool call. */
  { "mcp", clochectl_mcp },
  /* list reads files only; launching connects by itself. */
  { "agent", clochectl_agent },
};

/* calls_only: see the table above. */
ClocheDbusDaemon *
clochectl_connect_daemon (gboolean   calls_only,
                          GError   **error)
{
  ClocheDbusDaemon *daemon;
  GDBusProxyFlags flags = calls_only ? G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES
                                       | G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS
                                     : G_DBUS_PROXY_FLAGS_NONE;

  /* Auto-start lets D-Bus activation bring the daemon up; reading its
   * properties never boots the VM. */
  daemon = cloche_dbus_daemon_proxy_new_for_bus_sync (G_BUS_TYPE_SESSION, flags,
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

  cloche_i18n_init ();
  /* Registers the error domain so remote errors keep their CLOCHE_ERROR code. */
  (void) CLOCHE_ERROR;
  if (argc < 2 || g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    return clochectl_usage ();

  for (guint i = 0; i < G_N_ELEMENTS (local_commands); i++)
    if (g_str_equal (argv[1], local_commands[i].name))
      return local_commands[i].func (argc - 1, argv + 1);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (!g_str_equal (argv[1], commands[i].name))
        continue;
      daemon = clochectl_connect_daemon (commands[i].calls_only, &error);
      if (daemon == NULL)
        return clochectl_fail (_("cannot reach the Cloche service"), error);
      return commands[i].func (daemon, argc - 1, argv + 1);
    }
  g_printerr (_("clochectl: unknown command \"%s\"\n"), argv[1]);
  return clochectl_usage ();
}
