/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl secret: the secrets the egress proxy puts into requests
 * (docs/secrets.md), through the daemon's io.github.cloche.Secrets, the
 * one way they change (the app's Secrets page calls it too): the daemon
 * puts the value in the user's keyring and the binding (hosts, header,
 * format) in the user's policy file as `secrets.NAME`.
 *
 * Its rules: a value is read from stdin, or from the terminal with echo
 * off, never from argv (which other users see in ps); it is never printed,
 * and list never gets one. The binding is checked by the daemon's own
 * parser (cloche_secret_binding_new()) before a value is asked for; the
 * daemon checks it again, with the value, and refuses a binding the
 * administrator locks before anything changes.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cloche-secret-binding.h"
#include "cloche-secret-store.h"
#include "clochectl.h"

/* A value longer than this is not an API key: a file piped by mistake. */
#define MAX_VALUE (16 * 1024)

static int
clochectl_secret_usage (void)
{
  g_printerr (_("Usage:\n"
                "  clochectl secret set NAME --host HOST[,HOST…] [--header HEADER] "
                "[--format 'Bearer {}']\n"
                "  clochectl secret set NAME   (a new value for the binding in force)\n"
                "      (the value is read from stdin, or asked for on a terminal)\n"
                "  clochectl secret list\n"
                "  clochectl secret remove NAME\n"));
  return 2;
}

/* The value */

/* One line from the terminal, not echoed. */
static char *
clochectl_secret_prompt_value (const char *name)
{
  struct termios saved, quiet;
  char *line = g_malloc0 (MAX_VALUE + 2);
  gboolean read_ok;

  g_printerr (_("Value of %s (not shown): "), name);
  tcgetattr (STDIN_FILENO, &saved);
  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
  read_ok = fgets (line, MAX_VALUE + 2, stdin) != NULL;
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
  g_printerr ("\n");
  if (!read_ok)
    line[0] = '\0';
  return line;
}

/* Everything on stdin, up to a limit. */
static char *
clochectl_secret_slurp_stdin (gsize *length)
{
  GString *text = g_string_new (NULL);
  char buffer[4096];
  size_t n;

  while ((n = fread (buffer, 1, sizeof buffer, stdin)) > 0 && text->len <= MAX_VALUE)
    g_string_append_len (text, buffer, n);
  *length = text->len;
  return g_string_free (text, FALSE);
}

/* The value, without the one newline that ends a line; checked. */
static char *
clochectl_secret_read_value (const char  *name,
                             GError     **error)
{
  gsize length = 0;
  g_autofree char *value = NULL;

  if (isatty (STDIN_FILENO))
    {
      value = clochectl_secret_prompt_value (name);
      length = strlen (value);
    }
  else
    value = clochectl_secret_slurp_stdin (&length);
  if (length > 0 && value[length - 1] == '\n')
    value[--length] = '\0';
  if (length > 0 && value[length - 1] == '\r')
    value[--length] = '\0';
  if (!cloche_secret_value_check (value, length, error))
    {
      explicit_bzero (value, length);
      return NULL;
    }
  return g_steal_pointer (&value);
}

/* The daemon's io.github.cloche.Secrets */

static ClocheDbusSecrets *
clochectl_secret_secrets_proxy (ClocheDbusDaemon  *daemon,
                                GError           **error)
{
  g_autofree char *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (daemon));
  ClocheDbusSecrets *proxy;

  if (owner == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_FAILED,
                   _("the Cloche service (%s) is not running and could not be started"),
                   DAEMON_BUS_NAME);
      return NULL;
    }
  proxy = cloche_dbus_secrets_proxy_new_sync (g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon)),
                                              G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                                              DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, error);
  if (proxy != NULL)
    g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), 60 * 1000);
  return proxy;
}

/* set */

/* The binding of @name in force, as the daemon lists it; NULL if none. */
static GVariant *
clochectl_secret_binding_in_force (ClocheDbusSecrets  *secrets,
                                   const char         *name,
                                   GError            **error)
{
  g_autoptr(GVariant) bindings = NULL;
  g_autofree char *problem = NULL;
  GVariant *binding;
  GVariantIter iter;

  if (!cloche_dbus_secrets_call_list_sync (secrets, &bindings, &problem, NULL, error))
    return NULL;
  g_variant_iter_init (&iter, bindings);
  while ((binding = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *listed;

      g_variant_get_child (binding, 0, "&s", &listed);
      if (g_str_equal (listed, name))
        return binding;
      g_variant_unref (binding);
    }
  return NULL;
}

/* Checked here by the daemon's own parser, so that a bad binding is told
 * before a value is asked for; the daemon checks it again. Without
 * --host, the binding in force (an administrator's, say) gets a value. */
static ClocheSecretBinding *
clochectl_secret_binding_from_options (ClocheDbusSecrets  *secrets,
                                       const char         *name,
                                       GStrv               hosts,
                                       const char         *header,
                                       const char         *format,
                                       GError            **error)
{
  g_autoptr(GVariant) current = NULL;
  g_autofree const char **listed_hosts = NULL;
  const char *listed_header, *listed_format;

  if (hosts != NULL)
    return cloche_secret_binding_new (name, (const char * const *) hosts,
                                      header != NULL ? header : CLOCHE_SECRET_DEFAULT_HEADER,
                                      format != NULL ? format : CLOCHE_SECRET_DEFAULT_FORMAT,
                                      error);
  current = clochectl_secret_binding_in_force (secrets, name, error);
  if (current == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                     _("%s is bound to no host yet: --host names the hosts it goes to "
                       "(api.example.com,*.example.org)"), name);
      return NULL;
    }
  g_variant_get (current, "(&s^a&s&s&sbb)", NULL, &listed_hosts, &listed_header,
                 &listed_format, NULL, NULL);
  return cloche_secret_binding_new (name, listed_hosts,
                                    header != NULL ? header : listed_header,
                                    format != NULL ? format : listed_format, error);
}

static int
clochectl_secret_set (ClocheDbusSecrets  *secrets,
                      int                 argc,
                      char              **argv)
{
  g_autofree char *hosts = NULL, *header = NULL, *format = NULL;
  GOptionEntry entries[] = {
    { "host", 0, 0, G_OPTION_ARG_STRING, &hosts, N_("Hosts the secret goes to"), "HOST[,HOST…]" },
    { "header", 0, 0, G_OPTION_ARG_STRING, &header, N_("The header it goes in"), "HEADER" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, N_("How it is written, {} for the value"),
      "FORMAT" },
    { NULL }
  };
  g_autoptr(ClocheSecretBinding) binding = NULL;
  g_autoptr(ClocheSecretValue) value = NULL;
  g_auto(GStrv) list = NULL;
  g_autoptr(GError) error = NULL;

  if (!clochectl_parse_options (&argc, &argv, entries, "NAME"))
    return 2;
  if (argc != 2)
    return clochectl_secret_usage ();
  list = hosts != NULL ? g_strsplit (hosts, ",", -1) : NULL;
  binding = clochectl_secret_binding_from_options (secrets, argv[1], list, header, format, &error);
  if (binding == NULL)
    return clochectl_fail (_("cannot set the secret"), error);
  value = clochectl_secret_read_value (argv[1], &error);
  if (value == NULL)
    return clochectl_fail (_("cannot set the secret"), error);
  if (!cloche_dbus_secrets_call_set_sync (secrets, binding->name,
                                          (const char * const *) binding->hosts,
                                          binding->header, binding->format, value, NULL, &error))
    return clochectl_fail (_("cannot set the secret"), error);
  {
    g_autofree char *joined = g_strjoinv (",", binding->hosts);

    g_print (_("%s is in the keyring, bound to %s in its header “%s”; in a session "
               "it is $%s.\n"), argv[1], joined, binding->header, argv[1]);
  }
  return EXIT_SUCCESS;
}

/* list */

static int
clochectl_secret_list (ClocheDbusSecrets  *secrets,
                       int                 argc,
                       char              **argv)
{
  g_autoptr(GVariant) bindings = NULL;
  g_autofree char *problem = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  const char *name, *header, *format;
  g_autofree const char **hosts = NULL;
  gboolean has_value, locked;

  if (argc != 1)
    return clochectl_secret_usage ();
  if (!cloche_dbus_secrets_call_list_sync (secrets, &bindings, &problem, NULL, &error))
    return clochectl_fail (_("cannot list the secrets"), error);
  if (problem[0] != '\0')
    g_printerr (_("The keyring cannot be read: %s\n"), problem);
  if (g_variant_n_children (bindings) == 0)
    g_print (_("No secret is bound (clochectl secret set NAME --host HOST).\n"));
  g_variant_iter_init (&iter, bindings);
  while (g_variant_iter_next (&iter, "(&s^a&s&s&sbb)", &name, &hosts, &header, &format,
                              &has_value, &locked))
    {
      g_autofree char *joined = g_strjoinv (",", (char **) hosts);

      g_print ("%-24s %s  %s: %s  %s%s\n", name, joined, header, format,
               has_value ? _("value in the keyring") : _("NO VALUE (clochectl secret set)"),
               locked ? _("  (locked)") : "");
      g_clear_pointer (&hosts, g_free);
    }
  return EXIT_SUCCESS;
}

/* remove */

static int
clochectl_secret_remove (ClocheDbusSecrets  *secrets,
                         int                 argc,
                         char              **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    return clochectl_secret_usage ();
  if (!cloche_dbus_secrets_call_remove_sync (secrets, argv[1], NULL, &error))
    return clochectl_fail (_("cannot remove the secret"), error);
  g_print (_("%s is gone from the keyring and from your policy.\n"), argv[1]);
  return EXIT_SUCCESS;
}

int
clochectl_secret (ClocheDbusDaemon  *daemon,
                  int                argc,
                  char             **argv)
{
  g_autoptr(ClocheDbusSecrets) secrets = NULL;
  g_autoptr(GError) error = NULL;

  if (argc < 2)
    return clochectl_secret_usage ();
  secrets = clochectl_secret_secrets_proxy (daemon, &error);
  if (secrets == NULL)
    return clochectl_fail (_("cannot reach the Cloche service"), error);
  if (g_str_equal (argv[1], "set"))
    return clochectl_secret_set (secrets, argc - 1, argv + 1);
  if (g_str_equal (argv[1], "list"))
    return clochectl_secret_list (secrets, argc - 1, argv + 1);
  if (g_str_equal (argv[1], "remove"))
    return clochectl_secret_remove (secrets, argc - 1, argv + 1);
  return clochectl_secret_usage ();
}
