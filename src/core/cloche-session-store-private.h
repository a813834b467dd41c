/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-session-index.h"
#include "cloche-session-store.h"

G_BEGIN_DECLS

/* What a list, a get or a cleanup was asked, carried to the worker. */
typedef struct
{
  GStrv                  open_ids;
  guint                  stale_after_days;
  gboolean               dry_run;
  ClocheCleanupProgress  progress;
  gpointer               progress_data;
  guint64                freed;
  char                  *id;
} ClocheStoreJob;

void                _cloche_session_store_dispatch  (GMainContext       *context,
                                                     GSourceFunc         func,
                                                     gpointer            data,
                                                     GDestroyNotify      notify);
ClocheSessionIndex *_cloche_session_store_get_index (ClocheSessionStore *self);
GPtrArray          *_cloche_session_store_snapshot  (ClocheSessionStore *self,
                                                     ClocheStoreJob     *job,
                                                     gboolean            stale_only);
void                _cloche_session_store_cleanup   (ClocheSessionStore *self,
                                                     GTask              *task);

/* For tests only: a slow disk (each record write waits @ms first), and a
 * store whose checks of the disk wait until released (to list before the
 * first one, deterministically). */
void                _cloche_session_store_set_write_delay (ClocheSessionStore *self,
                                                           guint               ms);
ClocheSessionStore *_cloche_session_store_new_held        (const char         *root);
void                _cloche_session_store_release_checks  (ClocheSessionStore *self);

G_END_DECLS
