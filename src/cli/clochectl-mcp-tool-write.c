/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * write_file and edit_file: files of the session written by a command
 * inside it (its stdin carries the bytes), so that a read-only folder is
 * refused where the refusal is enforced, on the host, and the sentence
 * then names the mount and its mode. A file is written in place (cat >),
 * which keeps its mode and links. edit_file reads the file, replaces one
 * exact occurrence of a text here, and writes it back: an old text found
 * no time or several times is refused, saying which, and nothing is
 * written. Between its read and its write the file is not locked.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "clochectl-mcp-path.h"
#include "clochectl-mcp-tool.h"

#define CONTENT_MAX_BYTES (8 * 1024 * 1024)

static const char write_script[] =
  "f=$1 mk=$2\n"
  "if [ -d \"$f\" ]; then echo directory >&2; exit 64; fi\n"
  "d=$(dirname \"$f\")\n"
  "if [ \"$mk\" = 1 ]; then mkdir -p \"$d\" || exit 65\n"
  "elif [ ! -d \"$d\" ]; then echo no-folder >&2; exit 64; fi\n"
  "cat > \"$f\" || exit 65\n"
  "stat -L -c %s \"$f\"\n";

static const char read_script[] =
  "f=$1\n"
  "if [ ! -e \"$f\" ]; then echo missing >&2; exit 64; fi\n"
  "if [ -d \"$f\" ]; then echo directory >&2; exit 64; fi\n"
  "if [ ! -f \"$f\" ]; then echo not-regular >&2; exit 64; fi\n"
  "head -c $2 \"$f\"\n";

static JsonObject *
clochectl_mcp_tool_write_written (GTask                  *task,
                                  ClochectlMcpExecResult *result)
{
  ClochectlMcpSandbox *sandbox = g_task_get_source_object (task);
  JsonObject *out = json_object_new ();
  g_autofree char *relative = clochectl_mcp_path_relative (
    clochectl_mcp_sandbox_get_guest_dir (sandbox), clochectl_mcp_tool_get_target (task));
  g_autofree char *size = g_strndup (g_bytes_get_data (result->out, NULL),
                                     MIN (g_bytes_get_size (result->out), 24));

  json_object_set_string_member (out, "path", relative);
  json_object_set_int_member (out, "size", g_ascii_strtoll (size, NULL, 10));
  return out;
}

static void
clochectl_mcp_tool_write_written_cb (GObject      *object,
                                     GAsyncResult *res,
                                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClochectlMcpSandbox *sandbox = CLOCHECTL_MCP_SANDBOX (object);
  g_auto(ClochectlMcpExecResult) result = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *failure = NULL;
  JsonObject *out;
  gint64 line = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (task), "line"));

  if (!clochectl_mcp_sandbox_exec_finish (sandbox, res, &result, &error))
    {
      clochectl_mcp_tool_return_gerror (task, _("The file could not be written"), error);
      return;
    }
  failure = clochectl_mcp_script_failure (sandbox, clochectl_mcp_tool_get_target (task),
                                          "write", &result);
  if (failure != NULL)
    {
      clochectl_mcp_tool_return_error (task, "%s", failure);
      return;
    }
  out = clochectl_mcp_tool_write_written (task, &result);
  if (line > 0)
    json_object_set_int_member (out, "line", line);
  clochectl_mcp_tool_return_structured (task, out);
}

static void
clochectl_mcp_tool_write_bytes (GTask    *task,
                                GBytes   *content,
                                gboolean  create_folders)
{
  const char * const argv[] = { "/bin/sh", "-c", write_script, "sh",
                                clochectl_mcp_tool_get_target (task),
                                create_folders ? "1" : "0", NULL };

  clochectl_mcp_sandbox_exec_async (g_task_get_source_object (task), argv, NULL, NULL, content,
                                    CLOCHECTL_MCP_SCRIPT_TIMEOUT_MS, g_task_get_cancellable (task),
                                    clochectl_mcp_tool_write_written_cb, g_object_ref (task));
}

static gboolean
clochectl_mcp_tool_write_read_content (GTask       *task,
                                       const char  *name,
                                       gboolean     allow_empty,
                                       const char **content)
{
  g_autoptr(GError) error = NULL;

  if (!clochectl_mcp_arg_string (clochectl_mcp_tool_get_arguments (task), name, TRUE, content,
                                 &error))
    clochectl_mcp_tool_return_error (task, "%s", error->message);
  else if (strlen (*content) > CONTENT_MAX_BYTES)
    clochectl_mcp_tool_return_error (task, _("\"%s\" is longer than %d MiB; write the file in "
                                             "parts (a command such as cat >> can append)."),
                                     name, CONTENT_MAX_BYTES / 1024 / 1024);
  else if (!allow_empty && (*content)[0] == '\0')
    clochectl_mcp_tool_return_error (task, _("\"%s\" is empty; give the exact text to "
                                             "replace."), name);
  else
    return TRUE;
  return FALSE;
}

/* write_file */

static void
clochectl_mcp_tool_write_run_write (GTask *task)
{
  static const char * const names[] = { "path", "content", "create_folders", NULL };
  JsonObject *arguments = clochectl_mcp_tool_get_arguments (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gboolean create_folders = TRUE;
  const char *content = NULL;

  if (!clochectl_mcp_check_names (arguments, names, &error)
      || !clochectl_mcp_arg_bool (arguments, "create_folders", &create_folders, &error))
    {
      clochectl_mcp_tool_return_error (task, "%s", error->message);
      return;
    }
  if ((path = clochectl_mcp_tool_resolve (task, "path", TRUE)) == NULL
      || !clochectl_mcp_tool_write_read_content (task, "content", TRUE, &content))
    return;
  bytes = g_bytes_new (content, strlen (content));
  clochectl_mcp_tool_write_bytes (task, bytes, create_folders);
}

const ClochectlMcpTool clochectl_mcp_tool_write_file = {
  .name = "write_file",
  .title = "Write a file in the sandbox",
  .description =
    "Writes a text file of this sandbox session, replacing what it held (at most 8 MiB). "
    "\"path\" is relative to the session folder (a mounted host folder is \"mnt/NAME/...\") "
    "or an absolute path inside it; folders on the way are made unless \"create_folders\" is "
    "false. Folders mounted read-only (session_info shows the modes) cannot be written.",
  .input_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\",\"description\":\"Relative to the session folder, or "
    "absolute inside it.\"},"
    "\"content\":{\"type\":\"string\",\"description\":\"The whole new text of the file.\"},"
    "\"create_folders\":{\"type\":\"boolean\",\"description\":\"Make missing folders "
    "(default true).\"}},"
    "\"required\":[\"path\",\"content\"],\"additionalProperties\":false}",
  .output_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"}},"
    "\"required\":[\"path\",\"size\"]}",
  .read_only = FALSE,
  .run = clochectl_mcp_tool_write_run_write,
};

/* edit_file */

static gint64
clochectl_mcp_tool_write_line_at (const char *text,
                                  const char *at)
{
  gint64 line = 1;

  for (const char *p = text; p < at; p++)
    line += *p == '\n';
  return line;
}

static void
clochectl_mcp_tool_write_replace_once (GTask      *task,
                                       const char *text,
                                       gsize       length)
{
  JsonObject *arguments = clochectl_mcp_tool_get_arguments (task);
  const char *old_text = json_object_get_string_member (arguments, "old_text");
  const char *new_text = json_object_get_string_member (arguments, "new_text");
  const char *shown = clochectl_mcp_tool_get_target (task);
  const char *found = g_strstr_len (text, length, old_text);
  g_autoptr(GString) edited = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint count = 0;

  for (const char *p = found; p != NULL; p = g_strstr_len (p + 1, text + length - p - 1, old_text))
    count++;
  if (count != 1)
    {
      clochectl_mcp_tool_return_error (task, count == 0
                                       ? _("old_text was not found in \"%s\" (nothing was "
                                           "written). Read the file again and copy the text "
                                           "exactly, spaces and line ends included.")
                                       : _("old_text is in \"%s\" more than once (nothing was "
                                           "written). Add lines around it so that it matches "
                                           "one place only."),
                                       shown);
      return;
    }
  edited = g_string_new_len (text, found - text);
  g_string_append (edited, new_text);
  g_string_append_len (edited, found + strlen (old_text), text + length - found - strlen (old_text));
  g_object_set_data (G_OBJECT (task), "line",
                     GINT_TO_POINTER ((int) MIN (clochectl_mcp_tool_write_line_at (text, found),
                                                 G_MAXINT)));
  length = edited->len;
  bytes = g_bytes_new_take (g_string_free (g_steal_pointer (&edited), FALSE), length);
  clochectl_mcp_tool_write_bytes (task, bytes, FALSE);
}

static void
clochectl_mcp_tool_write_read_cb (GObject      *object,
                                  GAsyncResult *res,
                                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClochectlMcpSandbox *sandbox = CLOCHECTL_MCP_SANDBOX (object);
  g_auto(ClochectlMcpExecResult) result = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *failure = NULL;
  const char *text;
  gsize length;

  if (!clochectl_mcp_sandbox_exec_finish (sandbox, res, &result, &error))
    {
      clochectl_mcp_tool_return_gerror (task, _("The file could not be read"), error);
      return;
    }
  failure = clochectl_mcp_script_failure (sandbox, clochectl_mcp_tool_get_target (task),
                                          "read", &result);
  text = g_bytes_get_data (result.out, &length);
  if (failure != NULL)
    clochectl_mcp_tool_return_error (task, "%s", failure);
  else if (length > CONTENT_MAX_BYTES)
    clochectl_mcp_tool_return_error (task, _("\"%s\" is larger than %d MiB: edit it with "
                                             "run_command (sed, a script) instead."),
                                     clochectl_mcp_tool_get_target (task),
                                     CONTENT_MAX_BYTES / 1024 / 1024);
  else if (memchr (text != NULL ? text : "", '\0', length) != NULL
           || !g_utf8_validate (text != NULL ? text : "", length, NULL))
    clochectl_mcp_tool_return_error (task, _("\"%s\" is not UTF-8 text; edit_file edits text "
                                             "files only."),
                                     clochectl_mcp_tool_get_target (task));
  else
    clochectl_mcp_tool_write_replace_once (task, text != NULL ? text : "", length);
}

static void
clochectl_mcp_tool_write_run_edit (GTask *task)
{
  static const char * const names[] = { "path", "old_text", "new_text", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *limit = g_strdup_printf ("%d", CONTENT_MAX_BYTES + 1);
  const char *old_text, *new_text;

  if (!clochectl_mcp_check_names (clochectl_mcp_tool_get_arguments (task), names, &error))
    {
      clochectl_mcp_tool_return_error (task, "%s", error->message);
      return;
    }
  if ((path = clochectl_mcp_tool_resolve (task, "path", TRUE)) == NULL
      || !clochectl_mcp_tool_write_read_content (task, "old_text", FALSE, &old_text)
      || !clochectl_mcp_tool_write_read_content (task, "new_text", TRUE, &new_text))
    return;
  clochectl_mcp_sandbox_exec_async (g_task_get_source_object (task),
                                    (const char *[]) { "/bin/sh", "-c", read_script, "sh",
                                                       path, limit, NULL },
                                    NULL, NULL, NULL, CLOCHECTL_MCP_SCRIPT_TIMEOUT_MS,
                                    g_task_get_cancellable (task), clochectl_mcp_tool_write_read_cb,
                                    g_object_ref (task));
}

const ClochectlMcpTool clochectl_mcp_tool_edit_file = {
  .name = "edit_file",
  .title = "Edit a file in the sandbox",
  .description =
    "Replaces one exact occurrence of \"old_text\" by \"new_text\" in a text file of this "
    "sandbox session. \"old_text\" must appear exactly once (include surrounding lines to "
    "make it unique); otherwise nothing is written and the error says why. \"path\" is "
    "relative to the session folder (a mounted host folder is \"mnt/NAME/...\") or an "
    "absolute path inside it.",
  .input_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\",\"description\":\"Relative to the session folder, or "
    "absolute inside it.\"},"
    "\"old_text\":{\"type\":\"string\",\"minLength\":1,\"description\":\"The exact text to "
    "replace; it must occur once.\"},"
    "\"new_text\":{\"type\":\"string\",\"description\":\"What replaces it.\"}},"
    "\"required\":[\"path\",\"old_text\",\"new_text\"],\"additionalProperties\":false}",
  .output_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"},"
    "\"line\":{\"type\":\"integer\"}},"
    "\"required\":[\"path\",\"size\",\"line\"]}",
  .read_only = FALSE,
  .run = clochectl_mcp_tool_write_run_edit,
};
