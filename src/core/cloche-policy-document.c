/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One policy file, parsed and checked, or the built-in defaults. Checking
 * goes on after the first problem, so that whoever edits the file sees all
 * of them at once, each as "FILE:LINE:COLUMN: KEY: what is wrong", in the
 * order of the file. A document with problems keeps no values: a half-read
 * policy is never applied.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <fcntl.h>

#include "cloche-error.h"
#include "cloche-file.h"
#include "cloche-memory.h"
#include "cloche-mount-check.h"
#include "cloche-policy-document.h"
#include "cloche-sandbox.h"
#include "cloche-secret-binding.h"

typedef struct
{
  ClocheJsonPosition where;
  char              *key;
  char              *message;
} Problem;

struct _ClochePolicyDocument
{
  GObject            parent_instance;
  ClochePolicyLayer  layer;
  char              *path;
  GHashTable        *values;      /* key → GVariant */
  GHashTable        *positions;   /* key → ClocheJsonPosition of its value */
  GStrv              locked;
  GStrv              problems;    /* formatted, in the order of the file */
  GPtrArray         *pending;     /* of Problem, in the same order */

  /* While parsing only. */
  const char        *text;
  gsize              length;
};

G_DEFINE_FINAL_TYPE (ClochePolicyDocument, cloche_policy_document, G_TYPE_OBJECT)

static void
cloche_policy_document_problem_free (Problem *problem)
{
  g_free (problem->key);
  g_free (problem->message);
  g_free (problem);
}

static void
cloche_policy_document_finalize (GObject *object)
{
  ClochePolicyDocument *self = CLOCHE_POLICY_DOCUMENT (object);

  g_free (self->path);
  g_hash_table_unref (self->values);
  g_hash_table_unref (self->positions);
  g_strfreev (self->locked);
  g_strfreev (self->problems);
  g_clear_pointer (&self->pending, g_ptr_array_unref);
  G_OBJECT_CLASS (cloche_policy_document_parent_class)->finalize (object);
}

static void
cloche_policy_document_class_init (ClochePolicyDocumentClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_policy_document_finalize;
}

static void
cloche_policy_document_init (ClochePolicyDocument *self)
{
  self->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_variant_unref);
  self->positions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->locked = g_new0 (char *, 1);
}

static void
cloche_policy_document_set_value (ClochePolicyDocument *self,
                                  const char           *key,
                                  GVariant             *value)
{
  g_hash_table_replace (self->values, g_strdup (key), g_variant_ref_sink (value));
}

/**
 * cloche_policy_document_new_defaults:
 *
 * Returns: (transfer full): what Cloche does with no policy file: the
 *   values each part had before there was a policy
 */
ClochePolicyDocument *
cloche_policy_document_new_defaults (void)
{
  ClochePolicyDocument *self = g_object_new (CLOCHE_TYPE_POLICY_DOCUMENT, NULL);
  const ClocheMountRules *mounts = cloche_mount_rules_default ();

  self->layer = CLOCHE_POLICY_LAYER_DEFAULT;
  cloche_policy_document_set_value (self, "vm.memory_mib",
                                    g_variant_new_uint32 (cloche_memory_choose_mib (0)));
  cloche_policy_document_set_value (self, "vm.cpus", g_variant_new_uint32 (1));
  cloche_policy_document_set_value (self, "vm.idle_timeout_s",
                                    g_variant_new_uint32 (CLOCHE_DEFAULT_IDLE_TIMEOUT_S));
  cloche_policy_document_set_value (self, "vm.accelerator", g_variant_new_string ("auto"));
  cloche_policy_document_set_value (self, "vm.warm_wake", g_variant_new_boolean (TRUE));
  cloche_policy_document_set_value (self, "egress.default", g_variant_new_string ("deny"));
  cloche_policy_document_set_value (self, "egress.allow", g_variant_new_strv (NULL, 0));
  cloche_policy_document_set_value (self, "egress.deny", g_variant_new_strv (NULL, 0));
  cloche_policy_document_set_value (self, "mounts.deny", g_variant_new_strv (mounts->deny, -1));
  cloche_policy_document_set_value (self, "mounts.allow_outside_home",
                                    g_variant_new_boolean (mounts->allow_outside_home));
  cloche_policy_document_set_value (self, "mounts.default_mode", g_variant_new_string ("ro"));
  cloche_policy_document_set_value (self, "sessions.stale_after_days",
                                    g_variant_new_uint32 (CLOCHE_DEFAULT_STALE_AFTER_DAYS));
  return self;
}

/* Problems point at the value, or at the member's name for a key that
 * should not be there. */
static void
cloche_policy_document_add_problem (ClochePolicyDocument *self,
                                    const char           *key,
                                    gboolean              at_name,
                                    char                 *message)
{
  Problem *problem = g_new0 (Problem, 1);
  ClocheJsonPosition name = { 1, 1 }, value = { 1, 1 };

  /* A missing key ("version") is pointed at where it belongs: the root. */
  if (!cloche_json_locate (self->text, self->length, key, &name, &value))
    cloche_json_locate (self->text, self->length, "", &name, &value);
  problem->where = at_name ? name : value;
  problem->key = g_strdup (key);
  problem->message = message;
  g_ptr_array_add (self->pending, problem);
}

static char *
cloche_policy_document_known_list (const char * const *names,
                                   const char         *prefix)
{
  g_autoptr(GString) list = g_string_new (NULL);

  for (guint i = 0; names[i] != NULL; i++)
    if (prefix == NULL || g_str_has_prefix (names[i], prefix))
      g_string_append_printf (list, "%s%s", list->len > 0 ? ", " : "",
                              names[i] + (prefix != NULL ? strlen (prefix) : 0));
  return g_string_free (g_steal_pointer (&list), FALSE);
}

static void
cloche_policy_document_add_unknown (ClochePolicyDocument *self,
                                    const char           *section,
                                    const char           *key)
{
  const char *name = section != NULL ? key + strlen (section) + 1 : key;
  g_autofree char *prefix = section != NULL ? g_strconcat (section, ".", NULL) : NULL;
  g_autofree char *known = NULL;

  if (section == NULL)
    {
      g_autofree char *sections =
        cloche_policy_document_known_list (cloche_policy_schema_sections (), NULL);

      known = g_strconcat ("version, ", sections, ", locked", NULL);
    }
  else
    known = cloche_policy_document_known_list (cloche_policy_schema_keys (), prefix);
  cloche_policy_document_add_problem (self, key, TRUE,
                                      section != NULL
                                      /* Translators: unknown key "NAME": SECTION has KEY, KEY, … */
                                      ? g_strdup_printf (_("unknown key \"%s\": %s has %s"), name,
                                                         section, known)
                                      : g_strdup_printf (_("unknown key \"%s\": a policy has %s"),
                                                         name, known));
}

static void
cloche_policy_document_check_member (ClochePolicyDocument *self,
                                     const char           *key,
                                     JsonNode             *node)
{
  g_autoptr(GPtrArray) problems =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_policy_schema_problem_free);
  GVariant *value = cloche_policy_schema_convert (key, node, problems);

  for (guint i = 0; i < problems->len; i++)
    {
      ClochePolicySchemaProblem *problem = g_ptr_array_index (problems, i);
      g_autofree char *path = problem->index < 0 ? g_strdup (key)
                              : g_strdup_printf ("%s[%d]", key, problem->index);

      cloche_policy_document_add_problem (self, path, FALSE, g_steal_pointer (&problem->message));
    }
  if (value != NULL)
    {
      ClocheJsonPosition where = { 0, 0 };

      cloche_policy_document_set_value (self, key, value);
      cloche_json_locate (self->text, self->length, key, NULL, &where);
      g_hash_table_replace (self->positions, g_strdup (key), g_memdup2 (&where, sizeof where));
    }
}

/* A section whose members the user names ("secrets"): a member whose
 * name cannot be a key of it. */
static void
cloche_policy_document_add_bad_name (ClochePolicyDocument *self,
                                     const char           *key)
{
  g_autoptr(GError) error = NULL;

  cloche_secret_name_check (strchr (key, '.') + 1, &error);
  cloche_policy_document_add_problem (self, key, TRUE, g_strdup (error->message));
}

static void
cloche_policy_document_add_not_object (ClochePolicyDocument *self,
                                       const char           *section,
                                       JsonNode             *node)
{
  g_autofree char *found = cloche_policy_schema_describe_node (node);
  g_autofree char *prefix = g_strconcat (section, ".", NULL);
  g_autofree char *known = cloche_policy_document_known_list (cloche_policy_schema_keys (), prefix);

  if (cloche_policy_schema_is_named_section (section))
    cloche_policy_document_add_problem (self, section, FALSE,
                                        g_strdup_printf (_("expected an object of secrets by "
                                                           "name, such as {\"ANTHROPIC_API_KEY\": "
                                                           "{\"hosts\": "
                                                           "[\"api.anthropic.com\"]}}, found %s"),
                                                         found));
  else
    cloche_policy_document_add_problem (self, section, FALSE,
                                        g_strdup_printf (_("expected an object with %s, found %s"),
                                                         known, found));
}

static void
cloche_policy_document_check_section (ClochePolicyDocument *self,
                                      const char           *section,
                                      JsonNode             *node)
{
  g_autoptr(GList) names = NULL;
  g_autofree char *prefix = g_strconcat (section, ".", NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      cloche_policy_document_add_not_object (self, section, node);
      return;
    }
  names = json_object_get_members (json_node_get_object (node));
  for (GList *l = names; l != NULL; l = l->next)
    {
      g_autofree char *key = g_strconcat (prefix, l->data, NULL);
      JsonNode *member = json_object_get_member (json_node_get_object (node), l->data);

      if (cloche_policy_schema_has_key (key))
        cloche_policy_document_check_member (self, key, member);
      else if (cloche_policy_schema_is_named_section (section))
        cloche_policy_document_add_bad_name (self, key);
      else
        cloche_policy_document_add_unknown (self, section, key);
    }
}

static gboolean
cloche_policy_document_is_lockable (const char *name)
{
  return cloche_policy_schema_has_key (name)
         || g_strv_contains (cloche_policy_schema_sections (), name);
}

static void
cloche_policy_document_check_locked (ClochePolicyDocument *self,
                                     JsonNode             *node)
{
  g_autoptr(GStrvBuilder) locked = g_strv_builder_new ();
  JsonArray *array;

  if (self->layer != CLOCHE_POLICY_LAYER_ADMIN)
    {
      cloche_policy_document_add_problem (self, "locked", TRUE,
                                          g_strdup (_("only the administrator's file "
                                                      "(/etc/cloche/policy.json) can lock keys: "
                                                      "remove \"locked\" from this file")));
      return;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_autofree char *found = cloche_policy_schema_describe_node (node);

      cloche_policy_document_add_problem (self, "locked", FALSE,
                                          g_strdup_printf (_("expected a list of keys such as "
                                                             "[\"egress\", \"vm.memory_mib\"], "
                                                             "found %s"), found));
      return;
    }
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      const char *name = JSON_NODE_HOLDS_VALUE (element)
                         && json_node_get_value_type (element) == G_TYPE_STRING
                         ? json_node_get_string (element) : NULL;
      g_autofree char *path = g_strdup_printf ("locked[%u]", i);

      if (name != NULL && cloche_policy_document_is_lockable (name))
        {
          g_strv_builder_add (locked, name);
          continue;
        }
      cloche_policy_document_add_problem (self, path, FALSE,
                                          name != NULL
                                          ? g_strdup_printf (_("\"%s\" is not a key: lock a "
                                                               "section (vm, egress, mounts, "
                                                               "sessions, secrets) or one of its "
                                                               "keys, such as \"vm.memory_mib\" "
                                                               "or \"secrets.GITHUB_TOKEN\""),
                                                             name)
                                          : g_strdup (_("expected a key in double quotes, such as "
                                                        "\"egress.allow\"")));
    }
  g_strfreev (self->locked);
  self->locked = g_strv_builder_end (locked);
}

static void
cloche_policy_document_check_version (ClochePolicyDocument *self,
                                      JsonObject           *root)
{
  JsonNode *node = json_object_get_member (root, "version");

  if (node == NULL)
    {
      cloche_policy_document_add_problem (self, "version", FALSE,
                                          g_strdup (_("\"version\" is missing: a policy starts "
                                                      "with {\"version\": 1, …}")));
      return;
    }
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64
      && json_node_get_int (node) == CLOCHE_POLICY_VERSION)
    return;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    cloche_policy_document_add_problem (self, "version", FALSE,
                                        g_strdup_printf (_("version %lld is not supported: this "
                                                           "Cloche reads version %d"),
                                                         (long long) json_node_get_int (node),
                                                         CLOCHE_POLICY_VERSION));
  else
    {
      g_autofree char *found = cloche_policy_schema_describe_node (node);

      cloche_policy_document_add_problem (self, "version", FALSE,
                                          g_strdup_printf (_("expected the number %d, found %s"),
                                                           CLOCHE_POLICY_VERSION, found));
    }
}

static void
cloche_policy_document_check_root (ClochePolicyDocument *self,
                                   JsonNode             *root)
{
  g_autoptr(GList) names = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_autofree char *found = cloche_policy_schema_describe_node (root);

      cloche_policy_document_add_problem (self, "", FALSE,
                                          g_strdup_printf (_("a policy is an object such as "
                                                             "{\"version\": 1}, not %s"),
                                                           found));
      return;
    }
  cloche_policy_document_check_version (self, json_node_get_object (root));
  names = json_object_get_members (json_node_get_object (root));
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *member = json_object_get_member (json_node_get_object (root), l->data);

      if (g_str_equal (l->data, "version"))
        continue;
      if (g_str_equal (l->data, "locked"))
        cloche_policy_document_check_locked (self, member);
      else if (g_strv_contains (cloche_policy_schema_sections (), l->data))
        cloche_policy_document_check_section (self, l->data, member);
      else
        cloche_policy_document_add_unknown (self, NULL, l->data);
    }
}

static void
cloche_policy_document_parse (ClochePolicyDocument *self)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *message = NULL;
  ClocheJsonPosition where = { 1, 1 };

  if (self->length > CLOCHE_POLICY_MAX_SIZE)
    {
      cloche_policy_document_add_problem (self, "", FALSE,
                                          g_strdup_printf (_("the file is %zu bytes long; a "
                                                             "policy is a few hundred"),
                                                           self->length));
      return;
    }
  if (!cloche_json_check_syntax (self->text, self->length, &where, &path, &message))
    {
      Problem *problem = g_new0 (Problem, 1);

      *problem = (Problem) { where, g_steal_pointer (&path), g_steal_pointer (&message) };
      g_ptr_array_add (self->pending, problem);
      return;
    }
  /* The scanner is stricter than json-glib, so this fails only on a
   * difference between the two; its message is all there is then. */
  if (!json_parser_load_from_data (parser, self->text, (gssize) self->length, &error))
    cloche_policy_document_add_problem (self, "", FALSE, g_strdup (error->message));
  else
    cloche_policy_document_check_root (self, json_parser_get_root (parser));
}

static int
cloche_policy_document_compare_problems (gconstpointer a,
                                         gconstpointer b)
{
  const Problem *pa = *(const Problem **) a;
  const Problem *pb = *(const Problem **) b;

  if (pa->where.line != pb->where.line)
    return pa->where.line < pb->where.line ? -1 : 1;
  if (pa->where.column != pb->where.column)
    return pa->where.column < pb->where.column ? -1 : 1;
  return 0;
}

static void
cloche_policy_document_format_problems (ClochePolicyDocument *self)
{
  g_autoptr(GStrvBuilder) lines = g_strv_builder_new ();

  /* Stable: two problems at one place keep the order they were found in. */
  g_ptr_array_sort (self->pending, cloche_policy_document_compare_problems);
  for (guint i = 0; i < self->pending->len; i++)
    {
      Problem *problem = g_ptr_array_index (self->pending, i);
      g_autofree char *line = g_strdup_printf ("%s:%u:%u: %s: %s", self->path,
                                               problem->where.line, problem->where.column,
                                               problem->key[0] != '\0' ? problem->key
                                               : "(document)",
                                               problem->message);

      g_strv_builder_add (lines, line);
    }
  self->problems = g_strv_builder_end (lines);
}

/**
 * cloche_policy_document_new_from_data:
 * @layer: %CLOCHE_POLICY_LAYER_USER or %CLOCHE_POLICY_LAYER_ADMIN
 * @path: the file's name, for messages
 * @text: (array length=length): its contents
 *
 * Returns: (transfer full): the document, with values if it is valid and
 *   with its problems if not
 */
ClochePolicyDocument *
cloche_policy_document_new_from_data (ClochePolicyLayer  layer,
                                      const char        *path,
                                      const char        *text,
                                      gsize              length)
{
  ClochePolicyDocument *self;

  g_return_val_if_fail (layer != CLOCHE_POLICY_LAYER_DEFAULT, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (CLOCHE_TYPE_POLICY_DOCUMENT, NULL);
  self->layer = layer;
  self->path = g_strdup (path);
  self->text = text;
  self->length = text != NULL ? length : 0;
  self->pending =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_policy_document_problem_free);
  cloche_policy_document_parse (self);
  cloche_policy_document_format_problems (self);
  if (self->pending->len > 0)
    {
      g_hash_table_remove_all (self->values);
      g_hash_table_remove_all (self->positions);
      g_strfreev (self->locked);
      self->locked = g_new0 (char *, 1);
    }
  self->text = NULL;
  return self;
}

/**
 * cloche_policy_document_load:
 *
 * Reads and checks a policy file. A file that cannot be read is an error
 * (%G_FILE_ERROR_NOENT when it is not there); a file that can be read is a
 * document, valid or not.
 *
 * Returns: (transfer full) (nullable): the document
 */
ClochePolicyDocument *
cloche_policy_document_load (ClochePolicyLayer   layer,
                             const char         *path,
                             GError            **error)
{
  g_autoptr(GBytes) bytes = cloche_file_read (AT_FDCWD, path, CLOCHE_POLICY_MAX_SIZE,
                                               _("policy file"), CLOCHE_FILE_FOLLOW, error);
  gsize length = 0;
  const char *text;

  if (bytes == NULL)
    return NULL;
  text = g_bytes_get_data (bytes, &length);
  return cloche_policy_document_new_from_data (layer, path, text, length);
}

/* NULL for the built-in defaults. */
const char *
cloche_policy_document_get_path (ClochePolicyDocument *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), NULL);
  return self->path;
}

gboolean
cloche_policy_document_is_valid (ClochePolicyDocument *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), FALSE);
  return self->problems == NULL || self->problems[0] == NULL;
}

/**
 * cloche_policy_document_get_problems:
 *
 * Returns: (transfer none): each problem as "FILE:LINE:COLUMN: KEY: message",
 *   in the order of the file; empty when the document is valid
 */
const char * const *
cloche_policy_document_get_problems (ClochePolicyDocument *self)
{
  static const char * const none[] = { NULL };

  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), none);
  return self->problems != NULL ? (const char * const *) self->problems : none;
}

guint
cloche_policy_document_get_n_problems (ClochePolicyDocument *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), 0);
  return self->pending != NULL ? self->pending->len : 0;
}

/**
 * cloche_policy_document_get_problem:
 * @index: below cloche_policy_document_get_n_problems()
 * @where: (out) (optional): its line and column
 * @key: (out) (optional) (transfer none): its key path, "" for the document
 * @message: (out) (optional) (transfer none): what is wrong
 *
 * One problem, taken apart, for output a program reads (`--json`).
 */
void
cloche_policy_document_get_problem (ClochePolicyDocument  *self,
                                    guint                  index,
                                    ClocheJsonPosition    *where,
                                    const char           **key,
                                    const char           **message)
{
  Problem *problem;

  g_return_if_fail (index < cloche_policy_document_get_n_problems (self));

  problem = g_ptr_array_index (self->pending, index);
  if (where != NULL)
    *where = problem->where;
  if (key != NULL)
    *key = problem->key;
  if (message != NULL)
    *message = problem->message;
}

/**
 * cloche_policy_document_check:
 *
 * Returns: %TRUE if valid, else %FALSE with %CLOCHE_ERROR_POLICY_INVALID
 *   whose message is every problem, one a line
 */
gboolean
cloche_policy_document_check (ClochePolicyDocument  *self,
                              GError               **error)
{
  g_autofree char *lines = NULL;

  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), FALSE);

  if (cloche_policy_document_is_valid (self))
    return TRUE;
  lines = g_strjoinv ("\n", self->problems);
  g_set_error_literal (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID, lines);
  return FALSE;
}

/**
 * cloche_policy_document_lookup:
 * @key: such as "egress.allow"
 *
 * Returns: (transfer none) (nullable): the value this document sets, or
 *   %NULL if it sets none
 */
GVariant *
cloche_policy_document_lookup (ClochePolicyDocument *self,
                               const char           *key)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), NULL);
  return g_hash_table_lookup (self->values, key);
}

/**
 * cloche_policy_document_dup_keys:
 *
 * Returns: (transfer full): the keys this document sets: the schema's in
 *   its order, then those of named sections ("secrets.NAME") by name
 */
GStrv
cloche_policy_document_dup_keys (ClochePolicyDocument *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char * const *keys = cloche_policy_schema_keys ();
  g_autoptr(GList) named = NULL;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), NULL);

  for (guint i = 0; keys[i] != NULL; i++)
    if (g_hash_table_contains (self->values, keys[i]))
      g_strv_builder_add (builder, keys[i]);
  g_hash_table_iter_init (&iter, self->values);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (cloche_policy_schema_is_named_key (key))
      named = g_list_prepend (named, key);
  named = g_list_sort (named, (GCompareFunc) g_strcmp0);
  for (GList *l = named; l != NULL; l = l->next)
    g_strv_builder_add (builder, l->data);
  return g_strv_builder_end (builder);
}

/* Where the value of @key is written; FALSE for defaults and unset keys. */
gboolean
cloche_policy_document_get_position (ClochePolicyDocument *self,
                                     const char           *key,
                                     ClocheJsonPosition   *position)
{
  ClocheJsonPosition *where;

  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), FALSE);

  where = g_hash_table_lookup (self->positions, key);
  if (where == NULL)
    return FALSE;
  *position = *where;
  return TRUE;
}

/**
 * cloche_policy_document_get_locked:
 *
 * Returns: (transfer none): the `locked` list as written: keys and sections
 */
const char * const *
cloche_policy_document_get_locked (ClochePolicyDocument *self)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), NULL);
  return (const char * const *) self->locked;
}

/* Whether the `locked` list covers @key, by name or by its section. */
gboolean
cloche_policy_document_is_locked (ClochePolicyDocument *self,
                                  const char           *key)
{
  g_return_val_if_fail (CLOCHE_IS_POLICY_DOCUMENT (self), FALSE);

  for (guint i = 0; self->locked[i] != NULL; i++)
    if (cloche_policy_schema_covers (self->locked[i], key))
      return TRUE;
  return FALSE;
}
