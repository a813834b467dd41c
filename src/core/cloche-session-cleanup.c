/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cleanup, in the store's worker thread: the stale sessions are chosen from
 * the index just synced with the disk (so a record pinned by hand since is
 * read again and spared), then removed by several threads at once, in the
 * order of their folders' inodes, which keeps the file system's writes
 * close together. Bytes freed are counted entry by entry as they go: what
 * the disk gave back, a file still named elsewhere counting nothing. A
 * session that cannot be removed stays, and does not stop the others: the
 * cleanup then ends with an error that says how many went and why the
 * first one did not.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <fcntl.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-session-codec.h"
#include "cloche-session-store-private.h"
#include "cloche-tree.h"

/* Progress at most this often (and at the end): a bar moves smoothly, and
 * 10,000 sessions removed fast send a few dozen signals, not 10,000. */
#define PROGRESS_INTERVAL_US (100 * 1000)

typedef struct
{
  ClocheSessionEntry *entry;
  guint64             ino;
  gboolean            removed;
} Candidate;

typedef struct
{
  GTask           *task;
  ClocheStoreJob  *job;
  int              root_fd;
  ClocheTreeLinks *links;
  GMutex           lock;
  guint            done;
  guint            total;
  guint            failed;
  gint64           posted_at;
  GError          *error;     /* the first failure */
} Cleanup;

typedef struct
{
  ClocheStoreJob *job;
  guint           done;
  guint           total;
  guint64         freed;
} Progress;

static gboolean
cloche_session_cleanup_report_progress (gpointer data)
{
  Progress *progress = data;

  progress->job->progress (progress->done, progress->total, progress->freed,
                           progress->job->progress_data);
  return G_SOURCE_REMOVE;
}

/* Called with the lock held, so reports leave in the order of their counts. */
static void
cloche_session_cleanup_post_progress (Cleanup *cleanup)
{
  Progress *progress;

  if (cleanup->job->progress == NULL)
    return;
  progress = g_new0 (Progress, 1);
  *progress = (Progress) { cleanup->job, cleanup->done, cleanup->total, cleanup->job->freed };
  _cloche_session_store_dispatch (g_task_get_context (cleanup->task),
                                  cloche_session_cleanup_report_progress,
                                  progress, g_free);
}

static void
cloche_session_cleanup_count (Cleanup *cleanup,
                              guint64  freed)
{
  g_mutex_lock (&cleanup->lock);
  cleanup->job->freed += freed;
  cleanup->done++;
  if (cleanup->done == cleanup->total
      || g_get_monotonic_time () - cleanup->posted_at >= PROGRESS_INTERVAL_US)
    {
      cleanup->posted_at = g_get_monotonic_time ();
      cloche_session_cleanup_post_progress (cleanup);
    }
  g_mutex_unlock (&cleanup->lock);
}

/* The entry as reported: with the bytes its removal freed (would free). */
static void
cloche_session_cleanup_set_size (ClocheSessionEntry *entry,
                                 guint64             size)
{
  entry->size = size;
  g_clear_pointer (&entry->info, g_variant_unref);
  entry->info = cloche_session_to_info (entry->session, entry->stale, size);
}

static void
cloche_session_cleanup_remove_one (gpointer item,
                                   gpointer data)
{
  Candidate *candidate = item;
  Cleanup *cleanup = data;
  const char *id = cloche_session_get_id (candidate->entry->session);
  GError *error = NULL;
  guint64 freed = 0;

  candidate->removed = cloche_tree_remove (cleanup->root_fd, id, cleanup->links, &freed, &error);
  /* What went before a failure is gone too, and counted; the others go on
   * (one session a guest made unremovable must not keep the rest). */
  cloche_session_cleanup_set_size (candidate->entry, freed);
  if (error != NULL)
    {
      g_mutex_lock (&cleanup->lock);
      cleanup->failed++;
      if (cleanup->error == NULL)
        g_propagate_prefixed_error (&cleanup->error, error, _("session %s: "), id);
      else
        g_error_free (error);
      g_mutex_unlock (&cleanup->lock);
    }
  cloche_session_cleanup_count (cleanup, freed);
}

static void
cloche_session_cleanup_measure_one (gpointer item,
                                    gpointer data)
{
  Candidate *candidate = item;
  Cleanup *cleanup = data;
  const char *id = cloche_session_get_id (candidate->entry->session);

  cloche_session_cleanup_set_size (candidate->entry,
                                   cloche_tree_measure_freeable (cleanup->root_fd, id,
                                                                 cleanup->links));
  candidate->removed = TRUE;
  cloche_session_cleanup_count (cleanup, candidate->entry->size);
}

static int
cloche_session_cleanup_by_inode (gconstpointer a,
                                 gconstpointer b)
{
  const Candidate *x = *(const Candidate **) a;
  const Candidate *y = *(const Candidate **) b;

  return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static GPtrArray *
cloche_session_cleanup_choose (ClocheSessionIndex *index,
                               GPtrArray          *stale)
{
  GPtrArray *candidates = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < stale->len; i++)
    {
      Candidate *candidate = g_new0 (Candidate, 1);
      ClocheIndexEntry *indexed;

      candidate->entry = g_ptr_array_index (stale, i);
      indexed = cloche_session_index_lookup (index,
                                             cloche_session_get_id (candidate->entry->session));
      candidate->ino = indexed != NULL ? indexed->folder.ino : 0;
      g_ptr_array_add (candidates, candidate);
    }
  g_ptr_array_sort (candidates, cloche_session_cleanup_by_inode);
  return candidates;
}

/* The entries of what was removed (would be), in removal order; the index
 * forgets the removed ones. Takes the candidates' entries. */
static GPtrArray *
cloche_session_cleanup_collect (ClocheSessionIndex *index,
                                GPtrArray          *candidates,
                                gboolean            dry_run)
{
  GPtrArray *removed = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_session_entry_free);

  for (guint i = 0; i < candidates->len; i++)
    {
      Candidate *candidate = g_ptr_array_index (candidates, i);

      if (!candidate->removed)
        {
          cloche_session_entry_free (candidate->entry);
          continue;
        }
      if (!dry_run)
        cloche_session_index_remove (index, cloche_session_get_id (candidate->entry->session));
      g_ptr_array_add (removed, candidate->entry);
    }
  return removed;
}

static GError *
cloche_session_cleanup_failed_error (Cleanup   *cleanup,
                                     GPtrArray *removed)
{
  g_autofree char *freed = g_format_size (cleanup->job->freed);

  return g_error_new (cleanup->error->domain, cleanup->error->code,
                      _("Cleanup removed %u of %u stale sessions (%s freed); %u could not be "
                        "removed and stay, the first because %s"),
                      removed->len, cleanup->total, freed, cleanup->failed,
                      cleanup->error->message);
}

void
_cloche_session_store_cleanup (ClocheSessionStore *self,
                               GTask              *task)
{
  ClocheSessionIndex *index = _cloche_session_store_get_index (self);
  ClocheStoreJob *job = g_task_get_task_data (task);
  g_autoptr(GPtrArray) stale = NULL;
  g_autoptr(GPtrArray) candidates = NULL;
  g_autoptr(ClocheTreeLinks) links = cloche_tree_links_new ();
  GPtrArray *removed;
  Cleanup cleanup = { task, job, -1, links };
  GFunc each =
    job->dry_run ? cloche_session_cleanup_measure_one : cloche_session_cleanup_remove_one;

  cloche_session_index_sync (index, (const char * const *) job->open_ids, TRUE);
  stale = _cloche_session_store_snapshot (self, job, TRUE);
  /* The candidates take the entries over. */
  g_ptr_array_set_free_func (stale, NULL);
  candidates = cloche_session_cleanup_choose (index, stale);
  cleanup.total = candidates->len;
  cleanup.root_fd = cloche_session_index_open_root (index);
  g_mutex_init (&cleanup.lock);
  if (cleanup.root_fd >= 0)
    cloche_parallel_for (candidates, each, &cleanup);
  g_mutex_lock (&cleanup.lock);
  if (cleanup.total == 0 || cleanup.done < cleanup.total)
    cloche_session_cleanup_post_progress (&cleanup);
  g_mutex_unlock (&cleanup.lock);
  if (cleanup.root_fd >= 0)
    close (cleanup.root_fd);

  removed = cloche_session_cleanup_collect (index, candidates, job->dry_run);
  if (cleanup.error != NULL)
    {
      g_task_return_error (task, cloche_session_cleanup_failed_error (&cleanup, removed));
      g_ptr_array_unref (removed);
    }
  else
    g_task_return_pointer (task, removed, (GDestroyNotify) g_ptr_array_unref);
  g_clear_error (&cleanup.error);
  g_mutex_clear (&cleanup.lock);
}
