/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-session-index.h"
#include "cloche-session-store.h"

G_BEGIN_DECLS

/* What a list or a cleanup was asked, carried to the worker. */
typedef struct
{
  GStrv                  open_ids;
  guint                  stale_after_days;
  gboolean               dry_run;
  ClocheCleanupProgress  progress;
  gpointer               progress_data;
  guint64                freed;
  GVariant              *kept;      /* a list answered from the kept index's file */
} ClocheStoreJob;

void                _cloche_session_store_dispatch  (GMainContext       *context,
                                                     GSourceFunc         func,
                                                     gpointer            data,
                                                     GDestroyNotify      notify);
void                _cloche_session_store_return    (GTask              *task);
ClocheSessionIndex *_cloche_session_store_get_index (ClocheSessionStore *self);
GPtrArray          *_cloche_session_store_snapshot  (ClocheSessionStore *self,
                                                     ClocheStoreJob     *job,
                                                     gboolean            stale_only);
void                _cloche_session_store_cleanup   (ClocheSessionStore *self,
                                                     GTask              *task);

ClocheSessionEntry *cloche_session_index_cache_listed (GVariant           *cached,
                                                       const char * const *open_ids,
                                                       gint64              now,
                                                       guint               stale_after_days);

G_END_DECLS
