/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The default bundle, built on this machine: there is no bundle to download
 * anywhere, but tools/build-bundle makes the minimal one from Debian's
 * packages (docs/bundle.md). Meson installs that script as
 * LIBEXECDIR/cloche-build-bundle and the guest helper it puts in the bundle
 * as LIBEXECDIR/cloche-guest; CLOCHE_BUILD_BUNDLE and CLOCHE_GUEST_HELPER
 * name others (a build tree, the tests).
 *
 * Rules:
 * - The script runs as a subprocess in a process group of its own, so that
 *   Cancel (SIGTERM to the group) stops apt-get and dpkg-deb with it and the
 *   script's EXIT trap removes its half-made folder; the run ends only when
 *   the script has exited, so nothing is left running or half written.
 * - It builds into the user's cache folder (cloche/default-bundle); the
 *   daemon installs from there like from any folder, checking every file,
 *   and the copy in the cache is removed after that (clean), so the bundle
 *   is on the disk once.
 * - Each line the script prints is the status, as it comes: downloads,
 *   unpacking, the size; its last "error:" line is the failure's message.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "cloche-bundle-builder.h"

#define SCRIPT_PREFIX "build-bundle: "
/* The script's lines are short; a longer one is cut, not kept whole. */
#define MAX_LINE 4096

struct _ClocheBundleBuilder
{
  GObject      parent_instance;

  char        *output;       /* the bundle folder the script makes */
  char        *status;       /* its last line */
  char        *error_line;   /* its last "error:" line */
  GSubprocess *process;      /* while running */
};

G_DEFINE_FINAL_TYPE (ClocheBundleBuilder, cloche_bundle_builder, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATUS,
  PROP_RUNNING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
cloche_bundle_builder_script_path (void)
{
  const char *path = g_getenv ("CLOCHE_BUILD_BUNDLE");

  return path != NULL && path[0] != '\0' ? path : LIBEXECDIR "/cloche-build-bundle";
}

static const char *
cloche_bundle_builder_guest_helper_path (void)
{
  const char *path = g_getenv ("CLOCHE_GUEST_HELPER");

  return path != NULL && path[0] != '\0' ? path : LIBEXECDIR "/cloche-guest";
}

static char *
cloche_bundle_builder_valid_line (const char *text)
{
  gsize length = strlen (text);

  return g_utf8_make_valid (text, MIN (length, MAX_LINE));
}

static void
cloche_bundle_builder_set_status (ClocheBundleBuilder *self,
                                  const char          *line)
{
  const char *text = g_str_has_prefix (line, SCRIPT_PREFIX) ? line + strlen (SCRIPT_PREFIX)
                                                            : line;

  if (text[0] == '\0')
    return;
  if (g_str_has_prefix (text, "error: "))
    {
      g_free (self->error_line);
      self->error_line = cloche_bundle_builder_valid_line (text + strlen ("error: "));
    }
  g_free (self->status);
  self->status = cloche_bundle_builder_valid_line (text);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

static void
cloche_bundle_builder_set_process (ClocheBundleBuilder *self,
                                   GSubprocess         *process)
{
  g_set_object (&self->process, process);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

/* The whole group: the script and whatever it runs at the moment. */
static void
cloche_bundle_builder_stop_process (ClocheBundleBuilder *self)
{
  const char *id = self->process != NULL ? g_subprocess_get_identifier (self->process) : NULL;

  if (id != NULL)
    kill (-(pid_t) g_ascii_strtoll (id, NULL, 10), SIGTERM);
}

static void
cloche_bundle_builder_cancelled_cb (GCancellable        *cancellable,
                                    ClocheBundleBuilder *self)
{
  cloche_bundle_builder_stop_process (self);
}

/* A run: its task, and the cancellable's handler to drop at the end. */

typedef struct
{
  GDataInputStream *lines;
  GCancellable     *cancellable;
  gulong            cancelled_id;
} Run;

static void
cloche_bundle_builder_run_free (Run *run)
{
  g_cancellable_disconnect (run->cancellable, run->cancelled_id);
  g_clear_object (&run->cancellable);
  g_clear_object (&run->lines);
  g_free (run);
}

static void
cloche_bundle_builder_exited_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheBundleBuilder *self = g_task_get_source_object (task);
  Run *run = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean ok = g_subprocess_wait_check_finish (G_SUBPROCESS (object), result, &error);

  cloche_bundle_builder_set_process (self, NULL);
  if (g_cancellable_is_cancelled (run->cancellable))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             _("The build was cancelled"));
  else if (!ok)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                             self->error_line != NULL ? self->error_line
                             : self->status != NULL ? self->status : error->message);
  else
    g_task_return_boolean (task, TRUE);
}

static void cloche_bundle_builder_read_next_line (GTask *task);

static void
cloche_bundle_builder_line_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheBundleBuilder *self = g_task_get_source_object (task);
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (object),
                                                                      result, NULL, NULL);

  if (line == NULL)
    {
      /* End of output (or unreadable): the exit status says how it went. */
      g_subprocess_wait_check_async (self->process, NULL, cloche_bundle_builder_exited_cb,
                                     g_steal_pointer (&task));
      return;
    }
  cloche_bundle_builder_set_status (self, g_strstrip (line));
  cloche_bundle_builder_read_next_line (g_steal_pointer (&task));
}

static void
cloche_bundle_builder_read_next_line (GTask *task)
{
  Run *run = g_task_get_task_data (task);

  g_data_input_stream_read_line_async (run->lines, G_PRIORITY_DEFAULT, NULL,
                                       cloche_bundle_builder_line_cb, task);
}

static void
cloche_bundle_builder_child_setup (gpointer user_data)
{
  setpgid (0, 0);
}

static GSubprocess *
cloche_bundle_builder_spawn (ClocheBundleBuilder  *self,
                             GError              **error)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  const char *script = cloche_bundle_builder_script_path ();

  if (!g_file_test (script, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The script that builds the default bundle is not at %s: install Cloche "
                     "with “meson install”, or choose a bundle folder"), script);
      return NULL;
    }
  g_subprocess_launcher_set_child_setup (launcher, cloche_bundle_builder_child_setup, NULL, NULL);
  return g_subprocess_launcher_spawn (launcher, error, script, "--guest-helper",
                                      cloche_bundle_builder_guest_helper_path (), self->output,
                                      NULL);
}

/**
 * cloche_bundle_builder_run_async:
 *
 * Builds the default bundle into the output folder; fails with the
 * script's own error line, or G_IO_ERROR_CANCELLED once the script has
 * stopped after a cancel.
 */
void
cloche_bundle_builder_run_async (ClocheBundleBuilder *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  Run *run;

  g_task_set_source_tag (task, cloche_bundle_builder_run_async);
  if (self->process != NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_PENDING,
                               _("The default bundle is being built already"));
      return;
    }
  g_clear_pointer (&self->error_line, g_free);
  if ((process = cloche_bundle_builder_spawn (self, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  cloche_bundle_builder_set_process (self, process);
  run = g_new0 (Run, 1);
  run->lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  run->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  g_task_set_task_data (task, run, (GDestroyNotify) cloche_bundle_builder_run_free);
  run->cancelled_id = g_cancellable_connect (run->cancellable,
                                             G_CALLBACK (cloche_bundle_builder_cancelled_cb), self,
                                             NULL);
  cloche_bundle_builder_read_next_line (g_steal_pointer (&task));
}

gboolean
cloche_bundle_builder_run_finish (ClocheBundleBuilder  *self,
                                  GAsyncResult         *result,
                                  GError              **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Clean: the bundle folder is flat (manifest.json and the files it lists). */

static void
cloche_bundle_builder_clean_thread (GTask        *task,
                                    gpointer      source_object,
                                    gpointer      task_data,
                                    GCancellable *cancellable)
{
  const char *folder = task_data;
  g_autoptr(GDir) dir = g_dir_open (folder, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (folder, name, NULL);

      if (g_unlink (path) != 0 && errno != ENOENT)
        g_warning ("Cannot remove %s: %s", path, g_strerror (errno));
    }
  if (dir != NULL && g_rmdir (folder) != 0)
    g_warning ("Cannot remove %s: %s", folder, g_strerror (errno));
  g_task_return_boolean (task, TRUE);
}

/* Removes the built copy once the daemon has installed its own. */
void
cloche_bundle_builder_clean_async (ClocheBundleBuilder *self,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, cloche_bundle_builder_clean_async);
  g_task_set_task_data (task, g_strdup (self->output), g_free);
  g_task_run_in_thread (task, cloche_bundle_builder_clean_thread);
}

const char *
cloche_bundle_builder_get_output (ClocheBundleBuilder *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_BUILDER (self), NULL);
  return self->output;
}

const char *
cloche_bundle_builder_get_status (ClocheBundleBuilder *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_BUILDER (self), NULL);
  return self->status;
}

gboolean
cloche_bundle_builder_get_running (ClocheBundleBuilder *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_BUILDER (self), FALSE);
  return self->process != NULL;
}

/* GObject */

static void
cloche_bundle_builder_dispose (GObject *object)
{
  ClocheBundleBuilder *self = CLOCHE_BUNDLE_BUILDER (object);

  /* A run holds the builder, so this is the app going away: the script's
   * trap still cleans up after it. */
  cloche_bundle_builder_stop_process (self);
  g_clear_object (&self->process);
  G_OBJECT_CLASS (cloche_bundle_builder_parent_class)->dispose (object);
}

static void
cloche_bundle_builder_finalize (GObject *object)
{
  ClocheBundleBuilder *self = CLOCHE_BUNDLE_BUILDER (object);

  g_free (self->output);
  g_free (self->status);
  g_free (self->error_line);
  G_OBJECT_CLASS (cloche_bundle_builder_parent_class)->finalize (object);
}

static void
cloche_bundle_builder_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  ClocheBundleBuilder *self = CLOCHE_BUNDLE_BUILDER (object);

  switch (prop_id)
    {
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->process != NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_bundle_builder_class_init (ClocheBundleBuilderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cloche_bundle_builder_dispose;
  object_class->finalize = cloche_bundle_builder_finalize;
  object_class->get_property = cloche_bundle_builder_get_property;

  properties[PROP_STATUS] =
    g_param_spec_string ("status", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RUNNING] =
    g_param_spec_boolean ("running", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cloche_bundle_builder_init (ClocheBundleBuilder *self)
{
  self->output = g_build_filename (g_get_user_cache_dir (), "cloche", "default-bundle", NULL);
}

ClocheBundleBuilder *
cloche_bundle_builder_new (void)
{
  return g_object_new (CLOCHE_TYPE_BUNDLE_BUILDER, NULL);
}
