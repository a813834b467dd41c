/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The MCP server's tools: the list a client gets (names, descriptions,
 * input and output schemas, hints) and a call carried out: the session
 * opened first if it is not (the VM boots then, never before a call), the
 * tool run, and one line in the audit log for every call, with the MCP
 * client's name and version as it gave them in initialize.
 *
 * Rules: a tool's failure is a result with isError and a sentence; the
 * only errors of a call are "no such tool" (the server answers it as a
 * protocol error) and cancellation (the server then answers nothing). The
 * audit line is written whatever the outcome, cancelled calls included;
 * the audit log is the one the daemon writes (several writers are safe,
 * docs/audit.md), opened at the first call.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-audit-log.h"
#include "clochectl-mcp-message.h"
#include "clochectl-mcp-tool.h"
#include "clochectl-mcp-tools.h"

static const ClochectlMcpTool * const tools[] = {
  &clochectl_mcp_tool_run_command,
  &clochectl_mcp_tool_read_file,
  &clochectl_mcp_tool_write_file,
  &clochectl_mcp_tool_edit_file,
  &clochectl_mcp_tool_list_directory,
  &clochectl_mcp_tool_session_info,
};

struct _ClochectlMcpTools
{
  GObject              parent_instance;
  ClochectlMcpSandbox *sandbox;
  char                *client_name;
  char                *client_version;
  ClocheAuditLog      *audit;
  gboolean             audit_tried;
};

G_DEFINE_FINAL_TYPE (ClochectlMcpTools, clochectl_mcp_tools, G_TYPE_OBJECT)

static const ClochectlMcpTool *
clochectl_mcp_tools_find_tool (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    if (g_strcmp0 (tools[i]->name, name) == 0)
      return tools[i];
  return NULL;
}

gboolean
clochectl_mcp_tools_has (ClochectlMcpTools *self,
                         const char        *name)
{
  return clochectl_mcp_tools_find_tool (name) != NULL;
}

/* Our own schemas, written in this program: failing to read one is a bug. */
static JsonNode *
clochectl_mcp_tools_schema_node (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, -1, &error))
    g_error ("A tool schema of clochectl mcp is not JSON: %s", error->message);
  return json_node_copy (json_parser_get_root (parser));
}

static JsonObject *
clochectl_mcp_tools_describe_tool (const ClochectlMcpTool *tool)
{
  JsonObject *object = json_object_new ();
  JsonObject *annotations = json_object_new ();

  json_object_set_string_member (object, "name", tool->name);
  json_object_set_string_member (object, "title", tool->title);
  json_object_set_string_member (object, "description", tool->description);
  json_object_set_member (object, "inputSchema",
                          clochectl_mcp_tools_schema_node (tool->input_schema));
  json_object_set_member (object, "outputSchema",
                          clochectl_mcp_tools_schema_node (tool->output_schema));
  json_object_set_string_member (annotations, "title", tool->title);
  json_object_set_boolean_member (annotations, "readOnlyHint", tool->read_only);
  json_object_set_boolean_member (annotations, "destructiveHint", !tool->read_only);
  /* The sandbox's network is the egress proxy's: commands may reach it. */
  json_object_set_boolean_member (annotations, "openWorldHint", tool == &clochectl_mcp_tool_run_command);
  json_object_set_object_member (object, "annotations", annotations);
  return object;
}

/* The result of tools/list. */
JsonObject *
clochectl_mcp_tools_list (ClochectlMcpTools *self)
{
  JsonObject *result = json_object_new ();
  JsonArray *list = json_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    json_array_add_object_element (list, clochectl_mcp_tools_describe_tool (tools[i]));
  json_object_set_array_member (result, "tools", list);
  return result;
}

/* The audit log */

static ClocheAuditLog *
clochectl_mcp_tools_audit_log (ClochectlMcpTools *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheAuditLog) log = NULL;

  if (self->audit_tried)
    return self->audit;
  self->audit_tried = TRUE;
  log = cloche_audit_log_new (NULL, CLOCHE_AUDIT_LOG_DEFAULT_MAX_BYTES,
                              CLOCHE_AUDIT_LOG_DEFAULT_KEEP);
  if (!cloche_audit_log_open (log, &error))
    {
      g_printerr (_("clochectl mcp: tool calls are not logged: %s\n"), error->message);
      return NULL;
    }
  self->audit = g_steal_pointer (&log);
  return self->audit;
}

static const char *
clochectl_mcp_tools_result_text (JsonObject *result)
{
  JsonArray *content = result != NULL && json_object_has_member (result, "content")
                       ? json_object_get_array_member (result, "content") : NULL;

  if (content == NULL || json_array_get_length (content) == 0)
    return "";
  return json_object_get_string_member_with_default (json_array_get_object_element (content, 0),
                                                     "text", "");
}

static void
clochectl_mcp_tools_audit_call (ClochectlMcpTools *self,
                                const char        *tool,
                                const char        *target,
                                JsonObject        *result,
                                gboolean           cancelled,
                                gint64             started)
{
  ClocheAuditLog *log = clochectl_mcp_tools_audit_log (self);
  const char *session = clochectl_mcp_sandbox_get_session_id (self->sandbox);
  gboolean is_error = result == NULL
                      || json_object_get_boolean_member_with_default (result, "isError", FALSE);
  GVariantDict fields;

  if (log == NULL)
    return;
  g_variant_dict_init (&fields, NULL);
  g_variant_dict_insert (&fields, "tool", "s", tool);
  g_variant_dict_insert (&fields, "client", "s", self->client_name ? self->client_name : "");
  g_variant_dict_insert (&fields, "client-version", "s",
                         self->client_version ? self->client_version : "");
  if (target != NULL)
    g_variant_dict_insert (&fields, "target", "s", target);
  g_variant_dict_insert (&fields, "is-error", "b", is_error && !cancelled);
  if (is_error && !cancelled && result != NULL)
    g_variant_dict_insert (&fields, "error", "s", clochectl_mcp_tools_result_text (result));
  g_variant_dict_insert (&fields, "cancelled", "b", cancelled);
  g_variant_dict_insert (&fields, "duration-ms", "x",
                         (g_get_monotonic_time () - started) / 1000);
  cloche_audit_log_append_fields (log, "mcp.tool-call", session, g_variant_dict_end (&fields));
}

/* A call */

typedef struct
{
  const ClochectlMcpTool   *tool;
  JsonObject               *arguments;
  ClochectlMcpProgressFunc  progress;
  gpointer                  progress_data;
  gulong                    progress_handler;
  gint64                    started;
} CallData;

static void
clochectl_mcp_tools_call_data_free (CallData *data)
{
  g_clear_pointer (&data->arguments, json_object_unref);
  g_free (data);
}

static void
clochectl_mcp_tools_tool_done_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClochectlMcpTools *self = g_task_get_source_object (task);
  CallData *data = g_task_get_task_data (task);
  g_autoptr(JsonObject) tool_result = g_task_propagate_pointer (G_TASK (result), NULL);
  gboolean cancelled = g_cancellable_is_cancelled (g_task_get_cancellable (task));

  clochectl_mcp_tools_audit_call (self, data->tool->name,
                                  clochectl_mcp_tool_get_target (G_TASK (result)),
                                  tool_result, cancelled, data->started);
  if (cancelled || tool_result == NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The call was cancelled");
  else
    g_task_return_pointer (task, g_steal_pointer (&tool_result),
                           (GDestroyNotify) json_object_unref);
}

static void
clochectl_mcp_tools_run_tool (GTask *task)
{
  ClochectlMcpTools *self = g_task_get_source_object (task);
  CallData *data = g_task_get_task_data (task);
  GTask *tool_task = g_task_new (self->sandbox, g_task_get_cancellable (task),
                                 clochectl_mcp_tools_tool_done_cb,
                                 g_object_ref (task));

  /* A cancelled tool still returns what it has; this call decides. The
   * tool's task holds @task until it is done. */
  g_task_set_check_cancellable (tool_task, FALSE);
  g_task_set_task_data (tool_task, json_object_ref (data->arguments),
                        (GDestroyNotify) json_object_unref);
  data->tool->run (tool_task);
  g_object_unref (tool_task);
}

static void
clochectl_mcp_tools_progress_cb (ClochectlMcpSandbox *sandbox,
                                 const char          *message,
                                 CallData            *data)
{
  data->progress (message, data->progress_data);
}

static void
clochectl_mcp_tools_open_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClochectlMcpTools *self = g_task_get_source_object (task);
  CallData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) failed = NULL;
  g_autofree char *text = NULL;

  g_clear_signal_handler (&data->progress_handler, self->sandbox);
  if (clochectl_mcp_sandbox_open_finish (self->sandbox, result, &error))
    {
      clochectl_mcp_tools_run_tool (task);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      clochectl_mcp_tools_audit_call (self, data->tool->name, NULL, NULL, TRUE, data->started);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  text = g_strdup_printf (_("The sandbox session could not be opened: %s. On the host, "
                            "\"clochectl doctor\" shows what is wrong and how to fix it."),
                          error->message);
  failed = clochectl_mcp_tool_error_result (text);
  clochectl_mcp_tools_audit_call (self, data->tool->name, NULL, failed, FALSE, data->started);
  g_task_return_pointer (task, g_steal_pointer (&failed), (GDestroyNotify) json_object_unref);
}

/**
 * clochectl_mcp_tools_call_async:
 * @arguments: (nullable): the call's arguments
 * @progress: (nullable): told how far opening is while the call waits
 *
 * Carries out a tools/call. Fails only with %CLOCHECTL_MCP_ERROR_INVALID_PARAMS
 * (no such tool) or %G_IO_ERROR_CANCELLED.
 */
void
clochectl_mcp_tools_call_async (ClochectlMcpTools        *self,
                                const char               *name,
                                JsonObject               *arguments,
                                ClochectlMcpProgressFunc  progress,
                                gpointer                  progress_data,
                                GCancellable             *cancellable,
                                GAsyncReadyCallback       callback,
                                gpointer                  user_data)
{
  g_autoptr(GTask) task = NULL;
  CallData *data;

  g_return_if_fail (CLOCHECTL_IS_MCP_TOOLS (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, clochectl_mcp_tools_call_async);
  if (clochectl_mcp_tools_find_tool (name) == NULL)
    {
      g_task_return_new_error (task, CLOCHECTL_MCP_ERROR, CLOCHECTL_MCP_ERROR_INVALID_PARAMS,
                               "Unknown tool: %s", name);
      return;
    }
  data = g_new0 (CallData, 1);
  data->tool = clochectl_mcp_tools_find_tool (name);
  data->arguments = arguments != NULL ? json_object_ref (arguments) : json_object_new ();
  data->progress = progress;
  data->progress_data = progress_data;
  data->started = g_get_monotonic_time ();
  g_task_set_task_data (task, data, (GDestroyNotify) clochectl_mcp_tools_call_data_free);
  if (progress != NULL && !clochectl_mcp_sandbox_is_open (self->sandbox))
    data->progress_handler = g_signal_connect (self->sandbox, "progress",
                                               G_CALLBACK (clochectl_mcp_tools_progress_cb), data);
  clochectl_mcp_sandbox_open_async (self->sandbox, cancellable, clochectl_mcp_tools_open_cb,
                                    g_steal_pointer (&task));
}

/**
 * clochectl_mcp_tools_call_finish:
 *
 * Returns: (transfer full): the CallToolResult
 */
JsonObject *
clochectl_mcp_tools_call_finish (ClochectlMcpTools  *self,
                                 GAsyncResult       *result,
                                 GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* The client as it named itself in initialize, for the audit log and the
 * Sessions page. */
void
clochectl_mcp_tools_set_client (ClochectlMcpTools *self,
                                const char        *name,
                                const char        *version)
{
  g_autofree char *label = NULL;

  g_return_if_fail (CLOCHECTL_IS_MCP_TOOLS (self));

  g_free (self->client_name);
  g_free (self->client_version);
  self->client_name = g_strdup (name);
  self->client_version = g_strdup (version);
  label = g_strdup_printf ("%s %s (MCP)", name, version);
  clochectl_mcp_sandbox_set_client (self->sandbox, label);
}

ClochectlMcpSandbox *
clochectl_mcp_tools_get_sandbox (ClochectlMcpTools *self)
{
  g_return_val_if_fail (CLOCHECTL_IS_MCP_TOOLS (self), NULL);
  return self->sandbox;
}

static void
clochectl_mcp_tools_dispose (GObject *object)
{
  ClochectlMcpTools *self = CLOCHECTL_MCP_TOOLS (object);

  if (self->audit != NULL)
    cloche_audit_log_flush (self->audit);
  g_clear_object (&self->audit);
  g_clear_object (&self->sandbox);

  G_OBJECT_CLASS (clochectl_mcp_tools_parent_class)->dispose (object);
}

static void
clochectl_mcp_tools_finalize (GObject *object)
{
  ClochectlMcpTools *self = CLOCHECTL_MCP_TOOLS (object);

  g_free (self->client_name);
  g_free (self->client_version);

  G_OBJECT_CLASS (clochectl_mcp_tools_parent_class)->finalize (object);
}

static void
clochectl_mcp_tools_class_init (ClochectlMcpToolsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = clochectl_mcp_tools_dispose;
  object_class->finalize = clochectl_mcp_tools_finalize;
}

static void
clochectl_mcp_tools_init (ClochectlMcpTools *self)
{
}

ClochectlMcpTools *
clochectl_mcp_tools_new (ClochectlMcpSandbox *sandbox)
{
  ClochectlMcpTools *self = g_object_new (CLOCHECTL_TYPE_MCP_TOOLS, NULL);

  self->sandbox = g_object_ref (sandbox);
  return self;
}
