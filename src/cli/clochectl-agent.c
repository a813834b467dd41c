/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl agent: coding agents in the sandbox (issue 17).
 *
 *   clochectl agent list [--json]       the profiles (built-in and the user's),
 *                                       each said installed or not
 *   clochectl agent install NAME        its package into the tools folder, inside
 *                                       the sandbox (clochectl-agent-install.c)
 *   clochectl agent NAME [DIR…] [-- ARG…]
 *       a new session with each DIR read-write (the current folder by
 *       default), the profile's hosts added to that session's egress rules,
 *       and the profile's command in a terminal there: clochectl run's
 *       terminal (clochectl-shell.c), with the variables the profile names
 *       passed from our environment. Closed when the agent ends.
 *   clochectl agent NAME --session ID [-- ARG…]
 *       the same in session ID, which its opener gave the folders and the
 *       profile's hosts: the app's agent mode (src/app/cloche-overview-page.c)
 *       opens the session itself and runs this in its terminal, so that
 *       the command, its folder, the variables and the words on a missing
 *       agent are this file's alone.
 *
 * Profiles are read by libcloche (cloche-agent-profile.c) as untrusted
 * files; a broken one is an error naming its file, line, column and key.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "cloche-agent-profile.h"
#include "cloche-tools.h"
#include "clochectl.h"

static char *
clochectl_agent_joined (const char * const *words,
                        const char         *separator)
{
  return g_strjoinv (separator, (GStrv) words);
}

static JsonNode *
clochectl_agent_profile_to_json (ClocheAgentProfile *profile)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  const char * const *lists[] = { cloche_agent_profile_get_command (profile),
                                  cloche_agent_profile_get_hosts (profile),
                                  cloche_agent_profile_get_env (profile) };
  const char *list_names[] = { "command", "hosts", "env" };

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, cloche_agent_profile_get_name (profile));
  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      json_builder_set_member_name (builder, list_names[i]);
      json_builder_begin_array (builder);
      for (guint j = 0; lists[i][j] != NULL; j++)
        json_builder_add_string_value (builder, lists[i][j]);
      json_builder_end_array (builder);
    }
  json_builder_set_member_name (builder, "package");
  if (cloche_agent_profile_get_package (profile) != NULL)
    json_builder_add_string_value (builder, cloche_agent_profile_get_package (profile));
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "installed");
  json_builder_add_boolean_value (builder, cloche_tools_has_command (lists[0][0]));
  json_builder_set_member_name (builder, "file");
  if (cloche_agent_profile_get_file (profile) != NULL)
    json_builder_add_string_value (builder, cloche_agent_profile_get_file (profile));
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
clochectl_agent_print_profile (ClocheAgentProfile *profile)
{
  g_autofree char *command =
    clochectl_agent_joined (cloche_agent_profile_get_command (profile), " ");
  g_autofree char *hosts = clochectl_agent_joined (cloche_agent_profile_get_hosts (profile), ", ");
  g_autofree char *env = clochectl_agent_joined (cloche_agent_profile_get_env (profile), ", ");
  const char *file = cloche_agent_profile_get_file (profile);
  const char *package = cloche_agent_profile_get_package (profile);
  char *safe[] = {
    clochectl_printable (command), clochectl_printable (hosts), clochectl_printable (env),
    clochectl_printable (file), clochectl_printable (package),
    clochectl_printable (cloche_agent_profile_get_description (profile)),
  };

  g_print ("%s\n", cloche_agent_profile_get_name (profile));
  if (cloche_agent_profile_get_description (profile) != NULL)
    g_print ("  %s\n", safe[5]);
  g_print (_("  command:  %s\n"), safe[0]);
  g_print (_("  package:  %s\n"), package != NULL ? safe[4] : _("(none: not installed by Cloche)"));
  g_print (_("  installed: %s\n"),
           cloche_tools_has_command (cloche_agent_profile_get_command (profile)[0])
           ? _("yes, in the tools folder") : _("no"));
  g_print (_("  hosts:    %s\n"), hosts[0] != '\0' ? safe[1] : _("(none beyond the policy)"));
  g_print (_("  env:      %s\n"), env[0] != '\0' ? safe[2] : _("(none)"));
  g_print (_("  profile:  %s\n"), file != NULL ? safe[3] : _("built in"));
  for (guint i = 0; i < G_N_ELEMENTS (safe); i++)
    g_free (safe[i]);
}

static int
clochectl_agent_list (int    argc,
                      char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };
  g_autoptr(GPtrArray) profiles = NULL;
  g_autoptr(GPtrArray) problems = NULL;

  if (!clochectl_parse_options (&argc, &argv, entries, "list") || argc != 1)
    return clochectl_usage ();
  profiles = cloche_agent_profile_list (NULL, &problems);
  if (json)
    {
      g_autoptr(JsonArray) array = json_array_new ();
      g_autoptr(JsonNode) root = json_node_new (JSON_NODE_ARRAY);

      for (guint i = 0; i < profiles->len; i++)
        json_array_add_element (array, clochectl_agent_profile_to_json (profiles->pdata[i]));
      json_node_set_array (root, array);
      clochectl_print_json (root);
    }
  else
    for (guint i = 0; i < profiles->len; i++)
      clochectl_agent_print_profile (profiles->pdata[i]);
  for (guint i = 0; i < problems->len; i++)
    {
      g_autofree char *safe = clochectl_printable (problems->pdata[i]);

      g_printerr (_("clochectl: not an agent profile: %s\n"), safe);
    }
  return problems->len > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* NAME, then the folders, then after "--" the agent's own arguments. */
static gboolean
clochectl_agent_parse_launch (int                     argc,
                              char                  **argv,
                              ClochectlShellRequest  *request,
                              GStrv                  *folders,
                              GStrv                  *arguments)
{
  g_autoptr(GPtrArray) options = g_ptr_array_new ();
  GOptionEntry entries[] = {
    { "title", 0, 0, G_OPTION_ARG_STRING, &request->title, "A title for the session", "TITLE" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &request->keep,
      "Leave the session open when the agent ends", NULL },
    { "session", 0, 0, G_OPTION_ARG_STRING, &request->id,
      "Run in this open session (given the folders and hosts when opened)", "ID" },
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
  if (!clochectl_parse_options (&count, &list, entries, "NAME [DIR…] [-- ARG…]") || count < 1)
    return FALSE;
  /* An open session has its folders and hosts: none to add. */
  if (request->id != NULL && (count > 1 || request->keep || request->title != NULL))
    return FALSE;
  *folders = g_strdupv (list + 1);
  *arguments = g_strdupv (split < argc ? argv + split + 1 : (char *[]) { NULL });
  return TRUE;
}

/* g_strv_builder_take() is GLib 2.80. */
static void
clochectl_agent_builder_take (GStrvBuilder *builder,
                              char         *text)
{
  g_strv_builder_add (builder, text);
  g_free (text);
}

/* Each folder read-write (the current one by default): an agent edits
 * the project it is started in. */
static GStrv
clochectl_agent_rw_mounts (const char * const *folders)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autofree char *here = NULL;

  if (folders[0] == NULL)
    {
      here = g_get_current_dir ();
      clochectl_agent_builder_take (builder, g_strconcat (here, ":rw", NULL));
    }
  for (guint i = 0; folders[i] != NULL; i++)
    clochectl_agent_builder_take (builder, g_strconcat (folders[i], ":rw", NULL));
  return g_strv_builder_end (builder);
}

/* The variables the profile names, from our environment: those set only. */
static GStrv
clochectl_agent_passed_env (ClocheAgentProfile *profile)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char * const *names = cloche_agent_profile_get_env (profile);

  for (guint i = 0; names[i] != NULL; i++)
    if (g_getenv (names[i]) != NULL)
      clochectl_agent_builder_take (builder,
                                    g_strdup_printf ("%s=%s", names[i], g_getenv (names[i])));
  return g_strv_builder_end (builder);
}

static GStrv
clochectl_agent_command (ClocheAgentProfile *profile,
                         const char * const *arguments)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_strv_builder_addv (builder, (const char **) cloche_agent_profile_get_command (profile));
  g_strv_builder_addv (builder, (const char **) arguments);
  return g_strv_builder_end (builder);
}

static int
clochectl_agent_launch (int    argc,
                        char **argv)
{
  g_auto(ClochectlShellRequest) request = { 0 };
  g_autoptr(ClocheAgentProfile) profile = NULL;
  g_autoptr(ClocheDbusDaemon) daemon = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) folders = NULL, arguments = NULL;
  const char * const *hosts;
  int status;

  if (!clochectl_agent_parse_launch (argc, argv, &request, &folders, &arguments))
    return clochectl_usage ();
  profile = cloche_agent_profile_lookup (NULL, argv[0], &error);
  if (profile == NULL)
    return clochectl_fail (_("cannot run the agent"), error);
  hosts = cloche_agent_profile_get_hosts (profile);
  if (request.id == NULL)
    request.mounts = clochectl_agent_rw_mounts ((const char * const *) folders);
  request.env = clochectl_agent_passed_env (profile);
  request.command = clochectl_agent_command (profile, (const char * const *) arguments);
  if (hosts[0] != NULL && request.id == NULL)
    request.egress_allow = g_strdupv ((GStrv) hosts);
  request.cwd_in_first_mount = TRUE;
  request.client = g_strdup_printf ("clochectl agent %s", argv[0]);
  if (request.title == NULL && request.id == NULL)
    request.title = g_strdup_printf (_("Agent %s"), argv[0]);
  daemon = clochectl_connect_daemon (FALSE, &error);
  if (daemon == NULL)
    return clochectl_fail (_("cannot reach the Cloche service"), error);
  status = clochectl_shell_request_run (daemon, &request);
  /* 127: the guest has no such command. Agents are installed inside the
   * sandbox, never on the host; say which package that takes. */
  if (status == 127 && cloche_agent_profile_get_package (profile) != NULL)
    {
      g_autofree char *program = clochectl_printable (request.command[0]);
      g_autofree char *package = clochectl_printable (cloche_agent_profile_get_package (profile));

      g_autofree char *name = clochectl_printable (argv[0]);

      g_printerr (_("clochectl: “%s” is not in the sandbox: the agent's npm package %s must be "
                    "installed inside the VM first: clochectl agent install %s\n"),
                  program, package, name);
    }
  return status;
}

int
clochectl_agent (int    argc,
                 char **argv)
{
  if (argc < 2)
    return clochectl_usage ();
  if (g_str_equal (argv[1], "list"))
    return clochectl_agent_list (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "install"))
    return clochectl_agent_install (argc - 1, argv + 1);
  return clochectl_agent_launch (argc - 1, argv + 1);
}
