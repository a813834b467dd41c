/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * read_file: a file of the session, read by a command inside it (so it
 * reads exactly what the session's processes may read). Text comes as
 * lines, a range of them on request, at most 256 KiB at a time; PNG, JPEG,
 * GIF and WebP images as image content (up to 5 MiB); anything else that
 * is not UTF-8 text is refused with its size and a way to look at it.
 *
 * The guest only needs busybox: one exec prints the file's size on a line,
 * then its first bytes (or, from a later line on, sed's); kinds are told
 * apart here, by the bytes. A large image costs a second exec for the rest.
 */
#include "config.h"

#include <inttypes.h>

#include <glib/gi18n-lib.h>

#include "clochectl-mcp-path.h"
#include "clochectl-mcp-tool.h"

#define TEXT_MAX_BYTES  (256 * 1024)
#define IMAGE_MAX_BYTES (5 * 1024 * 1024)
#define LINES_DEFAULT   2000
#define LINES_MAX       100000

static const char script[] =
  "f=$1 first=$2 max=$3\n"
  "if [ ! -e \"$f\" ]; then\n"
  "  if [ -L \"$f\" ]; then echo dangling >&2; else echo missing >&2; fi; exit 64\n"
  "fi\n"
  "if [ -d \"$f\" ]; then echo directory >&2; exit 64; fi\n"
  "if [ ! -f \"$f\" ]; then echo not-regular >&2; exit 64; fi\n"
  "stat -L -c %s \"$f\" || exit 65\n"
  "if [ \"$first\" -le 1 ]; then head -c \"$max\" \"$f\"\n"
  "else sed -n \"$first,\\$p\" \"$f\" | head -c \"$max\"; fi\n";

typedef struct
{
  char   *path;       /* in the guest */
  gint64  first;      /* first line asked for */
  gint64  limit;      /* lines */
  guint64 size;       /* of the whole file */
} ReadData;

static void
clochectl_mcp_tool_read_data_free (ReadData *data)
{
  g_free (data->path);
  g_free (data);
}

static const char *
clochectl_mcp_tool_read_image_type (const guint8 *data,
                                    gsize         length)
{
  if (length >= 8 && memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0)
    return "image/png";
  if (length >= 3 && memcmp (data, "\xff\xd8\xff", 3) == 0)
    return "image/jpeg";
  if (length >= 6 && (memcmp (data, "GIF87a", 6) == 0 || memcmp (data, "GIF89a", 6) == 0))
    return "image/gif";
  if (length >= 12 && memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WEBP", 4) == 0)
    return "image/webp";
  return NULL;
}

static JsonObject *
clochectl_mcp_tool_read_described (GTask      *task,
                                   const char *kind)
{
  ClochectlMcpSandbox *sandbox = g_task_get_source_object (task);
  ReadData *data = g_object_get_data (G_OBJECT (task), "read");
  JsonObject *out = json_object_new ();
  g_autofree char *relative = clochectl_mcp_path_relative (
    clochectl_mcp_sandbox_get_guest_dir (sandbox), data->path);

  json_object_set_string_member (out, "path", relative);
  json_object_set_int_member (out, "size", data->size);
  json_object_set_string_member (out, "kind", kind);
  return out;
}

static void
clochectl_mcp_tool_read_return_image (GTask        *task,
                                      const char   *mime_type,
                                      const guint8 *bytes,
                                      gsize         length)
{
  JsonObject *structured = clochectl_mcp_tool_read_described (task, "image");
  JsonObject *result;
  JsonObject *image = json_object_new ();
  g_autofree char *encoded = g_base64_encode (bytes, length);

  json_object_set_string_member (structured, "mime_type", mime_type);
  json_object_set_string_member (image, "type", "image");
  json_object_set_string_member (image, "data", encoded);
  json_object_set_string_member (image, "mimeType", mime_type);
  /* The structured result with its text, then the picture after it. */
  result = clochectl_mcp_tool_structured_result (structured);
  json_array_add_object_element (json_object_get_array_member (result, "content"), image);
  g_task_return_pointer (task, result, (GDestroyNotify) json_object_unref);
}

/* UTF-8 without NUL; a sequence cut by the read limit at the very end is
 * dropped, not held against the file. */
static gboolean
clochectl_mcp_tool_read_text_length (const char *data,
                                     gsize       length,
                                     gboolean    cut,
                                     gsize      *valid)
{
  const char *end = NULL;

  if (memchr (data, '\0', length) != NULL)
    return FALSE;
  if (g_utf8_validate (data, length, &end))
    {
      *valid = length;
      return TRUE;
    }
  if (cut && (gsize) (data + length - end) < 4 && g_utf8_get_char_validated (end, data + length - end) == (gunichar) -2)
    {
      *valid = end - data;
      return TRUE;
    }
  return FALSE;
}

static void
clochectl_mcp_tool_read_return_text (GTask      *task,
                                     const char *text,
                                     gsize       length,
                                     gboolean    cut)
{
  ReadData *data = g_object_get_data (G_OBJECT (task), "read");
  JsonObject *out = clochectl_mcp_tool_read_described (task, "text");
  gsize end = 0;
  gint64 lines = 0;
  gboolean more = cut;
  g_autofree char *content = NULL;

  /* Whole lines, at most limit of them; a line cut by the byte limit only
   * when it is the first. */
  while (end < length && lines < data->limit)
    {
      const char *newline = memchr (text + end, '\n', length - end);

      if (newline == NULL && cut && lines > 0)
        break;
      end = newline != NULL ? (gsize) (newline - text) + 1 : length;
      lines++;
    }
  if (end < length)
    more = TRUE;
  content = g_strndup (text, end);
  json_object_set_int_member (out, "first_line", data->first);
  json_object_set_int_member (out, "last_line", data->first + lines - 1);
  json_object_set_boolean_member (out, "more", more);
  json_object_set_string_member (out, "content", content);
  if (more)
    {
      g_autofree char *note = g_strdup_printf (_("Lines %" PRId64 " to %" PRId64
                                                 " are shown; read_file with offset %"
                                                 PRId64 " reads on."),
                                               data->first, data->first + lines - 1,
                                               data->first + lines);

      json_object_set_string_member (out, "note", note);
    }
  clochectl_mcp_tool_return_structured (task, out);
}

static void clochectl_mcp_tool_read_whole_image (GTask *task);

static void
clochectl_mcp_tool_read_return_contents (GTask        *task,
                                         const guint8 *bytes,
                                         gsize         length)
{
  ReadData *data = g_object_get_data (G_OBJECT (task), "read");
  const char *mime_type =
    data->first == 1 ? clochectl_mcp_tool_read_image_type (bytes, length) : NULL;
  gboolean cut = length < data->size && (data->first > 1 || length >= TEXT_MAX_BYTES);
  g_autofree char *shown = g_strdup (clochectl_mcp_tool_get_target (task));
  gsize valid = 0;

  if (mime_type != NULL && data->size > IMAGE_MAX_BYTES)
    clochectl_mcp_tool_return_error (task, _("\"%s\" is a %s image of %" PRIu64
                                             " bytes, more than the %d MiB read_file returns; "
                                             "make a smaller copy with run_command first."),
                                     shown, mime_type, data->size, IMAGE_MAX_BYTES / 1024 / 1024);
  else if (mime_type != NULL && length < data->size)
    clochectl_mcp_tool_read_whole_image (task);
  else if (mime_type != NULL)
    clochectl_mcp_tool_read_return_image (task, mime_type, bytes, length);
  else if (!clochectl_mcp_tool_read_text_length ((const char *) bytes, length, cut, &valid))
    clochectl_mcp_tool_return_error (task, _("\"%s\" is a binary file of %" PRIu64
                                             " bytes (not UTF-8 text, and not a PNG, JPEG, GIF "
                                             "or WebP image): read_file shows only text and "
                                             "images. Look into it with run_command (od -c, "
                                             "hexdump, strings, base64)."),
                                     shown, data->size);
  else
    clochectl_mcp_tool_read_return_text (task, (const char *) bytes, valid, cut || valid < length);
}

/* The exec's stdout: "SIZE\n" then the bytes. */
static void
clochectl_mcp_tool_read_read_cb (GObject      *object,
                                 GAsyncResult *res,
                                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClochectlMcpSandbox *sandbox = CLOCHECTL_MCP_SANDBOX (object);
  ReadData *data = g_object_get_data (G_OBJECT (task), "read");
  g_auto(ClochectlMcpExecResult) result = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *failure = NULL;
  const guint8 *bytes;
  const guint8 *newline;
  gsize length;

  if (!clochectl_mcp_sandbox_exec_finish (sandbox, res, &result, &error))
    {
      clochectl_mcp_tool_return_gerror (task, _("The file could not be read"), error);
      return;
    }
  if ((failure = clochectl_mcp_script_failure (sandbox, data->path, "read", &result)) != NULL)
    {
      clochectl_mcp_tool_return_error (task, "%s", failure);
      return;
    }
  bytes = g_bytes_get_data (result.out, &length);
  newline = bytes != NULL ? memchr (bytes, '\n', MIN (length, 24)) : NULL;
  if (newline == NULL)
    {
      clochectl_mcp_tool_return_error (task, _("The guest gave an answer read_file cannot "
                                               "read for \"%s\"."), data->path);
      return;
    }
  data->size = g_ascii_strtoull ((const char *) bytes, NULL, 10);
  clochectl_mcp_tool_read_return_contents (task, newline + 1, length - (newline + 1 - bytes));
}

static void
clochectl_mcp_tool_read_exec_read (GTask *task,
                                   gsize  max)
{
  ReadData *data = g_object_get_data (G_OBJECT (task), "read");
  g_autofree char *first = g_strdup_printf ("%" G_GINT64_FORMAT, data->first);
  g_autofree char *limit = g_strdup_printf ("%zu", max);
  const char * const argv[] = { "/bin/sh", "-c", script, "sh", data->path, first, limit, NULL };

  clochectl_mcp_sandbox_exec_async (g_task_get_source_object (task), argv, NULL, NULL, NULL,
                                    CLOCHECTL_MCP_SCRIPT_TIMEOUT_MS, g_task_get_cancellable (task),
                                    clochectl_mcp_tool_read_read_cb, g_object_ref (task));
}

static void
clochectl_mcp_tool_read_whole_image (GTask *task)
{
  clochectl_mcp_tool_read_exec_read (task, IMAGE_MAX_BYTES);
}

static void
clochectl_mcp_tool_read_run (GTask *task)
{
  static const char * const names[] = { "path", "offset", "limit", NULL };
  JsonObject *arguments = clochectl_mcp_tool_get_arguments (task);
  g_autoptr(GError) error = NULL;
  ReadData *data = g_new0 (ReadData, 1);

  g_object_set_data_full (G_OBJECT (task), "read", data,
                          (GDestroyNotify) clochectl_mcp_tool_read_data_free);
  data->first = 1;
  data->limit = LINES_DEFAULT;
  if (!clochectl_mcp_check_names (arguments, names, &error)
      || !clochectl_mcp_arg_int (arguments, "offset", 1, G_MAXINT32, &data->first, &error)
      || !clochectl_mcp_arg_int (arguments, "limit", 1, LINES_MAX, &data->limit, &error))
    {
      clochectl_mcp_tool_return_error (task, "%s", error->message);
      return;
    }
  if ((data->path = clochectl_mcp_tool_resolve (task, "path", TRUE)) == NULL)
    return;
  clochectl_mcp_tool_read_exec_read (task, TEXT_MAX_BYTES);
}

const ClochectlMcpTool clochectl_mcp_tool_read_file = {
  .name = "read_file",
  .title = "Read a file in the sandbox",
  .description =
    "Reads a file of this sandbox session. \"path\" is relative to the session folder (where "
    "commands start; a mounted host folder is \"mnt/NAME/...\") or an absolute path inside "
    "it. Text comes back as lines: 2000 from \"offset\" (the first line, 1 by default) unless "
    "\"limit\" says otherwise, and at most 256 KiB; \"more\" tells there is more. PNG, JPEG, "
    "GIF and WebP images (up to 5 MiB) come back as images. Other binary files are refused "
    "with their size.",
  .input_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\",\"description\":\"Relative to the session folder, or "
    "absolute inside it.\"},"
    "\"offset\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"First line to read "
    "(default 1).\"},"
    "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100000,\"description\":"
    "\"How many lines (default 2000).\"}},"
    "\"required\":[\"path\"],\"additionalProperties\":false}",
  .output_schema =
    "{\"type\":\"object\",\"properties\":{"
    "\"path\":{\"type\":\"string\"},\"size\":{\"type\":\"integer\"},"
    "\"kind\":{\"type\":\"string\",\"enum\":[\"text\",\"image\"]},"
    "\"mime_type\":{\"type\":\"string\"},"
    "\"first_line\":{\"type\":\"integer\"},\"last_line\":{\"type\":\"integer\"},"
    "\"more\":{\"type\":\"boolean\"},\"content\":{\"type\":\"string\"},"
    "\"note\":{\"type\":\"string\"}},"
    "\"required\":[\"path\",\"size\",\"kind\"]}",
  .read_only = TRUE,
  .run = clochectl_mcp_tool_read_run,
};
