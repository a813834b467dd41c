/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions on the host: <root>/<id>/session.json and <root>/<id>/work/, the
 * folder the guest sees as /sessions/<id>. Plain files, written atomically
 * (temporary file, fsync, rename), readable and removable with the VM
 * stopped.
 *
 * One worker thread does everything the store does on disk, in the order
 * it was asked: records written, read, listed, removed, cleaned up. So the
 * main loop never waits on the disk, a list always shows the writes asked
 * before it, and a cleanup never races a write. Writes of the same session
 * that pile up behind a slow disk are merged: the newest record is the one
 * written. cloche_session_store_flush() waits for all of it (the daemon
 * calls it as it exits).
 *
 * The worker keeps the ClocheSessionIndex (see there), filled at the start
 * from sessions.index when there is a sound one. A list answers from it at
 * once; what changed behind the daemon's back is found by a check of every
 * stamp against the disk, which runs behind lists (after the start, then at
 * most every CHECK_INTERVAL_US) in chunks of CHECK_CHUNK sessions, each its
 * own job in the queue: a list asked meanwhile waits for one chunk, never
 * for the whole check. A cleanup checks every stamp itself before it
 * chooses.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-session-codec.h"
#include "cloche-session-store-private.h"
#include "cloche-tree.h"

#define CHECK_INTERVAL_US (2 * G_USEC_PER_SEC)
/* About 25 ms of stats here: what a list may wait behind a check. */
#define CHECK_CHUNK 500
#define HELD_POLL_US (10 * 1000)

typedef enum
{
  OP_WRITE,
  OP_GET,
  OP_PIN,
  OP_LIST,
  OP_CLEANUP,
  OP_DELETE,
  OP_FLUSH,
  OP_LOAD,
  OP_CHECK,
} OpKind;

typedef struct
{
  OpKind    kind;
  char     *id;
  gboolean  pinned;
  GTask    *task;
  GAsyncQueue *done;  /* OP_FLUSH: told when it ran */
} Op;

/* A record waiting for the worker: the newest one asked for. */
typedef struct
{
  char          *json;
  ClocheSession *snapshot;
  gboolean       create;
  GSList        *tasks;      /* create_async, save_async calls waiting for it */
} Pending;

struct _ClocheSessionStore
{
  GObject             parent_instance;
  char               *root;
  GThreadPool        *worker;
  GMutex              lock;         /* guards pending */
  GHashTable         *pending;      /* id → Pending */
  gint                write_delay_ms;
  gint                checks_held;
  gint                stopping;     /* finalizing: a check queues no more chunks */
  /* The worker's alone */
  ClocheSessionIndex *index;
  GPtrArray          *unchecked;    /* ids the running check has left; NULL: none runs */
  gint64              checked_at;   /* monotonic µs, when the last check started */
  gboolean            saved_once;
};

G_DEFINE_FINAL_TYPE (ClocheSessionStore, cloche_session_store, G_TYPE_OBJECT)

void
cloche_session_entry_free (ClocheSessionEntry *entry)
{
  g_clear_object (&entry->session);
  g_clear_pointer (&entry->info, g_variant_unref);
  g_free (entry);
}

static void
cloche_session_store_pending_free (Pending *pending)
{
  g_free (pending->json);
  g_clear_object (&pending->snapshot);
  g_slist_free_full (pending->tasks, g_object_unref);
  g_free (pending);
}

static void
cloche_session_store_op_free (Op *op)
{
  g_free (op->id);
  g_free (op);
}

static void
cloche_session_store_job_free (ClocheStoreJob *job)
{
  g_strfreev (job->open_ids);
  g_free (job->id);
  g_free (job);
}

static ClocheStoreJob *
cloche_session_store_job_new (const char * const *open_ids,
                              guint               stale_after_days)
{
  ClocheStoreJob *job = g_new0 (ClocheStoreJob, 1);

  job->open_ids = g_strdupv ((char **) open_ids);
  job->stale_after_days = stale_after_days;
  return job;
}

char *
cloche_session_store_default_root (void)
{
  return g_build_filename (g_get_user_state_dir (), "cloche", "sessions", NULL);
}

const char *
cloche_session_store_get_root (ClocheSessionStore *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION_STORE (self), NULL);
  return self->root;
}

char *
cloche_session_store_dup_work_dir (ClocheSessionStore *self,
                                   const char         *id)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION_STORE (self), NULL);
  return g_build_filename (self->root, id, "work", NULL);
}

ClocheSessionIndex *
_cloche_session_store_get_index (ClocheSessionStore *self)
{
  return self->index;
}

static gboolean
cloche_session_store_unref_task (gpointer task)
{
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

/**
 * _cloche_session_store_dispatch:
 *
 * Runs @func in @context's own thread, always later: unlike
 * g_main_context_invoke(), never at once in this thread because no thread
 * happens to be iterating @context at this moment.
 */
void
_cloche_session_store_dispatch (GMainContext   *context,
                                GSourceFunc     func,
                                gpointer        data,
                                GDestroyNotify  notify)
{
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, notify);
  g_source_set_static_name (source, "[cloche] session store");
  g_source_attach (source, context);
}

/* The worker's reference goes back to the task's own thread: were it the
 * last, the store would be finalized in the worker, which it waits for. */
static void
cloche_session_store_return_task (GTask *task)
{
  _cloche_session_store_dispatch (g_task_get_context (task), cloche_session_store_unref_task, task,
                                  NULL);
}

static Op *
cloche_session_store_op_new (OpKind      kind,
                             const char *id,
                             GTask      *task)
{
  Op *op = g_new0 (Op, 1);

  op->kind = kind;
  op->id = g_strdup (id);
  op->task = task;
  return op;
}

static void
cloche_session_store_push (ClocheSessionStore *self,
                           OpKind              kind,
                           const char         *id,
                           GTask              *task)
{
  g_thread_pool_push (self->worker, cloche_session_store_op_new (kind, id, task), NULL);
}

static GTask *
cloche_session_store_new_task (ClocheSessionStore  *self,
                               gpointer             source_tag,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  return task;
}

/* Writing, in the worker */

static gboolean
cloche_session_store_write_json (ClocheSessionStore  *self,
                                 const char          *id,
                                 const char          *json,
                                 GError             **error)
{
  g_autofree char *path = g_build_filename (self->root, id, "session.json", NULL);

  /* CONSISTENT: a temporary file, fsync, rename: a crash leaves the old or
   * the new record, never half of one. */
  return g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static gboolean
cloche_session_store_make_folder (ClocheSessionStore  *self,
                                  const char          *id,
                                  GError             **error)
{
  g_autofree char *work = cloche_session_store_dup_work_dir (self, id);

  if (g_mkdir_with_parents (work, 0700) == 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
               _("Cannot create the session folder %s: %s"), work, g_strerror (errno));
  return FALSE;
}

static Pending *
cloche_session_store_take_pending (ClocheSessionStore *self,
                                   const char         *id)
{
  g_autofree char *key = NULL;
  Pending *pending = NULL;

  g_mutex_lock (&self->lock);
  g_hash_table_steal_extended (self->pending, id, (gpointer *) &key, (gpointer *) &pending);
  g_mutex_unlock (&self->lock);
  return pending;
}

static void
cloche_session_store_run_write (ClocheSessionStore *self,
                                const char         *id)
{
  g_autoptr(GError) error = NULL;
  guint delay_ms = g_atomic_int_get (&self->write_delay_ms);
  Pending *pending;

  if (delay_ms > 0)
    g_usleep (delay_ms * 1000);
  pending = cloche_session_store_take_pending (self, id);
  if ((!pending->create || cloche_session_store_make_folder (self, id, &error))
      && cloche_session_store_write_json (self, id, pending->json, &error))
    cloche_session_index_put (self->index, pending->snapshot, pending->create);
  else if (pending->tasks == NULL)
    /* Nobody waits for this one: the session goes on, the log says why
     * its record did not follow. */
    g_warning ("Cannot record session %s: %s", id, error->message);

  for (GSList *l = pending->tasks; l != NULL; l = l->next)
    {
      if (error != NULL)
        g_task_return_error (l->data, g_error_copy (error));
      else
        g_task_return_boolean (l->data, TRUE);
      cloche_session_store_return_task (l->data);
    }
  g_slist_free (g_steal_pointer (&pending->tasks));
  cloche_session_store_pending_free (pending);
}

/* Reading, pinning, deleting, in the worker */

static ClocheIndexEntry *
cloche_session_store_get_entry (ClocheSessionStore  *self,
                                const char          *id,
                                GError             **error)
{
  ClocheIndexEntry *entry = NULL;

  if (cloche_session_id_is_valid (id))
    entry = cloche_session_index_get (self->index, id);
  if (entry == NULL)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND,
                 _("There is no session with the id \"%s\""), id);
  return entry;
}

/* @session as listed: settled, its staleness as of @now, its struct from
 * the index's cache when nothing it was built from changed. */
static ClocheSessionEntry *
cloche_session_store_list_entry (ClocheIndexEntry *indexed,
                                 ClocheStoreJob   *job,
                                 gint64            now,
                                 gboolean         *built)
{
  ClocheSessionEntry *entry = g_new0 (ClocheSessionEntry, 1);

  entry->session = cloche_session_settle (indexed->session, (const char * const *) job->open_ids);
  entry->stale = cloche_session_is_stale (entry->session, now, job->stale_after_days);
  entry->size = indexed->size;
  entry->info = cloche_session_index_listed (indexed, entry->session, entry->stale, built);
  return entry;
}

static void
cloche_session_store_run_get (ClocheSessionStore *self,
                              GTask              *task)
{
  ClocheStoreJob *job = g_task_get_task_data (task);
  ClocheIndexEntry *indexed;
  GError *error = NULL;

  indexed = cloche_session_store_get_entry (self, job->id, &error);
  if (indexed == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task,
                           cloche_session_store_list_entry (indexed, job, g_get_real_time (),
                                                            &self->index->dirty),
                           (GDestroyNotify) cloche_session_entry_free);
}

static gboolean
cloche_session_store_pin (ClocheSessionStore  *self,
                          const char          *id,
                          gboolean             pinned,
                          GError             **error)
{
  ClocheIndexEntry *entry = cloche_session_store_get_entry (self, id, error);
  g_autoptr(ClocheSession) session = NULL;
  g_autofree char *json = NULL;

  if (entry == NULL)
    return FALSE;
  if (cloche_session_get_state (entry->session) == CLOCHE_SESSION_STATE_DAMAGED)
    {
      /* Rewriting it would replace what is left of the record. */
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                   _("Session %s cannot be pinned: %s"), id,
                   cloche_session_get_damage (entry->session));
      return FALSE;
    }
  /* Not open (the sandbox pins open sessions itself): a record still
   * saying so is a leftover, written back closed. */
  session = cloche_session_copy (entry->session);
  cloche_session_set_state (session, CLOCHE_SESSION_STATE_CLOSED);
  cloche_session_set_pinned (session, pinned);
  json = cloche_session_to_json (session);
  if (!cloche_session_store_write_json (self, id, json, error))
    return FALSE;
  cloche_session_index_put (self->index, session, FALSE);
  return TRUE;
}

static void
cloche_session_store_run_pin (ClocheSessionStore *self,
                              Op                 *op)
{
  GError *error = NULL;

  if (cloche_session_store_pin (self, op->id, op->pinned, &error))
    g_task_return_boolean (op->task, TRUE);
  else
    g_task_return_error (op->task, error);
}

static void
cloche_session_store_run_delete (ClocheSessionStore *self,
                                 Op                 *op)
{
  int root_fd = cloche_session_index_open_root (self->index);
  GError *error = NULL;
  guint64 freed = 0;

  if (root_fd < 0 || !cloche_tree_remove (root_fd, op->id, NULL, &freed, &error))
    {
      if (error == NULL)
        g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno),
                     _("Cannot open the sessions folder %s: %s"), self->root, g_strerror (errno));
      g_task_return_error (op->task, error);
    }
  else
    g_task_return_boolean (op->task, TRUE);
  if (root_fd >= 0)
    close (root_fd);
  cloche_session_index_remove (self->index, op->id);
}

/* Listing and checking, in the worker */

/**
 * _cloche_session_store_snapshot:
 *
 * Returns: (transfer full) (element-type ClocheSessionEntry): the indexed
 *   sessions (the stale ones only, with @stale_only), records shared with
 *   the index: they are never changed, only replaced
 */
GPtrArray *
_cloche_session_store_snapshot (ClocheSessionStore *self,
                                ClocheStoreJob     *job,
                                gboolean            stale_only)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_session_entry_free);
  gint64 now = g_get_real_time ();
  GHashTableIter iter;
  ClocheIndexEntry *indexed;

  g_hash_table_iter_init (&iter, self->index->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &indexed))
    {
      ClocheSessionEntry *entry;

      if (indexed->session == NULL)
        continue;
      /* The cache file keeps structs as listed: one built anew is written
       * at exit. */
      entry = cloche_session_store_list_entry (indexed, job, now, &self->index->dirty);
      if (stale_only && !entry->stale)
        cloche_session_entry_free (entry);
      else
        g_ptr_array_add (entries, entry);
    }
  return entries;
}

/* The index's cache file (see cloche-session-index-cache.c): written after
 * the first check and at exit, when the index changed; only a hint, so a
 * failure costs the next start its head start, nothing else. */
static void
cloche_session_store_save_index (ClocheSessionStore *self)
{
  g_autoptr(GError) error = NULL;

  if (self->index->dirty && !cloche_session_index_save_cache (self->index, &error))
    g_message ("Cannot write the session index: %s", error->message);
}

/* The worker's own next job; none once the store is going. */
static void
cloche_session_store_push_check (ClocheSessionStore *self)
{
  if (!g_atomic_int_get (&self->stopping))
    cloche_session_store_push (self, OP_CHECK, NULL, NULL);
}

static void
cloche_session_store_start_check (ClocheSessionStore *self)
{
  self->checked_at = g_get_monotonic_time ();
  self->unchecked = cloche_session_index_dup_ids (self->index);
  cloche_session_store_push_check (self);
}

/* One chunk of the check, then the next one queued behind whatever was
 * asked meanwhile. Held for tests, it only waits (lists go by). */
static void
cloche_session_store_run_check (ClocheSessionStore *self)
{
  guint n;

  /* Finished meanwhile, by a flush. */
  if (self->unchecked == NULL)
    return;
  if (g_atomic_int_get (&self->checks_held))
    {
      g_usleep (HELD_POLL_US);
      cloche_session_store_push_check (self);
      return;
    }
  n = MIN (self->unchecked->len, CHECK_CHUNK);
  cloche_session_index_check (self->index, (const char * const *) self->unchecked->pdata, n);
  g_ptr_array_remove_range (self->unchecked, 0, n);
  if (self->unchecked->len > 0)
    {
      cloche_session_store_push_check (self);
      return;
    }
  g_clear_pointer (&self->unchecked, g_ptr_array_unref);
  if (!self->saved_once)
    cloche_session_store_save_index (self);
  self->saved_once = TRUE;
}

/* A list answers from the index at once (what folders came or went, and
 * the open sessions' sizes, are seen at each list), and has every stamp
 * checked behind it, at most every CHECK_INTERVAL_US: what changed behind
 * the daemon's back shows in the lists after that check. */
static void
cloche_session_store_run_list (ClocheSessionStore *self,
                               GTask              *task)
{
  ClocheStoreJob *job = g_task_get_task_data (task);
  GPtrArray *entries;

  cloche_session_index_sync (self->index, (const char * const *) job->open_ids, FALSE);
  entries = _cloche_session_store_snapshot (self, job, FALSE);
  /* Queued before answering, so it comes before any call the answer leads to. */
  if (self->unchecked == NULL && g_get_monotonic_time () - self->checked_at >= CHECK_INTERVAL_US)
    cloche_session_store_start_check (self);
  g_task_return_pointer (task, entries, (GDestroyNotify) g_ptr_array_unref);
}

/* The first job: the index from sessions.index when there is a sound
 * one (and the folders that came while no daemon ran read), its stamps
 * checked behind the lists that come; else from the disk, at once. */
static void
cloche_session_store_run_load (ClocheSessionStore *self)
{
  g_autoptr(GVariant) kept = cloche_session_index_read_cache (self->index);

  if (kept != NULL && cloche_session_index_fill (self->index, kept) > 0)
    {
      cloche_session_index_sync (self->index, NULL, FALSE);
      cloche_session_store_start_check (self);
      return;
    }
  self->checked_at = g_get_monotonic_time ();
  cloche_session_index_sync (self->index, NULL, TRUE);
  cloche_session_store_save_index (self);
  self->saved_once = TRUE;
}

/* A check running is finished first: the index saved is a checked one. */
static void
cloche_session_store_run_flush (ClocheSessionStore *self,
                                Op                 *op)
{
  if (self->unchecked != NULL)
    {
      cloche_session_index_check (self->index, (const char * const *) self->unchecked->pdata,
                                  self->unchecked->len);
      g_clear_pointer (&self->unchecked, g_ptr_array_unref);
    }
  cloche_session_store_save_index (self);
  g_async_queue_push (op->done, GINT_TO_POINTER (TRUE));
}

static void
cloche_session_store_run_op (gpointer data,
                             gpointer user_data)
{
  ClocheSessionStore *self = user_data;
  Op *op = data;

  switch (op->kind)
    {
    case OP_WRITE: cloche_session_store_run_write (self, op->id); break;
    case OP_GET: cloche_session_store_run_get (self, op->task); break;
    case OP_PIN: cloche_session_store_run_pin (self, op); break;
    case OP_LIST: cloche_session_store_run_list (self, op->task); break;
    case OP_CLEANUP: _cloche_session_store_cleanup (self, op->task); break;
    case OP_DELETE: cloche_session_store_run_delete (self, op); break;
    case OP_FLUSH: cloche_session_store_run_flush (self, op); break;
    case OP_LOAD: cloche_session_store_run_load (self); break;
    case OP_CHECK: cloche_session_store_run_check (self); break;
    default: g_assert_not_reached (); break;
    }
  if (op->task != NULL)
    cloche_session_store_return_task (op->task);
  cloche_session_store_op_free (op);
}

/* Asking the worker */

/* Queues @session's record; a record of it already waiting is replaced. */
static void
cloche_session_store_enqueue (ClocheSessionStore *self,
                              ClocheSession      *session,
                              gboolean            create,
                              GTask              *task)
{
  const char *id = cloche_session_get_id (session);
  Pending *pending;
  gboolean queued;

  g_mutex_lock (&self->lock);
  pending = g_hash_table_lookup (self->pending, id);
  queued = pending != NULL;
  if (!queued)
    {
      pending = g_new0 (Pending, 1);
      g_hash_table_insert (self->pending, g_strdup (id), pending);
    }
  g_free (pending->json);
  pending->json = cloche_session_to_json (session);
  g_set_object (&pending->snapshot, NULL);
  pending->snapshot = cloche_session_copy (session);
  pending->create |= create;
  if (task != NULL)
    pending->tasks = g_slist_prepend (pending->tasks, task);
  g_mutex_unlock (&self->lock);
  if (!queued)
    cloche_session_store_push (self, OP_WRITE, id, NULL);
}

/**
 * cloche_session_store_save:
 *
 * Queues the record of @session to be written, for changes nobody waits
 * for (a command's last_active). Failures are logged: the session goes on
 * without its record.
 */
void
cloche_session_store_save (ClocheSessionStore *self,
                           ClocheSession      *session)
{
  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));
  g_return_if_fail (cloche_session_get_state (session) != CLOCHE_SESSION_STATE_DAMAGED);

  cloche_session_store_enqueue (self, session, FALSE, NULL);
}

/**
 * cloche_session_store_save_async:
 *
 * Writes the record of @session, completing once it is on disk, or with
 * why it is not (a full disk).
 */
void
cloche_session_store_save_async (ClocheSessionStore  *self,
                                 ClocheSession       *session,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));
  g_return_if_fail (cloche_session_get_state (session) != CLOCHE_SESSION_STATE_DAMAGED);

  cloche_session_store_enqueue (self, session, FALSE,
                                cloche_session_store_new_task (self,
                                                               cloche_session_store_save_async,
                                                               cancellable,
                                                               callback, user_data));
}

gboolean
cloche_session_store_save_finish (ClocheSessionStore  *self,
                                  GAsyncResult        *result,
                                  GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Makes the session's folder and writes its first record. */
void
cloche_session_store_create_async (ClocheSessionStore  *self,
                                   ClocheSession       *session,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  cloche_session_store_enqueue (self, session, TRUE,
                                cloche_session_store_new_task (self,
                                                               cloche_session_store_create_async,
                                                               cancellable,
                                                               callback, user_data));
}

gboolean
cloche_session_store_create_finish (ClocheSessionStore  *self,
                                    GAsyncResult        *result,
                                    GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cloche_session_store_delete_async:
 *
 * Removes the session's folder, record and work folder, after every write
 * asked before: for a session that failed to open, which must leave
 * nothing behind.
 */
void
cloche_session_store_delete_async (ClocheSessionStore  *self,
                                   const char          *id,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));
  g_return_if_fail (cloche_session_id_is_valid (id));

  cloche_session_store_push (self, OP_DELETE, id,
                             cloche_session_store_new_task (self, cloche_session_store_delete_async,
                                                            cancellable,
                                                            callback, user_data));
}

gboolean
cloche_session_store_delete_finish (ClocheSessionStore  *self,
                                    GAsyncResult        *result,
                                    GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cloche_session_store_flush:
 *
 * Blocks until everything asked of the store so far is done, a check of
 * the disk running included, and the index file written: for the daemon's
 * exit, and tests. Never call it from a callback of the store.
 */
void
cloche_session_store_flush (ClocheSessionStore *self)
{
  g_autoptr(GAsyncQueue) done = g_async_queue_new ();
  Op *op = cloche_session_store_op_new (OP_FLUSH, NULL, NULL);

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  op->done = done;
  g_thread_pool_push (self->worker, op, NULL);
  g_async_queue_pop (done);
}

/**
 * cloche_session_store_get_async:
 * @open_ids: (nullable): the sessions open now (see cloche_session_settle())
 *
 * One session as a list shows it, its record read again if it changed.
 */
void
cloche_session_store_get_async (ClocheSessionStore  *self,
                                const char          *id,
                                const char * const  *open_ids,
                                guint                stale_after_days,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  ClocheStoreJob *job;
  GTask *task;

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  task =
    cloche_session_store_new_task (self, cloche_session_store_get_async, cancellable, callback,
                                   user_data);
  job = cloche_session_store_job_new (open_ids, stale_after_days);
  job->id = g_strdup (id);
  g_task_set_task_data (task, job, (GDestroyNotify) cloche_session_store_job_free);
  cloche_session_store_push (self, OP_GET, NULL, task);
}

/**
 * cloche_session_store_get_finish:
 *
 * Returns: (transfer full): the session, possibly damaged, or %NULL with
 *   %CLOCHE_ERROR_SESSION_NOT_FOUND
 */
ClocheSessionEntry *
cloche_session_store_get_finish (ClocheSessionStore  *self,
                                 GAsyncResult        *result,
                                 GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Pins a session that is not open; a damaged record is refused. */
void
cloche_session_store_set_pinned_async (ClocheSessionStore  *self,
                                       const char          *id,
                                       gboolean             pinned,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  GTask *task;
  Op *op;

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  task =
    cloche_session_store_new_task (self, cloche_session_store_set_pinned_async, cancellable,
                                   callback, user_data);
  op = cloche_session_store_op_new (OP_PIN, id, task);
  op->pinned = pinned;
  g_thread_pool_push (self->worker, op, NULL);
}

gboolean
cloche_session_store_set_pinned_finish (ClocheSessionStore  *self,
                                        GAsyncResult        *result,
                                        GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
cloche_session_store_list_async (ClocheSessionStore  *self,
                                 const char * const  *open_ids,
                                 guint                stale_after_days,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  task =
    cloche_session_store_new_task (self, cloche_session_store_list_async, cancellable, callback,
                                   user_data);
  g_task_set_task_data (task, cloche_session_store_job_new (open_ids, stale_after_days),
                        (GDestroyNotify) cloche_session_store_job_free);
  cloche_session_store_push (self, OP_LIST, NULL, task);
}

/**
 * cloche_session_store_list_finish:
 *
 * Returns: (transfer full) (element-type ClocheSessionEntry): every session
 */
GPtrArray *
cloche_session_store_list_finish (ClocheSessionStore  *self,
                                  GAsyncResult        *result,
                                  GError             **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cloche_session_store_cleanup_async:
 * @progress: (nullable) (scope call): called on this thread as sessions go
 *
 * Removes the stale sessions: closed or damaged, not pinned, idle for
 * longer than @stale_after_days, none of @open_ids. A dry run measures
 * what removing them would free.
 */
void
cloche_session_store_cleanup_async (ClocheSessionStore    *self,
                                    const char * const    *open_ids,
                                    guint                  stale_after_days,
                                    gboolean               dry_run,
                                    ClocheCleanupProgress  progress,
                                    gpointer               progress_data,
                                    GCancellable          *cancellable,
                                    GAsyncReadyCallback    callback,
                                    gpointer               user_data)
{
  ClocheStoreJob *job;
  GTask *task;

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  job = cloche_session_store_job_new (open_ids, stale_after_days);
  job->dry_run = dry_run;
  job->progress = progress;
  job->progress_data = progress_data;
  task =
    cloche_session_store_new_task (self, cloche_session_store_cleanup_async, cancellable, callback,
                                   user_data);
  g_task_set_task_data (task, job, (GDestroyNotify) cloche_session_store_job_free);
  cloche_session_store_push (self, OP_CLEANUP, NULL, task);
}

/**
 * cloche_session_store_cleanup_finish:
 * @freed: (out): bytes given back to the disk (would be, for a dry run)
 *
 * Returns: (transfer full) (element-type ClocheSessionEntry): the sessions
 *   removed (or that would be), each with the bytes its removal freed
 */
GPtrArray *
cloche_session_store_cleanup_finish (ClocheSessionStore  *self,
                                     GAsyncResult        *result,
                                     guint64             *freed,
                                     GError             **error)
{
  ClocheStoreJob *job;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  job = g_task_get_task_data (G_TASK (result));
  *freed = job->freed;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Tests */

void
_cloche_session_store_set_write_delay (ClocheSessionStore *self,
                                       guint               ms)
{
  g_atomic_int_set (&self->write_delay_ms, (gint) ms);
}

void
_cloche_session_store_release_checks (ClocheSessionStore *self)
{
  g_atomic_int_set (&self->checks_held, FALSE);
}

/* Object */

static ClocheSessionStore *
cloche_session_store_store_new (const char *root,
                                gboolean    held)
{
  ClocheSessionStore *self = g_object_new (CLOCHE_TYPE_SESSION_STORE, NULL);

  self->root = g_strdup (root);
  self->index = cloche_session_index_new (root);
  self->checks_held = held;
  self->worker = g_thread_pool_new (cloche_session_store_run_op, self, 1, FALSE, NULL);
  /* Read now, so that the first list finds most of the work done. */
  cloche_session_store_push (self, OP_LOAD, NULL, NULL);
  return self;
}

ClocheSessionStore *
cloche_session_store_new (const char *root)
{
  return cloche_session_store_store_new (root, FALSE);
}

ClocheSessionStore *
_cloche_session_store_new_held (const char *root)
{
  return cloche_session_store_store_new (root, TRUE);
}

static void
cloche_session_store_finalize (GObject *object)
{
  ClocheSessionStore *self = CLOCHE_SESSION_STORE (object);

  /* A check running is dropped (nothing holds it back any more), every
   * record queued is written before the store goes. */
  g_atomic_int_set (&self->checks_held, FALSE);
  g_atomic_int_set (&self->stopping, TRUE);
  g_thread_pool_free (self->worker, FALSE, TRUE);
  g_hash_table_unref (self->pending);
  g_mutex_clear (&self->lock);
  g_clear_pointer (&self->unchecked, g_ptr_array_unref);
  cloche_session_index_free (self->index);
  g_free (self->root);

  G_OBJECT_CLASS (cloche_session_store_parent_class)->finalize (object);
}

static void
cloche_session_store_class_init (ClocheSessionStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_session_store_finalize;
}

static void
cloche_session_store_init (ClocheSessionStore *self)
{
  g_mutex_init (&self->lock);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) cloche_session_store_pending_free);
}
