/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one way a secret is set or removed (io.github.cloche.Secrets, which
 * clochectl secret and the app's Secrets page call): the value goes to, or
 * leaves, the user's keyring (ClocheSecretStore), and the binding the
 * user's policy file as `secrets.NAME`, which the policy then reads back.
 *
 * Its rules: the policy files are read again first, so a lock the
 * administrator has just written counts, and a locked binding is refused
 * before anything changes, with one exception: a Set that gives a locked
 * binding exactly as it is in force sets its value only (the administrator
 * decides where a key goes, the user brings the key); the binding is one cloche_secret_binding_new()
 * accepted; the file is written whole (a temporary file renamed over it,
 * 0600), in a worker thread, keeping whatever else it holds.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "cloche-error.h"
#include "cloche-secret-admin.h"

typedef struct
{
  ClocheSecretStore *store;
  char              *name;
  GVariant          *binding;    /* NULL: remove */
  char              *value;      /* wiped when freed */
  char              *path;       /* the user's policy file */
  gboolean           value_only; /* a locked binding as in force: the file stays */
} Job;

static void
cloche_secret_admin_job_free (Job *job)
{
  g_clear_object (&job->store);
  g_free (job->name);
  g_clear_pointer (&job->binding, g_variant_unref);
  if (job->value != NULL)
    explicit_bzero (job->value, strlen (job->value));
  g_free (job->value);
  g_free (job->path);
  g_free (job);
}

/* The user's policy file, in the worker */

static JsonNode *
cloche_secret_admin_load_user_file (const char  *path,
                                    GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      JsonObject *object = json_object_new ();

      json_object_set_int_member (object, "version", 1);
      root = json_node_init_object (json_node_alloc (), object);
      json_object_unref (object);
      return root;
    }
  if (!json_parser_load_from_mapped_file (parser, path, error))
    return NULL;
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("%s is not a JSON object: fix it first (clochectl policy validate %s)"),
                   path, path);
      return NULL;
    }
  return json_node_copy (json_parser_get_root (parser));
}

static gboolean
cloche_secret_admin_save_user_file (const char  *path,
                                    JsonNode    *root,
                                    GError     **error)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  if (g_mkdir_with_parents (folder, 0700) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   _("Cannot make %s: %s"), folder, g_strerror (errno));
      return FALSE;
    }
  return g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static void
cloche_secret_admin_edit_in_thread (GTask        *task,
                                    gpointer      source,
                                    gpointer      task_data,
                                    GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr(JsonNode) root = NULL;
  GError *error = NULL;
  JsonObject *object, *secrets;

  if ((root = cloche_secret_admin_load_user_file (job->path, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  object = json_node_get_object (root);
  if (!json_object_has_member (object, "secrets")
      || !JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "secrets")))
    json_object_set_object_member (object, "secrets", json_object_new ());
  secrets = json_object_get_object_member (object, "secrets");
  if (job->binding == NULL)
    json_object_remove_member (secrets, job->name);
  else
    json_object_set_member (secrets, job->name, json_gvariant_serialize (job->binding));
  if (!cloche_secret_admin_save_user_file (job->path, root, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* The steps */

static void
cloche_secret_admin_reloaded_after_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  /* A file refused on this reading keeps its last good version in force;
   * the binding is written all the same, and the policy says why. */
  cloche_policy_reload_finish (CLOCHE_POLICY (object), result, NULL);
  g_task_return_boolean (task, TRUE);
}

static void
cloche_secret_admin_edited_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClochePolicy *policy = g_task_get_source_object (task);
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_prefix_error (&error, _("The keyring changed, but the policy file could not: "));
      g_task_return_error (task, error);
      return;
    }
  cloche_policy_reload_async (policy, NULL, cloche_secret_admin_reloaded_after_cb,
                              g_steal_pointer (&task));
}

static void
cloche_secret_admin_edit_file (GTask *task)
{
  GTask *worker = g_task_new (NULL, NULL, cloche_secret_admin_edited_cb, task);

  g_task_set_task_data (worker, g_task_get_task_data (task), NULL);
  g_task_run_in_thread (worker, cloche_secret_admin_edit_in_thread);
  g_object_unref (worker);
}

static void
cloche_secret_admin_keyring_done_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  GTask *task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;
  gboolean done;

  done = job->binding != NULL
         ? cloche_secret_store_save_finish (CLOCHE_SECRET_STORE (object), result, &error)
         : cloche_secret_store_remove_finish (CLOCHE_SECRET_STORE (object), result, &error);
  if (!done)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (job->value_only)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  cloche_secret_admin_edit_file (task);
}

/* Whether @binding (a variant of cloche_secret_binding_to_variant()) is
 * the binding of its name in force, word for word. */
static gboolean
cloche_secret_admin_is_in_force (ClochePolicy *policy,
                                 const char   *name,
                                 GVariant     *binding)
{
  g_autoptr(GPtrArray) bindings = cloche_policy_dup_secret_bindings (policy);
  g_autoptr(ClocheSecretBinding) given = cloche_secret_binding_new_from_variant (name, binding,
                                                                                  NULL);

  for (guint i = 0; given != NULL && i < bindings->len; i++)
    {
      const ClocheSecretBinding *current = bindings->pdata[i];

      if (g_str_equal (current->name, name))
        return g_strv_equal ((const char * const *) current->hosts,
                             (const char * const *) given->hosts)
               && g_str_equal (current->header, given->header)
               && g_str_equal (current->format, given->format);
    }
  return FALSE;
}

static gboolean
cloche_secret_admin_check_unlocked (ClochePolicy  *policy,
                                    Job           *job,
                                    GError       **error)
{
  g_autofree char *key = g_strdup_printf ("secrets.%s", job->name);

  if (!cloche_policy_is_locked (policy, key))
    return TRUE;
  if (job->binding != NULL && cloche_secret_admin_is_in_force (policy, job->name, job->binding))
    {
      job->value_only = TRUE;
      return TRUE;
    }
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_LOCKED,
               _("The administrator's policy (%s) locks %s: only its value can be set, "
                 "with the hosts, header and format it has; ask them to change the rest"),
               cloche_policy_get_admin_path (policy), key);
  return FALSE;
}

static void
cloche_secret_admin_reloaded_before_cb (GObject      *object,
                                        GAsyncResult *result,
                                        gpointer      user_data)
{
  GTask *task = user_data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;

  cloche_policy_reload_finish (CLOCHE_POLICY (object), result, NULL);
  if (!cloche_secret_admin_check_unlocked (CLOCHE_POLICY (object), job, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (job->binding != NULL)
    cloche_secret_store_save_async (job->store, job->name, job->value, NULL,
                                    cloche_secret_admin_keyring_done_cb,
                                    task);
  else
    cloche_secret_store_remove_async (job->store, job->name, NULL,
                                      cloche_secret_admin_keyring_done_cb, task);
}

static void
cloche_secret_admin_start (ClochePolicy        *policy,
                           Job                 *job,
                           gpointer             source_tag,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task = g_task_new (policy, NULL, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  job->path = g_strdup (cloche_policy_get_user_path (policy));
  g_task_set_task_data (task, job, (GDestroyNotify) cloche_secret_admin_job_free);
  cloche_policy_reload_async (policy, NULL, cloche_secret_admin_reloaded_before_cb, task);
}

/**
 * cloche_secret_admin_set_async:
 * @binding: a binding cloche_secret_binding_new() made
 * @value: its value, checked by cloche_secret_value_check(); copied, and
 *   wiped when done
 */
void
cloche_secret_admin_set_async (ClochePolicy              *policy,
                               ClocheSecretStore         *store,
                               const ClocheSecretBinding *binding,
                               const char                *value,
                               GAsyncReadyCallback        callback,
                               gpointer                   user_data)
{
  Job *job = g_new0 (Job, 1);

  job->store = g_object_ref (store);
  job->name = g_strdup (binding->name);
  job->binding = g_variant_ref_sink (cloche_secret_binding_to_variant (binding));
  job->value = g_strdup (value);
  cloche_secret_admin_start (policy, job, cloche_secret_admin_set_async, callback, user_data);
}

/**
 * cloche_secret_admin_remove_async:
 * @name: a secret's name, checked by cloche_secret_name_check()
 */
void
cloche_secret_admin_remove_async (ClochePolicy        *policy,
                                  ClocheSecretStore   *store,
                                  const char          *name,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  job->store = g_object_ref (store);
  job->name = g_strdup (name);
  cloche_secret_admin_start (policy, job, cloche_secret_admin_remove_async, callback, user_data);
}

/* For both. */
gboolean
cloche_secret_admin_finish (ClochePolicy  *policy,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, policy), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
