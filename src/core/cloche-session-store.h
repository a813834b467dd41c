/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-session.h"

G_BEGIN_DECLS

/* A session as listed: the record (settled: see cloche_session_settle())
 * and what its folder takes on disk, and all of it as the struct lists
 * send (CLOCHE_SESSION_INFO_TYPE, serialised). */
typedef struct
{
  ClocheSession *session;
  guint64        size;
  gboolean       stale;
  GVariant      *info;
} ClocheSessionEntry;

void cloche_session_entry_free (ClocheSessionEntry *entry);

/* Progress of a cleanup, reported on the thread that started it. */
typedef void (*ClocheCleanupProgress) (guint    done,
                                       guint    total,
                                       guint64  freed,
                                       gpointer user_data);

#define CLOCHE_TYPE_SESSION_STORE (cloche_session_store_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSessionStore, cloche_session_store, CLOCHE, SESSION_STORE, GObject)

char               *cloche_session_store_default_root   (void);
ClocheSessionStore *cloche_session_store_new            (const char             *root);
const char         *cloche_session_store_get_root       (ClocheSessionStore     *self);
char               *cloche_session_store_dup_work_dir   (ClocheSessionStore     *self,
                                                         const char             *id);
void                cloche_session_store_create_async   (ClocheSessionStore     *self,
                                                         ClocheSession          *session,
                                                         GCancellable           *cancellable,
                                                         GAsyncReadyCallback     callback,
                                                         gpointer                user_data);
gboolean            cloche_session_store_create_finish  (ClocheSessionStore     *self,
                                                         GAsyncResult           *result,
                                                         GError                **error);
void                cloche_session_store_save           (ClocheSessionStore     *self,
                                                         ClocheSession          *session);
void                cloche_session_store_save_async     (ClocheSessionStore     *self,
                                                         ClocheSession          *session,
                                                         GCancellable           *cancellable,
                                                         GAsyncReadyCallback     callback,
                                                         gpointer                user_data);
gboolean            cloche_session_store_save_finish    (ClocheSessionStore     *self,
                                                         GAsyncResult           *result,
                                                         GError                **error);
void                cloche_session_store_delete_async   (ClocheSessionStore     *self,
                                                         const char             *id,
                                                         GCancellable           *cancellable,
                                                         GAsyncReadyCallback     callback,
                                                         gpointer                user_data);
gboolean            cloche_session_store_delete_finish  (ClocheSessionStore     *self,
                                                         GAsyncResult           *result,
                                                         GError                **error);
void                cloche_session_store_flush          (ClocheSessionStore     *self);
void                cloche_session_store_get_async      (ClocheSessionStore     *self,
                                                         const char             *id,
                                                         const char * const     *open_ids,
                                                         guint                   stale_after_days,
                                                         GCancellable           *cancellable,
                                                         GAsyncReadyCallback     callback,
                                                         gpointer                user_data);
ClocheSessionEntry *cloche_session_store_get_finish     (ClocheSessionStore     *self,
                                                         GAsyncResult           *result,
                                                         GError                **error);
void                cloche_session_store_set_pinned_async (ClocheSessionStore   *self,
                                                           const char           *id,
                                                           gboolean              pinned,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
gboolean            cloche_session_store_set_pinned_finish (ClocheSessionStore  *self,
                                                            GAsyncResult        *result,
                                                            GError             **error);
void                cloche_session_store_list_async     (ClocheSessionStore     *self,
                                                         const char * const     *open_ids,
                                                         guint                   stale_after_days,
                                                         GCancellable           *cancellable,
                                                         GAsyncReadyCallback     callback,
                                                         gpointer                user_data);
GPtrArray          *cloche_session_store_list_finish    (ClocheSessionStore     *self,
                                                         GAsyncResult           *result,
                                                         GError                **error);
void                cloche_session_store_cleanup_async (ClocheSessionStore    *self,
                                                        const char * const    *open_ids,
                                                        guint                  stale_after_days,
                                                        gboolean               dry_run,
                                                        ClocheCleanupProgress  progress,
                                                        gpointer               progress_data,
                                                        GCancellable          *cancellable,
                                                        GAsyncReadyCallback    callback,
                                                        gpointer               user_data);
GPtrArray          *cloche_session_store_cleanup_finish (ClocheSessionStore   *self,
                                                         GAsyncResult         *result,
                                                         guint64              *freed,
                                                         GError              **error);

G_END_DECLS
