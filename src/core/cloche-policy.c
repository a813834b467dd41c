/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The effective policy: built-in defaults, then the administrator's file,
 * then the user's, except that a key the administrator locks keeps the
 * administrator's value (or the default, if the admin file locks without
 * setting it). So an admin file sets the site's defaults and locks only what
 * must not move; without `locked` it could not be told apart from a user
 * file. A user value for a locked key is not dropped in silence: it becomes
 * a notice that names the file, line and key. Every effective value keeps
 * the layer it came from.
 *
 * A file that does not pass is refused as a whole and its layer keeps the
 * last good document; reading and watching the files is in
 * cloche-policy-files.c.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "cloche-error.h"
#include "cloche-policy-private.h"
#include "cloche-secret-binding.h"

enum {
  PROP_0,
  PROP_LAST_REFUSAL,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClochePolicy, cloche_policy, G_TYPE_OBJECT)

void
_cloche_policy_read_clear (ClochePolicyRead *read)
{
  g_clear_object (&read->document);
  g_clear_pointer (&read->refusal, g_free);
}

static void
cloche_policy_dispose (GObject *object)
{
  ClochePolicy *self = CLOCHE_POLICY (object);

  g_clear_handle_id (&self->reload_source, g_source_remove);
  g_clear_pointer (&self->monitors, g_ptr_array_unref);
  g_clear_object (&self->defaults);
  g_clear_object (&self->user);
  g_clear_object (&self->admin);
  g_clear_object (&self->egress_rules);
  G_OBJECT_CLASS (cloche_policy_parent_class)->dispose (object);
}

static void
cloche_policy_finalize (GObject *object)
{
  ClochePolicy *self = CLOCHE_POLICY (object);

  g_free (self->user_path);
  g_free (self->admin_path);
  g_free (self->user_refusal);
  g_free (self->admin_refusal);
  g_free (self->last_refusal);
  g_free (self->logged_refusal);
  g_hash_table_unref (self->values);
  g_hash_table_unref (self->layers);
  g_strfreev (self->notices);
  G_OBJECT_CLASS (cloche_policy_parent_class)->finalize (object);
}

static void
cloche_policy_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  ClochePolicy *self = CLOCHE_POLICY (object);

  switch (prop_id)
    {
    case PROP_LAST_REFUSAL:
      g_value_set_string (value, self->last_refusal);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_policy_class_init (ClochePolicyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cloche_policy_dispose;
  object_class->finalize = cloche_policy_finalize;
  object_class->get_property = cloche_policy_get_property;

  /**
   * ClochePolicy:last-refusal:
   *
   * Why the files that were last read could not be applied, every problem
   * on a line of its own; "" when every file is in force.
   */
  properties[PROP_LAST_REFUSAL] =
    g_param_spec_string ("last-refusal", NULL, NULL, "",
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ClochePolicy::changed:
   *
   * An effective value, the layer of one, a lock or the notices changed.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cloche_policy_init (ClochePolicy *self)
{
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_variant_unref);
  self->layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->notices = g_new0 (char *, 1);
  self->last_refusal = g_strdup ("");
}

char *
cloche_policy_default_user_path (void)
{
  return g_build_filename (g_get_user_config_dir (), "cloche", "policy.json", NULL);
}

char *
cloche_policy_default_admin_path (void)
{
  const char *path = g_getenv (CLOCHE_ADMIN_POLICY_ENV);

  return g_strdup (path != NULL && *path != '\0' ? path : "/etc/cloche/policy.json");
}

/**
 * cloche_policy_new:
 * @user_path: (nullable): the user's file; %NULL for
 *   `$XDG_CONFIG_HOME/cloche/policy.json`
 * @admin_path: (nullable): the administrator's; %NULL for
 *   `$CLOCHE_ADMIN_POLICY`, else `/etc/cloche/policy.json`
 *
 * Returns: (transfer full): a policy of the built-in defaults, until
 *   cloche_policy_load() reads the files
 */
ClochePolicy *
cloche_policy_new (const char *user_path,
                   const char *admin_path)
{
  ClochePolicy *self = g_object_new (CLOCHE_TYPE_POLICY, NULL);
  ClochePolicyRead none = { NULL, TRUE, NULL };

  self->user_path = user_path != NULL ? g_strdup (user_path) : cloche_policy_default_user_path ();
  self->admin_path = admin_path != NULL ? g_strdup (admin_path)
                     : cloche_policy_default_admin_path ();
  self->defaults = cloche_policy_document_new_defaults ();
  _cloche_policy_apply (self, &none, &none);
  return self;
}

const char *
cloche_policy_get_user_path (ClochePolicy *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY (self), NULL);
  return self->user_path;
}

const char *
cloche_policy_get_admin_path (ClochePolicy *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY (self), NULL);
  return self->admin_path;
}

/* Layering */

/* A refused file leaves its layer as it was; a missing one empties it. */
static void
cloche_policy_take_read (ClochePolicyDocument **layer,
                         char                 **refusal,
                         ClochePolicyRead      *read)
{
  g_clear_pointer (refusal, g_free);
  if (read->refusal != NULL)
    *refusal = g_strdup (read->refusal);
  else if (read->document != NULL)
    g_set_object (layer, read->document);
  else if (read->missing)
    g_clear_object (layer);
}

static void
cloche_policy_add_notice (GStrvBuilder         *notices,
                          ClochePolicy         *self,
                          const char           *key)
{
  ClocheJsonPosition where = { 1, 1 };
  g_autofree char *notice = NULL;

  cloche_policy_document_get_position (self->user, key, &where);
  notice = g_strdup_printf ("%s:%u:%u: %s: locked by the administrator in %s; "
                            "this value is not used", self->user_path, where.line,
                            where.column, key, self->admin_path);
  g_strv_builder_add (notices, notice);
}

/* With the admin file refused and nothing good from it before, the locks
 * are unknown: the user file waits rather than override them. */
static gboolean
cloche_policy_user_layer_applies (ClochePolicy *self,
                                  GStrvBuilder *notices)
{
  g_autofree char *notice = NULL;

  if (self->user == NULL)
    return FALSE;
  if (self->admin != NULL || self->admin_refusal == NULL)
    return TRUE;
  notice = g_strdup_printf ("%s: not applied while the administrator's file %s is refused",
                            self->user_path, self->admin_path);
  g_strv_builder_add (notices, notice);
  return FALSE;
}

static void
cloche_policy_merge_key (ClochePolicy *self,
                         const char   *key,
                         gboolean      with_user,
                         GHashTable   *values,
                         GHashTable   *layers,
                         GStrvBuilder *notices)
{
  GVariant *value = cloche_policy_document_lookup (self->defaults, key);
  ClochePolicyLayer layer = CLOCHE_POLICY_LAYER_DEFAULT;
  GVariant *admin_value = self->admin != NULL
                          ? cloche_policy_document_lookup (self->admin, key) : NULL;
  GVariant *user_value = with_user ? cloche_policy_document_lookup (self->user, key) : NULL;

  /* A key of a named section ("secrets.NAME") has no default: with no
   * value from a layer it is not in the effective policy. */
  if (admin_value != NULL)
    {
      value = admin_value;
      layer = CLOCHE_POLICY_LAYER_ADMIN;
    }
  if (user_value != NULL && cloche_policy_is_locked (self, key))
    cloche_policy_add_notice (notices, self, key);
  else if (user_value != NULL)
    {
      value = user_value;
      layer = CLOCHE_POLICY_LAYER_USER;
    }
  if (value == NULL)
    return;
  g_hash_table_insert (values, g_strdup (key), g_variant_ref (value));
  g_hash_table_insert (layers, g_strdup (key), GUINT_TO_POINTER (layer));
}

/* For g_ptr_array_sort(), which passes pointers to the elements. */
static int
cloche_policy_compare_strings (gconstpointer a,
                               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
cloche_policy_add_named_keys (GPtrArray            *keys,
                              ClochePolicyDocument *document)
{
  g_auto(GStrv) set = document != NULL ? cloche_policy_document_dup_keys (document) : NULL;

  for (guint i = 0; set != NULL && set[i] != NULL; i++)
    if (cloche_policy_schema_is_named_key (set[i])
        && !g_ptr_array_find_with_equal_func (keys, set[i], g_str_equal, NULL))
      g_ptr_array_add (keys, g_strdup (set[i]));
}

/* Every key a layer may give a value: the schema's, then those of named
 * sections that the admin's or the user's document sets, by name. */
static GStrv
cloche_policy_keys_to_merge (ClochePolicy *self,
                             gboolean      with_user)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) named = g_ptr_array_new_with_free_func (g_free);
  const char * const *fixed = cloche_policy_schema_keys ();

  for (guint i = 0; fixed[i] != NULL; i++)
    g_ptr_array_add (keys, g_strdup (fixed[i]));
  cloche_policy_add_named_keys (named, self->admin);
  if (with_user)
    cloche_policy_add_named_keys (named, self->user);
  g_ptr_array_sort (named, cloche_policy_compare_strings);
  for (guint i = 0; i < named->len; i++)
    g_ptr_array_add (keys, g_strdup (named->pdata[i]));
  g_ptr_array_add (keys, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&keys), FALSE);
}

static gboolean
cloche_policy_tables_equal (GHashTable *a,
                            GHashTable *b,
                            gboolean    variants)
{
  GHashTableIter iter;
  gpointer key, value;

  if (g_hash_table_size (a) != g_hash_table_size (b))
    return FALSE;
  g_hash_table_iter_init (&iter, a);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      gpointer other = g_hash_table_lookup (b, key);

      if (variants ? other == NULL || !g_variant_equal (value, other) : other != value)
        return FALSE;
    }
  return TRUE;
}

static ClocheEgressRules *
cloche_policy_build_egress_rules (GHashTable *values)
{
  g_autofree const char **allow = g_variant_get_strv (g_hash_table_lookup (values, "egress.allow"),
                                                      NULL);
  g_autofree const char **deny = g_variant_get_strv (g_hash_table_lookup (values, "egress.deny"),
                                                     NULL);
  const char *fallback = g_variant_get_string (g_hash_table_lookup (values, "egress.default"),
                                               NULL);
  g_autoptr(GError) error = NULL;
  ClocheEgressRules *rules;

  /* Each rule passed cloche_egress_rule_check() when its file was read. */
  rules = cloche_egress_rules_new (g_str_equal (fallback, "allow"), allow, deny, &error);
  g_assert_no_error (error);
  return rules;
}

static void
cloche_policy_set_last_refusal (ClochePolicy *self)
{
  g_autofree char *refusal = g_strjoin (self->admin_refusal != NULL && self->user_refusal != NULL
                                        ? "\n" : "",
                                        self->admin_refusal != NULL ? self->admin_refusal : "",
                                        self->user_refusal != NULL ? self->user_refusal : "",
                                        NULL);

  if (g_str_equal (refusal, self->last_refusal))
    return;
  g_free (self->last_refusal);
  self->last_refusal = g_steal_pointer (&refusal);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_REFUSAL]);
}

/* Takes what was read, computes the effective policy and says if it moved. */
void
_cloche_policy_apply (ClochePolicy     *self,
                      ClochePolicyRead *user,
                      ClochePolicyRead *admin)
{
  g_autoptr(GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                        (GDestroyNotify) g_variant_unref);
  g_autoptr(GHashTable) layers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) keys = NULL;
  g_auto(GStrv) notices = NULL;
  gboolean with_user, changed;

  g_autoptr(ClochePolicyDocument) old_user = self->user != NULL ? g_object_ref (self->user) : NULL;
  g_autoptr(ClochePolicyDocument) old_admin = self->admin != NULL ? g_object_ref (self->admin)
                                              : NULL;

  cloche_policy_take_read (&self->user, &self->user_refusal, user);
  cloche_policy_take_read (&self->admin, &self->admin_refusal, admin);
  with_user = cloche_policy_user_layer_applies (self, builder);
  keys = cloche_policy_keys_to_merge (self, with_user);
  for (guint i = 0; keys[i] != NULL; i++)
    cloche_policy_merge_key (self, keys[i], with_user, values, layers, builder);
  notices = g_strv_builder_end (builder);

  /* A file rewritten with the same values still changes what each layer
   * shows; an unchanged layer keeps its object. */
  changed = self->egress_rules == NULL || self->user != old_user || self->admin != old_admin
            || !cloche_policy_tables_equal (values, self->values, TRUE)
            || !cloche_policy_tables_equal (layers, self->layers, FALSE)
            || !g_strv_equal ((const char * const *) notices,
                              (const char * const *) self->notices);
  if (changed)
    {
      g_hash_table_unref (self->values);
      self->values = g_steal_pointer (&values);
      g_hash_table_unref (self->layers);
      self->layers = g_steal_pointer (&layers);
      g_strfreev (self->notices);
      self->notices = g_steal_pointer (&notices);
      g_clear_object (&self->egress_rules);
      self->egress_rules = cloche_policy_build_egress_rules (self->values);
    }
  cloche_policy_set_last_refusal (self);
  if (changed)
    g_signal_emit (self, signals[CHANGED], 0);
}

/* Getters */

/**
 * cloche_policy_lookup:
 * @key: such as "egress.allow"
 * @layer: (out) (optional): where the value came from
 *
 * Returns: (transfer none): the effective value: "u" for numbers, "b",
 *   "s" for choices, "as" for lists, "a{sv}" for a secret's binding; a
 *   key of a named section ("secrets.NAME") that no layer sets has none
 */
GVariant *
cloche_policy_lookup (ClochePolicy      *self,
                      const char        *key,
                      ClochePolicyLayer *layer)
{
  GVariant *value;

  g_return_val_if_fail (CLOCHE_IS_POLICY (self), NULL);

  value = g_hash_table_lookup (self->values, key);
  if (value == NULL)
    {
      g_return_val_if_fail (cloche_policy_schema_is_named_key (key), NULL);
      return NULL;
    }
  if (layer != NULL)
    *layer = GPOINTER_TO_UINT (g_hash_table_lookup (self->layers, key));
  return value;
}

/**
 * cloche_policy_get_document:
 *
 * Returns: (transfer none) (nullable): the document in force for @layer:
 *   the last good one read from its file, %NULL when there is no file
 */
ClochePolicyDocument *
cloche_policy_get_document (ClochePolicy      *self,
                            ClochePolicyLayer  layer)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY (self), NULL);

  switch (layer)
    {
    case CLOCHE_POLICY_LAYER_USER:
      return self->user;
    case CLOCHE_POLICY_LAYER_ADMIN:
      return self->admin;
    case CLOCHE_POLICY_LAYER_DEFAULT:
    default:
      return self->defaults;
    }
}

gboolean
cloche_policy_is_locked (ClochePolicy *self,
                         const char   *key)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY (self), FALSE);
  return self->admin != NULL && cloche_policy_document_is_locked (self->admin, key);
}

/**
 * cloche_policy_allows_session_egress:
 * @hosts: (nullable): the hosts a session would add, for the error
 *
 * Whether a session may add hosts to the egress rules for itself (an
 * agent's API hosts: its effective rules are the policy's plus those). Not
 * when the administrator locks `egress.allow` (or all of `egress`): a lock
 * means no user moves it, and a session's addition is the user's. Not
 * either while an admin file is refused with no good version before it:
 * its locks are unknown, as for the user file.
 *
 * Returns: %TRUE, or %FALSE with @error (%CLOCHE_ERROR_POLICY_LOCKED)
 *   naming the file and the lock
 */
gboolean
cloche_policy_allows_session_egress (ClochePolicy        *self,
                                     const char * const  *hosts,
                                     GError             **error)
{
  g_autofree char *list = hosts != NULL ? g_strjoinv (", ", (GStrv) hosts) : g_strdup ("");

  g_return_val_if_fail (CLOCHE_IS_POLICY (self), FALSE);

  if (self->admin == NULL && self->admin_refusal != NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_LOCKED,
                   _("The administrator's policy %s is refused, so what it locks is not known: "
                     "a session cannot add hosts (%s) to the egress rules until that file "
                     "passes (clochectl policy show says why)"), self->admin_path, list);
      return FALSE;
    }
  if (cloche_policy_is_locked (self, "egress.allow"))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_LOCKED,
                   _("The administrator locks egress in %s: a session cannot add hosts (%s) "
                     "to it; ask the administrator to allow them there"), self->admin_path,
                   list);
      return FALSE;
    }
  return TRUE;
}

const char *
cloche_policy_get_last_refusal (ClochePolicy *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY (self), NULL);
  return self->last_refusal;
}

/**
 * cloche_policy_get_notices:
 *
 * Returns: (transfer none): what was read but is not applied, such as a
 *   user value for a locked key, as "FILE:LINE:COLUMN: KEY: why"
 */
const char * const *
cloche_policy_get_notices (ClochePolicy *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY (self), NULL);
  return (const char * const *) self->notices;
}

static guint
cloche_policy_get_uint (ClochePolicy *self,
                        const char   *key)
{
  return g_variant_get_uint32 (cloche_policy_lookup (self, key, NULL));
}

guint
cloche_policy_get_memory_mib (ClochePolicy *self)
{
  return cloche_policy_get_uint (self, "vm.memory_mib");
}

guint
cloche_policy_get_cpus (ClochePolicy *self)
{
  return cloche_policy_get_uint (self, "vm.cpus");
}

/* "auto", "kvm" or "tcg": the schema allows nothing else. */
const char *
cloche_policy_get_accelerator (ClochePolicy *self)
{
  return g_variant_get_string (cloche_policy_lookup (self, "vm.accelerator", NULL), NULL);
}

guint
cloche_policy_get_idle_timeout_s (ClochePolicy *self)
{
  return cloche_policy_get_uint (self, "vm.idle_timeout_s");
}

guint
cloche_policy_get_stale_after_days (ClochePolicy *self)
{
  return cloche_policy_get_uint (self, "sessions.stale_after_days");
}

/**
 * cloche_policy_dup_mount_deny:
 *
 * Returns: (transfer full): the folders that may not be mounted, "~/" for
 *   the home folder
 */
GStrv
cloche_policy_dup_mount_deny (ClochePolicy *self)
{
  return g_variant_dup_strv (cloche_policy_lookup (self, "mounts.deny", NULL), NULL);
}

gboolean
cloche_policy_get_warm_wake (ClochePolicy *self)
{
  return g_variant_get_boolean (cloche_policy_lookup (self, "vm.warm_wake", NULL));
}

gboolean
cloche_policy_get_allow_outside_home (ClochePolicy *self)
{
  return g_variant_get_boolean (cloche_policy_lookup (self, "mounts.allow_outside_home", NULL));
}

/* Whether a folder given without a mode is mounted read-only. */
gboolean
cloche_policy_get_mounts_readonly (ClochePolicy *self)
{
  return g_str_equal (g_variant_get_string (cloche_policy_lookup (self, "mounts.default_mode",
                                                                  NULL), NULL), "ro");
}

/**
 * cloche_policy_dup_keys:
 *
 * Returns: (transfer full): every key of the effective policy: the
 *   schema's in its order, then those of named sections ("secrets.NAME")
 *   that a layer sets, by name
 */
GStrv
cloche_policy_dup_keys (ClochePolicy *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GPtrArray) named = g_ptr_array_new ();
  const char * const *fixed = cloche_policy_schema_keys ();
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (CLOCHE_IS_POLICY (self), NULL);

  g_strv_builder_addv (builder, (const char **) fixed);
  g_hash_table_iter_init (&iter, self->values);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (cloche_policy_schema_is_named_key (key))
      g_ptr_array_add (named, key);
  g_ptr_array_sort (named, cloche_policy_compare_strings);
  for (guint i = 0; i < named->len; i++)
    g_strv_builder_add (builder, named->pdata[i]);
  return g_strv_builder_end (builder);
}

/**
 * cloche_policy_dup_secret_bindings:
 *
 * Returns: (transfer full) (element-type ClocheSecretBinding): the
 *   bindings of the secrets in force (`secrets.NAME`), by name
 */
GPtrArray *
cloche_policy_dup_secret_bindings (ClochePolicy *self)
{
  GPtrArray *bindings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_secret_binding_free);
  g_auto(GStrv) keys = cloche_policy_dup_keys (self);

  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      ClocheSecretBinding *binding;

      if (!g_str_has_prefix (keys[i], "secrets."))
        continue;
      /* Checked when its file was read; checked again as it is used. */
      binding = cloche_secret_binding_new_from_variant (keys[i] + strlen ("secrets."),
                                                        g_hash_table_lookup (self->values,
                                                                             keys[i]),
                                                        &error);
      if (binding != NULL)
        g_ptr_array_add (bindings, binding);
      else
        g_warning ("Policy: %s: %s", keys[i], error->message);
    }
  return bindings;
}

/**
 * cloche_policy_get_egress_rules:
 *
 * Returns: (transfer none): the effective egress rules; a new object after
 *   each ::changed, so a connection can keep (ref) the rules it started with
 */
ClocheEgressRules *
cloche_policy_get_egress_rules (ClochePolicy *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY (self), NULL);
  return self->egress_rules;
}
