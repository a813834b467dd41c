/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The blocking steps of the bundle operations, run in worker threads by
 * ClocheBundleManager (cloche-bundle-manager.c).
 */

#include "cloche-bundle.h"
#include "cloche-bundle-manifest.h"
#include "cloche-bundle-verify.h"

G_BEGIN_DECLS

#define CLOCHE_BUNDLE_CHUNK (1024 * 1024)

/* Progress of one operation: byte counts across all its files. */
typedef struct
{
  ClocheBundleProgressFunc  func;
  gpointer                  data;
  const char               *phase;
  guint64                   done;
  guint64                   total;
} ClocheBundleProgress;

void     _cloche_bundle_progress_report (ClocheBundleProgress        *progress,
                                         const char                  *file,
                                         guint64                      bytes);
gboolean _cloche_bundle_hash_fd         (int                          fd,
                                         GChecksum                   *checksum,
                                         ClocheBundleProgress        *progress,
                                         const char                  *file,
                                         GCancellable                *cancellable,
                                         GError                     **error);
gboolean _cloche_bundle_check_checksum  (GChecksum                   *checksum,
                                         const ClocheBundleFile      *file,
                                         const char                  *where,
                                         const char                  *advice,
                                         GError                     **error);
gboolean _cloche_bundle_write_all       (int                          fd,
                                         const void                  *data,
                                         gsize                        length,
                                         const char                  *where,
                                         GError                     **error);
gboolean _cloche_bundle_copy_file       (const char                  *source,
                                         int                          dest_dir_fd,
                                         const ClocheBundleFile      *file,
                                         ClocheBundleProgress        *progress,
                                         GCancellable                *cancellable,
                                         GError                     **error);
gpointer _cloche_bundle_http_session_new (void);
gboolean _cloche_bundle_download_file   (gpointer                     session,
                                         const char                  *url,
                                         int                          dest_dir_fd,
                                         const ClocheBundleFile      *file,
                                         ClocheBundleProgress        *progress,
                                         GCancellable                *cancellable,
                                         GError                     **error);
GBytes  *_cloche_bundle_download_bytes  (gpointer                     session,
                                         const char                  *url,
                                         GCancellable                *cancellable,
                                         GError                     **error);
guint64  _cloche_bundle_free_space      (const char                  *path);
gboolean _cloche_bundle_check_space     (const char                  *target,
                                         guint64                      needed,
                                         GError                     **error);
char    *_cloche_bundle_staging_path    (const char                  *target,
                                         const char                  *what);
gboolean _cloche_bundle_check_target    (const char                  *target,
                                         gboolean                     may_be_bundle,
                                         GError                     **error);

ClocheBundleManifest *_cloche_bundle_install_run  (const char            *source,
                                                   const char            *target,
                                                   ClocheBundleProgress  *progress,
                                                   GCancellable          *cancellable,
                                                   GError               **error);
ClocheBundleManifest *_cloche_bundle_inspect_run  (const char            *source,
                                                   GCancellable          *cancellable,
                                                   GError               **error);
gboolean              _cloche_bundle_relocate_run (const char            *from,
                                                   const char            *to,
                                                   gboolean              *copied,
                                                   ClocheBundleProgress  *progress,
                                                   GCancellable          *cancellable,
                                                   GError               **error);
gboolean              _cloche_bundle_remove_files (const char            *dir,
                                                   guint64               *freed,
                                                   GError               **error);

gboolean _cloche_bundle_open_boot_files_at (ClocheBundle          *self,
                                            const char            *stamps_path,
                                            gint64                 now_ns,
                                            GCancellable          *cancellable,
                                            guint                 *n_hashed,
                                            GError               **error);

G_END_DECLS
