/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * ClocheBundleProgressFunc:
 * @phase: "download", "copy", "verify" or "remove"
 * @file: the file being worked on, a name inside the bundle
 * @done: bytes done so far in the whole operation
 * @total: bytes the whole operation will handle
 *
 * Called in the thread that does the work, often: throttle before
 * showing anything.
 */
typedef void (*ClocheBundleProgressFunc) (const char *phase,
                                          const char *file,
                                          guint64     done,
                                          guint64     total,
                                          gpointer    user_data);

gboolean cloche_bundle_verify (const char                *dir,
                               GCancellable              *cancellable,
                               ClocheBundleProgressFunc   progress,
                               gpointer                   progress_data,
                               GError                   **error);

G_END_DECLS
