/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Files with more than one name, shared by the walks of one cleanup (which
 * may run in several threads): such a file frees its blocks only when its
 * last name goes, so it counts once every name was seen. */
typedef struct _ClocheTreeLinks ClocheTreeLinks;

ClocheTreeLinks *cloche_tree_links_new  (void);
void             cloche_tree_links_free (ClocheTreeLinks *links);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheTreeLinks, cloche_tree_links_free)

guint64  cloche_tree_measure          (int               parent_fd,
                                       const char       *name);
guint64  cloche_tree_measure_freeable (int               parent_fd,
                                       const char       *name,
                                       ClocheTreeLinks  *links);
gboolean cloche_tree_remove           (int               parent_fd,
                                       const char       *name,
                                       ClocheTreeLinks  *links,
                                       guint64          *freed,
                                       GError          **error);

G_END_DECLS
