/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The bundle's life on this machine: where it is, what it is, and the
 * operations on it (verify, install, relocate, remove), one at a time, each
 * a GTask whose blocking part runs in a worker thread and reports progress
 * back to the main context. The location is the daemon's --bundle, else
 * the one the last install or relocate chose (kept in
 * $XDG_STATE_HOME/cloche/bundle.json with the time of the last verify),
 * else $XDG_DATA_HOME/cloche/bundle. Sessions are never touched: removing
 * the bundle closes open sessions only when forced, and keeps their files.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <fcntl.h>
#include <json-glib/json-glib.h>

#include "cloche-bundle-manager.h"
#include "cloche-bundle-private.h"
#include "cloche-error.h"
#include "cloche-file.h"
#include "cloche-json.h"
#include "cloche-json-locator.h"
#include "cloche-own-folders.h"
#include "cloche-sandbox-private.h"
#include "cloche-vm-snapshot.h"

/* Progress signals at most this often, besides each phase's first and last. */
#define PROGRESS_INTERVAL_US (100 * 1000)

struct _ClocheBundleManager
{
  GObject           parent_instance;
  char             *location;
  char             *state_file;
  ClocheSandbox    *sandbox;
  ClocheBundleInfo *info;
  gint64            last_verified;
  char             *source;          /* what the last install came from */
  char             *operation;       /* NULL when idle */
  GCancellable     *cancellable;     /* of the operation */
};

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_INSTALLED,
  PROP_NAME,
  PROP_VERSION,
  PROP_SIZE,
  PROP_SNAPSHOT_SIZE,
  PROP_TOOLS_SIZE,
  PROP_LAST_VERIFIED,
  PROP_OPERATION,
  N_PROPS
};

enum {
  SIGNAL_PROGRESS,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheBundleManager, cloche_bundle_manager, G_TYPE_OBJECT)

/* One operation: what it works on, and its progress reports. */
typedef struct
{
  ClocheBundleManager  *self;
  GMainContext         *context;
  char                 *operation;
  char                 *source;
  char                 *from;
  char                 *to;
  gboolean              force;
  gboolean              copied;
  guint64               freed;
  gint64                last_report;
  char                 *last_phase;
  ClocheBundleProgress  progress;
} Job;

static void
cloche_bundle_manager_job_free (Job *job)
{
  g_clear_object (&job->self);
  g_main_context_unref (job->context);
  g_free (job->operation);
  g_free (job->source);
  g_free (job->from);
  g_free (job->to);
  g_free (job->last_phase);
  g_free (job);
}

/* cloche_bundle_manager_replace_str () is GLib 2.76. */
static gboolean
cloche_bundle_manager_replace_str (char       **slot,
                                   const char  *value)
{
  if (g_strcmp0 (*slot, value) == 0)
    return FALSE;
  g_free (*slot);
  *slot = g_strdup (value);
  return TRUE;
}

/* State file */

/* bundle.json as it must be: at most this long, strict JSON, each member
 * of its type. It is read at every start, so whatever is there (a FIFO, a
 * link, 100,000 nested '[', a member of another type) must neither hang
 * nor crash the daemon: anything wrong is reported once and ignored, and
 * the defaults hold. */
#define MAX_STATE_SIZE 65536

static JsonObject *
cloche_bundle_manager_read_state (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = cloche_file_read (AT_FDCWD, path, MAX_STATE_SIZE, "bundle.json",
                                              CLOCHE_FILE_NO_FOLLOW, &error);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *message = NULL;
  ClocheJsonPosition where = { 0, 0 };
  gsize length = 0;
  const char *text = bytes != NULL ? g_bytes_get_data (bytes, &length) : NULL;
  JsonNode *root;

  if (bytes == NULL)
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("Ignoring the bundle state: %s", error->message);
      return NULL;
    }
  if (!cloche_json_check_syntax (text, length, &where, NULL, &message)
      || !json_parser_load_from_data (parser, text, length, NULL)
      || (root = json_parser_get_root (parser)) == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_warning ("Ignoring the bundle state %s: %u:%u: %s", path, where.line, where.column,
                 message != NULL ? message : "not a JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static void
cloche_bundle_manager_load_state (ClocheBundleManager *self,
                                  gboolean             take_location)
{
  g_autoptr(JsonObject) object = cloche_bundle_manager_read_state (self->state_file);
  const char *location;
  gint64 verified;

  if (object == NULL)
    return;
  location = cloche_json_get_string (object, "location", NULL);
  if (take_location && location != NULL && g_path_is_absolute (location))
    cloche_bundle_manager_replace_str (&self->location, location);
  /* A time of verify, so not before 1970 nor more than a day from now. */
  verified = cloche_json_get_int (object, "last-verified", 0);
  if (g_strcmp0 (location, self->location) == 0 && verified >= 0
      && verified <= g_get_real_time () / G_USEC_PER_SEC + 86400)
    self->last_verified = verified;
  cloche_bundle_manager_replace_str (&self->source,
                                     cloche_json_get_string (object, "source", NULL));
}

/* A few bytes, written when an operation ends: small enough for the main
 * loop, and atomic so a crash leaves the old state, not half of it. */
static void
cloche_bundle_manager_save_state (ClocheBundleManager *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *dir = g_path_get_dirname (self->state_file);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "location");
  json_builder_add_string_value (builder, self->location);
  json_builder_set_member_name (builder, "last-verified");
  json_builder_add_int_value (builder, self->last_verified);
  if (self->source != NULL)
    {
      json_builder_set_member_name (builder, "source");
      json_builder_add_string_value (builder, self->source);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_mkdir_with_parents (dir, 0700);
  if (!g_file_set_contents_full (self->state_file, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_warning ("Cannot save the bundle state: %s", error->message);
}

/* Properties */

static void
cloche_bundle_manager_set_last_verified (ClocheBundleManager *self,
                                         gint64               when)
{
  self->last_verified = when;
  if (self->info != NULL)
    cloche_bundle_info_set_last_verified (self->info, when);
  cloche_bundle_manager_save_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_VERIFIED]);
}

static void
cloche_bundle_manager_set_location (ClocheBundleManager *self,
                                    const char          *location)
{
  if (!cloche_bundle_manager_replace_str (&self->location, location))
    return;
  if (self->sandbox != NULL)
    cloche_vm_set_bundle_path (cloche_sandbox_get_vm (self->sandbox), location);
  cloche_bundle_manager_save_state (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCATION]);
}

static void
cloche_bundle_manager_set_info (ClocheBundleManager *self,
                                ClocheBundleInfo    *info)
{
  /* A measurement of an earlier location, finished after a relocate. */
  if (g_strcmp0 (cloche_bundle_info_get_location (info), self->location) != 0)
    return;
  cloche_bundle_info_set_last_verified (info, self->last_verified);
  g_set_object (&self->info, info);
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INSTALLED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NAME]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERSION]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SIZE]);
  g_object_thaw_notify (G_OBJECT (self));
}

/* Progress, from a worker thread to the main context */

typedef struct
{
  ClocheBundleManager *self;
  char                *operation;
  char                *phase;
  char                *file;
  guint64              done;
  guint64              total;
} Report;

static void
cloche_bundle_manager_report_free (gpointer data)
{
  Report *report = data;

  g_object_unref (report->self);
  g_free (report->operation);
  g_free (report->phase);
  g_free (report->file);
  g_free (report);
}

static gboolean
cloche_bundle_manager_emit_report (gpointer data)
{
  Report *report = data;

  g_signal_emit (report->self, signals[SIGNAL_PROGRESS], 0, report->operation, report->phase,
                 report->file != NULL ? report->file : "", report->done, report->total);
  return G_SOURCE_REMOVE;
}

static void
cloche_bundle_manager_thread_progress_cb (const char *phase,
                                          const char *file,
                                          guint64     done,
                                          guint64     total,
                                          gpointer    user_data)
{
  Job *job = user_data;
  gint64 now = g_get_monotonic_time ();
  gboolean new_phase = g_strcmp0 (phase, job->last_phase) != 0;
  Report *report;

  if (!new_phase && done != total && now - job->last_report < PROGRESS_INTERVAL_US)
    return;
  job->last_report = now;
  cloche_bundle_manager_replace_str (&job->last_phase, phase);
  report = g_new0 (Report, 1);
  report->self = g_object_ref (job->self);
  report->operation = g_strdup (job->operation);
  report->phase = g_strdup (phase);
  report->file = g_strdup (file);
  report->done = done;
  report->total = total;
  g_main_context_invoke_full (job->context, G_PRIORITY_DEFAULT, cloche_bundle_manager_emit_report,
                              report,
                              cloche_bundle_manager_report_free);
}

/* Operations: one at a time */

static void cloche_bundle_manager_refresh (ClocheBundleManager *self);

static GTask *
cloche_bundle_manager_begin (ClocheBundleManager  *self,
                             const char           *operation,
                             GCancellable         *cancellable,
                             GAsyncReadyCallback   callback,
                             gpointer              user_data,
                             gpointer              source_tag)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Job *job;

  g_task_set_source_tag (task, source_tag);
  if (self->operation != NULL)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_BUSY,
                               "The bundle is busy: %s is running; wait for it to finish or "
                               "cancel it", self->operation);
      return NULL;
    }
  self->operation = g_strdup (operation);
  self->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  job = g_new0 (Job, 1);
  job->self = g_object_ref (self);
  job->context = g_main_context_ref_thread_default ();
  job->operation = g_strdup (operation);
  job->progress.func = cloche_bundle_manager_thread_progress_cb;
  job->progress.data = job;
  g_task_set_task_data (task, job, (GDestroyNotify) cloche_bundle_manager_job_free);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPERATION]);
  return g_steal_pointer (&task);
}

/* Ends the running operation with @error (taken), or with success. */
static void
cloche_bundle_manager_end (GTask  *task,
                           GError *error)
{
  ClocheBundleManager *self = g_task_get_source_object (task);

  g_clear_pointer (&self->operation, g_free);
  g_clear_object (&self->cancellable);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPERATION]);
  cloche_bundle_manager_refresh (self);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* Runs @func in a worker thread with the operation's job and cancellable;
 * @done gets the operation's task as user data. */
static void
cloche_bundle_manager_run_step (GTask               *task,
                                GTaskThreadFunc      func,
                                GAsyncReadyCallback  done)
{
  ClocheBundleManager *self = g_task_get_source_object (task);
  g_autoptr(GTask) step = g_task_new (self, self->cancellable, done, g_object_ref (task));

  g_task_set_task_data (step, g_task_get_task_data (task), NULL);
  g_task_run_in_thread (step, func);
}

static gboolean
cloche_bundle_manager_step_finish_cb (GAsyncResult  *result,
                                      GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
cloche_bundle_manager_cancel (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), FALSE);

  if (self->cancellable == NULL)
    return FALSE;
  g_cancellable_cancel (self->cancellable);
  return TRUE;
}

/* Info */

static void
cloche_bundle_manager_info_thread (GTask        *task,
                                   gpointer      source_object,
                                   gpointer      task_data,
                                   GCancellable *cancellable)
{
  g_task_return_pointer (task, cloche_bundle_info_measure (task_data), g_object_unref);
}

void
cloche_bundle_manager_info_async (ClocheBundleManager *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_bundle_manager_info_async);
  g_task_set_task_data (task, g_strdup (self->location), g_free);
  g_task_run_in_thread (task, cloche_bundle_manager_info_thread);
}

/**
 * cloche_bundle_manager_info_finish:
 *
 * Returns: (transfer full): the bundle as measured now; it also becomes
 *   what the manager's properties show
 */
ClocheBundleInfo *
cloche_bundle_manager_info_finish (ClocheBundleManager  *self,
                                   GAsyncResult         *result,
                                   GError              **error)
{
  ClocheBundleInfo *info;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  info = g_task_propagate_pointer (G_TASK (result), error);
  if (info != NULL)
    cloche_bundle_manager_set_info (self, info);
  /* The snapshot is measured now too (a few stats): Info's "snapshot".
   * Not the tools folder: only an install session or a removal changes it,
   * and the sandbox measures it then (Info's "tools" is that size). */
  if (self->sandbox != NULL)
    cloche_vm_measure_snapshot (cloche_sandbox_get_vm (self->sandbox));
  return info;
}

static void
cloche_bundle_manager_refreshed_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(ClocheBundleInfo) info = NULL;

  info = cloche_bundle_manager_info_finish (CLOCHE_BUNDLE_MANAGER (object), result, NULL);
}

static void
cloche_bundle_manager_refresh (ClocheBundleManager *self)
{
  cloche_bundle_manager_info_async (self, NULL, cloche_bundle_manager_refreshed_cb, NULL);
}

/* Inspect: what installing a source would take, before anything is written */

typedef struct
{
  char                 *source;
  char                 *target;
  ClocheBundleManifest *manifest;
  guint64               free_bytes;
} Inspection;

static void
cloche_bundle_manager_inspection_free (Inspection *inspection)
{
  g_free (inspection->source);
  g_free (inspection->target);
  g_clear_object (&inspection->manifest);
  g_free (inspection);
}

static void
cloche_bundle_manager_inspect_thread (GTask        *task,
                                      gpointer      source_object,
                                      gpointer      task_data,
                                      GCancellable *cancellable)
{
  Inspection *inspection = task_data;
  GError *error = NULL;

  inspection->manifest = _cloche_bundle_inspect_run (inspection->source, cancellable, &error);
  inspection->free_bytes = _cloche_bundle_free_space (inspection->target);
  if (inspection->manifest == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* The absolute target of an install: @location, else the current one. */
static char *
cloche_bundle_manager_resolve_target (ClocheBundleManager  *self,
                                      const char           *location,
                                      GError              **error)
{
  if (location == NULL || location[0] == '\0')
    return g_strdup (self->location);
  if (!g_path_is_absolute (location))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("The bundle location \"%s\" is not an absolute path"), location);
      return NULL;
    }
  return g_canonicalize_filename (location, NULL);
}

void
cloche_bundle_manager_inspect_async (ClocheBundleManager *self,
                                     const char          *source,
                                     const char          *location,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Inspection *inspection;
  GError *error = NULL;
  g_autofree char *target = NULL;

  g_return_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self));
  g_return_if_fail (source != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_bundle_manager_inspect_async);
  target = cloche_bundle_manager_resolve_target (self, location, &error);
  if (target == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  inspection = g_new0 (Inspection, 1);
  inspection->source = g_strdup (source);
  inspection->target = g_steal_pointer (&target);
  g_task_set_task_data (task, inspection, (GDestroyNotify) cloche_bundle_manager_inspection_free);
  g_task_run_in_thread (task, cloche_bundle_manager_inspect_thread);
}

/**
 * cloche_bundle_manager_inspect_finish:
 * @target: (out) (optional): where the bundle would go
 * @free_bytes: (out) (optional): free space there
 *
 * Returns: (transfer full): the source's manifest (name, version, files
 *   and their sizes)
 */
ClocheBundleManifest *
cloche_bundle_manager_inspect_finish (ClocheBundleManager  *self,
                                      GAsyncResult         *result,
                                      char                **target,
                                      guint64              *free_bytes,
                                      GError              **error)
{
  Inspection *inspection;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  inspection = g_task_get_task_data (G_TASK (result));
  if (target != NULL)
    *target = g_strdup (inspection->target);
  if (free_bytes != NULL)
    *free_bytes = inspection->free_bytes;
  return g_object_ref (inspection->manifest);
}

/* Verify */

static void
cloche_bundle_manager_verify_thread (GTask        *task,
                                     gpointer      source_object,
                                     gpointer      task_data,
                                     GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;

  if (cloche_bundle_verify (job->from, cancellable, cloche_bundle_manager_thread_progress_cb, job,
                            &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
cloche_bundle_manager_verified_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;

  if (cloche_bundle_manager_step_finish_cb (result, &error))
    cloche_bundle_manager_set_last_verified (job->self, g_get_real_time () / G_USEC_PER_SEC);
  cloche_bundle_manager_end (task, error);
}

void
cloche_bundle_manager_verify_async (ClocheBundleManager *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Job *job;

  g_return_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self));

  task = cloche_bundle_manager_begin (self, "verify", cancellable, callback, user_data,
                                      cloche_bundle_manager_verify_async);
  if (task == NULL)
    return;
  job = g_task_get_task_data (task);
  job->from = g_strdup (self->location);
  cloche_bundle_manager_run_step (task, cloche_bundle_manager_verify_thread,
                                  cloche_bundle_manager_verified_cb);
}

gboolean
cloche_bundle_manager_verify_finish (ClocheBundleManager  *self,
                                     GAsyncResult         *result,
                                     GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Install */

static void
cloche_bundle_manager_install_thread (GTask        *task,
                                      gpointer      source_object,
                                      gpointer      task_data,
                                      GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr(ClocheBundleManifest) manifest = NULL;
  GError *error = NULL;

  manifest = _cloche_bundle_install_run (job->source, job->to, &job->progress,
                                         cancellable, &error);
  if (manifest == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
cloche_bundle_manager_installed_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;

  if (cloche_bundle_manager_step_finish_cb (result, &error))
    {
      /* Every file was checked against its sha256 on the way in. */
      cloche_bundle_manager_replace_str (&job->self->source, job->source);
      cloche_bundle_manager_set_location (job->self, job->to);
      cloche_bundle_manager_set_last_verified (job->self, g_get_real_time () / G_USEC_PER_SEC);
    }
  cloche_bundle_manager_end (task, error);
}

/* The bundle never nests in another of Cloche's folders, nor they in it
 * (cloche-own-folders.c). */
static gboolean
cloche_bundle_manager_check_apart (ClocheBundleManager  *self,
                                   const char           *target,
                                   GError              **error)
{
  g_autofree char *sessions = self->sandbox != NULL
    ? g_strdup (cloche_session_store_get_root (cloche_sandbox_get_store (self->sandbox)))
    : cloche_session_store_default_root ();
  g_autoptr(GPtrArray) own = cloche_own_folders_new (self->location, sessions);

  return cloche_own_folders_check_apart (own, "bundle", target, error);
}

/* One bundle at a time: installing elsewhere would leave the first one on
 * the disk, unused and unseen. */
static gboolean
cloche_bundle_manager_check_not_installed_elsewhere (ClocheBundleManager  *self,
                                                     const char           *target,
                                                     GError              **error)
{
  g_autofree char *manifest = g_build_filename (self->location, "manifest.json", NULL);

  if (g_str_equal (target, self->location) || !g_file_test (manifest, G_FILE_TEST_EXISTS))
    return TRUE;
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
               _("A bundle is installed at %s already: remove it, or move it with "
                 "\"clochectl bundle relocate %s\", instead of installing a second one"),
               self->location, target);
  return FALSE;
}

void
cloche_bundle_manager_install_async (ClocheBundleManager *self,
                                     const char          *source,
                                     const char          *location,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *target = NULL;
  GError *error = NULL;
  Job *job;

  g_return_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self));
  g_return_if_fail (source != NULL);

  task = cloche_bundle_manager_begin (self, "install", cancellable, callback, user_data,
                                      cloche_bundle_manager_install_async);
  if (task == NULL)
    return;
  target = cloche_bundle_manager_resolve_target (self, location, &error);
  if (target == NULL || !cloche_bundle_manager_check_not_installed_elsewhere (self, target, &error)
      || !cloche_bundle_manager_check_apart (self, target, &error))
    {
      cloche_bundle_manager_end (task, error);
      return;
    }
  job = g_task_get_task_data (task);
  job->source = g_strdup (source);
  job->to = g_steal_pointer (&target);
  cloche_bundle_manager_run_step (task, cloche_bundle_manager_install_thread,
                                  cloche_bundle_manager_installed_cb);
}

gboolean
cloche_bundle_manager_install_finish (ClocheBundleManager  *self,
                                      GAsyncResult         *result,
                                      GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Relocate: copy and check, switch to the new copy, then remove the old */

static void
cloche_bundle_manager_relocate_thread (GTask        *task,
                                       gpointer      source_object,
                                       gpointer      task_data,
                                       GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;

  if (_cloche_bundle_relocate_run (job->from, job->to, &job->copied, &job->progress,
                                   cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
cloche_bundle_manager_remove_old_thread (GTask        *task,
                                         gpointer      source_object,
                                         gpointer      task_data,
                                         GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;

  /* After a rename there is nothing left to remove. */
  if (!g_file_test (job->from, G_FILE_TEST_EXISTS)
      || _cloche_bundle_remove_files (job->from, &job->freed, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
cloche_bundle_manager_old_removed_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;

  if (!cloche_bundle_manager_step_finish_cb (result, &error))
    g_prefix_error (&error, _("The bundle was moved to %s, but the old copy stays: "), job->to);
  cloche_bundle_manager_end (task, error);
}

static void
cloche_bundle_manager_relocated_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;

  if (!cloche_bundle_manager_step_finish_cb (result, &error))
    {
      cloche_bundle_manager_end (task, error);
      return;
    }
  cloche_bundle_manager_set_location (job->self, job->to);
  /* A copy was checked file by file as it was written; a rename moved the
   * same files, as verified (or not) as before. */
  if (job->copied)
    cloche_bundle_manager_set_last_verified (job->self, g_get_real_time () / G_USEC_PER_SEC);
  else
    cloche_bundle_manager_save_state (job->self);
  job->progress.phase = "remove";
  cloche_bundle_manager_run_step (task, cloche_bundle_manager_remove_old_thread,
                                  cloche_bundle_manager_old_removed_cb);
}

void
cloche_bundle_manager_relocate_async (ClocheBundleManager *self,
                                      const char          *location,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *target = NULL;
  GError *error = NULL;
  Job *job;

  g_return_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self));
  g_return_if_fail (location != NULL);

  task = cloche_bundle_manager_begin (self, "relocate", cancellable, callback, user_data,
                                      cloche_bundle_manager_relocate_async);
  if (task == NULL)
    return;
  target = cloche_bundle_manager_resolve_target (self, location, &error);
  if (target != NULL && g_str_equal (target, self->location))
    g_set_error (&error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                 _("The bundle is at %s already"), target);
  else if (target != NULL)
    cloche_bundle_manager_check_apart (self, target, &error);
  if (error != NULL)
    {
      cloche_bundle_manager_end (task, error);
      return;
    }
  job = g_task_get_task_data (task);
  job->from = g_strdup (self->location);
  job->to = g_steal_pointer (&target);
  cloche_bundle_manager_run_step (task, cloche_bundle_manager_relocate_thread,
                                  cloche_bundle_manager_relocated_cb);
}

gboolean
cloche_bundle_manager_relocate_finish (ClocheBundleManager  *self,
                                       GAsyncResult         *result,
                                       GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Remove: sessions, then the VM, then the files */

static void
cloche_bundle_manager_remove_thread (GTask        *task,
                                     gpointer      source_object,
                                     gpointer      task_data,
                                     GCancellable *cancellable)
{
  Job *job = task_data;
  GError *error = NULL;
  g_autofree char *warm = cloche_vm_snapshot_dir ();

  if (_cloche_bundle_remove_files (job->from, &job->freed, &error))
    {
      /* The warm-wake snapshot is of this bundle's VM: it goes with it,
       * and counts in what the removal frees. */
      job->freed += cloche_vm_snapshot_size (warm);
      cloche_vm_snapshot_remove (warm);
      g_task_return_boolean (task, TRUE);
    }
  else
    g_task_return_error (task, error);
}

static void
cloche_bundle_manager_removed_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;

  if (cloche_bundle_manager_step_finish_cb (result, &error))
    cloche_bundle_manager_set_last_verified (job->self, 0);
  if (job->self->sandbox != NULL)
    cloche_vm_measure_snapshot (cloche_sandbox_get_vm (job->self->sandbox));
  cloche_bundle_manager_end (task, error);
}

static void
cloche_bundle_manager_vm_stopped_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!cloche_vm_stop_finish (CLOCHE_VM (object), result, &error))
    {
      g_prefix_error (&error, _("The bundle was not removed: the VM did not stop: "));
      cloche_bundle_manager_end (task, error);
      return;
    }
  cloche_bundle_manager_run_step (task, cloche_bundle_manager_remove_thread,
                                  cloche_bundle_manager_removed_cb);
}

/* Open sessions keep their files; with @force they are closed, else they
 * keep the bundle from going. */
static gboolean
cloche_bundle_manager_close_sessions (ClocheSandbox  *sandbox,
                                      gboolean        force,
                                      GError        **error)
{
  guint open = cloche_sandbox_get_open_sessions (sandbox);
  g_auto(GStrv) ids = NULL;

  if (open == 0)
    return TRUE;
  if (!force)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_OPEN,
                   g_dngettext (GETTEXT_PACKAGE,
                                "%u session is open and uses the bundle: close it first, or "
                                "remove with --force, which closes it (its files stay)",
                                "%u sessions are open and use the bundle: close them first, or "
                                "remove with --force, which closes them (their files stay)",
                                open), open);
      return FALSE;
    }
  ids = _cloche_sandbox_dup_open_ids (sandbox);
  for (guint i = 0; ids[i] != NULL; i++)
    cloche_sandbox_close_session (sandbox, ids[i], NULL);
  return TRUE;
}

static gboolean
cloche_bundle_manager_vm_is_down (ClocheVm *vm)
{
  ClocheVmState state = cloche_vm_get_state (vm);

  return state == CLOCHE_VM_STATE_STOPPED || state == CLOCHE_VM_STATE_CRASHED;
}

void
cloche_bundle_manager_remove_async (ClocheBundleManager *self,
                                    gboolean             force,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *manifest = g_build_filename (self->location, "manifest.json", NULL);
  GError *error = NULL;
  Job *job;

  g_return_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self));

  task = cloche_bundle_manager_begin (self, "remove", cancellable, callback, user_data,
                                      cloche_bundle_manager_remove_async);
  if (task == NULL)
    return;
  if (!g_file_test (manifest, G_FILE_TEST_EXISTS))
    g_set_error (&error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING,
                 _("No sandbox bundle is installed at %s: nothing to remove"), self->location);
  else if (self->sandbox != NULL)
    cloche_bundle_manager_close_sessions (self->sandbox, force, &error);
  if (error != NULL)
    {
      cloche_bundle_manager_end (task, error);
      return;
    }
  job = g_task_get_task_data (task);
  job->from = g_strdup (self->location);
  job->progress.phase = "remove";
  if (self->sandbox != NULL
      && !cloche_bundle_manager_vm_is_down (cloche_sandbox_get_vm (self->sandbox)))
    cloche_vm_stop_async (cloche_sandbox_get_vm (self->sandbox), "the bundle is being removed",
                          NULL, cloche_bundle_manager_vm_stopped_cb, g_object_ref (task));
  else
    cloche_bundle_manager_run_step (task, cloche_bundle_manager_remove_thread,
                                    cloche_bundle_manager_removed_cb);
}

/**
 * cloche_bundle_manager_remove_finish:
 * @freed: (out) (optional): the allocated bytes removed
 */
gboolean
cloche_bundle_manager_remove_finish (ClocheBundleManager  *self,
                                     GAsyncResult         *result,
                                     guint64              *freed,
                                     GError              **error)
{
  Job *job;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  job = g_task_get_task_data (G_TASK (result));
  if (freed != NULL)
    *freed = job->freed;
  return TRUE;
}

/* Accessors */

static void
cloche_bundle_manager_snapshot_size_cb (ClocheBundleManager *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SNAPSHOT_SIZE]);
}

static void
cloche_bundle_manager_tools_size_cb (ClocheBundleManager *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOLS_SIZE]);
}

void
cloche_bundle_manager_set_sandbox (ClocheBundleManager *self,
                                   ClocheSandbox       *sandbox)
{
  g_return_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self));

  if (self->sandbox != NULL)
    {
      g_signal_handlers_disconnect_by_data (cloche_sandbox_get_vm (self->sandbox), self);
      g_signal_handlers_disconnect_by_data (self->sandbox, self);
    }
  g_set_object (&self->sandbox, sandbox);
  if (sandbox != NULL)
    {
      cloche_vm_set_bundle_path (cloche_sandbox_get_vm (sandbox), self->location);
      g_signal_connect_object (cloche_sandbox_get_vm (sandbox), "notify::snapshot-size",
                               G_CALLBACK (cloche_bundle_manager_snapshot_size_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (sandbox, "notify::tools-size",
                               G_CALLBACK (cloche_bundle_manager_tools_size_cb), self,
                               G_CONNECT_SWAPPED);
      cloche_sandbox_measure_tools (sandbox);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SNAPSHOT_SIZE]);
}

const char *
cloche_bundle_manager_get_location (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), NULL);
  return self->location;
}

gboolean
cloche_bundle_manager_get_installed (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), FALSE);
  return self->info != NULL && cloche_bundle_info_get_installed (self->info);
}

const char *
cloche_bundle_manager_get_name (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), NULL);
  return self->info != NULL ? cloche_bundle_info_get_name (self->info) : NULL;
}

const char *
cloche_bundle_manager_get_version (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), NULL);
  return self->info != NULL ? cloche_bundle_info_get_version (self->info) : NULL;
}

/* Bytes on disk, as last measured: what removing would free. */
guint64
cloche_bundle_manager_get_size (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), 0);
  return self->info != NULL ? cloche_bundle_info_get_allocated (self->info) : 0;
}

/* The warm-wake snapshot's bytes on disk: of this bundle's VM, removed
 * with it and counted in what the removal frees. */
guint64
cloche_bundle_manager_get_snapshot_size (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), 0);
  return self->sandbox != NULL ? cloche_vm_get_snapshot_size (cloche_sandbox_get_vm (self->sandbox))
                               : 0;
}

/* The tools folder's bytes on disk (agents installed in the sandbox):
 * not the bundle's, removed on its own (cloche_sandbox_remove_tools_async). */
guint64
cloche_bundle_manager_get_tools_size (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), 0);
  return self->sandbox != NULL ? cloche_sandbox_get_tools_size (self->sandbox) : 0;
}

ClocheSandbox *
cloche_bundle_manager_get_sandbox (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), NULL);
  return self->sandbox;
}

gint64
cloche_bundle_manager_get_last_verified (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), 0);
  return self->last_verified;
}

/* "verify", "install", "relocate", "remove", or %NULL when idle. */
const char *
cloche_bundle_manager_get_operation (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), NULL);
  return self->operation;
}

/* What the last install came from, to offer it again after a removal. */
const char *
cloche_bundle_manager_get_source (ClocheBundleManager *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANAGER (self), NULL);
  return self->source;
}

static void
cloche_bundle_manager_dispose (GObject *object)
{
  ClocheBundleManager *self = CLOCHE_BUNDLE_MANAGER (object);

  g_clear_object (&self->sandbox);
  g_clear_object (&self->info);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (cloche_bundle_manager_parent_class)->dispose (object);
}

static void
cloche_bundle_manager_finalize (GObject *object)
{
  ClocheBundleManager *self = CLOCHE_BUNDLE_MANAGER (object);

  g_free (self->location);
  g_free (self->state_file);
  g_free (self->operation);
  g_free (self->source);

  G_OBJECT_CLASS (cloche_bundle_manager_parent_class)->finalize (object);
}

static void
cloche_bundle_manager_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  ClocheBundleManager *self = CLOCHE_BUNDLE_MANAGER (object);

  switch (prop_id)
    {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_INSTALLED:
      g_value_set_boolean (value, cloche_bundle_manager_get_installed (self));
      break;
    case PROP_NAME:
      g_value_set_string (value, cloche_bundle_manager_get_name (self));
      break;
    case PROP_VERSION:
      g_value_set_string (value, cloche_bundle_manager_get_version (self));
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, cloche_bundle_manager_get_size (self));
      break;
    case PROP_SNAPSHOT_SIZE:
      g_value_set_uint64 (value, cloche_bundle_manager_get_snapshot_size (self));
      break;
    case PROP_TOOLS_SIZE:
      g_value_set_uint64 (value, cloche_bundle_manager_get_tools_size (self));
      break;
    case PROP_LAST_VERIFIED:
      g_value_set_int64 (value, self->last_verified);
      break;
    case PROP_OPERATION:
      g_value_set_string (value, self->operation);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_bundle_manager_class_init (ClocheBundleManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = cloche_bundle_manager_dispose;
  object_class->finalize = cloche_bundle_manager_finalize;
  object_class->get_property = cloche_bundle_manager_get_property;

  properties[PROP_LOCATION] = g_param_spec_string ("location", NULL, NULL, NULL, ro);
  properties[PROP_INSTALLED] = g_param_spec_boolean ("installed", NULL, NULL, FALSE, ro);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, ro);
  properties[PROP_VERSION] = g_param_spec_string ("version", NULL, NULL, NULL, ro);
  properties[PROP_SIZE] = g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_SNAPSHOT_SIZE] =
    g_param_spec_uint64 ("snapshot-size", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_TOOLS_SIZE] =
    g_param_spec_uint64 ("tools-size", NULL, NULL, 0, G_MAXUINT64, 0, ro);
  properties[PROP_LAST_VERIFIED] =
    g_param_spec_int64 ("last-verified", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_OPERATION] = g_param_spec_string ("operation", NULL, NULL, NULL, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ClocheBundleManager::progress:
   * @operation: "verify", "install", "relocate" or "remove"
   * @phase: "download", "copy", "verify" or "remove"
   * @file: the file being worked on, or ""
   * @done: bytes done in the whole operation
   * @total: bytes of the whole operation
   */
  signals[SIGNAL_PROGRESS] =
    g_signal_new ("progress", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 5, G_TYPE_STRING, G_TYPE_STRING,
                  G_TYPE_STRING, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
cloche_bundle_manager_init (ClocheBundleManager *self)
{
  self->state_file = g_build_filename (g_get_user_state_dir (), "cloche", "bundle.json", NULL);
}

/**
 * cloche_bundle_manager_new:
 * @location: (nullable): the bundle folder (the daemon's --bundle), or
 *   %NULL for the one last chosen, else the default
 */
ClocheBundleManager *
cloche_bundle_manager_new (const char *location)
{
  ClocheBundleManager *self = g_object_new (CLOCHE_TYPE_BUNDLE_MANAGER, NULL);

  if (location != NULL)
    self->location = g_canonicalize_filename (location, NULL);
  else
    self->location = cloche_bundle_default_path ();
  cloche_bundle_manager_load_state (self, location == NULL);
  cloche_bundle_manager_refresh (self);
  return self;
}
