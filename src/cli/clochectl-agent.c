/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl agent: coding agents in the sandbox (issue 17).
 *
 *   clochectl agent list [--json]       the profiles (built-in and the user's)
 *   clochectl agent NAME [DIR…] [-- ARG…]
 *       a new session with each DIR read-write (the current folder by
 *       default), the profile's hosts added to that session's egress rules,
 *       and the profile's command in a terminal there: clochectl run's
 *       terminal (clochectl-shell.c), with the variables the profile names
 *       passed from our environment. Closed when the agent ends.
 *
 * Profiles are read by libcloche (cloche-agent-profile.c) as untrusted
 * files; a broken one is an error naming its file, line, column and key.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "cloche-agent-profile.h"
#include "clochectl.h"

static char *
joined (const char * const *words,
        const char         *separator)
{
  return g_strjoinv (separator, (GStrv) words);
}

static JsonNode *
profile_to_json (ClocheAgentProfile *profile)
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
  json_builder_set_member_name (builder, "file");
  if (cloche_agent_profile_get_file (profile) != NULL)
    json_builder_add_string_value (builder, cloche_agent_profile_get_file (profile));
  else
    json_builder_add_null_value (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
print_profile (ClocheAgentProfile *profile)
{
  g_autofree char *command = joined (cloche_agent_profile_get_command (profile), " ");
  g_autofree char *hosts = joined (cloche_agent_profile_get_hosts (profile), ", ");
  g_autofree char *env = joined (cloche_agent_profile_get_env (profile), ", ");
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
  g_print (_("  hosts:    %s\n"), hosts[0] != '\0' ? safe[1] : _("(none beyond the policy)"));
  g_print (_("  env:      %s\n"), env[0] != '\0' ? safe[2] : _("(none)"));
  g_print (_("  profile:  %s\n"), file != NULL ? safe[3] : _("built in"));
  for (guint i = 0; i < G_N_ELEMENTS (safe); i++)
    g_free (safe[i]);
}

static int
agent_list (int    argc,
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
        json_array_add_element (array, profile_to_json (profiles->pdata[i]));
      json_node_set_array (root, array);
      clochectl_print_json (root);
    }
  else
    for (guint i = 0; i < profiles->len; i++)
      print_profile (profiles->pdata[i]);
  for (guint i = 0; i < problems->len; i++)
    {
      g_autofree char *safe = clochectl_printable (problems->pdata[i]);

      g_printerr (_("clochectl: not an agent profile: %s\n"), safe);
    }
  return problems->len > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

int
clochectl_agent (int    argc,
                 char **argv)
{
  if (argc < 2)
    return clochectl_usage ();
  if (g_str_equal (argv[1], "list"))
    return agent_list (argc - 1, argv + 1);
  return clochectl_usage ();
}
