/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * session_info: what the model should know about where it works: the
 * session's id and folder, its host folders with their modes, the VM's
 * state and accelerator, and the egress rules in force. Read from the
 * daemon's properties, no command runs.
 */
#include "config.h"

#include "clochectl-mcp-tool.h"

static void
clochectl_mcp_tool_info_run (GTask *task)
{
  static const char * const names[] = { NULL };
  g_autoptr(GError) error = NULL;

  if (!clochectl_mcp_check_names (clochectl_mcp_tool_get_arguments (task), names, &error))
    {
      clochectl_mcp_tool_return_error (task, "%s", error->message);
      return;
    }
  clochectl_mcp_tool_return_structured (task,
                                        clochectl_mcp_sandbox_describe (g_task_get_source_object (task)));
}

const ClochectlMcpTool clochectl_mcp_tool_session_info = {
  .name = "session_info",
  .title = "Describe the sandbox session",
  .description =
    "Describes this sandbox session: its id and folder in the VM (where commands start), "
    "the host folders mounted in it (at mnt/NAME) with their modes (ro: read-only, rw: "
    "read-write), the VM's state and accelerator, and the egress policy (which hosts "
    "commands may reach).",
  .input_schema = "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
  .output_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"session_id\":{\"type\":\"string\"},\"session_folder\":{\"type\":\"string\"},"
    "\"folders\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\"},\"guest_path\":{\"type\":\"string\"},"
    "\"host_path\":{\"type\":\"string\"},"
    "\"mode\":{\"type\":\"string\",\"enum\":[\"ro\",\"rw\"]}},"
    "\"required\":[\"path\",\"guest_path\",\"host_path\",\"mode\"]}},"
    "\"vm\":{\"type\":\"object\",\"properties\":{"
    "\"state\":{\"type\":\"string\"},\"state_reason\":{\"type\":\"string\"},"
    "\"accelerator\":{\"type\":\"string\"},\"accelerator_reason\":{\"type\":\"string\"}},"
    "\"required\":[\"state\"]},"
    "\"egress\":{\"type\":\"object\",\"properties\":{"
    "\"default_rule\":{\"type\":\"string\"},"
    "\"rules\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
    "\"required\":[\"default_rule\",\"rules\"]}},"
    "\"required\":[\"session_id\",\"session_folder\",\"folders\",\"vm\",\"egress\"]}",
  .read_only = TRUE,
  .run = clochectl_mcp_tool_info_run,
};
