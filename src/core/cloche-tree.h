/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

guint64  cloche_tree_measure (int          parent_fd,
                              const char  *name);
gboolean cloche_tree_remove  (int          parent_fd,
                              const char  *name,
                              guint64     *freed,
                              GError     **error);

G_END_DECLS
