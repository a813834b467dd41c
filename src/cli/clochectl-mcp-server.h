/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "clochectl-mcp-tools.h"
#include "clochectl-mcp-transport.h"

G_BEGIN_DECLS

#define CLOCHECTL_TYPE_MCP_SERVER (clochectl_mcp_server_get_type ())
G_DECLARE_FINAL_TYPE (ClochectlMcpServer, clochectl_mcp_server, CLOCHECTL, MCP_SERVER, GObject)

ClochectlMcpServer *clochectl_mcp_server_new      (ClochectlMcpTransport *transport,
                                                   ClochectlMcpTools     *tools);
void                clochectl_mcp_server_start    (ClochectlMcpServer    *self);
void                clochectl_mcp_server_shutdown (ClochectlMcpServer    *self);

G_END_DECLS
