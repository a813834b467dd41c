/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Larger than any record this file writes: anything bigger is not one. */
#define CLOCHE_CLEANUP_RECORD_MAX_BYTES 4096

GVariant *cloche_cleanup_record_load (const char  *path,
                                      GError     **error);
gboolean  cloche_cleanup_record_save (const char  *path,
                                      gint64       time,
                                      guint        removed,
                                      guint64      freed,
                                      GError     **error);
GVariant *cloche_cleanup_record_new  (gint64       time,
                                      guint        removed,
                                      guint64      freed);

G_END_DECLS
