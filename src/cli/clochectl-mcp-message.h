/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* JSON-RPC 2.0's error codes, as the GError codes of this domain. */
typedef enum
{
  CLOCHECTL_MCP_ERROR_PARSE            = -32700,
  CLOCHECTL_MCP_ERROR_INVALID_REQUEST  = -32600,
  CLOCHECTL_MCP_ERROR_METHOD_NOT_FOUND = -32601,
  CLOCHECTL_MCP_ERROR_INVALID_PARAMS   = -32602,
  CLOCHECTL_MCP_ERROR_INTERNAL         = -32603,
} ClochectlMcpError;

#define CLOCHECTL_MCP_ERROR (clochectl_mcp_error_quark ())
GQuark clochectl_mcp_error_quark (void);

typedef enum
{
  CLOCHECTL_MCP_REQUEST,
  CLOCHECTL_MCP_NOTIFICATION,
  CLOCHECTL_MCP_RESPONSE,
} ClochectlMcpKind;

/* One message as read; the members point into @root. */
typedef struct
{
  ClochectlMcpKind  kind;
  JsonNode         *root;
  JsonNode         *id;       /* a string or an integer; requests and responses */
  const char       *method;   /* requests and notifications */
  JsonObject       *params;   /* nullable */
} ClochectlMcpMessage;

void      clochectl_mcp_message_clear   (ClochectlMcpMessage *message);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClochectlMcpMessage, clochectl_mcp_message_clear)

gboolean  clochectl_mcp_message_parse   (const char          *data,
                                         gsize                length,
                                         ClochectlMcpMessage *message,
                                         JsonNode           **error_id,
                                         GError             **error);
gboolean  clochectl_mcp_id_equal        (JsonNode            *a,
                                         JsonNode            *b);
gboolean  clochectl_mcp_id_is_valid     (JsonNode            *id);

char     *clochectl_mcp_result_line     (JsonNode            *id,
                                         JsonObject          *result);
char     *clochectl_mcp_error_line      (JsonNode            *id,
                                         int                  code,
                                         const char          *message);
char     *clochectl_mcp_notification_line (const char        *method,
                                           JsonObject        *params);

G_END_DECLS
