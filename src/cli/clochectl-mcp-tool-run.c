/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * run_command: a shell line (sh -c) or an argv, in the session, with a
 * working folder inside it, a timeout and extra environment; the exit
 * code and both outputs, each cut to a size a model can read with a note
 * of how much went. A non-zero exit is a result, not a tool error: the
 * model reads the code. The timeout kills the command and what it started
 * (the daemon kills its process group); so does cancelling the call.
 * Egress refusals of the session while it ran are named with their rule.
 */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>

#include "cloche-error.h"
#include "clochectl-mcp-path.h"
#include "clochectl-mcp-tool.h"

#define OUTPUT_KEEP_BYTES   (24 * 1024)
#define TIMEOUT_DEFAULT_S   120
#define TIMEOUT_MAX_S       3600
#define ARGV_MAX            1024
#define ENV_MAX             128

static gboolean
clochectl_mcp_tool_run_valid_env_name (const char *name)
{
  if (!g_ascii_isalpha (name[0]) && name[0] != '_')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  return TRUE;
}

static GStrv
clochectl_mcp_tool_run_read_env (JsonObject  *arguments,
                                 GError     **error)
{
  JsonNode *node = json_object_get_member (arguments, "env");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GList) names = NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return g_strv_builder_end (builder);
  if (!JSON_NODE_HOLDS_OBJECT (node) || json_object_get_size (json_node_get_object (node)) > ENV_MAX)
    goto bad;
  names = json_object_get_members (json_node_get_object (node));
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (json_node_get_object (node), l->data);
      g_autofree char *entry = NULL;

      if (!clochectl_mcp_tool_run_valid_env_name (l->data) || !JSON_NODE_HOLDS_VALUE (value)
          || json_node_get_value_type (value) != G_TYPE_STRING)
        goto bad;
      entry = g_strdup_printf ("%s=%s", (const char *) l->data, json_node_get_string (value));
      g_strv_builder_add (builder, entry);
    }
  return g_strv_builder_end (builder);

bad:
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("The argument \"env\" must be an object of at most %d variables, each "
                 "NAME (letters, digits, _) to a string value."), ENV_MAX);
  return NULL;
}

static GStrv
clochectl_mcp_tool_run_read_argv (JsonObject  *arguments,
                                  GError     **error)
{
  JsonNode *node = json_object_get_member (arguments, "argv");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node)
      || json_array_get_length (array = json_node_get_array (node)) == 0
      || json_array_get_length (array) > ARGV_MAX)
    goto bad;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);

      if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING
          || (i == 0 && json_node_get_string (item)[0] == '\0'))
        goto bad;
      g_strv_builder_add (builder, json_node_get_string (item));
    }
  return g_strv_builder_end (builder);

bad:
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("The argument \"argv\" must be a list of 1 to %d strings, the first one "
                 "the program."), ARGV_MAX);
  return NULL;
}

/* "command" (a shell line) or "argv", exactly one. */
static GStrv
clochectl_mcp_tool_run_read_command (JsonObject  *arguments,
                                     GError     **error)
{
  const char *command = NULL;
  gboolean has_argv = json_object_has_member (arguments, "argv");

  if (!clochectl_mcp_arg_string (arguments, "command", FALSE, &command, error))
    return NULL;
  if ((command != NULL) == has_argv)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("Give either \"command\" (a shell command line) or \"argv\" (a list: "
                     "the program and its arguments), not both and not neither."));
      return NULL;
    }
  if (has_argv)
    return clochectl_mcp_tool_run_read_argv (arguments, error);
  if (command[0] == '\0')
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("The argument \"command\" is empty; give the command line to run."));
      return NULL;
    }
  return g_strdupv ((char *[]) { (char *) "/bin/sh", (char *) "-c", (char *) command, NULL });
}

static JsonArray *
clochectl_mcp_tool_run_denied_array (GPtrArray *denied)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; denied != NULL && i < denied->len; i++)
    json_array_add_string_element (array, g_ptr_array_index (denied, i));
  return array;
}

static char *
clochectl_mcp_tool_run_note_for (ClochectlMcpExecResult *result,
                                 gint64                  timeout_s)
{
  GString *note = g_string_new (NULL);

  if (result->timed_out)
    g_string_append_printf (note, _("The command ran longer than its timeout of %" PRId64
                                    " s and was killed, with what it started. "), timeout_s);
  if (result->denied != NULL && result->denied->len > 0)
    {
      g_autoptr(GString) list = g_string_new (NULL);

      for (guint i = 0; i < result->denied->len; i++)
        g_string_append_printf (list, "%s%s", i > 0 ? "; " : "",
                                (const char *) g_ptr_array_index (result->denied, i));
      g_string_append_printf (note, _("The sandbox's egress policy refused %u network "
                                      "request(s): %s. Only the user can allow a host "
                                      "(egress.allow in the Cloche policy). "),
                              result->denied->len, list->str);
    }
  return note->len > 0 ? g_strchomp (g_string_free (note, FALSE))
                       : (g_string_free (note, TRUE), NULL);
}

static void
clochectl_mcp_tool_run_done_cb (GObject      *object,
                                GAsyncResult *res,
                                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_auto(ClochectlMcpExecResult) result = { 0 };
  g_autoptr(GError) error = NULL;
  JsonObject *out;
  g_autofree char *note = NULL;
  g_autofree char *stdout_text = NULL;
  g_autofree char *stderr_text = NULL;
  gsize stdout_cut, stderr_cut;

  if (!clochectl_mcp_sandbox_exec_finish (CLOCHECTL_MCP_SANDBOX (object), res, &result, &error))
    {
      clochectl_mcp_tool_return_gerror (task, _("The command could not run"), error);
      return;
    }
  out = json_object_new ();
  stdout_text = clochectl_mcp_text_cut (result.out, OUTPUT_KEEP_BYTES, &stdout_cut);
  stderr_text = clochectl_mcp_text_cut (result.err, OUTPUT_KEEP_BYTES, &stderr_cut);
  json_object_set_int_member (out, "exit_code", result.exit_code);
  json_object_set_string_member (out, "stdout", stdout_text);
  json_object_set_string_member (out, "stderr", stderr_text);
  json_object_set_int_member (out, "stdout_bytes", g_bytes_get_size (result.out));
  json_object_set_int_member (out, "stderr_bytes", g_bytes_get_size (result.err));
  json_object_set_boolean_member (out, "timed_out", result.timed_out);
  json_object_set_array_member (out, "egress_denied",
                                clochectl_mcp_tool_run_denied_array (result.denied));
  note =
    clochectl_mcp_tool_run_note_for (&result,
                                     GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task),
                                                                         "timeout")));
  if (note != NULL)
    json_object_set_string_member (out, "note", note);
  clochectl_mcp_tool_return_structured (task, out);
}

static void
clochectl_mcp_tool_run_run (GTask *task)
{
  static const char * const names[] = { "command", "argv", "cwd", "timeout_s", "env", NULL };
  JsonObject *arguments = clochectl_mcp_tool_get_arguments (task);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) env = NULL;
  g_autofree char *cwd = NULL;
  g_autofree char *target = NULL;
  gint64 timeout_s = TIMEOUT_DEFAULT_S;

  if (!clochectl_mcp_check_names (arguments, names, &error)
      || (argv = clochectl_mcp_tool_run_read_command (arguments, &error)) == NULL
      || (env = clochectl_mcp_tool_run_read_env (arguments, &error)) == NULL
      || !clochectl_mcp_arg_int (arguments, "timeout_s", 1, TIMEOUT_MAX_S, &timeout_s, &error))
    {
      clochectl_mcp_tool_return_error (task, "%s", error->message);
      return;
    }
  if ((cwd = clochectl_mcp_tool_resolve (task, "cwd", FALSE)) == NULL)
    return;
  target = g_strjoinv (" ", argv);
  clochectl_mcp_tool_set_target (task, target);
  g_object_set_data (G_OBJECT (task), "timeout", GINT_TO_POINTER ((int) timeout_s));
  clochectl_mcp_sandbox_exec_async (g_task_get_source_object (task),
                                    (const char * const *) argv, (const char * const *) env,
                                    cwd, NULL, (guint) timeout_s * 1000,
                                    g_task_get_cancellable (task), clochectl_mcp_tool_run_done_cb,
                                    g_object_ref (task));
}

const ClochectlMcpTool clochectl_mcp_tool_run_command = {
  .name = "run_command",
  .title = "Run a command in the sandbox",
  .description =
    "Runs a command inside the Cloche sandbox VM (Linux), in this session's folder, and "
    "returns its exit code, stdout and stderr. Give \"command\" (a shell command line, run "
    "by /bin/sh -c) or \"argv\" (the program and its arguments, no shell). \"cwd\" is a "
    "folder relative to the session folder (the default), such as \"mnt/NAME\" for a "
    "mounted host folder, or an absolute path inside it. The command is killed, with what "
    "it started, after \"timeout_s\" seconds (default 120, at most 3600). Network access "
    "goes through the sandbox's egress policy: refused hosts are listed in "
    "\"egress_denied\" with the rule that refused them. Outputs longer than 24 KiB are cut "
    "in the middle with a note saying how much.",
  .input_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"command\":{\"type\":\"string\",\"description\":\"A shell command line (sh -c).\"},"
    "\"argv\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1,"
    "\"description\":\"The program and its arguments, instead of command.\"},"
    "\"cwd\":{\"type\":\"string\",\"description\":\"Working folder, relative to the session "
    "folder or absolute inside it (default: the session folder).\"},"
    "\"timeout_s\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":3600,"
    "\"description\":\"Seconds before the command is killed (default 120).\"},"
    "\"env\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"},"
    "\"description\":\"Extra environment variables.\"}},"
    "\"additionalProperties\":false}",
  .output_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"exit_code\":{\"type\":\"integer\"},"
    "\"stdout\":{\"type\":\"string\"},\"stderr\":{\"type\":\"string\"},"
    "\"stdout_bytes\":{\"type\":\"integer\"},\"stderr_bytes\":{\"type\":\"integer\"},"
    "\"timed_out\":{\"type\":\"boolean\"},"
    "\"egress_denied\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
    "\"note\":{\"type\":\"string\"}},"
    "\"required\":[\"exit_code\",\"stdout\",\"stderr\",\"timed_out\"]}",
  .read_only = FALSE,
  .run = clochectl_mcp_tool_run_run,
};
