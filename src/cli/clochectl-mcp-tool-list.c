/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * list_directory: a folder of the session, listed by a command inside it.
 * Each entry is one record of two NUL-terminated fields, what busybox's
 * stat says ("TYPE|SIZE|MTIME") and the name, so any name a file system
 * allows (newlines too) comes through whole; the last record has an empty
 * name and the count. At most 1000 entries come back, with the count of
 * all of them. Symbolic links are listed as links, not followed.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "clochectl-mcp-path.h"
#include "clochectl-mcp-tool.h"

#define ENTRIES_MAX 1000

static const char script[] =
  "d=$1 max=$2\n"
  "if [ ! -e \"$d\" ]; then echo missing >&2; exit 64; fi\n"
  "if [ ! -d \"$d\" ]; then echo not-directory >&2; exit 64; fi\n"
  "cd \"$d\" || exit 65\n"
  "n=0\n"
  "for f in .* *; do\n"
  "  case $f in .|..) continue ;; esac\n"
  "  [ -e \"$f\" ] || [ -L \"$f\" ] || continue\n"
  "  n=$((n + 1))\n"
  "  [ $n -gt \"$max\" ] && continue\n"
  "  printf '%s\\0%s\\0' \"$(stat -c '%F|%s|%Y' \"./$f\")\" \"$f\"\n"
  "done\n"
  "printf 'total|%s|0\\0\\0' \"$n\"\n";

static const char *
clochectl_mcp_tool_list_entry_type (const char *stat_type)
{
  if (g_str_has_prefix (stat_type, "regular"))
    return "file";
  if (g_str_equal (stat_type, "directory"))
    return "directory";
  if (g_str_equal (stat_type, "symbolic link"))
    return "symlink";
  return "other";
}

static JsonObject *
clochectl_mcp_tool_list_entry_new (const char *fields,
                                   const char *name)
{
  g_auto(GStrv) parts = g_strsplit (fields, "|", 3);
  JsonObject *entry;
  g_autoptr(GDateTime) modified = NULL;
  g_autofree char *name_text = g_utf8_make_valid (name, -1);
  g_autofree char *when = NULL;

  if (g_strv_length (parts) != 3)
    return NULL;
  entry = json_object_new ();
  modified = g_date_time_new_from_unix_utc (g_ascii_strtoll (parts[2], NULL, 10));
  json_object_set_string_member (entry, "name", name_text);
  json_object_set_string_member (entry, "type", clochectl_mcp_tool_list_entry_type (parts[0]));
  json_object_set_int_member (entry, "size", g_ascii_strtoll (parts[1], NULL, 10));
  if (modified != NULL && (when = g_date_time_format (modified, "%Y-%m-%dT%H:%M:%SZ")) != NULL)
    json_object_set_string_member (entry, "modified", when);
  return entry;
}

static void
clochectl_mcp_tool_list_return_listing (GTask      *task,
                                        const char *data,
                                        gsize       length)
{
  ClochectlMcpSandbox *sandbox = g_task_get_source_object (task);
  JsonObject *out = json_object_new ();
  JsonArray *entries = json_array_new ();
  g_autofree char *relative = clochectl_mcp_path_relative (
    clochectl_mcp_sandbox_get_guest_dir (sandbox), clochectl_mcp_tool_get_target (task));
  const char *end = data + length;
  gint64 total = 0;

  while (data < end)
    {
      const char *fields = data;
      const char *name = memchr (fields, '\0', end - fields);
      const char *next = name != NULL ? memchr (name + 1, '\0', end - name - 1) : NULL;
      JsonObject *entry;

      if (next == NULL)
        break;
      name++;
      if (name[0] == '\0')
        total = g_ascii_strtoll (fields + strlen ("total|"), NULL, 10);
      else if ((entry = clochectl_mcp_tool_list_entry_new (fields, name)) != NULL)
        json_array_add_object_element (entries, entry);
      data = next + 1;
    }
  json_object_set_string_member (out, "path", relative);
  json_object_set_int_member (out, "total", total);
  json_object_set_boolean_member (out, "truncated", total > json_array_get_length (entries));
  json_object_set_array_member (out, "entries", entries);
  clochectl_mcp_tool_return_structured (task, out);
}

static void
clochectl_mcp_tool_list_listed_cb (GObject      *object,
                                   GAsyncResult *res,
                                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClochectlMcpSandbox *sandbox = CLOCHECTL_MCP_SANDBOX (object);
  g_auto(ClochectlMcpExecResult) result = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *failure = NULL;
  gsize length = 0;
  const char *data;

  if (!clochectl_mcp_sandbox_exec_finish (sandbox, res, &result, &error))
    {
      clochectl_mcp_tool_return_gerror (task, _("The folder could not be listed"), error);
      return;
    }
  failure = clochectl_mcp_script_failure (sandbox, clochectl_mcp_tool_get_target (task),
                                          "list", &result);
  if (failure != NULL)
    {
      clochectl_mcp_tool_return_error (task, "%s", failure);
      return;
    }
  data = g_bytes_get_data (result.out, &length);
  clochectl_mcp_tool_list_return_listing (task, data != NULL ? data : "", length);
}

static void
clochectl_mcp_tool_list_run (GTask *task)
{
  static const char * const names[] = { "path", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *max = g_strdup_printf ("%d", ENTRIES_MAX);

  if (!clochectl_mcp_check_names (clochectl_mcp_tool_get_arguments (task), names, &error))
    {
      clochectl_mcp_tool_return_error (task, "%s", error->message);
      return;
    }
  if ((path = clochectl_mcp_tool_resolve (task, "path", FALSE)) == NULL)
    return;
  clochectl_mcp_sandbox_exec_async (g_task_get_source_object (task),
                                    (const char *[]) { "/bin/sh", "-c", script, "sh", path, max,
                                                       NULL },
                                    NULL, NULL, NULL, CLOCHECTL_MCP_SCRIPT_TIMEOUT_MS,
                                    g_task_get_cancellable (task),
                                    clochectl_mcp_tool_list_listed_cb, g_object_ref (task));
}

const ClochectlMcpTool clochectl_mcp_tool_list_directory = {
  .name = "list_directory",
  .title = "List a folder in the sandbox",
  .description =
    "Lists a folder of this sandbox session: each entry's name, type (file, directory, "
    "symlink, other), size and modification time, at most 1000 of them. \"path\" is "
    "relative to the session folder (the default; mounted host folders are in \"mnt\") or "
    "an absolute path inside it.",
  .input_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\",\"description\":\"Relative to the session folder "
    "(default \\\".\\\"), or absolute inside it.\"}},"
    "\"additionalProperties\":false}",
  .output_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\"},\"total\":{\"type\":\"integer\"},"
    "\"truncated\":{\"type\":\"boolean\"},"
    "\"entries\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
    "\"name\":{\"type\":\"string\"},"
    "\"type\":{\"type\":\"string\",\"enum\":[\"file\",\"directory\",\"symlink\",\"other\"]},"
    "\"size\":{\"type\":\"integer\"},\"modified\":{\"type\":\"string\"}},"
    "\"required\":[\"name\",\"type\",\"size\"]}}},"
    "\"required\":[\"path\",\"total\",\"truncated\",\"entries\"]}",
  .read_only = TRUE,
  .run = clochectl_mcp_tool_list_run,
};
