/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reading the two policy files, and reading them again when they change.
 * Editors save by writing a new file and renaming it over the old one, and
 * the file (or its folder) may appear only after the daemon started, so
 * both the file and its folder are watched, and a burst of events becomes
 * one reload once the file has been quiet for a moment. Whoever can write
 * the folder can put anything there: a file is read only if it is a
 * regular one, without blocking and up to the size a policy can have
 * (cloche-file.c), so a FIFO never hangs the daemon's start.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <fcntl.h>

#include "cloche-error.h"
#include "cloche-file.h"
#include "cloche-policy-private.h"

/* Long enough for an editor's write, rename and chmod to be one change. */
#define RELOAD_DELAY_MS 150

/* What reading @path gave (@error set when it could not be read). */
void
_cloche_policy_read_text (ClochePolicyRead  *read,
                          ClochePolicyLayer  layer,
                          const char        *path,
                          const char        *text,
                          gsize              length,
                          const GError      *error)
{
  g_autoptr(ClochePolicyDocument) document = NULL;
  g_autoptr(GError) invalid = NULL;

  memset (read, 0, sizeof *read);
  if (error != NULL)
    {
      read->missing = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)
                      || g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      if (!read->missing)
        read->refusal = g_strdup_printf ("%s: cannot be read: %s", path, error->message);
      return;
    }
  document = cloche_policy_document_new_from_data (layer, path, text, length);
  if (cloche_policy_document_check (document, &invalid))
    read->document = g_steal_pointer (&document);
  else
    read->refusal = g_strdup (invalid->message);
}

/* Blocking: at start, or in a worker thread. A FIFO, a device or a
 * file larger than a policy can be is refused by cloche_file_read()
 * without blocking or reading it all. */
static void
cloche_policy_read_file_sync (ClochePolicyRead  *read,
                              ClochePolicyLayer  layer,
                              const char        *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char *text = NULL;
  gsize length = 0;

  bytes = cloche_file_read (AT_FDCWD, path, CLOCHE_POLICY_MAX_SIZE, _("policy file"),
                            CLOCHE_FILE_FOLLOW, &error);
  if (bytes != NULL)
    text = g_bytes_get_data (bytes, &length);
  _cloche_policy_read_text (read, layer, path, text, length, error);
}

/**
 * cloche_policy_load:
 *
 * Reads both files now, blocking: for a program's start, before its main
 * loop runs. A refused file is in #ClochePolicy:last-refusal.
 */
void
cloche_policy_load (ClochePolicy *self)
{
  g_auto(ClochePolicyRead) user = { 0 };
  g_auto(ClochePolicyRead) admin = { 0 };

  g_return_if_fail (CLOCHE_IS_POLICY (self));

  cloche_policy_read_file_sync (&user, CLOCHE_POLICY_LAYER_USER, self->user_path);
  cloche_policy_read_file_sync (&admin, CLOCHE_POLICY_LAYER_ADMIN, self->admin_path);
  _cloche_policy_apply (self, &user, &admin);
}

/* Reload: both files read in a worker thread, then applied at once in the
 * caller's context. */

typedef struct
{
  char             *user_path;
  char             *admin_path;
  ClochePolicyRead  user;
  ClochePolicyRead  admin;
} Reload;

static void
cloche_policy_reload_free (Reload *reload)
{
  g_free (reload->user_path);
  g_free (reload->admin_path);
  _cloche_policy_read_clear (&reload->user);
  _cloche_policy_read_clear (&reload->admin);
  g_free (reload);
}

static void
cloche_policy_reload_thread (GTask        *task,
                             gpointer      source_object,
                             gpointer      task_data,
                             GCancellable *cancellable)
{
  Reload *reload = task_data;

  cloche_policy_read_file_sync (&reload->user, CLOCHE_POLICY_LAYER_USER, reload->user_path);
  cloche_policy_read_file_sync (&reload->admin, CLOCHE_POLICY_LAYER_ADMIN, reload->admin_path);
  g_task_return_boolean (task, TRUE);
}

static void
cloche_policy_files_read_cb (GObject      *object,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClochePolicy *self = g_task_get_source_object (task);
  Reload *reload = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  _cloche_policy_apply (self, &reload->user, &reload->admin);
  if (self->last_refusal[0] != '\0')
    g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID, "%s",
                             self->last_refusal);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * cloche_policy_reload_async:
 *
 * Reads both files again without blocking and applies what passes. The
 * result is an error (%CLOCHE_ERROR_POLICY_INVALID, with every problem)
 * when a file is refused; the policy in force then keeps that file's last
 * good version.
 */
void
cloche_policy_reload_async (ClochePolicy        *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GTask) read = NULL;
  Reload *reload;

  g_return_if_fail (CLOCHE_IS_POLICY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_policy_reload_async);
  reload = g_new0 (Reload, 1);
  reload->user_path = g_strdup (self->user_path);
  reload->admin_path = g_strdup (self->admin_path);
  /* No source object: the worker drops its reference to this task after
   * the result is in, possibly after the policy is gone. */
  read = g_task_new (NULL, cancellable, cloche_policy_files_read_cb, g_steal_pointer (&task));
  g_task_set_task_data (read, reload, (GDestroyNotify) cloche_policy_reload_free);
  g_task_set_return_on_cancel (read, FALSE);
  g_task_run_in_thread (read, cloche_policy_reload_thread);
}

gboolean
cloche_policy_reload_finish (ClochePolicy  *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Watching */

static void cloche_policy_schedule_reload (ClochePolicy *self);

static void
cloche_policy_watch_reloaded_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  ClochePolicy *self = CLOCHE_POLICY (object);
  g_autoptr(GError) error = NULL;

  if (!cloche_policy_reload_finish (self, result, &error)
      && g_strcmp0 (error->message, self->logged_refusal) != 0)
    g_warning ("Policy refused; the last good policy stays in force:\n%s", error->message);
  g_free (self->logged_refusal);
  self->logged_refusal = error != NULL ? g_strdup (error->message) : NULL;
  self->reloading = FALSE;
  if (self->reload_again)
    {
      self->reload_again = FALSE;
      cloche_policy_schedule_reload (self);
    }
  g_object_unref (self);
}

static gboolean
cloche_policy_reload_timeout_cb (gpointer user_data)
{
  ClochePolicy *self = user_data;

  self->reload_source = 0;
  /* One reload at a time: an event during one asks for another after it. */
  if (self->reloading)
    {
      self->reload_again = TRUE;
      return G_SOURCE_REMOVE;
    }
  self->reloading = TRUE;
  cloche_policy_reload_async (self, NULL, cloche_policy_watch_reloaded_cb, g_object_ref (self));
  return G_SOURCE_REMOVE;
}

static void
cloche_policy_schedule_reload (ClochePolicy *self)
{
  g_clear_handle_id (&self->reload_source, g_source_remove);
  self->reload_source = g_timeout_add (RELOAD_DELAY_MS, cloche_policy_reload_timeout_cb, self);
}

static gboolean
cloche_policy_is_policy_file (ClochePolicy *self,
                              GFile        *file)
{
  g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

  return path != NULL && (g_str_equal (path, self->user_path)
                          || g_str_equal (path, self->admin_path));
}

static void
cloche_policy_changed_cb (GFileMonitor      *monitor,
                          GFile             *file,
                          GFile             *other_file,
                          GFileMonitorEvent  event,
                          ClochePolicy      *self)
{
  /* The folder's monitor reports every file in it: only ours count. */
  if (!cloche_policy_is_policy_file (self, file)
      && !cloche_policy_is_policy_file (self, other_file))
    return;
  if (event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED
      || event == G_FILE_MONITOR_EVENT_PRE_UNMOUNT)
    return;
  cloche_policy_schedule_reload (self);
}

static gboolean
cloche_policy_watch_internal (ClochePolicy  *self,
                              GFile         *file,
                              gboolean       directory,
                              GError       **error)
{
  GFileMonitor *monitor;

  monitor = directory ? g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES, NULL, error)
                      : g_file_monitor_file (file, G_FILE_MONITOR_WATCH_MOVES, NULL, error);
  if (monitor == NULL)
    return FALSE;
  g_signal_connect_object (monitor, "changed", G_CALLBACK (cloche_policy_changed_cb), self, 0);
  g_ptr_array_add (self->monitors, monitor);
  return TRUE;
}

/**
 * cloche_policy_watch:
 *
 * Reloads the policy whenever either file or its folder changes, including
 * files and folders created later. A refused file is logged and shown in
 * #ClochePolicy:last-refusal; the last good policy stays in force.
 */
gboolean
cloche_policy_watch (ClochePolicy  *self,
                     GError       **error)
{
  const char *paths[] = { self->user_path, self->admin_path };

  g_return_val_if_fail (CLOCHE_IS_POLICY (self), FALSE);
  g_return_val_if_fail (self->monitors == NULL, FALSE);

  self->monitors = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(GFile) file = g_file_new_for_path (paths[i]);
      g_autoptr(GFile) folder = g_file_get_parent (file);

      if (!cloche_policy_watch_internal (self, file, FALSE, error)
          || (folder != NULL && !cloche_policy_watch_internal (self, folder, TRUE, error)))
        return FALSE;
    }
  return TRUE;
}
