/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions as records: listing, showing, pinning and cleaning up. Open
 * sessions answer from memory; the rest come from the store.
 */
#include "config.h"

#include "cloche-audit-events.h"
#include "cloche-error.h"
#include "cloche-sandbox-private.h"

ClocheSessionStore *
cloche_sandbox_get_store (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), NULL);
  return self->store;
}

guint
cloche_sandbox_get_stale_after_days (ClocheSandbox *self)
{
  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), 0);
  return self->stale_after_days;
}

static void
on_listed (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  GPtrArray *entries;

  entries = cloche_session_store_list_finish (CLOCHE_SESSION_STORE (object), result, &error);
  if (entries == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, entries, (GDestroyNotify) g_ptr_array_unref);
}

void
cloche_sandbox_list_sessions_async (ClocheSandbox       *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_auto(GStrv) open_ids = NULL;
  GTask *task;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_list_sessions_async);
  open_ids = _cloche_sandbox_dup_open_ids (self);
  cloche_session_store_list_async (self->store, (const char * const *) open_ids,
                                   self->stale_after_days, cancellable, on_listed, task);
}

/**
 * cloche_sandbox_list_sessions_finish:
 *
 * Returns: (transfer full) (element-type ClocheSessionEntry): every session
 */
GPtrArray *
cloche_sandbox_list_sessions_finish (ClocheSandbox  *self,
                                     GAsyncResult   *result,
                                     GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
is_session_id (const char *id)
{
  /* Ids name folders: nothing that could climb out of the sessions folder. */
  return id != NULL && id[0] != '\0' && id[0] != '.' && strchr (id, '/') == NULL;
}

/**
 * cloche_sandbox_get_session:
 *
 * Returns: (transfer full): the session, open or not, possibly damaged
 */
ClocheSession *
cloche_sandbox_get_session (ClocheSandbox  *self,
                            const char     *id,
                            GError        **error)
{
  ClocheOpenSession *open;
  g_autofree char *dir = NULL;
  g_autoptr(ClocheSession) session = NULL;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), NULL);

  open = g_hash_table_lookup (self->sessions, id);
  if (open != NULL)
    return g_object_ref (open->session);

  dir = is_session_id (id) ? g_build_filename (cloche_session_store_get_root (self->store),
                                               id, NULL) : NULL;
  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_NOT_FOUND,
                   "There is no session with the id \"%s\"", id);
      return NULL;
    }
  session = cloche_session_store_load (self->store, id);
  if (cloche_session_get_state (session) == CLOCHE_SESSION_STATE_OPEN)
    cloche_session_set_state (session, CLOCHE_SESSION_STATE_CLOSED);
  return g_steal_pointer (&session);
}

gboolean
cloche_sandbox_set_pinned (ClocheSandbox  *self,
                           const char     *id,
                           gboolean        pinned,
                           GError        **error)
{
  g_autoptr(ClocheSession) session = NULL;

  g_return_val_if_fail (CLOCHE_IS_SANDBOX (self), FALSE);

  session = cloche_sandbox_get_session (self, id, error);
  if (session == NULL)
    return FALSE;
  if (cloche_session_get_state (session) == CLOCHE_SESSION_STATE_DAMAGED)
    {
      /* Rewriting it would replace what is left of the record. */
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                   "Session %s cannot be pinned: %s", id, cloche_session_get_damage (session));
      return FALSE;
    }
  cloche_session_set_pinned (session, pinned);
  return cloche_session_store_save (self->store, session, error);
}

typedef struct
{
  GPtrArray *removed;
  guint64    freed;
} Cleanup;

static void
cleanup_free (Cleanup *cleanup)
{
  g_clear_pointer (&cleanup->removed, g_ptr_array_unref);
  g_free (cleanup);
}

static void
on_cleaned_up (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  Cleanup *cleanup = g_new0 (Cleanup, 1);
  GError *error = NULL;

  cleanup->removed = cloche_session_store_cleanup_finish (CLOCHE_SESSION_STORE (object), result,
                                                          &cleanup->freed, &error);
  if (cleanup->removed == NULL)
    {
      cleanup_free (cleanup);
      g_task_return_error (task, error);
      return;
    }
  if (!GPOINTER_TO_INT (g_task_get_task_data (task)))
    cloche_audit_cleanup (self->audit, cleanup->removed, cleanup->freed);
  g_task_return_pointer (task, cleanup, (GDestroyNotify) cleanup_free);
}

/**
 * cloche_sandbox_cleanup_async:
 * @older_than_days: the staleness threshold, negative for the policy's
 *
 * Removes stale sessions (closed or damaged, not pinned, idle for longer
 * than the threshold). Open sessions are never touched.
 */
void
cloche_sandbox_cleanup_async (ClocheSandbox         *self,
                              int                    older_than_days,
                              gboolean               dry_run,
                              ClocheCleanupProgress  progress,
                              gpointer               progress_data,
                              GCancellable          *cancellable,
                              GAsyncReadyCallback    callback,
                              gpointer               user_data)
{
  g_auto(GStrv) open_ids = NULL;
  GTask *task;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_cleanup_async);
  /* Task data: whether this is a dry run, which the audit log skips. */
  g_task_set_task_data (task, GINT_TO_POINTER (dry_run), NULL);
  open_ids = _cloche_sandbox_dup_open_ids (self);
  cloche_session_store_cleanup_async (self->store, (const char * const *) open_ids,
                                      older_than_days >= 0 ? (guint) older_than_days
                                                           : self->stale_after_days,
                                      dry_run, progress, progress_data,
                                      cancellable, on_cleaned_up, task);
}

/**
 * cloche_sandbox_cleanup_finish:
 *
 * Returns: (transfer full) (element-type ClocheSessionEntry): what was removed
 */
GPtrArray *
cloche_sandbox_cleanup_finish (ClocheSandbox  *self,
                               GAsyncResult   *result,
                               guint64        *freed,
                               GError        **error)
{
  Cleanup *cleanup;
  GPtrArray *removed;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  cleanup = g_task_propagate_pointer (G_TASK (result), error);
  if (cleanup == NULL)
    return NULL;
  *freed = cleanup->freed;
  removed = g_steal_pointer (&cleanup->removed);
  cleanup_free (cleanup);
  return removed;
}
