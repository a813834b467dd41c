/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The MCP server's message parser, one line at a time as a client would
 * send them, and the answer built for each: whatever the line, a request
 * or notification comes back with a method, a failure with a JSON-RPC
 * code and a line to send that holds no newline.
 */
#include "config.h"

#include "cloche-fuzz.h"
#include "clochectl-mcp-message.h"

static void
check_line (const char *line)
{
  g_auto(ClochectlMcpMessage) message = { 0 };
  g_autoptr(JsonNode) error_id = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = NULL;

  if (!clochectl_mcp_message_parse (line, strlen (line), &message, &error_id, &error))
    {
      g_assert_true (error->domain == CLOCHECTL_MCP_ERROR);
      g_assert_true (error->code <= -32600 && error->code >= -32700);
      g_assert_true (error_id == NULL || clochectl_mcp_id_is_valid (error_id));
      answer = clochectl_mcp_error_line (error_id, error->code, error->message);
    }
  else if (message.kind == CLOCHECTL_MCP_RESPONSE)
    {
      g_assert_true (clochectl_mcp_id_is_valid (message.id));
      return;
    }
  else
    {
      g_autoptr(JsonObject) empty = json_object_new ();

      g_assert_nonnull (message.method);
      if (message.kind == CLOCHECTL_MCP_NOTIFICATION)
        return;
      g_assert_true (clochectl_mcp_id_is_valid (message.id));
      answer = clochectl_mcp_result_line (message.id, empty);
    }
  g_assert_null (strchr (answer, '\n'));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GPtrArray) lines = NULL;

  cloche_fuzz_init ();
  lines = cloche_fuzz_lines (data, size);
  for (guint i = 0; i < lines->len; i++)
    check_line (g_ptr_array_index (lines, i));
  return 0;
}
