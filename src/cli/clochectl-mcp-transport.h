/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Far above a real message (write_file's content is capped at 8 MiB, at
 * most twice that escaped), far below what would hurt. */
#define CLOCHECTL_MCP_LINE_MAX_BYTES (32u * 1024 * 1024)

#define CLOCHECTL_TYPE_MCP_TRANSPORT (clochectl_mcp_transport_get_type ())
G_DECLARE_FINAL_TYPE (ClochectlMcpTransport, clochectl_mcp_transport, CLOCHECTL, MCP_TRANSPORT,
                      GObject)

ClochectlMcpTransport *clochectl_mcp_transport_new   (GInputStream          *input,
                                                      GOutputStream         *output);
void                   clochectl_mcp_transport_start (ClochectlMcpTransport *self);
void                   clochectl_mcp_transport_send  (ClochectlMcpTransport *self,
                                                      char                  *line);
void                   clochectl_mcp_transport_flush_async  (ClochectlMcpTransport *self,
                                                             GAsyncReadyCallback    callback,
                                                             gpointer               user_data);
gboolean               clochectl_mcp_transport_flush_finish (ClochectlMcpTransport *self,
                                                             GAsyncResult          *result,
                                                             GError               **error);

G_END_DECLS
