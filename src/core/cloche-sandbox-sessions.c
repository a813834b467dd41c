/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions as records: listing, showing, pinning and cleaning up. Open
 * sessions answer from memory; the rest come from the store, whose worker
 * does all of it after the writes asked before.
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
cloche_sandbox_listed_cb (GObject      *object,
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
                                   self->stale_after_days, cancellable, cloche_sandbox_listed_cb,
                                   task);
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

static void
cloche_sandbox_got_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  ClocheSessionEntry *entry;

  entry = cloche_session_store_get_finish (CLOCHE_SESSION_STORE (object), result, &error);
  if (entry == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, entry, (GDestroyNotify) cloche_session_entry_free);
}

/* One session as a list shows it; the store has every write of an open
 * one (they reach it in order), so it answers for open sessions too. */
void
cloche_sandbox_get_session_async (ClocheSandbox       *self,
                                  const char          *id,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_auto(GStrv) open_ids = NULL;
  GTask *task;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_get_session_async);
  open_ids = _cloche_sandbox_dup_open_ids (self);
  cloche_session_store_get_async (self->store, id, (const char * const *) open_ids,
                                  self->stale_after_days, cancellable, cloche_sandbox_got_cb, task);
}

/**
 * cloche_sandbox_get_session_finish:
 *
 * Returns: (transfer full): the session, open or not, possibly damaged
 */
ClocheSessionEntry *
cloche_sandbox_get_session_finish (ClocheSandbox  *self,
                                   GAsyncResult   *result,
                                   GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
cloche_sandbox_pinned_cb (GObject      *object,
                          GAsyncResult *result,
                          gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (cloche_session_store_set_pinned_finish (CLOCHE_SESSION_STORE (object), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* A pinned session is never stale. */
void
cloche_sandbox_set_pinned_async (ClocheSandbox       *self,
                                 const char          *id,
                                 gboolean             pinned,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  ClocheOpenSession *open;
  GTask *task;

  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_sandbox_set_pinned_async);
  open = g_hash_table_lookup (self->sessions, id);
  if (open == NULL)
    {
      cloche_session_store_set_pinned_async (self->store, id, pinned, cancellable,
                                             cloche_sandbox_pinned_cb, task);
      return;
    }
  cloche_session_set_pinned (open->session, pinned);
  cloche_session_store_save (self->store, open->session);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

gboolean
cloche_sandbox_set_pinned_finish (ClocheSandbox  *self,
                                  GAsyncResult   *result,
                                  GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  GPtrArray *removed;
  guint64    freed;
} Cleanup;

static void
cloche_sandbox_cleanup_free (Cleanup *cleanup)
{
  g_clear_pointer (&cleanup->removed, g_ptr_array_unref);
  g_free (cleanup);
}

static void
cloche_sandbox_cleaned_up_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  Cleanup *cleanup = g_new0 (Cleanup, 1);
  GError *error = NULL;

  _cloche_sandbox_count_cleanup (self, -1);
  cleanup->removed = cloche_session_store_cleanup_finish (CLOCHE_SESSION_STORE (object), result,
                                                          &cleanup->freed, &error);
  if (cleanup->removed == NULL)
    {
      cloche_sandbox_cleanup_free (cleanup);
      g_task_return_error (task, error);
      return;
    }
  if (!GPOINTER_TO_INT (g_task_get_task_data (task)))
    cloche_audit_cleanup (self->audit, cleanup->removed, cleanup->freed);
  g_task_return_pointer (task, cleanup, (GDestroyNotify) cloche_sandbox_cleanup_free);
}

/**
 * cloche_sandbox_cleanup_async:
 * @stale_after_days: the staleness threshold (the policy's is
 *   cloche_sandbox_get_stale_after_days())
 *
 * Removes stale sessions (closed or damaged, not pinned, idle for longer
 * than the threshold). Open sessions are never touched.
 */
void
cloche_sandbox_cleanup_async (ClocheSandbox         *self,
                              guint                  stale_after_days,
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
  _cloche_sandbox_count_cleanup (self, +1);
  cloche_session_store_cleanup_async (self->store, (const char * const *) open_ids,
                                      stale_after_days, dry_run, progress, progress_data,
                                      cancellable, cloche_sandbox_cleaned_up_cb, task);
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
  cloche_sandbox_cleanup_free (cleanup);
  return removed;
}
