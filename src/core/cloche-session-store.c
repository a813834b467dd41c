/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions on the host: <root>/<id>/session.json and <root>/<id>/work/, the
 * folder the guest sees as /sessions/<id>. Plain files, written atomically
 * (temporary file + rename), readable and removable with the VM stopped.
 *
 * Listing and cleanup walk thousands of folders, so they run in a worker
 * thread; they only read the file system and this object's constant root.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-session-store.h"
#include "cloche-tree.h"

struct _ClocheSessionStore
{
  GObject  parent_instance;
  char    *root;
};

G_DEFINE_FINAL_TYPE (ClocheSessionStore, cloche_session_store, G_TYPE_OBJECT)

void
cloche_session_entry_free (ClocheSessionEntry *entry)
{
  g_clear_object (&entry->session);
  g_free (entry);
}

char *
cloche_session_store_default_root (void)
{
  return g_build_filename (g_get_user_state_dir (), "cloche", "sessions", NULL);
}

ClocheSessionStore *
cloche_session_store_new (const char *root)
{
  ClocheSessionStore *self = g_object_new (CLOCHE_TYPE_SESSION_STORE, NULL);

  self->root = g_strdup (root);
  return self;
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

static gboolean
make_dir (const char  *path,
          GError     **error)
{
  if (g_mkdir_with_parents (path, 0700) == 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
               "Cannot create the session folder %s: %s", path, g_strerror (errno));
  return FALSE;
}

gboolean
cloche_session_store_save (ClocheSessionStore  *self,
                           ClocheSession       *session,
                           GError             **error)
{
  g_autofree char *path = NULL;
  g_autofree char *json = NULL;

  g_return_val_if_fail (CLOCHE_IS_SESSION_STORE (self), FALSE);

  path = g_build_filename (self->root, cloche_session_get_id (session), "session.json", NULL);
  json = cloche_session_to_json (session);
  /* CONSISTENT: a temporary file, fsync, rename: a crash leaves the old or
   * the new record, never half of one. */
  return g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

gboolean
cloche_session_store_create (ClocheSessionStore  *self,
                             ClocheSession       *session,
                             GError             **error)
{
  g_autofree char *work = NULL;

  g_return_val_if_fail (CLOCHE_IS_SESSION_STORE (self), FALSE);

  work = cloche_session_store_dup_work_dir (self, cloche_session_get_id (session));
  return make_dir (work, error) && cloche_session_store_save (self, session, error);
}

static gint64
folder_mtime (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (gint64) st.st_mtime * G_USEC_PER_SEC : 0;
}

/**
 * cloche_session_store_load:
 *
 * Returns: (transfer full): the session; a record that cannot be read comes
 *   back as a damaged session saying why, never as nothing
 */
ClocheSession *
cloche_session_store_load (ClocheSessionStore *self,
                           const char         *id)
{
  g_autofree char *dir = g_build_filename (self->root, id, NULL);
  g_autofree char *path = g_build_filename (dir, "session.json", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *reason = NULL;
  g_autoptr(GError) error = NULL;
  ClocheSession *session;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      reason = g_strdup_printf ("session.json cannot be read: %s", error->message);
      return cloche_session_new_damaged (id, reason, folder_mtime (dir));
    }
  session = cloche_session_new_from_json (id, contents, length, &error);
  if (session != NULL)
    return session;
  reason = g_strdup_printf ("session.json is damaged: %s", error->message);
  return cloche_session_new_damaged (id, reason, folder_mtime (dir));
}

/* Listing, in a worker thread */

typedef struct
{
  GStrv                  open_ids;
  guint                  stale_after_days;
  gboolean               dry_run;
  ClocheCleanupProgress  progress;
  gpointer               progress_data;
  guint64                freed;
} Job;

static gboolean
is_session_folder (DIR           *dir,
                   struct dirent *entry)
{
  struct stat st;

  if (entry->d_name[0] == '.')
    return FALSE;
  /* A link here is not ours: never follow it, never list it. */
  return fstatat (dirfd (dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
         && S_ISDIR (st.st_mode);
}

static void
job_free (Job *job)
{
  g_strfreev (job->open_ids);
  g_free (job);
}

/* A record says "open" while the daemon that opened it has gone (it was
 * killed, or the machine lost power): unless it is really open now, it is
 * closed, and may grow stale like any other. */
static void
settle_state (ClocheSession      *session,
              const char * const *open_ids)
{
  if (cloche_session_get_state (session) == CLOCHE_SESSION_STATE_OPEN
      && (open_ids == NULL || !g_strv_contains (open_ids, cloche_session_get_id (session))))
    cloche_session_set_state (session, CLOCHE_SESSION_STATE_CLOSED);
}

/* @measure: walk each folder for its size; cleanup needs it for the
 * stale ones only, and removal counts what it frees anyway. */
static GPtrArray *
list_entries (ClocheSessionStore *self,
              Job                *job,
              gboolean            measure,
              GCancellable       *cancellable)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_session_entry_free);
  gint64 now = g_get_real_time ();
  struct dirent *dirent;
  DIR *dir = opendir (self->root);

  while (dir != NULL && (dirent = readdir (dir)) != NULL
         && !g_cancellable_is_cancelled (cancellable))
    {
      ClocheSessionEntry *entry;

      if (!is_session_folder (dir, dirent))
        continue;
      entry = g_new0 (ClocheSessionEntry, 1);
      entry->session = cloche_session_store_load (self, dirent->d_name);
      settle_state (entry->session, (const char * const *) job->open_ids);
      entry->size = measure ? cloche_tree_measure (dirfd (dir), dirent->d_name) : 0;
      entry->stale = cloche_session_is_stale (entry->session, now, job->stale_after_days);
      g_ptr_array_add (entries, entry);
    }
  if (dir != NULL)
    closedir (dir);
  return entries;
}

static void
list_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Job *job = task_data;

  g_task_return_pointer (task, list_entries (source_object, job, TRUE, cancellable),
                         (GDestroyNotify) g_ptr_array_unref);
}

void
cloche_session_store_list_async (ClocheSessionStore  *self,
                                 const char * const  *open_ids,
                                 guint                stale_after_days,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  job->open_ids = g_strdupv ((char **) open_ids);
  job->stale_after_days = stale_after_days;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_session_store_list_async);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, list_thread);
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

/* Cleanup, in a worker thread */

typedef struct
{
  Job     *job;
  guint    done;
  guint    total;
  guint64  freed;
} Progress;

static gboolean
report_progress (gpointer data)
{
  Progress *progress = data;

  progress->job->progress (progress->done, progress->total, progress->freed,
                           progress->job->progress_data);
  return G_SOURCE_REMOVE;
}

static void
post_progress (GTask *task,
               Job   *job,
               guint  done,
               guint  total)
{
  Progress *progress;

  if (job->progress == NULL)
    return;
  progress = g_new0 (Progress, 1);
  *progress = (Progress) { job, done, total, job->freed };
  g_main_context_invoke_full (g_task_get_context (task), G_PRIORITY_DEFAULT,
                              report_progress, progress, g_free);
}

static GPtrArray *
select_stale (GPtrArray *entries)
{
  GPtrArray *stale = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_session_entry_free);

  for (guint i = entries->len; i > 0; i--)
    if (((ClocheSessionEntry *) g_ptr_array_index (entries, i - 1))->stale)
      g_ptr_array_add (stale, g_ptr_array_steal_index_fast (entries, i - 1));
  return stale;
}

static gboolean
remove_entries (ClocheSessionStore  *self,
                GTask               *task,
                Job                 *job,
                GPtrArray           *stale,
                GError             **error)
{
  int root_fd = open (self->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  gboolean ok = TRUE;

  for (guint i = 0; ok && root_fd >= 0 && i < stale->len; i++)
    {
      ClocheSessionEntry *entry = g_ptr_array_index (stale, i);
      guint64 freed = 0;

      ok = cloche_tree_remove (root_fd, cloche_session_get_id (entry->session), &freed, error);
      entry->size = freed;
      job->freed += freed;
      if (i % 64 == 63 || i + 1 == stale->len)
        post_progress (task, job, i + 1, stale->len);
    }
  if (root_fd >= 0)
    close (root_fd);
  return ok;
}

/* What removing them would free: the same allocated bytes removal counts. */
static void
measure_entries (ClocheSessionStore *self,
                 Job                *job,
                 GPtrArray          *entries)
{
  int root_fd = open (self->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  for (guint i = 0; root_fd >= 0 && i < entries->len; i++)
    {
      ClocheSessionEntry *entry = g_ptr_array_index (entries, i);

      entry->size = cloche_tree_measure (root_fd, cloche_session_get_id (entry->session));
      job->freed += entry->size;
    }
  if (root_fd >= 0)
    close (root_fd);
}

static void
cleanup_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr(GPtrArray) entries = list_entries (source_object, job, FALSE, cancellable);
  g_autoptr(GPtrArray) stale = select_stale (entries);
  GError *error = NULL;

  if (job->dry_run)
    measure_entries (source_object, job, stale);
  else if (!remove_entries (source_object, task, job, stale, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&stale), (GDestroyNotify) g_ptr_array_unref);
}

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
  g_autoptr(GTask) task = NULL;
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (CLOCHE_IS_SESSION_STORE (self));

  *job = (Job) { g_strdupv ((char **) open_ids), stale_after_days, dry_run,
                 progress, progress_data, 0 };
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_session_store_cleanup_async);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, cleanup_thread);
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
  Job *job;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  job = g_task_get_task_data (G_TASK (result));
  *freed = job->freed;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
cloche_session_store_finalize (GObject *object)
{
  ClocheSessionStore *self = CLOCHE_SESSION_STORE (object);

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
}
