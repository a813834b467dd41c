/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Secrets' values, in the user's keyring: the Secret Service (GNOME
 * Keyring, KWallet's) through libsecret, one item per secret under the
 * schema "io.github.cloche.Secret" with its name as the one attribute.
 * Nothing of a value is written anywhere else, logged or sent over D-Bus
 * by Cloche (libsecret speaks to the keyring over the session bus itself,
 * in an encrypted session when the service offers one).
 *
 * The egress proxy needs a value for every request it writes it into, so
 * a value read once is kept in memory (wiped when dropped) until it is
 * saved again or removed through this object. A value changed behind
 * Cloche's back (Seahorse) is seen after the daemon restarts. A value
 * read while a save or a removal ran is not kept (it may be the old one).
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <libsecret/secret.h>
#include <string.h>

#include "cloche-error.h"
#include "cloche-secret-store.h"

struct _ClocheSecretStore
{
  GObject     parent_instance;
  GHashTable *values;       /* name → value, read or saved */
  guint64     generation;   /* one more at each save or remove */
};

G_DEFINE_FINAL_TYPE (ClocheSecretStore, cloche_secret_store, G_TYPE_OBJECT)

static const SecretSchema schema = {
  "io.github.cloche.Secret", SECRET_SCHEMA_NONE,
  {
    { "name", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

/**
 * cloche_secret_free:
 *
 * Wipes and frees a secret's value.
 */
void
cloche_secret_free (char *value)
{
  if (value == NULL)
    return;
  explicit_bzero (value, strlen (value));
  g_free (value);
}

static void
cloche_secret_store_finalize (GObject *object)
{
  ClocheSecretStore *self = CLOCHE_SECRET_STORE (object);

  g_hash_table_unref (self->values);
  G_OBJECT_CLASS (cloche_secret_store_parent_class)->finalize (object);
}

static void
cloche_secret_store_class_init (ClocheSecretStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_secret_store_finalize;
}

static void
cloche_secret_store_init (ClocheSecretStore *self)
{
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) cloche_secret_free);
}

ClocheSecretStore *
cloche_secret_store_new (void)
{
  return g_object_new (CLOCHE_TYPE_SECRET_STORE, NULL);
}

/* libsecret's errors (no service on the bus, a locked collection whose
 * prompt was dismissed) as one code, with what to do. */
static GError *
cloche_secret_store_keyring_error (GError *error)
{
  GError *ours = g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_KEYRING,
                              _("Cannot use the keyring (the Secret Service on the session "
                                "bus, such as GNOME Keyring): %s. Check that it runs and is "
                                "unlocked"), error->message);

  g_error_free (error);
  return ours;
}

/* Save */

typedef struct
{
  char *name;
  char *value;
} SaveData;

static void
cloche_secret_store_save_data_free (SaveData *data)
{
  g_free (data->name);
  cloche_secret_free (data->value);
  g_free (data);
}

static void
cloche_secret_store_stored_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSecretStore *self = g_task_get_source_object (task);
  SaveData *data = g_task_get_task_data (task);
  GError *error = NULL;

  if (!secret_password_store_finish (result, &error))
    {
      g_task_return_error (task, cloche_secret_store_keyring_error (error));
      return;
    }
  g_hash_table_replace (self->values, g_strdup (data->name), g_strdup (data->value));
  g_task_return_boolean (task, TRUE);
}

/**
 * cloche_secret_store_save_async:
 * @name: a secret's name (checked by the caller)
 * @value: its value (checked by the caller); copied, and wiped when done
 *
 * Puts @value in the user's default keyring, replacing the one before.
 */
void
cloche_secret_store_save_async (ClocheSecretStore   *self,
                                const char          *name,
                                const char          *value,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *label = g_strdup_printf (_("Cloche secret %s"), name);
  SaveData *data = g_new0 (SaveData, 1);

  g_task_set_source_tag (task, cloche_secret_store_save_async);
  self->generation++;
  g_hash_table_remove (self->values, name);
  data->name = g_strdup (name);
  data->value = g_strdup (value);
  g_task_set_task_data (task, data, (GDestroyNotify) cloche_secret_store_save_data_free);
  secret_password_store (&schema, SECRET_COLLECTION_DEFAULT, label, value, cancellable,
                         cloche_secret_store_stored_cb, task, "name", name, NULL);
}

gboolean
cloche_secret_store_save_finish (ClocheSecretStore  *self,
                                 GAsyncResult       *result,
                                 GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Lookup */

typedef struct
{
  char    *name;
  guint64  generation;   /* the store's when the lookup started */
} LookupData;

static void
cloche_secret_store_lookup_data_free (LookupData *data)
{
  g_free (data->name);
  g_free (data);
}

static void
cloche_secret_store_looked_up_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSecretStore *self = g_task_get_source_object (task);
  LookupData *data = g_task_get_task_data (task);
  const char *name = data->name;
  GError *error = NULL;
  char *value = secret_password_lookup_finish (result, &error);

  if (error != NULL)
    {
      g_task_return_error (task, cloche_secret_store_keyring_error (error));
      return;
    }
  if (value == NULL)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_SECRET_MISSING,
                               _("The secret %s has no value in the keyring: set it with "
                                 "“clochectl secret set %s” or in Cloche's Secrets"),
                               name, name);
      return;
    }
  if (data->generation == self->generation)
    g_hash_table_replace (self->values, g_strdup (name), g_strdup (value));
  g_task_return_pointer (task, g_strdup (value), (GDestroyNotify) cloche_secret_free);
  secret_password_free (value);
}

/**
 * cloche_secret_store_lookup_async:
 *
 * The value of the secret @name: at once if it was read or saved before,
 * else from the keyring (which may ask the user to unlock it).
 */
void
cloche_secret_store_lookup_async (ClocheSecretStore   *self,
                                  const char          *name,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  const char *known = g_hash_table_lookup (self->values, name);
  LookupData *data;

  g_task_set_source_tag (task, cloche_secret_store_lookup_async);
  if (known != NULL)
    {
      g_task_return_pointer (task, g_strdup (known), (GDestroyNotify) cloche_secret_free);
      g_object_unref (task);
      return;
    }
  data = g_new0 (LookupData, 1);
  data->name = g_strdup (name);
  data->generation = self->generation;
  g_task_set_task_data (task, data, (GDestroyNotify) cloche_secret_store_lookup_data_free);
  secret_password_lookup (&schema, cancellable, cloche_secret_store_looked_up_cb, task, "name",
                          name, NULL);
}

/**
 * cloche_secret_store_lookup_finish:
 *
 * Returns: (transfer full): the value, to free with cloche_secret_free();
 *   %NULL with %CLOCHE_ERROR_SECRET_MISSING or %CLOCHE_ERROR_KEYRING
 */
char *
cloche_secret_store_lookup_finish (ClocheSecretStore  *self,
                                   GAsyncResult       *result,
                                   GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Remove */

static void
cloche_secret_store_cleared_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  /* FALSE without an error: there was none to remove, which is fine. */
  secret_password_clear_finish (result, &error);
  if (error != NULL)
    g_task_return_error (task, cloche_secret_store_keyring_error (error));
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * cloche_secret_store_remove_async:
 *
 * Removes the value of @name from the keyring (and from memory at once).
 */
void
cloche_secret_store_remove_async (ClocheSecretStore   *self,
                                  const char          *name,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, cloche_secret_store_remove_async);
  self->generation++;
  g_hash_table_remove (self->values, name);
  secret_password_clear (&schema, cancellable, cloche_secret_store_cleared_cb, task, "name", name,
                         NULL);
}

gboolean
cloche_secret_store_remove_finish (ClocheSecretStore  *self,
                                   GAsyncResult       *result,
                                   GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* List */

static void
cloche_secret_store_searched_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  GError *error = NULL;
  GList *items = secret_password_search_finish (result, &error);

  if (error != NULL)
    {
      g_task_return_error (task, cloche_secret_store_keyring_error (error));
      return;
    }
  for (GList *l = items; l != NULL; l = l->next)
    {
      g_autoptr(GHashTable) attributes = secret_retrievable_get_attributes (l->data);
      const char *name = g_hash_table_lookup (attributes, "name");

      if (name != NULL)
        g_strv_builder_add (names, name);
    }
  g_list_free_full (items, g_object_unref);
  g_task_return_pointer (task, g_strv_builder_end (names), (GDestroyNotify) g_strfreev);
}

/**
 * cloche_secret_store_list_async:
 *
 * The names of the secrets that have a value in the keyring. Reads no
 * value, and asks nobody to unlock anything.
 */
void
cloche_secret_store_list_async (ClocheSecretStore   *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, cloche_secret_store_list_async);
  secret_password_search (&schema, SECRET_SEARCH_ALL, cancellable, cloche_secret_store_searched_cb,
                          task, NULL);
}

/**
 * cloche_secret_store_list_finish:
 *
 * Returns: (transfer full): the names, in no order
 */
GStrv
cloche_secret_store_list_finish (ClocheSecretStore  *self,
                                 GAsyncResult       *result,
                                 GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
