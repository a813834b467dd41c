/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLOCHECTL_MCP_PATH_MAX 4096

char *clochectl_mcp_path_resolve  (const char  *session_dir,
                                   const char  *path,
                                   GError     **error);
char *clochectl_mcp_path_relative (const char  *session_dir,
                                   const char  *guest_path);
char *clochectl_mcp_path_mount_of (const char  *session_dir,
                                   const char  *guest_path);

G_END_DECLS
