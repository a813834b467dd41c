/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "clochectl-mcp-sandbox.h"

G_BEGIN_DECLS

/* One tool: its description for tools/list, and how it runs. run() is
 * handed a GTask (source object: the sandbox, open; task data: the
 * arguments, a JsonObject) and returns a CallToolResult JsonObject with
 * g_task_return_pointer(): a tool's failure is a result with isError, never
 * a GError. It may set what it acted on with clochectl_mcp_tool_set_target()
 * for the audit log. */
typedef struct
{
  const char *name;
  const char *title;
  const char *description;
  const char *input_schema;    /* JSON text */
  const char *output_schema;   /* JSON text */
  gboolean    read_only;
  void      (*run) (GTask *task);
} ClochectlMcpTool;

extern const ClochectlMcpTool clochectl_mcp_tool_run_command;
extern const ClochectlMcpTool clochectl_mcp_tool_read_file;
extern const ClochectlMcpTool clochectl_mcp_tool_write_file;
extern const ClochectlMcpTool clochectl_mcp_tool_edit_file;
extern const ClochectlMcpTool clochectl_mcp_tool_list_directory;
extern const ClochectlMcpTool clochectl_mcp_tool_session_info;

/* Results */
JsonObject *clochectl_mcp_tool_structured_result (JsonObject  *structured);
JsonObject *clochectl_mcp_tool_error_result      (const char  *text);
void        clochectl_mcp_tool_return_structured (GTask       *task,
                                                  JsonObject  *structured);
void        clochectl_mcp_tool_return_error      (GTask       *task,
                                                  const char  *format,
                                                  ...) G_GNUC_PRINTF (2, 3);
void        clochectl_mcp_tool_return_gerror     (GTask       *task,
                                                  const char  *what,
                                                  const GError *error);
void        clochectl_mcp_tool_set_target        (GTask       *task,
                                                  const char  *target);
const char *clochectl_mcp_tool_get_target        (GTask       *task);
char       *clochectl_mcp_text_cut               (GBytes      *bytes,
                                                  gsize        keep,
                                                  gsize       *cut);

/* Arguments, checked against what the schema says; each failure is a
 * sentence for the model, in @error. */
JsonObject *clochectl_mcp_tool_get_arguments     (GTask       *task);
gboolean    clochectl_mcp_arg_string             (JsonObject  *arguments,
                                                  const char  *name,
                                                  gboolean     required,
                                                  const char **value,
                                                  GError     **error);
gboolean    clochectl_mcp_arg_int                (JsonObject  *arguments,
                                                  const char  *name,
                                                  gint64       min,
                                                  gint64       max,
                                                  gint64      *value,
                                                  GError     **error);
gboolean    clochectl_mcp_arg_bool               (JsonObject  *arguments,
                                                  const char  *name,
                                                  gboolean    *value,
                                                  GError     **error);
gboolean    clochectl_mcp_check_names            (JsonObject  *arguments,
                                                  const char * const *allowed,
                                                  GError     **error);
char       *clochectl_mcp_tool_resolve           (GTask       *task,
                                                  const char  *name,
                                                  gboolean     required);

/* The file tools' shell scripts in the guest (busybox is enough): one
 * exec each, the resolved path as $1. A refusal the script detects is one
 * word on stderr and exit status 64. */
#define CLOCHECTL_MCP_SCRIPT_REFUSED 64
#define CLOCHECTL_MCP_SCRIPT_TIMEOUT_MS (60 * 1000)
char       *clochectl_mcp_script_failure         (ClochectlMcpSandbox *sandbox,
                                                  const char          *guest_path,
                                                  const char          *action,
                                                  ClochectlMcpExecResult *result);

G_END_DECLS
