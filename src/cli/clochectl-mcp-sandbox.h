/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A host folder of the session, as the guest sees it. */
typedef struct
{
  char     *name;        /* mnt/NAME */
  char     *host_path;
  gboolean  readonly;
} ClochectlMcpMount;

/* What a command gave back. */
typedef struct
{
  int        exit_code;
  GBytes    *out;
  GBytes    *err;
  gboolean   timed_out;
  GPtrArray *denied;     /* egress refusals while it ran: "HOST:PORT (rule \"…\")" */
} ClochectlMcpExecResult;

void clochectl_mcp_exec_result_clear (ClochectlMcpExecResult *result);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClochectlMcpExecResult, clochectl_mcp_exec_result_clear)

#define CLOCHECTL_TYPE_MCP_SANDBOX (clochectl_mcp_sandbox_get_type ())
G_DECLARE_FINAL_TYPE (ClochectlMcpSandbox, clochectl_mcp_sandbox, CLOCHECTL, MCP_SANDBOX, GObject)

ClochectlMcpSandbox *clochectl_mcp_sandbox_new            (const char           *title,
                                                           GVariant             *mounts,
                                                           const char           *session_id);
void                 clochectl_mcp_sandbox_set_client     (ClochectlMcpSandbox  *self,
                                                           const char           *client);
gboolean             clochectl_mcp_sandbox_is_open        (ClochectlMcpSandbox  *self);
void                 clochectl_mcp_sandbox_open_async     (ClochectlMcpSandbox  *self,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
gboolean             clochectl_mcp_sandbox_open_finish    (ClochectlMcpSandbox  *self,
                                                           GAsyncResult         *result,
                                                           GError              **error);
const char          *clochectl_mcp_sandbox_get_session_id (ClochectlMcpSandbox  *self);
const char          *clochectl_mcp_sandbox_get_guest_dir  (ClochectlMcpSandbox  *self);
GPtrArray           *clochectl_mcp_sandbox_get_mounts     (ClochectlMcpSandbox  *self);
void                 clochectl_mcp_sandbox_exec_async     (ClochectlMcpSandbox  *self,
                                                           const char * const   *argv,
                                                           const char * const   *env,
                                                           const char           *cwd,
                                                           GBytes               *input,
                                                           guint                 timeout_ms,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
gboolean             clochectl_mcp_sandbox_exec_finish    (ClochectlMcpSandbox  *self,
                                                           GAsyncResult         *result,
                                                           ClochectlMcpExecResult *result_out,
                                                           GError              **error);
JsonObject          *clochectl_mcp_sandbox_describe       (ClochectlMcpSandbox  *self);
void                 clochectl_mcp_sandbox_close_async    (ClochectlMcpSandbox  *self,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
gboolean             clochectl_mcp_sandbox_close_finish   (ClochectlMcpSandbox  *self,
                                                           GAsyncResult         *result,
                                                           GError              **error);

G_END_DECLS
