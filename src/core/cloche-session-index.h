/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <sys/stat.h>

#include "cloche-session.h"

G_BEGIN_DECLS

/* What a file looked like when it was last read; all zero: look again. */
typedef struct
{
  guint64 ino;
  gint64  size;
  gint64  mtime_ns;
  gint64  ctime_ns;
} ClocheStamp;

/* One session as the index knows it. */
typedef struct
{
  char          *id;
  ClocheSession *session;     /* never changed once here: replaced whole */
  guint64        size;        /* what removing the folder would free */
  ClocheStamp    record;      /* session.json */
  ClocheStamp    folder;      /* <id>/ */
  ClocheStamp    work;        /* <id>/work/ */
  guint          scan;        /* the last rescan that saw the folder */
  /* As last listed (cloche_session_index_listed()), and what it was built
   * from: a reference, so that a record replaced since never looks the
   * same. */
  GVariant      *info;
  ClocheSession *info_session;
  guint64        info_size;
  guint          info_stale : 1;
  guint          info_settled : 1;
  guint          reload : 1;  /* during a sync: read session.json again */
  guint          remeasure : 1;
  guint          gone : 1;
} ClocheIndexEntry;

/*
 * Every session folder with its record and size, kept by the store's worker
 * thread and used by nothing else. A sync compares what is on disk with
 * what was read (stamps of the sessions folder, each session.json, each
 * session folder and work folder) and reads again only what changed.
 */
typedef struct
{
  char        *root;
  GHashTable  *entries;       /* id → ClocheIndexEntry */
  ClocheStamp  root_stamp;
  guint        scan;
  gboolean     dirty;         /* changed since the cache file was written */
  gint         reads;         /* records read, trees measured: for tests */
  gint         measures;
} ClocheSessionIndex;

void                cloche_session_index_entry_free (ClocheIndexEntry *entry);
ClocheSessionIndex *cloche_session_index_new    (const char          *root);
void                cloche_session_index_free   (ClocheSessionIndex  *index);
int                 cloche_session_index_open_root (ClocheSessionIndex *index);
void                cloche_session_index_sync   (ClocheSessionIndex  *index,
                                                 const char * const  *open_ids,
                                                 gboolean             full);
void                cloche_session_index_check  (ClocheSessionIndex  *index,
                                                 const char * const  *ids,
                                                 guint                n_ids);
GPtrArray          *cloche_session_index_dup_ids (ClocheSessionIndex *index);
GVariant           *cloche_session_index_listed (ClocheIndexEntry    *entry,
                                                 ClocheSession       *session,
                                                 gboolean             stale,
                                                 gboolean            *built);
ClocheIndexEntry   *cloche_session_index_lookup (ClocheSessionIndex  *index,
                                                 const char          *id);
ClocheIndexEntry   *cloche_session_index_get    (ClocheSessionIndex  *index,
                                                 const char          *id);
void                cloche_session_index_put    (ClocheSessionIndex  *index,
                                                 ClocheSession       *snapshot,
                                                 gboolean             measure);
void                cloche_session_index_remove (ClocheSessionIndex  *index,
                                                 const char          *id);
ClocheSession      *cloche_session_index_read   (int                  root_fd,
                                                 const char          *id,
                                                 ClocheStamp         *stamp);
void                cloche_stamp_take           (ClocheStamp         *stamp,
                                                 const struct stat   *st);

char               *cloche_session_index_read_fd    (int                 fd,
                                                     gsize               size,
                                                     gsize              *length,
                                                     int                *error_number);
char               *cloche_session_index_cache_path (const char       *root);
GBytes             *cloche_session_index_build_cache (ClocheSessionIndex *index);
GVariant           *cloche_session_index_parse_cache (ClocheSessionIndex *index,
                                                      GBytes             *contents);
GVariant           *cloche_session_index_read_cache (ClocheSessionIndex *index);
guint               cloche_session_index_fill       (ClocheSessionIndex *index,
                                                     GVariant           *entries);
gboolean            cloche_session_index_save_cache (ClocheSessionIndex *index,
                                                     GError            **error);

typedef void (*ClocheParallelFunc) (gpointer item,
                                    gpointer data);
void                cloche_parallel_for         (GPtrArray           *items,
                                                 ClocheParallelFunc   func,
                                                 gpointer             data);

G_END_DECLS
