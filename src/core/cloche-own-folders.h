/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One of the folders Cloche keeps its own things in. */
typedef struct
{
  char     *role;   /* "bundle", "sessions", "state", "cache", "runtime", "tools", "config", "data" */
  char     *path;
  gboolean  guest_only;   /* kept from the guest only: the others may lie inside it */
} ClocheOwnFolder;

GPtrArray *cloche_own_folders_new          (const char  *bundle,
                                            const char  *sessions);
gboolean   cloche_own_folders_check_apart  (GPtrArray   *folders,
                                            const char  *role,
                                            const char  *path,
                                            GError     **error);
gboolean   cloche_own_folders_check_outside (GPtrArray  *folders,
                                             const char *path,
                                             GError    **error);

G_END_DECLS
