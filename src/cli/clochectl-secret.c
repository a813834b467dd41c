/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl secret: the secrets the egress proxy puts into requests
 * (docs/secrets.md). Needs no daemon: the value goes to the user's keyring
 * (libsecret, ClocheSecretStore) and the binding (hosts, header, format)
 * into the user's policy file as `secrets.NAME`, which a running daemon
 * watches and takes up by itself.
 *
 * Its rules: a value is read from stdin, or from the terminal with echo
 * off, never from argv (which other users see in ps); it is never printed,
 * not even by list. A binding the administrator locks is refused before
 * anything changes. The binding is checked by the daemon's own parser
 * (cloche_secret_binding_new()) before the file is written, and the file is
 * written whole (a temporary file renamed over it).
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

#include "cloche-policy.h"
#include "cloche-secret-binding.h"
#include "cloche-secret-store.h"
#include "clochectl.h"

/* A value longer than this is not an API key: a file piped by mistake. */
#define MAX_VALUE (16 * 1024)

static int
secret_usage (void)
{
  g_printerr (_("Usage:\n"
                "  clochectl secret set NAME --host HOST[,HOST…] [--header HEADER] "
                "[--format 'Bearer {}']\n"
                "      (the value is read from stdin, or asked for on a terminal)\n"
                "  clochectl secret list\n"
                "  clochectl secret remove NAME\n"));
  return 2;
}

/* The keyring, synchronously: the command has nothing else to do. */

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

/* The value */

/* One line from the terminal, not echoed. */
static char *
prompt_value (const char *name)
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
slurp_stdin (gsize *length)
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
read_value (const char  *name,
            GError     **error)
{
  gsize length = 0;
  g_autofree char *value = NULL;

  if (isatty (STDIN_FILENO))
    {
      value = prompt_value (name);
      length = strlen (value);
    }
  else
    value = slurp_stdin (&length);
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

/* The user's policy file */

static JsonObject *
load_user_file (const char  *path,
                JsonNode   **root,
                GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      JsonObject *object = json_object_new ();

      json_object_set_int_member (object, "version", 1);
      *root = json_node_init_object (json_node_alloc (), object);
      json_object_unref (object);
      return json_node_get_object (*root);
    }
  if (!json_parser_load_from_mapped_file (parser, path, error))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("%s is not a JSON object: fix it first (clochectl policy validate %s)"),
                   path, path);
      return NULL;
    }
  *root = json_node_copy (json_parser_get_root (parser));
  return json_node_get_object (*root);
}

static gboolean
save_user_file (const char  *path,
                JsonNode    *root,
                GError     **error)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   _("cannot make %s: %s"), folder, g_strerror (errno));
      return FALSE;
    }
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* Sets (@binding) or removes (NULL) `secrets.@name` in the user's file. */
static gboolean
edit_user_file (const char                *name,
                const ClocheSecretBinding *binding,
                GError                   **error)
{
  g_autofree char *path = cloche_policy_default_user_path ();
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object = load_user_file (path, &root, error);
  JsonObject *secrets;

  if (object == NULL)
    return FALSE;
  if (!json_object_has_member (object, "secrets")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "secrets")))
    json_object_set_object_member (object, "secrets", json_object_new ());
  secrets = json_object_get_object_member (object, "secrets");
  if (binding == NULL)
    json_object_remove_member (secrets, name);
  else
    {
      g_autoptr(GVariant) value = g_variant_ref_sink (cloche_secret_binding_to_variant (binding));

      json_object_set_member (secrets, name, json_gvariant_serialize (value));
    }
  return save_user_file (path, root, error);
}

/* The policy in force, as the daemon would load it. */
static ClochePolicy *
load_policy (void)
{
  ClochePolicy *policy = cloche_policy_new (NULL, NULL);

  cloche_policy_load (policy);
  return policy;
}

static gboolean
check_unlocked (ClochePolicy  *policy,
                const char    *name,
                GError       **error)
{
  g_autofree char *key = g_strdup_printf ("secrets.%s", name);

  if (!cloche_policy_is_locked (policy, key))
    return TRUE;
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_LOCKED,
               _("the administrator's policy (%s) locks %s: ask them to change it"),
               cloche_policy_get_admin_path (policy), key);
  return FALSE;
}

/* set */

static ClocheSecretBinding *
binding_from_options (const char  *name,
                      const char  *hosts,
                      const char  *header,
                      const char  *format,
                      GError     **error)
{
  g_auto(GStrv) list = NULL;

  if (hosts == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("--host names the hosts %s goes to (api.example.com,*.example.org)"),
                   name);
      return NULL;
    }
  list = g_strsplit (hosts, ",", -1);
  return cloche_secret_binding_new (name, (const char * const *) list,
                                    header != NULL ? header : CLOCHE_SECRET_DEFAULT_HEADER,
                                    format != NULL ? format : CLOCHE_SECRET_DEFAULT_FORMAT,
                                    error);
}

static gboolean
save_value (const char  *name,
            const char  *value,
            GError     **error)
{
  g_autoptr(ClocheSecretStore) store = cloche_secret_store_new ();
  g_autoptr(GAsyncResult) result = NULL;

  cloche_secret_store_save_async (store, name, value, NULL, on_done, &result);
  return cloche_secret_store_save_finish (store, wait_for (&result), error);
}

static int
secret_set (int    argc,
            char **argv)
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
  g_autoptr(ClochePolicy) policy = NULL;
  g_autoptr(ClocheSecretValue) value = NULL;
  g_autoptr(GError) error = NULL;

  if (!clochectl_parse_options (&argc, &argv, entries, "NAME"))
    return 2;
  if (argc != 2)
    return secret_usage ();
  binding = binding_from_options (argv[1], hosts, header, format, &error);
  policy = load_policy ();
  if (binding == NULL || !check_unlocked (policy, argv[1], &error))
    return clochectl_fail (_("cannot set the secret"), error);
  value = read_value (argv[1], &error);
  if (value == NULL || !save_value (argv[1], value, &error))
    return clochectl_fail (_("cannot keep the value in the keyring"), error);
  if (!edit_user_file (argv[1], binding, &error))
    return clochectl_fail (_("cannot write the binding to the policy"), error);
  g_print (_("%s is in the keyring, bound to %s in its header “%s”; in a session "
             "it is $%s.\n"), argv[1], hosts, binding->header, argv[1]);
  return EXIT_SUCCESS;
}

/* list */

static GStrv
names_with_values (GError **error)
{
  g_autoptr(ClocheSecretStore) store = cloche_secret_store_new ();
  g_autoptr(GAsyncResult) result = NULL;

  cloche_secret_store_list_async (store, NULL, on_done, &result);
  return cloche_secret_store_list_finish (store, wait_for (&result), error);
}

static int
secret_list (int    argc,
             char **argv)
{
  g_autoptr(ClochePolicy) policy = NULL;
  g_autoptr(GPtrArray) bindings = NULL;
  g_auto(GStrv) stored = NULL;
  g_autoptr(GError) error = NULL;

  if (argc != 1)
    return secret_usage ();
  stored = names_with_values (&error);
  if (stored == NULL)
    return clochectl_fail (_("cannot read the keyring"), error);
  policy = load_policy ();
  bindings = cloche_policy_dup_secret_bindings (policy);
  if (bindings->len == 0)
    g_print (_("No secret is bound (clochectl secret set NAME --host HOST).\n"));
  for (guint i = 0; i < bindings->len; i++)
    {
      ClocheSecretBinding *binding = bindings->pdata[i];
      g_autofree char *hosts = g_strjoinv (",", binding->hosts);
      g_autofree char *key = g_strdup_printf ("secrets.%s", binding->name);

      g_print ("%-24s %s  %s: %s  %s%s\n", binding->name, hosts, binding->header,
               binding->format,
               g_strv_contains ((const char * const *) stored, binding->name)
               ? _("value in the keyring") : _("NO VALUE (clochectl secret set)"),
               cloche_policy_is_locked (policy, key) ? _("  (locked)") : "");
    }
  return EXIT_SUCCESS;
}

/* remove */

static gboolean
remove_value (const char  *name,
              GError     **error)
{
  g_autoptr(ClocheSecretStore) store = cloche_secret_store_new ();
  g_autoptr(GAsyncResult) result = NULL;

  cloche_secret_store_remove_async (store, name, NULL, on_done, &result);
  return cloche_secret_store_remove_finish (store, wait_for (&result), error);
}

static int
secret_remove (int    argc,
               char **argv)
{
  g_autoptr(ClochePolicy) policy = NULL;
  g_autoptr(GError) error = NULL;

  if (argc != 2)
    return secret_usage ();
  policy = load_policy ();
  if (!cloche_secret_name_check (argv[1], &error) || !check_unlocked (policy, argv[1], &error))
    return clochectl_fail (_("cannot remove the secret"), error);
  if (!remove_value (argv[1], &error))
    return clochectl_fail (_("cannot remove the value from the keyring"), error);
  if (!edit_user_file (argv[1], NULL, &error))
    return clochectl_fail (_("cannot remove the binding from the policy"), error);
  g_print (_("%s is gone from the keyring and from your policy.\n"), argv[1]);
  return EXIT_SUCCESS;
}

int
clochectl_secret (int    argc,
                  char **argv)
{
  if (argc < 2)
    return secret_usage ();
  if (g_str_equal (argv[1], "set"))
    return secret_set (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "list"))
    return secret_list (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "remove"))
    return secret_remove (argc - 1, argv + 1);
  return secret_usage ();
}
