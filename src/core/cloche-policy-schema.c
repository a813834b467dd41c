/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The keys a policy file may set, their types and ranges, in one table:
 * validation, layering, `clochectl policy show` and docs/policy.md all
 * follow it. A value is checked and turned into a GVariant ("u", "b", "s"
 * or "as") here, so that the layers compare and travel over D-Bus as they are.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "cloche-egress-rules.h"
#include "cloche-policy-schema.h"
#include "cloche-secret-binding.h"

typedef enum
{
  KIND_COUNT,      /* a whole number in [min, max] */
  KIND_BOOLEAN,
  KIND_CHOICE,     /* one of choices[] */
  KIND_RULES,      /* egress rules */
  KIND_PATHS,      /* absolute, or "~/…" for the home folder */
  KIND_BINDING,    /* a secret's binding: one key per secret, "secrets.NAME" */
} Kind;

typedef struct
{
  const char *key;
  Kind        kind;
  gint64      min;
  gint64      max;
  const char *choices[4];
} KeySpec;

static const KeySpec specs[] = {
  { "vm.memory_mib", KIND_COUNT, 256, 65536, { NULL } },
  { "vm.cpus", KIND_COUNT, 1, 64, { NULL } },
  { "vm.idle_timeout_s", KIND_COUNT, 1, 86400, { NULL } },
  { "vm.accelerator", KIND_CHOICE, 0, 0, { "auto", "kvm", "tcg", NULL } },
  { "vm.warm_wake", KIND_BOOLEAN, 0, 0, { NULL } },
  { "egress.default", KIND_CHOICE, 0, 0, { "deny", "allow", NULL } },
  { "egress.allow", KIND_RULES, 0, 0, { NULL } },
  { "egress.deny", KIND_RULES, 0, 0, { NULL } },
  { "mounts.deny", KIND_PATHS, 0, 0, { NULL } },
  { "mounts.allow_outside_home", KIND_BOOLEAN, 0, 0, { NULL } },
  { "mounts.default_mode", KIND_CHOICE, 0, 0, { "ro", "rw", NULL } },
  { "sessions.stale_after_days", KIND_COUNT, 1, 3650, { NULL } },
};

/* The keys of a section whose members the user names: each member is a
 * key of its own ("secrets.ANTHROPIC_API_KEY"), layered and locked on its
 * own. Not in cloche_policy_schema_keys(), which lists the fixed keys. */
static const KeySpec named_specs[] = {
  { "secrets", KIND_BINDING, 0, 0, { NULL } },
};

const char *
cloche_policy_layer_to_string (ClochePolicyLayer layer)
{
  switch (layer)
    {
    case CLOCHE_POLICY_LAYER_DEFAULT:
      return "default";
    case CLOCHE_POLICY_LAYER_USER:
      return "user";
    case CLOCHE_POLICY_LAYER_ADMIN:
      return "admin";
    default:
      g_return_val_if_reached ("default");
    }
}

void
cloche_policy_schema_problem_free (ClochePolicySchemaProblem *problem)
{
  g_free (problem->message);
  g_free (problem);
}

/**
 * cloche_policy_schema_keys:
 *
 * Returns: (transfer none): every key, "vm.memory_mib" first, in the order
 *   of the documentation
 */
const char * const *
cloche_policy_schema_keys (void)
{
  static const char *keys[G_N_ELEMENTS (specs) + 1];

  if (keys[0] == NULL)
    for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
      keys[i] = specs[i].key;
  return keys;
}

const char * const *
cloche_policy_schema_sections (void)
{
  static const char * const sections[] = { "vm", "egress", "mounts", "sessions", "secrets",
                                           NULL };

  return sections;
}

static const KeySpec *
cloche_policy_schema_find_named_spec (const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (named_specs); i++)
    {
      gsize length = strlen (named_specs[i].key);

      if (strncmp (key, named_specs[i].key, length) == 0 && key[length] == '.'
          && cloche_secret_name_check (key + length + 1, NULL))
        return &named_specs[i];
    }
  return NULL;
}

static const KeySpec *
cloche_policy_schema_find_spec (const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    if (g_str_equal (specs[i].key, key))
      return &specs[i];
  return cloche_policy_schema_find_named_spec (key);
}

/**
 * cloche_policy_schema_is_named_section:
 * @section: such as "secrets"
 *
 * Returns: whether the members of @section are named by the user, each a
 *   key of its own ("secrets.NAME"), rather than fixed by the schema
 */
gboolean
cloche_policy_schema_is_named_section (const char *section)
{
  for (guint i = 0; i < G_N_ELEMENTS (named_specs); i++)
    if (g_str_equal (named_specs[i].key, section))
      return TRUE;
  return FALSE;
}

/**
 * cloche_policy_schema_is_named_key:
 *
 * Returns: whether @key is one of a named section's ("secrets.NAME")
 */
gboolean
cloche_policy_schema_is_named_key (const char *key)
{
  return cloche_policy_schema_find_named_spec (key) != NULL;
}

gboolean
cloche_policy_schema_has_key (const char *key)
{
  return cloche_policy_schema_find_spec (key) != NULL;
}

/**
 * cloche_policy_schema_get_range:
 * @key: a whole-number key, such as "vm.memory_mib"
 *
 * The range the policy allows, for options that set the same value
 * (cloche-daemon --memory-mib): one range for both.
 */
void
cloche_policy_schema_get_range (const char *key,
                                gint64     *min,
                                gint64     *max)
{
  const KeySpec *spec = cloche_policy_schema_find_spec (key);

  g_return_if_fail (spec != NULL && spec->kind == KIND_COUNT);
  *min = spec->min;
  *max = spec->max;
}

/* Whether the entry @locked of a `locked` list ("vm" or "vm.cpus")
 * covers @key. */
gboolean
cloche_policy_schema_covers (const char *locked,
                             const char *key)
{
  gsize length = strlen (locked);

  return g_str_equal (locked, key)
         || (strncmp (key, locked, length) == 0 && key[length] == '.');
}

/**
 * cloche_policy_schema_describe_node:
 *
 * Returns: (transfer full): what @node is, for "expected …, found …"
 */
char *
cloche_policy_schema_describe_node (JsonNode *node)
{
  GType type;

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return g_strdup (C_("policy value found", "an object"));
    case JSON_NODE_ARRAY:
      return g_strdup (C_("policy value found", "a list"));
    case JSON_NODE_NULL:
      return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }
  type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    return g_strdup_printf (C_("policy value found", "the string \"%s\""),
                            json_node_get_string (node));
  if (type == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (node) ? "true" : "false");
  return g_strdup (C_("policy value found", "a number"));
}

static void
cloche_policy_schema_add_problem (GPtrArray  *problems,
                                  int         index,
                                  char       *message)
{
  ClochePolicySchemaProblem *problem = g_new0 (ClochePolicySchemaProblem, 1);

  problem->index = index;
  problem->message = message;
  g_ptr_array_add (problems, problem);
}

static gboolean
cloche_policy_schema_node_is (JsonNode *node,
                              GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static GVariant *
cloche_policy_schema_convert_count (const KeySpec *spec,
                                    JsonNode      *node,
                                    GPtrArray     *problems)
{
  g_autofree char *found = cloche_policy_schema_describe_node (node);
  char *message;
  gint64 value;

  if (cloche_policy_schema_node_is (node, G_TYPE_DOUBLE))
    {
      cloche_policy_schema_add_problem (problems, -1,
                                        g_strdup_printf (_("%g is not a whole number: use one "
                                                           "from %lld to %lld"),
                                                         json_node_get_double (node),
                                                         (long long) spec->min,
                                                         (long long) spec->max));
      return NULL;
    }
  if (!cloche_policy_schema_node_is (node, G_TYPE_INT64))
    {
      /* Translators: the last %s is what was found, such as "a list" */
      message = g_strdup_printf (_("expected a whole number from %lld to %lld, found %s"),
                                 (long long) spec->min, (long long) spec->max, found);
      cloche_policy_schema_add_problem (problems, -1, message);
      return NULL;
    }
  value = json_node_get_int (node);
  if (value < spec->min || value > spec->max)
    {
      cloche_policy_schema_add_problem (problems, -1,
                                        g_strdup_printf (_("%lld is out of range: use a whole "
                                                           "number from %lld to %lld"),
                                                         (long long) value, (long long) spec->min,
                                                         (long long) spec->max));
      return NULL;
    }
  return g_variant_new_uint32 ((guint32) value);
}

static GVariant *
cloche_policy_schema_convert_boolean (JsonNode  *node,
                                      GPtrArray *problems)
{
  g_autofree char *found = cloche_policy_schema_describe_node (node);

  if (cloche_policy_schema_node_is (node, G_TYPE_BOOLEAN))
    return g_variant_new_boolean (json_node_get_boolean (node));
  cloche_policy_schema_add_problem (problems, -1,
                                    g_strdup_printf (_("expected true or false, found %s"), found));
  return NULL;
}

static GVariant *
cloche_policy_schema_convert_choice (const KeySpec *spec,
                                     JsonNode      *node,
                                     GPtrArray     *problems)
{
  g_autofree char *found = cloche_policy_schema_describe_node (node);

  if (cloche_policy_schema_node_is (node, G_TYPE_STRING))
    for (guint i = 0; spec->choices[i] != NULL; i++)
      if (g_str_equal (json_node_get_string (node), spec->choices[i]))
        return g_variant_new_string (spec->choices[i]);
  if (spec->choices[2] != NULL)
    cloche_policy_schema_add_problem (problems, -1,
                                      g_strdup_printf (_("expected \"%s\", \"%s\" or \"%s\", "
                                                         "found %s"),
                                                       spec->choices[0], spec->choices[1],
                                                       spec->choices[2], found));
  else
    cloche_policy_schema_add_problem (problems, -1,
                                      g_strdup_printf (_("expected \"%s\" or \"%s\", found %s"),
                                                       spec->choices[0], spec->choices[1], found));
  return NULL;
}

static char *
cloche_policy_schema_check_element (const KeySpec *spec,
                                    const char    *text)
{
  g_autoptr(GError) error = NULL;

  if (spec->kind == KIND_RULES)
    return cloche_egress_rule_check (text, &error) ? NULL : g_strdup (error->message);
  if (g_path_is_absolute (text) || g_str_equal (text, "~") || g_str_has_prefix (text, "~/"))
    return NULL;
  return g_strdup_printf (_("\"%s\" is not a path: write an absolute path, or one that "
                            "starts with \"~/\" for your home folder"), text);
}

static GVariant *
cloche_policy_schema_convert_list (const KeySpec *spec,
                                   JsonNode      *node,
                                   GPtrArray     *problems)
{
  g_autoptr(GVariantBuilder) builder = NULL;
  g_autofree char *found = cloche_policy_schema_describe_node (node);
  guint before = problems->len;
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      cloche_policy_schema_add_problem (problems, -1,
                                        g_strdup_printf (spec->kind == KIND_RULES
                                                         ? _("expected a list of rules such as "
                                                             "[\"pypi.org:443\"], found %s")
                                                         : _("expected a list of paths such as "
                                                             "[\"~/.ssh\"], found %s"),
                                                         found));
      return NULL;
    }
  array = json_node_get_array (node);
  builder = g_variant_builder_new (G_VARIANT_TYPE_STRING_ARRAY);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      g_autofree char *element_found = cloche_policy_schema_describe_node (element);
      char *message;

      if (!cloche_policy_schema_node_is (element, G_TYPE_STRING))
        message = g_strdup_printf (spec->kind == KIND_RULES
                                   ? _("expected a rule in double quotes, found %s")
                                   : _("expected a path in double quotes, found %s"),
                                   element_found);
      /* An escape such as "\ud800" (a lone surrogate) decodes to bytes
       * that are not UTF-8; tests/fuzz/policy-document found it. */
      else if (!g_utf8_validate (json_node_get_string (element), -1, NULL))
        message = g_strdup (spec->kind == KIND_RULES
                            ? _("expected a rule, found an escape that is not a character "
                                "(a lone \\u surrogate)")
                            : _("expected a path, found an escape that is not a character "
                                "(a lone \\u surrogate)"));
      else
        message = cloche_policy_schema_check_element (spec, json_node_get_string (element));
      if (message != NULL)
        cloche_policy_schema_add_problem (problems, (int) i, message);
      else
        g_variant_builder_add (builder, "s", json_node_get_string (element));
    }
  return problems->len == before ? g_variant_builder_end (builder) : NULL;
}

static gboolean
cloche_policy_schema_binding_string (JsonObject  *object,
                                     const char  *member,
                                     const char **value,
                                     GPtrArray   *problems)
{
  JsonNode *node = json_object_get_member (object, member);
  g_autofree char *found = NULL;

  if (node == NULL)
    return TRUE;
  if (cloche_policy_schema_node_is (node, G_TYPE_STRING)
      && g_utf8_validate (json_node_get_string (node), -1, NULL))
    {
      *value = json_node_get_string (node);
      return TRUE;
    }
  found = cloche_policy_schema_describe_node (node);
  cloche_policy_schema_add_problem (problems, -1,
                                    /* Translators: "header" or "format", then what was found */
                                    g_strdup_printf (_("“%s” must be a string, found %s"), member,
                                                     found));
  return FALSE;
}

static gboolean
cloche_policy_schema_binding_hosts (JsonObject  *object,
                                    GStrvBuilder *hosts,
                                    GPtrArray   *problems)
{
  JsonNode *node = json_object_get_member (object, "hosts");
  JsonArray *array = node != NULL && JSON_NODE_HOLDS_ARRAY (node)
                     ? json_node_get_array (node) : NULL;

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (!cloche_policy_schema_node_is (element, G_TYPE_STRING)
          || !g_utf8_validate (json_node_get_string (element), -1, NULL))
        array = NULL;
      else
        g_strv_builder_add (hosts, json_node_get_string (element));
    }
  if (array != NULL)
    return TRUE;
  cloche_policy_schema_add_problem (problems, -1,
                                    g_strdup (_("“hosts” must be a list of hosts such as "
                                                "[\"api.example.com\"]")));
  return FALSE;
}

static gboolean
cloche_policy_schema_binding_members_known (JsonObject *object,
                                            GPtrArray  *problems)
{
  static const char * const known[] = { "hosts", "header", "format", NULL };
  g_autoptr(GList) names = json_object_get_members (object);

  for (GList *l = names; l != NULL; l = l->next)
    if (!g_strv_contains (known, l->data))
      {
        cloche_policy_schema_add_problem (problems, -1,
                                          g_strdup_printf (_("unknown key \"%s\": a secret has "
                                                             "hosts, header, format"),
                                                           (const char *) l->data));
        return FALSE;
      }
  return TRUE;
}

/* {"hosts": [...], "header": "x-api-key", "format": "{}"}: the binding of
 * the secret the key names, with the defaults filled in. */
static GVariant *
cloche_policy_schema_convert_binding (const char *key,
                                      JsonNode   *node,
                                      GPtrArray  *problems)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(ClocheSecretBinding) binding = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) hosts = NULL;
  const char *header = NULL, *format = NULL;
  JsonObject *object;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *found = cloche_policy_schema_describe_node (node);

      cloche_policy_schema_add_problem (problems, -1,
                                        g_strdup_printf (_("expected a secret's binding such as "
                                                           "{\"hosts\": [\"api.example.com\"]}, "
                                                           "found %s"), found));
      return NULL;
    }
  object = json_node_get_object (node);
  if (!cloche_policy_schema_binding_members_known (object, problems)
      || !cloche_policy_schema_binding_hosts (object, builder, problems)
      || !cloche_policy_schema_binding_string (object, "header", &header, problems)
      || !cloche_policy_schema_binding_string (object, "format", &format, problems))
    return NULL;
  hosts = g_strv_builder_end (builder);
  binding = cloche_secret_binding_new (strchr (key, '.') + 1, (const char * const *) hosts,
                                       header, format, &error);
  if (binding == NULL)
    {
      cloche_policy_schema_add_problem (problems, -1, g_strdup (error->message));
      return NULL;
    }
  return cloche_secret_binding_to_variant (binding);
}

/**
 * cloche_policy_schema_convert:
 * @key: a key of the schema, such as "vm.cpus"
 * @node: its value as written
 * @problems: (element-type ClochePolicySchemaProblem): where what is wrong
 *   is added, every element of a list that is wrong
 *
 * Returns: (transfer floating) (nullable): the value, or %NULL when
 *   @problems grew
 */
GVariant *
cloche_policy_schema_convert (const char *key,
                              JsonNode   *node,
                              GPtrArray  *problems)
{
  const KeySpec *spec = cloche_policy_schema_find_spec (key);

  g_return_val_if_fail (spec != NULL, NULL);

  switch (spec->kind)
    {
    case KIND_COUNT:
      return cloche_policy_schema_convert_count (spec, node, problems);
    case KIND_BOOLEAN:
      return cloche_policy_schema_convert_boolean (node, problems);
    case KIND_CHOICE:
      return cloche_policy_schema_convert_choice (spec, node, problems);
    case KIND_BINDING:
      return cloche_policy_schema_convert_binding (key, node, problems);
    case KIND_RULES:
    case KIND_PATHS:
    default:
      return cloche_policy_schema_convert_list (spec, node, problems);
    }
}
