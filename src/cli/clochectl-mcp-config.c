/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl mcp --print-config NAME: the exact snippet that makes an MCP
 * client start `clochectl mcp` with the same options, for the clients
 * docs/mcp.md describes. The command is clochectl's absolute path (clients
 * start servers with a small environment and may not search our PATH).
 * JSON through json-glib; YAML and the shell line are quoted by hand, for
 * any path a user may have.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "clochectl-mcp.h"

static char *
clochectl_mcp_config_self_path (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);

  return exe != NULL ? g_steal_pointer (&exe) : g_strdup ("clochectl");
}

static char *
clochectl_mcp_config_json_text (JsonNode *root)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

static JsonArray *
clochectl_mcp_config_args_array (const char * const *args)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; args[i] != NULL; i++)
    json_array_add_string_element (array, args[i]);
  return array;
}

/* Claude Desktop's claude_desktop_config.json: {"mcpServers": {…}};
 * Zed's settings.json: {"context_servers": {…}}. */
static char *
clochectl_mcp_config_server_json (const char         *outer,
                                  const char         *command,
                                  const char * const *args)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  JsonObject *object = json_object_new ();
  JsonObject *servers = json_object_new ();
  JsonObject *server = json_object_new ();

  json_object_set_string_member (server, "command", command);
  json_object_set_array_member (server, "args", clochectl_mcp_config_args_array (args));
  json_object_set_object_member (servers, "cloche", server);
  json_object_set_object_member (object, outer, servers);
  json_node_take_object (root, object);
  return clochectl_mcp_config_json_text (root);
}

/* A YAML double-quoted scalar: JSON's string syntax is one. */
static char *
clochectl_mcp_config_yaml_quote (const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, text);
  return json_to_string (node, FALSE);
}

static char *
clochectl_mcp_config_goose_yaml (const char         *command,
                                 const char * const *args)
{
  GString *out = g_string_new ("extensions:\n  cloche:\n    name: cloche\n    type: stdio\n");
  g_autofree char *cmd = clochectl_mcp_config_yaml_quote (command);

  g_string_append_printf (out, "    cmd: %s\n    args:\n", cmd);
  for (guint i = 0; args[i] != NULL; i++)
    {
      g_autofree char *arg = clochectl_mcp_config_yaml_quote (args[i]);

      g_string_append_printf (out, "      - %s\n", arg);
    }
  /* The first call may boot the VM: goose's default of 300 s is enough
   * even under software emulation, so it is written out, not raised. */
  g_string_append (out, "    enabled: true\n    envs: {}\n    timeout: 300\n");
  return g_string_free (out, FALSE);
}

static char *
clochectl_mcp_config_claude_code_line (const char         *command,
                                       const char * const *args)
{
  GString *out = g_string_new ("claude mcp add cloche -- ");
  g_autofree char *quoted = g_shell_quote (command);

  g_string_append (out, quoted);
  for (guint i = 0; args[i] != NULL; i++)
    {
      g_autofree char *arg = g_shell_quote (args[i]);

      g_string_append_printf (out, " %s", arg);
    }
  g_string_append_c (out, '\n');
  return g_string_free (out, FALSE);
}

/**
 * clochectl_mcp_print_config:
 * @args: what follows the command: "mcp" and the options to repeat
 *
 * Returns: the exit status
 */
int
clochectl_mcp_print_config (const char         *client,
                            const char * const *args)
{
  g_autofree char *command = clochectl_mcp_config_self_path ();
  g_autofree char *text = NULL;

  if (g_strcmp0 (client, "claude-code") == 0)
    text = clochectl_mcp_config_claude_code_line (command, args);
  else if (g_strcmp0 (client, "claude-desktop") == 0)
    text = clochectl_mcp_config_server_json ("mcpServers", command, args);
  else if (g_strcmp0 (client, "goose") == 0)
    text = clochectl_mcp_config_goose_yaml (command, args);
  else if (g_strcmp0 (client, "zed") == 0)
    text = clochectl_mcp_config_server_json ("context_servers", command, args);
  else
    {
      g_printerr (_("clochectl mcp: no configuration for \"%s\"; known clients: claude-code, "
                    "claude-desktop, goose, zed\n"), client);
      return 2;
    }
  g_print ("%s%s", text, g_str_has_suffix (text, "\n") ? "" : "\n");
  return EXIT_SUCCESS;
}
