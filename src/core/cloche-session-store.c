/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions on the host: <root>/<id>/session.json and <root>/<id>/work/, the
 * folder the guest sees as /sessions/<id>. Plain files, written atomically
 * (temporary file, fsync, rename), readable and removable with the VM
 * stopped.
 *
 * One worker thread does everything the store does on disk, in the order
 * it was asked: records written, read, listed, cleaned up. So the main loop
 * never waits on the disk, a list always shows the writes asked before it,
 * and a cleanup never races a write. Writes of the same session that pile
 * up behind a slow disk are merged: the newest record is the one written.
 * cloche_session_store_flush() waits for all of it (the daemon calls it as
 * it exits). The worker keeps the ClocheSessionIndex (see there).
 * One exception right after a start: lists may be answered from the index
 * kept on disk while the worker checks it (see list_early()).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-session-codec.h"
#include "cloche-session-store-private.h"

#define VERIFY_INTERVAL_US (2 * G_USEC_PER_SEC)
#define GATE_MAX_US        (60 * G_USEC_PER_SEC)

typedef enum
{
  OP_WRITE,
  OP_GET,
  OP_PIN,
  OP_LIST,
  OP_CLEANUP,
  OP_FLUSH,
  OP_VERIFY,
  OP_FIRST_SYNC,
} OpKind;

typedef struct
{
  OpKind    kind;
  char     *id;
  gboolean  pinned;
  GTask    *task;
  /* OP_FLUSH */
  GMutex   *lock;
  GCond    *cond;
  gboolean *done;
} Op;

/* A record waiting for the worker: the newest one asked for. */
typedef struct
{
  char          *json;
  ClocheSession *snapshot;
  gboolean       create;
  GSList        *tasks;      /* create_async calls waiting for it */
} Pending;

struct _ClocheSessionStore
{
  GObject             parent_instance;
  char               *root;
  GThreadPool        *worker;
  GMutex              lock;         /* guards pending */
  GHashTable         *pending;      /* id → Pending */
  ClocheSessionIndex *index;        /* the worker's alone */
  guint               write_delay_ms;
  gint                verify_queued;
  gint64              verified_at;  /* the worker's: monotonic µs */
  /* Lists answered from the kept index while its first check runs (see
   * list_early()); all guarded by early_lock. */
  GMutex              early_lock;
  gboolean            loaded;       /* the kept index was read (or was not there) */
  gboolean            verified;     /* the first check is over */
  gboolean            mutated;      /* a write, pin or cleanup was asked */
  GVariant           *provisional;  /* the kept index's sessions, as in its file */
  GSList             *early;        /* list tasks asked before it was read */
  char               *verify_gate;  /* test hook: the check waits for this file */
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
pending_free (Pending *pending)
{
  g_free (pending->json);
  g_clear_object (&pending->snapshot);
  g_slist_free_full (pending->tasks, g_object_unref);
  g_free (pending);
}

static void
op_free (Op *op)
{
  g_free (op->id);
  g_free (op);
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
unref_task (gpointer task)
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
void
_cloche_session_store_return (GTask *task)
{
  _cloche_session_store_dispatch (g_task_get_context (task), unref_task, task, NULL);
}

static void
push (ClocheSessionStore *self,
      OpKind              kind,
      const char         *id,
      GTask              *task)
{
  Op *op = g_new0 (Op, 1);

  op->kind = kind;
  op->id = g_strdup (id);
  op->task = task;
  g_thread_pool_push (self->worker, op, NULL);
}

/* Writing, in the worker */

static gboolean
write_json (ClocheSessionStore  *self,
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
make_folder (ClocheSessionStore  *self,
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

static void
run_write (ClocheSessionStore *self,
           const char         *id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL;
  Pending *pending;

  /* A slow disk, for the tests that check nothing queued is lost. */
  if (self->write_delay_ms > 0)
    g_usleep (self->write_delay_ms * 1000);
  g_mutex_lock (&self->lock);
  g_hash_table_steal_extended (self->pending, id, (gpointer *) &key, (gpointer *) &pending);
  g_mutex_unlock (&self->lock);

  if ((!pending->create || make_folder (self, id, &error))
      && write_json (self, id, pending->json, &error))
    cloche_session_index_put (self->index, pending->snapshot, pending->create);
  else if (pending->tasks == NULL)
    /* The session goes on; its record is what failed, and the log says so. */
    g_warning ("Cannot record session %s: %s", id, error->message);

  for (GSList *l = pending->tasks; l != NULL; l = l->next)
    {
      if (error != NULL)
        g_task_return_error (l->data, g_error_copy (error));
      else
        g_task_return_boolean (l->data, TRUE);
      _cloche_session_store_return (l->data);
    }
  g_slist_free (g_steal_pointer (&pending->tasks));
  pending_free (pending);
}

/* Reading and pinning, in the worker */

static ClocheIndexEntry *
get_entry (ClocheSessionStore  *self,
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

static void
run_get (ClocheSessionStore *self,
         Op                 *op)
{
  ClocheIndexEntry *entry;
  GError *error = NULL;

  entry = get_entry (self, op->id, &error);
  if (entry == NULL)
    g_task_return_error (op->task, error);
  else
    g_task_return_pointer (op->task, g_object_ref (entry->session), g_object_unref);
}

static gboolean
pin (ClocheSessionStore  *self,
     const char          *id,
     gboolean             pinned,
     GError             **error)
{
  ClocheIndexEntry *entry = get_entry (self, id, error);
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
  session = cloche_session_copy (entry->session);
  cloche_session_set_pinned (session, pinned);
  /* Not open (the sandbox pins open sessions itself): a record still
   * saying so is a leftover. */
  cloche_session_set_state (session, CLOCHE_SESSION_STATE_CLOSED);
  json = cloche_session_to_json (session);
  if (!write_json (self, id, json, error))
    return FALSE;
  cloche_session_index_put (self->index, session, FALSE);
  return TRUE;
}

static void
run_pin (ClocheSessionStore *self,
         Op                 *op)
{
  GError *error = NULL;

  if (pin (self, op->id, op->pinned, &error))
    g_task_return_boolean (op->task, TRUE);
  else
    g_task_return_error (op->task, error);
}

/* Listing, in the worker */

/* @session as listed, from the index's cache: built again only when the
 * record (or how it was settled), the size or staleness changed. */
static GVariant *
cached_info (ClocheIndexEntry *indexed,
             ClocheSession    *session,
             gboolean          stale,
             gboolean         *built)
{
  gboolean settled = session != indexed->session;

  if (indexed->info == NULL || indexed->info_session != indexed->session
      || indexed->info_size != indexed->size || indexed->info_stale != stale
      || indexed->info_settled != settled)
    {
      g_clear_pointer (&indexed->info, g_variant_unref);
      indexed->info = cloche_session_to_info (session, stale, indexed->size);
      g_set_object (&indexed->info_session, indexed->session);
      indexed->info_size = indexed->size;
      indexed->info_stale = stale;
      indexed->info_settled = settled;
      *built = TRUE;
    }
  return g_variant_ref (indexed->info);
}

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
  const char * const *open_ids = (const char * const *) job->open_ids;
  gint64 now = g_get_real_time ();
  GHashTableIter iter;
  ClocheIndexEntry *indexed;

  g_hash_table_iter_init (&iter, self->index->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &indexed))
    {
      g_autoptr(ClocheSession) session = cloche_session_settle (indexed->session, open_ids);
      gboolean stale = cloche_session_is_stale (session, now, job->stale_after_days);
      ClocheSessionEntry *entry;

      if (stale_only && !stale)
        continue;
      entry = g_new0 (ClocheSessionEntry, 1);
      /* The cache file keeps structs as listed: one built anew is written
       * at exit. */
      entry->info = cached_info (indexed, session, stale, &self->index->dirty);
      entry->session = g_steal_pointer (&session);
      entry->size = indexed->size;
      entry->stale = stale;
      g_ptr_array_add (entries, entry);
    }
  return entries;
}

/* A list answers from the index at once, then has the disk checked
 * behind it, at most every VERIFY_INTERVAL_US (each check stats every
 * session, and lists in a row would wait for it): what changed behind the
 * daemon's back shows in the first list after the next check (and always
 * before a cleanup chooses). */
static void
run_list (ClocheSessionStore *self,
          Op                 *op)
{
  ClocheStoreJob *job = g_task_get_task_data (op->task);

  cloche_session_index_sync (self->index, (const char * const *) job->open_ids, FALSE);
  /* Queued before answering, so it comes before any call the answer leads to. */
  if (g_get_monotonic_time () - self->verified_at >= VERIFY_INTERVAL_US
      && g_atomic_int_compare_and_exchange (&self->verify_queued, FALSE, TRUE))
    push (self, OP_VERIFY, NULL, NULL);
  g_task_return_pointer (op->task, _cloche_session_store_snapshot (self, job, FALSE),
                         (GDestroyNotify) g_ptr_array_unref);
}

/* The index's cache file (see cloche-session-index-cache.c): written when
 * the index changed, after the first sync and at exit; only a hint, so a
 * failure costs the next start its head start, nothing else. */
static void
save_index (ClocheSessionStore *self)
{
  g_autoptr(GError) error = NULL;

  if (self->index->dirty && !cloche_session_index_save_cache (self->index, &error))
    g_message ("Cannot write the session index: %s", error->message);
}

/* Listing before the first check (see list_early()) */

/* The kept index as a list, straight from its file: no session object is
 * made (ClocheSessionEntry.session stays %NULL), and most structs are
 * slices of the file. */
static GPtrArray *
list_kept_now (ClocheStoreJob *job)
{
  GPtrArray *entries = g_ptr_array_new_full (g_variant_n_children (job->kept),
                                             (GDestroyNotify) cloche_session_entry_free);
  gint64 now = g_get_real_time ();
  GVariantIter iter;
  GVariant *cached;

  g_variant_iter_init (&iter, job->kept);
  while ((cached = g_variant_iter_next_value (&iter)) != NULL)
    {
      ClocheSessionEntry *entry;

      entry = cloche_session_index_cache_listed (cached, (const char * const *) job->open_ids,
                                                 now, job->stale_after_days);
      if (entry != NULL)
        g_ptr_array_add (entries, entry);
      g_variant_unref (cached);
    }
  return entries;
}

/* In a thread of GLib's pool, for a list asked while the check runs. */
static void
list_kept_in_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  g_task_return_pointer (task, list_kept_now (task_data), (GDestroyNotify) g_ptr_array_unref);
}

static void
list_kept (GTask    *task,
           GVariant *kept)
{
  ClocheStoreJob *job = g_task_get_task_data (task);

  job->kept = kept;
  g_task_run_in_thread (task, list_kept_in_thread);
  _cloche_session_store_return (task);
}

/*
 * Right after a start, the index kept on disk answers lists while the
 * worker checks it against the disk (for 10,000 sessions, 30,000 stats):
 * as with the check behind a warm list, what changed behind the daemon's
 * back shows once that check is over. Only while nothing that changes
 * records was asked since the start and no session is open: the kept
 * index is then what a list queued behind the check would show, but for
 * those changes. What acts on records (cleanup, dry run included, pin,
 * get, and so show and open) stays queued behind the check, and a cleanup
 * checks every stamp again before it chooses.
 *
 * Returns: whether @task is answered (or will be) without the worker
 */
static gboolean
list_early (ClocheSessionStore *self,
            GTask              *task)
{
  GVariant *kept = NULL;
  gboolean waits = FALSE;

  g_mutex_lock (&self->early_lock);
  if (!self->verified && !self->mutated)
    {
      if (self->provisional != NULL)
        kept = g_variant_ref (self->provisional);
      else if (!self->loaded)
        {
          /* Answered as soon as the cache file is read (publish_kept()). */
          self->early = g_slist_prepend (self->early, task);
          waits = TRUE;
        }
    }
  g_mutex_unlock (&self->early_lock);
  if (kept != NULL)
    list_kept (task, kept);
  return waits || kept != NULL;
}

static void
set_mutated (ClocheSessionStore *self)
{
  g_mutex_lock (&self->early_lock);
  self->mutated = TRUE;
  g_mutex_unlock (&self->early_lock);
}

/* In the worker, once the cache file was read: lists asked meanwhile are
 * answered from it, or queued behind the check when there was none. */
static void
publish_kept (ClocheSessionStore *self,
              GVariant           *kept)
{
  GSList *early;

  g_mutex_lock (&self->early_lock);
  self->loaded = TRUE;
  self->provisional = kept != NULL ? g_variant_ref (kept) : NULL;
  early = g_slist_reverse (g_steal_pointer (&self->early));
  g_mutex_unlock (&self->early_lock);

  /* Answered here, before the check starts: its threads would slow them. */
  for (GSList *l = early; l != NULL; l = l->next)
    {
      GTask *task = l->data;
      ClocheStoreJob *job = g_task_get_task_data (task);

      if (kept == NULL)
        {
          push (self, OP_LIST, NULL, task);
          continue;
        }
      job->kept = g_variant_ref (kept);
      g_task_return_pointer (task, list_kept_now (job), (GDestroyNotify) g_ptr_array_unref);
      _cloche_session_store_return (task);
    }
  g_slist_free (early);
}

/* Tests hold the first check back (CLOCHE_TEST_VERIFY_GATE names a file
 * it waits for), to list before it deterministically. */
static void
wait_for_gate (ClocheSessionStore *self)
{
  gint64 deadline = g_get_monotonic_time () + GATE_MAX_US;

  while (self->verify_gate != NULL && !g_file_test (self->verify_gate, G_FILE_TEST_EXISTS)
         && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
}

typedef struct
{
  ClocheSessionStore *self;
  GVariant           *kept;
} FirstCheck;

/* While lists are answered from the kept index, the check behind them
 * yields the CPU to them: it runs in a thread of its own at a lower
 * priority (the threads it starts inherit it), which ends with it. */
static gpointer
first_check_thread (gpointer data)
{
  FirstCheck *check = data;

  /* On Linux, a thread's own: the rest of the daemon keeps its priority. */
  setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 19);
  cloche_session_index_fill (check->self->index, check->kept);
  wait_for_gate (check->self);
  cloche_session_index_sync (check->self->index, NULL, TRUE);
  return NULL;
}

/* The first sync: from the cache file if there is a sound one (answering
 * lists from it meanwhile), every stamp checked against the disk. */
static void
run_first_sync (ClocheSessionStore *self)
{
  g_autoptr(GVariant) kept = cloche_session_index_read_cache (self->index);
  FirstCheck check = { self, kept };

  if (kept != NULL && g_variant_n_children (kept) == 0)
    g_clear_pointer (&kept, g_variant_unref);
  publish_kept (self, kept);
  /* The worker waits for it: the index is still the worker's alone. */
  if (kept != NULL)
    g_thread_join (g_thread_new ("cloche-first-check", first_check_thread, &check));
  else
    cloche_session_index_sync (self->index, NULL, TRUE);
  self->verified_at = g_get_monotonic_time ();
  g_mutex_lock (&self->early_lock);
  self->verified = TRUE;
  g_clear_pointer (&self->provisional, g_variant_unref);
  g_mutex_unlock (&self->early_lock);
  save_index (self);
}

static void
run_flush (ClocheSessionStore *self,
           Op                 *op)
{
  save_index (self);
  g_mutex_lock (op->lock);
  *op->done = TRUE;
  g_cond_signal (op->cond);
  g_mutex_unlock (op->lock);
}

static void
run_op (gpointer data,
        gpointer user_data)
{
  ClocheSessionStore *self = user_data;
  Op *op = data;

  switch (op->kind)
    {
    case OP_WRITE:
      run_write (self, op->id);
      break;
    case OP_GET:
      run_get (self, op);
      break;
    case OP_PIN:
      run_pin (self, op);
      break;
    case OP_LIST:
      run_list (self, op);
      break;
    case OP_CLEANUP:
      _cloche_session_store_cleanup (self, op->task);
      break;
    case OP_FLUSH:
      run_flush (self, op);
      break;
    case OP_FIRST_SYNC:
      run_first_sync (self);
      break;
    case OP_VERIFY:
      g_atomic_int_set (&self->verify_queued, FALSE);
      self->verified_at = g_get_monotonic_time ();
      cloche_session_index_sync (self->index, NULL, TRUE);
      break;
    default:
      g_assert_not_reached ();
      break;
    }
  if (op->task != NULL)
    _cloche_session_store_return (op->task);
  op_free (op);
}

/* Asking the worker */

/* Queues @session's record; a record of it already waiting is replaced. */
static void
enqueue (ClocheSessionStore *self,
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
  set_mutated (self);
  if (!queued)
    push (self, OP_WRITE, id, NULL);
}

/**
 * cloche_session_store_save:
 *
 * Queues the record of @session to be written. Failures are logged: the
 * session goes on without its record.
 */
void
cloche_session_store_save (ClocheSessionStore *self,
                           ClocheSession      *session)
{
  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));
  g_return_if_fail (cloche_session_get_state (session) != CLOCHE_SESSION_STATE_DAMAGED);

  enqueue (self, session, FALSE, NULL);
}

/* Makes the session's folder and writes its first record. */
void
cloche_session_store_create_async (ClocheSessionStore  *self,
                                   ClocheSession       *session,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_session_store_create_async);
  enqueue (self, session, TRUE, task);
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
 * cloche_session_store_flush:
 *
 * Blocks until everything asked of the store so far is done: for the
 * daemon's exit, and tests. Never call it from a callback of the store.
 */
void
cloche_session_store_flush (ClocheSessionStore *self)
{
  GMutex lock;
  GCond cond;
  gboolean done = FALSE;
  Op *op = g_new0 (Op, 1);

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  g_mutex_init (&lock);
  g_cond_init (&cond);
  *op = (Op) { .kind = OP_FLUSH, .lock = &lock, .cond = &cond, .done = &done };
  g_mutex_lock (&lock);
  g_thread_pool_push (self->worker, op, NULL);
  while (!done)
    g_cond_wait (&cond, &lock);
  g_mutex_unlock (&lock);
  g_cond_clear (&cond);
  g_mutex_clear (&lock);
}

/**
 * cloche_session_store_load:
 *
 * Reads @id's record from disk now, in this thread (for tests and tools;
 * the daemon goes through cloche_session_store_get_async()).
 *
 * Returns: (transfer full): the session; a record that cannot be read comes
 *   back as a damaged session saying why, never as nothing
 */
ClocheSession *
cloche_session_store_load (ClocheSessionStore *self,
                           const char         *id)
{
  int root_fd = cloche_session_index_open_root (self->index);
  ClocheStamp stamp;
  ClocheSession *session = cloche_session_index_read (root_fd, id, &stamp);

  if (root_fd >= 0)
    close (root_fd);
  return session;
}

static GTask *
new_task (ClocheSessionStore  *self,
          gpointer             source_tag,
          GCancellable        *cancellable,
          GAsyncReadyCallback  callback,
          gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  return task;
}

void
cloche_session_store_get_async (ClocheSessionStore  *self,
                                const char          *id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  push (self, OP_GET, id,
        new_task (self, cloche_session_store_get_async, cancellable, callback, user_data));
}

/**
 * cloche_session_store_get_finish:
 *
 * Returns: (transfer full): the record as on disk (never to be changed:
 *   copy it), possibly damaged, or %NULL with %CLOCHE_ERROR_SESSION_NOT_FOUND
 */
ClocheSession *
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
  Op *op = g_new0 (Op, 1);

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  op->kind = OP_PIN;
  op->id = g_strdup (id);
  op->pinned = pinned;
  op->task = new_task (self, cloche_session_store_set_pinned_async, cancellable,
                       callback, user_data);
  set_mutated (self);
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

static void
job_free (ClocheStoreJob *job)
{
  g_strfreev (job->open_ids);
  g_clear_pointer (&job->kept, g_variant_unref);
  g_free (job);
}

static ClocheStoreJob *
job_new (const char * const *open_ids,
         guint               stale_after_days)
{
  ClocheStoreJob *job = g_new0 (ClocheStoreJob, 1);

  job->open_ids = g_strdupv ((char **) open_ids);
  job->stale_after_days = stale_after_days;
  return job;
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

  task = new_task (self, cloche_session_store_list_async, cancellable, callback, user_data);
  g_task_set_task_data (task, job_new (open_ids, stale_after_days), (GDestroyNotify) job_free);
  if (!list_early (self, task))
    push (self, OP_LIST, NULL, task);
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

  job = job_new (open_ids, stale_after_days);
  job->dry_run = dry_run;
  job->progress = progress;
  job->progress_data = progress_data;
  task = new_task (self, cloche_session_store_cleanup_async, cancellable, callback, user_data);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  set_mutated (self);
  push (self, OP_CLEANUP, NULL, task);
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

/* Object */

ClocheSessionStore *
cloche_session_store_new (const char *root)
{
  ClocheSessionStore *self = g_object_new (CLOCHE_TYPE_SESSION_STORE, NULL);

  self->root = g_strdup (root);
  self->index = cloche_session_index_new (root);
  self->write_delay_ms = (guint) g_ascii_strtoull (g_getenv ("CLOCHE_TEST_WRITE_DELAY_MS") ?: "0",
                                                   NULL, 10);
  self->verify_gate = g_strdup (g_getenv ("CLOCHE_TEST_VERIFY_GATE"));
  self->worker = g_thread_pool_new (run_op, self, 1, FALSE, NULL);
  /* Read now, so that the first list finds most of the work done. */
  push (self, OP_FIRST_SYNC, NULL, NULL);
  return self;
}

static void
cloche_session_store_finalize (GObject *object)
{
  ClocheSessionStore *self = CLOCHE_SESSION_STORE (object);

  /* Every record queued is written before the store goes. */
  g_thread_pool_free (self->worker, FALSE, TRUE);
  g_hash_table_unref (self->pending);
  g_mutex_clear (&self->lock);
  g_clear_pointer (&self->provisional, g_variant_unref);
  g_mutex_clear (&self->early_lock);
  g_free (self->verify_gate);
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
  g_mutex_init (&self->early_lock);
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) pending_free);
}
