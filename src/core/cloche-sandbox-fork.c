/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Forking a session: a new session, opened like any other (its folders
 * checked and pinned, the VM booted, its folders mounted), with the same
 * host folders and modes as its source and a work folder that starts as a
 * copy of the source's, for "try it, break it, throw it away".
 *
 * The copy (cloche-tree-copy.c: links copied as links, special files
 * skipped, nothing followed out of the folder) runs in a thread of its
 * own, never in the store's worker: a huge folder must not hold up lists
 * and writes, nor the main loop. It comes after the store made the new
 * session's folder and before the VM is asked for anything, so a fork that
 * fails or is cancelled halfway (a full disk) goes the way of any open that
 * fails: its folder, the partial copy in it, and its record are removed.
 * Progress goes to the caller's thread at most every PROGRESS_INTERVAL_US,
 * and once at the end.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-sandbox-private.h"
#include "cloche-tree-copy.h"

#define PROGRESS_INTERVAL_US (100 * 1000)

struct _ClocheSandboxForkCopy
{
  char               *source_id;
  char               *new_id;        /* set before the copy starts */
  char               *root;
  ClocheForkProgress  progress;
  gpointer            progress_data;
  GDestroyNotify      progress_notify;
  GMainContext       *context;
  GMutex              lock;          /* guards what the copying thread reports */
  guint64             copied;
  guint64             total;
  gint64              reported_at;
  gboolean            report_queued;
  ClocheTreeCopy      result;        /* the copying thread's until it is done */
};

static void
cloche_sandbox_fork_copy_clear (gpointer data)
{
  ClocheSandboxForkCopy *fork = data;

  if (fork->progress_notify != NULL)
    fork->progress_notify (fork->progress_data);
  g_free (fork->source_id);
  g_free (fork->new_id);
  g_free (fork->root);
  g_main_context_unref (fork->context);
  g_mutex_clear (&fork->lock);
  cloche_tree_copy_clear (&fork->result);
}

/* Counted: a progress report queued on the caller's thread may still come
 * after the copy, and the open, are over. */
void
_cloche_sandbox_fork_copy_free (ClocheSandboxForkCopy *fork)
{
  g_atomic_rc_box_release_full (fork, cloche_sandbox_fork_copy_clear);
}

static ClocheSandboxForkCopy *
cloche_sandbox_fork_copy_new (ClocheSandbox      *self,
                              const char         *source_id,
                              ClocheForkProgress  progress,
                              gpointer            progress_data,
                              GDestroyNotify      progress_notify)
{
  ClocheSandboxForkCopy *fork = g_atomic_rc_box_new0 (ClocheSandboxForkCopy);

  fork->source_id = g_strdup (source_id);
  fork->root = g_strdup (cloche_session_store_get_root (self->store));
  fork->progress = progress;
  fork->progress_data = progress_data;
  fork->progress_notify = progress_notify;
  fork->context = g_main_context_ref_thread_default ();
  g_mutex_init (&fork->lock);
  return fork;
}

/* Progress, on the caller's thread */

static gboolean
cloche_sandbox_fork_report (gpointer data)
{
  ClocheSandboxForkCopy *fork = data;
  guint64 copied, total;

  g_mutex_lock (&fork->lock);
  copied = fork->copied;
  total = fork->total;
  fork->report_queued = FALSE;
  g_mutex_unlock (&fork->lock);
  if (fork->progress != NULL)
    fork->progress (copied, total, fork->progress_data);
  return G_SOURCE_REMOVE;
}

static void
cloche_sandbox_fork_queue_report (ClocheSandboxForkCopy *fork)
{
  g_main_context_invoke_full (fork->context, G_PRIORITY_DEFAULT, cloche_sandbox_fork_report,
                              g_atomic_rc_box_acquire (fork),
                              (GDestroyNotify) _cloche_sandbox_fork_copy_free);
}

/* In the copying thread, at every file and chunk: a report at most every
 * PROGRESS_INTERVAL_US, and never two waiting. */
static void
cloche_sandbox_fork_copy_progress_cb (guint64  copied,
                                      guint64  total,
                                      gpointer user_data)
{
  ClocheSandboxForkCopy *fork = user_data;
  gint64 now = g_get_monotonic_time ();
  gboolean due;

  g_mutex_lock (&fork->lock);
  fork->copied = copied;
  fork->total = total;
  due = !fork->report_queued && now - fork->reported_at >= PROGRESS_INTERVAL_US;
  if (due)
    {
      fork->report_queued = TRUE;
      fork->reported_at = now;
    }
  g_mutex_unlock (&fork->lock);
  if (due)
    cloche_sandbox_fork_queue_report (fork);
}

/* The copy, in a thread */

static int
cloche_sandbox_fork_open_folder (int         parent_fd,
                                 const char *name)
{
  return openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* <root>/<source>/work copied to <root>/<new>/work, which the store made
 * empty and which the copy makes again. */
static gboolean
cloche_sandbox_fork_copy_work_folder (ClocheSandboxForkCopy  *fork,
                                      const char             *new_id,
                                      GCancellable           *cancellable,
                                      GError                **error)
{
  int root_fd = open (fork->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int source_fd = root_fd >= 0 ? cloche_sandbox_fork_open_folder (root_fd, fork->source_id) : -1;
  int new_fd = source_fd >= 0 ? cloche_sandbox_fork_open_folder (root_fd, new_id) : -1;
  gboolean ok = FALSE;

  if (new_fd < 0)
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                 _("Cannot open the folder of session %s in %s: %s"),
                 source_fd < 0 ? fork->source_id : new_id, fork->root, g_strerror (errno));
  else if (unlinkat (new_fd, "work", AT_REMOVEDIR) != 0)
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                 _("Cannot replace the work folder of session %s: %s"), new_id,
                 g_strerror (errno));
  else
    ok = cloche_tree_copy (source_fd, "work", new_fd, "work", &fork->result,
                           cloche_sandbox_fork_copy_progress_cb,
                           fork, cancellable, error);
  if (new_fd >= 0)
    close (new_fd);
  if (source_fd >= 0)
    close (source_fd);
  if (root_fd >= 0)
    close (root_fd);
  return ok;
}

static void
cloche_sandbox_fork_copy_thread (GTask        *task,
                                 gpointer      source_object,
                                 gpointer      task_data,
                                 GCancellable *cancellable)
{
  ClocheSandboxForkCopy *fork = task_data;
  const char *new_id = fork->new_id;
  GError *error = NULL;
  gboolean ok = cloche_sandbox_fork_copy_work_folder (fork, new_id, cancellable, &error);

  /* The last figures, whatever came of it. */
  g_mutex_lock (&fork->lock);
  fork->copied = fork->result.copied;
  fork->total = fork->result.total;
  g_mutex_unlock (&fork->lock);
  cloche_sandbox_fork_queue_report (fork);
  if (!ok)
    {
      g_prefix_error (&error, _("Cannot fork session %s: "), fork->source_id);
      g_task_return_error (task, error);
      return;
    }
  if (fork->result.skipped > 0)
    g_message ("Fork of session %s into %s: %u special files not copied, the first %s",
               fork->source_id, new_id, fork->result.skipped, fork->result.first_skipped);
  g_task_return_boolean (task, TRUE);
}

void
_cloche_sandbox_fork_copy_async (ClocheSandbox         *self,
                                 ClocheSandboxForkCopy *fork,
                                 ClocheSession         *session,
                                 GCancellable          *cancellable,
                                 GAsyncReadyCallback    callback,
                                 gpointer               user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, _cloche_sandbox_fork_copy_async);
  g_free (fork->new_id);
  fork->new_id = g_strdup (cloche_session_get_id (session));
  g_task_set_task_data (task, g_atomic_rc_box_acquire (fork),
                        (GDestroyNotify) _cloche_sandbox_fork_copy_free);
  g_task_run_in_thread (task, cloche_sandbox_fork_copy_thread);
}

gboolean
_cloche_sandbox_fork_copy_finish (ClocheSandbox  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Fork */

typedef struct
{
  GTask                 *task;
  ClocheSandboxForkCopy *fork;
  char                  *title;
  char                  *client;
} ForkRequest;

static void
cloche_sandbox_fork_request_free (ForkRequest *request)
{
  g_clear_object (&request->task);
  g_clear_pointer (&request->fork, _cloche_sandbox_fork_copy_free);
  g_free (request->title);
  g_free (request->client);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ForkRequest, cloche_sandbox_fork_request_free)

/* The fork's title when none is given: its source's, said to be a fork. */
static char *
cloche_sandbox_fork_title (ForkRequest   *request,
                           ClocheSession *source)
{
  const char *title = cloche_session_get_title (source);

  if (request->title != NULL && request->title[0] != '\0')
    return g_strdup (request->title);
  return g_strdup_printf (_("Fork of %s"),
                          title != NULL && title[0] != '\0' ? title : request->fork->source_id);
}

static void
cloche_sandbox_fork_source_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(ForkRequest) request = user_data;
  ClocheSandbox *self = g_task_get_source_object (request->task);
  ClocheSessionEntry *entry;
  g_autofree char *title = NULL;
  GError *error = NULL;

  entry = cloche_session_store_get_finish (CLOCHE_SESSION_STORE (object), result, &error);
  if (entry != NULL && cloche_session_get_state (entry->session) == CLOCHE_SESSION_STATE_DAMAGED)
    g_set_error (&error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                 _("Session %s cannot be forked: %s"), request->fork->source_id,
                 cloche_session_get_damage (entry->session));
  if (error != NULL)
    {
      g_task_return_error (request->task, error);
      g_clear_pointer (&entry, cloche_session_entry_free);
      return;
    }
  title = cloche_sandbox_fork_title (request, entry->session);
  _cloche_sandbox_open_async (self, title, request->client,
                              cloche_session_get_mounts (entry->session),
                              g_steal_pointer (&request->fork), g_steal_pointer (&request->task));
  cloche_session_entry_free (entry);
}

/**
 * cloche_sandbox_fork_session_async:
 * @title: (nullable): the fork's title; empty or %NULL: "Fork of" the source's
 * @progress: (nullable): bytes copied so far, on this thread
 * @progress_notify: (nullable): frees @progress_data once no progress can come
 *
 * Opens a new session with @source_id's host folders and modes, its work
 * folder a copy of @source_id's. Cancelling stops the copy; a fork that
 * does not open leaves nothing behind.
 */
void
cloche_sandbox_fork_session_async (ClocheSandbox       *self,
                                   const char          *source_id,
                                   const char          *title,
                                   const char          *client,
                                   ClocheForkProgress   progress,
                                   gpointer             progress_data,
                                   GDestroyNotify       progress_notify,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  ForkRequest *request = g_new0 (ForkRequest, 1);
  g_auto(GStrv) open_ids = NULL;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  request->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (request->task, cloche_sandbox_fork_session_async);
  request->fork =
    cloche_sandbox_fork_copy_new (self, source_id, progress, progress_data, progress_notify);
  request->title = g_strdup (title);
  request->client = g_strdup (client);
  open_ids = _cloche_sandbox_dup_open_ids (self);
  cloche_session_store_get_async (self->store, source_id, (const char * const *) open_ids,
                                  self->stale_after_days, cancellable,
                                  cloche_sandbox_fork_source_cb, request);
}

/**
 * cloche_sandbox_fork_session_finish:
 *
 * Returns: (transfer full): the new session's id
 */
char *
cloche_sandbox_fork_session_finish (ClocheSandbox  *self,
                                    GAsyncResult   *result,
                                    GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
