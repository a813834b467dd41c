/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Folders deeper than this below the copied one are refused. */
#define CLOCHE_TREE_COPY_MAX_DEPTH 128

/* Bytes copied so far out of @total (the allocated blocks of the source,
 * as cloche_tree_measure() counts them: an estimate until the end, when
 * @copied is @total); called on the copying thread. */
typedef void (*ClocheTreeCopyProgress) (guint64  copied,
                                        guint64  total,
                                        gpointer user_data);

typedef struct
{
  guint64 total;       /* what cloche_tree_measure() said before the copy */
  guint64 copied;
  guint   files;
  guint   links;       /* symbolic links, copied as links */
  guint   skipped;     /* fifos, sockets, devices: never copied */
  char   *first_skipped; /* the first of them, relative to the top, and why */
} ClocheTreeCopy;

void     cloche_tree_copy_clear (ClocheTreeCopy          *copy);
gboolean cloche_tree_copy       (int                      src_parent_fd,
                                 const char              *src_name,
                                 int                      dst_parent_fd,
                                 const char              *dst_name,
                                 ClocheTreeCopy          *copy,
                                 ClocheTreeCopyProgress   progress,
                                 gpointer                 progress_data,
                                 GCancellable            *cancellable,
                                 GError                 **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClocheTreeCopy, cloche_tree_copy_clear)

G_END_DECLS
