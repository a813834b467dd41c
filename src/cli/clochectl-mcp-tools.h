/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "clochectl-mcp-sandbox.h"

G_BEGIN_DECLS

/* Told how far opening the session is, while a call waits for it. */
typedef void (*ClochectlMcpProgressFunc) (const char *message,
                                          gpointer    user_data);

#define CLOCHECTL_TYPE_MCP_TOOLS (clochectl_mcp_tools_get_type ())
G_DECLARE_FINAL_TYPE (ClochectlMcpTools, clochectl_mcp_tools, CLOCHECTL, MCP_TOOLS, GObject)

ClochectlMcpTools *clochectl_mcp_tools_new         (ClochectlMcpSandbox      *sandbox);
ClochectlMcpSandbox *clochectl_mcp_tools_get_sandbox (ClochectlMcpTools      *self);
void               clochectl_mcp_tools_set_client  (ClochectlMcpTools        *self,
                                                    const char               *name,
                                                    const char               *version);
JsonObject        *clochectl_mcp_tools_list        (ClochectlMcpTools        *self);
gboolean           clochectl_mcp_tools_has         (ClochectlMcpTools        *self,
                                                    const char               *name);
void               clochectl_mcp_tools_call_async  (ClochectlMcpTools        *self,
                                                    const char               *name,
                                                    JsonObject               *arguments,
                                                    ClochectlMcpProgressFunc  progress,
                                                    gpointer                  progress_data,
                                                    GCancellable             *cancellable,
                                                    GAsyncReadyCallback       callback,
                                                    gpointer                  user_data);
JsonObject        *clochectl_mcp_tools_call_finish (ClochectlMcpTools        *self,
                                                    GAsyncResult             *result,
                                                    GError                  **error);

G_END_DECLS
