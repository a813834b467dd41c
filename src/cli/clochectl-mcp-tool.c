/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What every MCP tool shares: its arguments checked (a wrong one is a
 * sentence the model can act on, returned as a tool error, never a
 * protocol error), its result built (structured content, and the same as
 * JSON text for clients that read only text), output cut with a note of
 * how much, and a failed guest script turned into a sentence that names
 * the path and, for a read-only folder, the mount and its mode.
 */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>

#include "cloche-error.h"
#include "clochectl-mcp-path.h"
#include "clochectl-mcp-tool.h"

/* Results */

static JsonObject *
clochectl_mcp_tool_text_content (const char *text)
{
  JsonObject *content = json_object_new ();

  json_object_set_string_member (content, "type", "text");
  json_object_set_string_member (content, "text", text);
  return content;
}

static char *
clochectl_mcp_tool_to_json (JsonObject *object)
{
  g_autoptr(JsonNode) root = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_node_set_object (root, object);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

/**
 * clochectl_mcp_tool_structured_result:
 * @structured: (transfer full): what the tool's output schema describes
 *
 * Returns: (transfer full): a CallToolResult with @structured, and the same
 *   as JSON text for clients that read only the content
 */
JsonObject *
clochectl_mcp_tool_structured_result (JsonObject *structured)
{
  JsonObject *result = json_object_new ();
  JsonArray *content = json_array_new ();
  g_autofree char *text = clochectl_mcp_tool_to_json (structured);

  json_array_add_object_element (content, clochectl_mcp_tool_text_content (text));
  json_object_set_array_member (result, "content", content);
  json_object_set_object_member (result, "structuredContent", structured);
  return result;
}

/**
 * clochectl_mcp_tool_return_structured:
 * @structured: (transfer full)
 */
void
clochectl_mcp_tool_return_structured (GTask      *task,
                                      JsonObject *structured)
{
  g_task_return_pointer (task, clochectl_mcp_tool_structured_result (structured),
                         (GDestroyNotify) json_object_unref);
}

/* A CallToolResult with isError: the sentence is what the model reads. */
JsonObject *
clochectl_mcp_tool_error_result (const char *text)
{
  JsonObject *result = json_object_new ();
  JsonArray *content = json_array_new ();

  json_array_add_object_element (content, clochectl_mcp_tool_text_content (text));
  json_object_set_array_member (result, "content", content);
  json_object_set_boolean_member (result, "isError", TRUE);
  return result;
}

void
clochectl_mcp_tool_return_error (GTask      *task,
                                 const char *format,
                                 ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_task_return_pointer (task, clochectl_mcp_tool_error_result (text),
                         (GDestroyNotify) json_object_unref);
}

void
clochectl_mcp_tool_return_gerror (GTask        *task,
                                  const char   *what,
                                  const GError *error)
{
  clochectl_mcp_tool_return_error (task, "%s: %s", what, error->message);
}

void
clochectl_mcp_tool_set_target (GTask      *task,
                               const char *target)
{
  g_object_set_data_full (G_OBJECT (task), "clochectl-mcp-target", g_strdup (target), g_free);
}

const char *
clochectl_mcp_tool_get_target (GTask *task)
{
  return g_object_get_data (G_OBJECT (task), "clochectl-mcp-target");
}

JsonObject *
clochectl_mcp_tool_get_arguments (GTask *task)
{
  return g_task_get_task_data (task);
}

/* Valid UTF-8, cut to about @keep bytes: the head and the tail (where
 * errors usually are) with a line between that says how much went. */
char *
clochectl_mcp_text_cut (GBytes *bytes,
                        gsize   keep,
                        gsize  *cut)
{
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);
  g_autofree char *head = NULL;
  g_autofree char *tail = NULL;
  gsize head_length = keep * 3 / 4;

  *cut = 0;
  if (length <= keep)
    return g_utf8_make_valid (data != NULL ? data : "", length);
  *cut = length - keep;
  head = g_utf8_make_valid (data, head_length);
  tail = g_utf8_make_valid (data + length - (keep - head_length), keep - head_length);
  return g_strdup_printf (_("%s\n[… %zu bytes cut here: the output was %zu bytes; "
                            "redirect it to a file and read parts of it …]\n%s"),
                          head, *cut, length, tail);
}

/* Arguments */

static gboolean
clochectl_mcp_tool_arg_error (GError     **error,
                              const char  *name,
                              const char  *expected)
{
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("The argument \"%s\" must be %s."), name, expected);
  return FALSE;
}

static JsonNode *
clochectl_mcp_tool_get_value (JsonObject *arguments,
                              const char *name,
                              GType       type)
{
  JsonNode *node = arguments != NULL ? json_object_get_member (arguments, name) : NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != type)
    return GINT_TO_POINTER (1);   /* present, of the wrong type */
  return node;
}

gboolean
clochectl_mcp_arg_string (JsonObject  *arguments,
                          const char  *name,
                          gboolean     required,
                          const char **value,
                          GError     **error)
{
  JsonNode *node = clochectl_mcp_tool_get_value (arguments, name, G_TYPE_STRING);

  *value = NULL;
  if (node == GINT_TO_POINTER (1) || (node == NULL && required))
    return clochectl_mcp_tool_arg_error (error, name, _("a string"));
  if (node != NULL)
    *value = json_node_get_string (node);
  return TRUE;
}

/* @value keeps its default when the argument is absent. */
gboolean
clochectl_mcp_arg_int (JsonObject  *arguments,
                       const char  *name,
                       gint64       min,
                       gint64       max,
                       gint64      *value,
                       GError     **error)
{
  JsonNode *node = clochectl_mcp_tool_get_value (arguments, name, G_TYPE_INT64);
  g_autofree char *expected = g_strdup_printf (_("an integer from %" PRId64
                                                 " to %" PRId64), min, max);

  if (node == GINT_TO_POINTER (1))
    return clochectl_mcp_tool_arg_error (error, name, expected);
  if (node == NULL)
    return TRUE;
  if (json_node_get_int (node) < min || json_node_get_int (node) > max)
    return clochectl_mcp_tool_arg_error (error, name, expected);
  *value = json_node_get_int (node);
  return TRUE;
}

gboolean
clochectl_mcp_arg_bool (JsonObject  *arguments,
                        const char  *name,
                        gboolean    *value,
                        GError     **error)
{
  JsonNode *node = clochectl_mcp_tool_get_value (arguments, name, G_TYPE_BOOLEAN);

  if (node == GINT_TO_POINTER (1))
    return clochectl_mcp_tool_arg_error (error, name, _("true or false"));
  if (node != NULL)
    *value = json_node_get_boolean (node);
  return TRUE;
}

/* The schemas say additionalProperties: false; a misspelt name would
 * otherwise be ignored silently. */
gboolean
clochectl_mcp_check_names (JsonObject          *arguments,
                           const char * const  *allowed,
                           GError             **error)
{
  g_autoptr(GList) names = arguments != NULL ? json_object_get_members (arguments) : NULL;

  for (GList *l = names; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      {
        g_autofree char *known = g_strjoinv (", ", (char **) allowed);

        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                     _("This tool has no argument \"%s\"; its arguments are: %s."),
                     (const char *) l->data, known);
        return FALSE;
      }
  return TRUE;
}

/**
 * clochectl_mcp_tool_resolve:
 *
 * Returns: (transfer full) (nullable): the argument @name as an absolute
 *   guest path ("." when absent and not required), or %NULL after having
 *   returned the tool error on @task
 */
char *
clochectl_mcp_tool_resolve (GTask      *task,
                            const char *name,
                            gboolean    required)
{
  ClochectlMcpSandbox *sandbox = g_task_get_source_object (task);
  const char *dir = clochectl_mcp_sandbox_get_guest_dir (sandbox);
  g_autoptr(GError) error = NULL;
  const char *path = NULL;
  char *resolved;

  if (!clochectl_mcp_arg_string (clochectl_mcp_tool_get_arguments (task), name, required,
                                 &path, &error))
    {
      clochectl_mcp_tool_return_error (task, "%s", error->message);
      return NULL;
    }
  resolved = clochectl_mcp_path_resolve (dir, path != NULL ? path : ".", &error);
  if (resolved == NULL)
    clochectl_mcp_tool_return_error (task, "%s", error->message);
  else
    clochectl_mcp_tool_set_target (task, resolved);
  return resolved;
}

/* Guest scripts */

static ClochectlMcpMount *
clochectl_mcp_tool_find_mount (ClochectlMcpSandbox *sandbox,
                               const char          *name)
{
  GPtrArray *mounts = clochectl_mcp_sandbox_get_mounts (sandbox);

  for (guint i = 0; name != NULL && i < mounts->len; i++)
    if (g_str_equal (((ClochectlMcpMount *) g_ptr_array_index (mounts, i))->name, name))
      return g_ptr_array_index (mounts, i);
  return NULL;
}

static char *
clochectl_mcp_tool_read_only_sentence (ClochectlMcpSandbox *sandbox,
                                       const char          *shown,
                                       const char          *guest_path)
{
  const char *dir = clochectl_mcp_sandbox_get_guest_dir (sandbox);
  g_autofree char *name = clochectl_mcp_path_mount_of (dir, guest_path);
  ClochectlMcpMount *mount = clochectl_mcp_tool_find_mount (sandbox, name);

  if (mount != NULL)
    return g_strdup_printf (_("Cannot write \"%s\": it is in mnt/%s, the host folder %s "
                              "mounted read-only (ro), so nothing in it can be changed. "
                              "Write in the session folder or in a folder mounted rw "
                              "(session_info lists the folders and their modes), or ask "
                              "the user to mount it read-write."),
                            shown, mount->name, mount->host_path);
  return g_strdup_printf (_("Cannot write \"%s\": the file system there is read-only."),
                          shown);
}

/* The word a guest script printed for what it refused. */
static char *
clochectl_mcp_tool_refusal_sentence (const char *word,
                                     const char *shown)
{
  if (g_str_equal (word, "missing"))
    return g_strdup_printf (_("There is no file or folder at \"%s\"; list_directory shows what "
                              "there is."), shown);
  if (g_str_equal (word, "dangling"))
    return g_strdup_printf (_("\"%s\" is a symbolic link to something that does not exist."),
                            shown);
  if (g_str_equal (word, "directory"))
    return g_strdup_printf (_("\"%s\" is a folder, not a file; use list_directory for a "
                              "folder."), shown);
  if (g_str_equal (word, "not-directory"))
    return g_strdup_printf (_("\"%s\" is not a folder; read_file reads files."), shown);
  if (g_str_equal (word, "not-regular"))
    return g_strdup_printf (_("\"%s\" is not a regular file (a device, a socket or a pipe)."),
                            shown);
  if (g_str_equal (word, "no-folder"))
    return g_strdup_printf (_("The folder that would hold \"%s\" does not exist; pass "
                              "create_folders: true to make it."), shown);
  return NULL;
}

/**
 * clochectl_mcp_script_failure:
 * @action: what was tried, for the sentence ("read", "write", "list")
 *
 * Returns: (transfer full) (nullable): the sentence for a script that
 *   failed, %NULL if it did not
 */
char *
clochectl_mcp_script_failure (ClochectlMcpSandbox    *sandbox,
                              const char             *guest_path,
                              const char             *action,
                              ClochectlMcpExecResult *result)
{
  const char *dir = clochectl_mcp_sandbox_get_guest_dir (sandbox);
  g_autofree char *shown = clochectl_mcp_path_relative (dir, guest_path);
  const char *err_data = g_bytes_get_size (result->err) > 0
                         ? g_bytes_get_data (result->err, NULL) : "";
  g_autofree char *err = g_utf8_make_valid (err_data, MIN (g_bytes_get_size (result->err), 2000));
  char *refusal;

  if (result->timed_out)
    return g_strdup_printf (_("Could not %s \"%s\" within %d s; the guest may be overloaded, "
                              "or the folder's share stopped answering."),
                            action, shown, CLOCHECTL_MCP_SCRIPT_TIMEOUT_MS / 1000);
  if (result->exit_code == 0)
    return NULL;
  g_strstrip (err);
  if (result->exit_code == CLOCHECTL_MCP_SCRIPT_REFUSED
      && (refusal = clochectl_mcp_tool_refusal_sentence (err, shown)) != NULL)
    return refusal;
  if (strstr (err, "Read-only file system") != NULL)
    return clochectl_mcp_tool_read_only_sentence (sandbox, shown, guest_path);
  if (strstr (err, "No space left") != NULL)
    return g_strdup_printf (_("Could not %s \"%s\": the disk that holds it is full."),
                            action, shown);
  return g_strdup_printf (_("Could not %s \"%s\": %s (exit status %d)."), action, shown,
                          err[0] != '\0' ? err : _("no message"), result->exit_code);
}
