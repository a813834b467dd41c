/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Where every session finds the tools folder, read-only; its bin is on PATH. */
#define CLOCHE_TOOLS_GUEST_DIR "/opt/cloche/tools"
#define CLOCHE_TOOLS_GUEST_BIN CLOCHE_TOOLS_GUEST_DIR "/bin"
/* The name of the tools folder's mount in an install session
 * (/sessions/ID/mnt/tools, read-write). */
#define CLOCHE_TOOLS_MOUNT_NAME "tools"

char     *cloche_tools_dup_dir   (void);
gboolean  cloche_tools_make_dir  (const char  *dir,
                                  GError     **error);
gboolean  cloche_tools_is_empty  (const char  *dir);
gboolean  cloche_tools_has_command (const char *command);
guint64   cloche_tools_measure   (const char  *dir);
gboolean  cloche_tools_clear     (const char  *dir,
                                  guint64     *freed,
                                  GError     **error);

G_END_DECLS
