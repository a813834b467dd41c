/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl policy: the policy in force, as the daemon has it (show,
 * reload), and a check of a file before it is put in place (validate),
 * which needs no daemon: it runs the daemon's own parser.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <stdlib.h>

#include "cloche-policy-document.h"
#include "clochectl.h"

static int
clochectl_policy_usage (void)
{
  g_printerr (_("Usage:\n"
                "  clochectl policy show [--effective] [--json]\n"
                "  clochectl policy validate [--admin] [--json] FILE\n"
                "  clochectl policy reload\n"));
  return 2;
}

/* Values print as they are written in a policy file. */
static char *
clochectl_policy_value_to_text (GVariant *value)
{
  g_autoptr(JsonNode) node = json_gvariant_serialize (value);

  return json_to_string (node, FALSE);
}

static ClocheDbusPolicy *
clochectl_policy_connect_policy (void)
{
  g_autoptr(ClocheDbusPolicy) policy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *owner = NULL;

  /* Loading the properties starts the daemon through D-Bus activation. */
  policy = cloche_dbus_policy_proxy_new_for_bus_sync (G_BUS_TYPE_SESSION,
                                                      G_DBUS_PROXY_FLAGS_NONE,
                                                      DAEMON_BUS_NAME, DAEMON_OBJECT_PATH,
                                                      NULL, &error);
  if (policy == NULL)
    {
      clochectl_fail (_("cannot reach the Cloche service"), error);
      return NULL;
    }
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (policy));
  if (owner == NULL || cloche_dbus_policy_get_effective (policy) == NULL)
    {
      g_printerr (_("clochectl: the Cloche service (%s) is not running and could not be "
                    "started, or is too old to serve io.github.cloche.Policy\n"), DAEMON_BUS_NAME);
      return NULL;
    }
  return g_steal_pointer (&policy);
}

static void
clochectl_policy_print_problem_lines (const char         *title,
                                      const char * const *lines)
{
  if (lines == NULL || lines[0] == NULL)
    return;
  g_print ("\n%s\n", title);
  for (guint i = 0; lines[i] != NULL; i++)
    g_print ("  %s\n", lines[i]);
}

static void
clochectl_policy_print_refusal_and_notices (ClocheDbusPolicy *policy)
{
  const char *refusal = cloche_dbus_policy_get_last_refusal (policy);
  g_auto(GStrv) refused = refusal != NULL && *refusal != '\0' ? g_strsplit (refusal, "\n", -1)
                          : NULL;

  clochectl_policy_print_problem_lines ("Refused (the last good version of the file stays in "
                                        "force):",
                                        (const char * const *) refused);
  clochectl_policy_print_problem_lines ("Not applied:", cloche_dbus_policy_get_notices (policy));
}

static void
clochectl_policy_print_effective_text (ClocheDbusPolicy *policy)
{
  GVariant *effective = cloche_dbus_policy_get_effective (policy);
  const char * const *locked = cloche_dbus_policy_get_locked (policy);
  GVariantIter iter;
  const char *key, *layer;
  GVariant *value;

  g_variant_iter_init (&iter, effective);
  while (g_variant_iter_next (&iter, "{&s(v&s)}", &key, &value, &layer))
    {
      g_autofree char *text = clochectl_policy_value_to_text (value);

      g_print ("%-27s %-32s %s%s\n", key, text, layer,
               locked != NULL && g_strv_contains (locked, key) ? " (locked)" : "");
      g_variant_unref (value);
    }
  clochectl_policy_print_refusal_and_notices (policy);
}

static void
clochectl_policy_print_layers_text (ClocheDbusPolicy *policy)
{
  GVariantIter iter;
  GVariant *layer;

  g_variant_iter_init (&iter, cloche_dbus_policy_get_layers (policy));
  while ((layer = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (layer);
      g_autoptr(GVariant) values = g_variant_dict_lookup_value (&dict, "values",
                                                                G_VARIANT_TYPE_VARDICT);
      g_autofree const char **locked = NULL;
      const char *name = "", *path = "";
      gboolean present = FALSE;
      GVariantIter values_iter;
      const char *key;
      GVariant *value;

      g_variant_dict_lookup (&dict, "layer", "&s", &name);
      g_variant_dict_lookup (&dict, "path", "&s", &path);
      g_variant_dict_lookup (&dict, "present", "b", &present);
      g_variant_dict_lookup (&dict, "locked", "^a&s", &locked);
      g_print ("%s%s%s%s\n", name, *path != '\0' ? " " : " (built in)", path,
               present ? "" : " (no file)");
      g_variant_iter_init (&values_iter, values);
      while (g_variant_iter_next (&values_iter, "{&sv}", &key, &value))
        {
          g_autofree char *text = clochectl_policy_value_to_text (value);

          g_print ("  %s = %s\n", key, text);
          g_variant_unref (value);
        }
      for (guint i = 0; locked != NULL && locked[i] != NULL; i++)
        g_print (_("  locked: %s\n"), locked[i]);
      g_variant_unref (layer);
    }
  clochectl_policy_print_refusal_and_notices (policy);
}

static JsonNode *
clochectl_policy_effective_to_json (ClocheDbusPolicy *policy)
{
  g_autoptr(JsonObject) object = json_object_new ();
  const char * const *locked = cloche_dbus_policy_get_locked (policy);
  GVariantIter iter;
  const char *key, *layer;
  GVariant *value;

  g_variant_iter_init (&iter, cloche_dbus_policy_get_effective (policy));
  while (g_variant_iter_next (&iter, "{&s(v&s)}", &key, &value, &layer))
    {
      JsonObject *entry = json_object_new ();

      json_object_set_member (entry, "value", json_gvariant_serialize (value));
      json_object_set_string_member (entry, "layer", layer);
      json_object_set_boolean_member (entry, "locked",
                                      locked != NULL && g_strv_contains (locked, key));
      json_object_set_object_member (object, key, entry);
      g_variant_unref (value);
    }
  return json_node_init_object (json_node_alloc (), object);
}

static void
clochectl_policy_print_json (ClocheDbusPolicy *policy,
                             gboolean          effective)
{
  g_autoptr(JsonObject) root = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  /* Sunk here: json_gvariant_serialize() does not take a floating one. */
  g_autoptr(GVariant) notices = g_variant_ref_sink (
    g_variant_new_strv (cloche_dbus_policy_get_notices (policy), -1));

  if (effective)
    json_object_set_member (root, "effective", clochectl_policy_effective_to_json (policy));
  else
    json_object_set_member (root, "layers",
                            json_gvariant_serialize (cloche_dbus_policy_get_layers (policy)));
  json_object_set_member (root, "notices", json_gvariant_serialize (notices));
  json_object_set_string_member (root, "refusal", cloche_dbus_policy_get_last_refusal (policy));
  node = json_node_init_object (json_node_alloc (), root);
  clochectl_print_json (node);
}

static int
clochectl_policy_show (int    argc,
                       char **argv)
{
  g_autoptr(ClocheDbusPolicy) policy = NULL;
  gboolean effective = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "effective", 0, 0, G_OPTION_ARG_NONE, &effective,
      "The merged policy in force, each value with its layer", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };

  if (!clochectl_parse_options (&argc, &argv, entries, "- show the policy"))
    return 2;
  if (argc != 1)
    return clochectl_policy_usage ();
  policy = clochectl_policy_connect_policy ();
  if (policy == NULL)
    return EXIT_FAILURE;
  if (json)
    clochectl_policy_print_json (policy, effective);
  else if (effective)
    clochectl_policy_print_effective_text (policy);
  else
    clochectl_policy_print_layers_text (policy);
  return EXIT_SUCCESS;
}

static int
clochectl_policy_reload (int    argc,
                         char **argv)
{
  g_autoptr(ClocheDbusPolicy) policy = NULL;
  g_autoptr(GError) error = NULL;

  if (argc != 1)
    return clochectl_policy_usage ();
  policy = clochectl_policy_connect_policy ();
  if (policy == NULL)
    return EXIT_FAILURE;
  if (!cloche_dbus_policy_call_reload_sync (policy, NULL, &error))
    return clochectl_fail (_("the policy was refused; the last good one stays in force"), error);
  return EXIT_SUCCESS;
}

static void
clochectl_policy_print_problems_json (ClochePolicyDocument *document)
{
  g_autoptr(JsonArray) problems = json_array_new ();
  g_autoptr(JsonObject) root = json_object_new ();
  g_autoptr(JsonNode) node = NULL;

  for (guint i = 0; i < cloche_policy_document_get_n_problems (document); i++)
    {
      JsonObject *problem = json_object_new ();
      ClocheJsonPosition where;
      const char *key, *message;

      cloche_policy_document_get_problem (document, i, &where, &key, &message);
      json_object_set_int_member (problem, "line", where.line);
      json_object_set_int_member (problem, "column", where.column);
      json_object_set_string_member (problem, "key", key);
      json_object_set_string_member (problem, "message", message);
      json_array_add_object_element (problems, problem);
    }
  json_object_set_string_member (root, "file", cloche_policy_document_get_path (document));
  json_object_set_boolean_member (root, "valid", cloche_policy_document_is_valid (document));
  json_object_set_array_member (root, "problems", g_steal_pointer (&problems));
  node = json_node_init_object (json_node_alloc (), root);
  clochectl_print_json (node);
}

/* The admin file may lock keys; any other is checked as a user's. */
static gboolean
clochectl_policy_is_admin_file (const char *path)
{
  const char *moved = g_getenv ("CLOCHE_ADMIN_POLICY");

  return g_str_equal (path, "/etc/cloche/policy.json")
         || (moved != NULL && g_str_equal (path, moved));
}

static int
clochectl_policy_validate (int    argc,
                           char **argv)
{
  g_autoptr(ClochePolicyDocument) document = NULL;
  g_autoptr(GError) error = NULL;
  gboolean admin = FALSE, json = FALSE;
  GOptionEntry entries[] = {
    { "admin", 0, 0, G_OPTION_ARG_NONE, &admin,
      "Check FILE as the administrator's file, which may lock keys", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };
  const char * const *problems;

  if (!clochectl_parse_options (&argc, &argv, entries, "FILE - check a policy file"))
    return 2;
  if (argc != 2)
    return clochectl_policy_usage ();
  document = cloche_policy_document_load (admin || clochectl_policy_is_admin_file (argv[1])
                                          ? CLOCHE_POLICY_LAYER_ADMIN : CLOCHE_POLICY_LAYER_USER,
                                          argv[1], &error);
  if (document == NULL)
    return clochectl_fail (argv[1], error);
  if (json)
    clochectl_policy_print_problems_json (document);
  problems = cloche_policy_document_get_problems (document);
  for (guint i = 0; !json && problems[i] != NULL; i++)
    g_print ("%s\n", problems[i]);
  return cloche_policy_document_is_valid (document) ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* mounts.default_mode in force: read-only unless the policy says "rw" (or
 * when the service cannot say). */
gboolean
clochectl_policy_mounts_readonly (ClocheDbusDaemon *daemon)
{
  g_autoptr(ClocheDbusPolicy) policy = NULL;
  g_autoptr(GVariant) entry = NULL;
  g_autoptr(GVariant) mode = NULL;
  GVariant *effective;

  policy = cloche_dbus_policy_proxy_new_sync (g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon)),
                                              G_DBUS_PROXY_FLAGS_NONE, DAEMON_BUS_NAME,
                                              DAEMON_OBJECT_PATH, NULL, NULL);
  effective = policy != NULL ? cloche_dbus_policy_get_effective (policy) : NULL;
  if (effective == NULL)
    return TRUE;
  entry = g_variant_lookup_value (effective, "mounts.default_mode", G_VARIANT_TYPE ("(vs)"));
  if (entry != NULL)
    g_variant_get (entry, "(vs)", &mode, NULL);
  return mode == NULL || !g_variant_is_of_type (mode, G_VARIANT_TYPE_STRING)
         || !g_str_equal (g_variant_get_string (mode, NULL), "rw");
}

int
clochectl_policy (int    argc,
                  char **argv)
{
  if (argc < 2)
    return clochectl_policy_usage ();
  if (g_str_equal (argv[1], "show"))
    return clochectl_policy_show (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "validate"))
    return clochectl_policy_validate (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "reload"))
    return clochectl_policy_reload (argc - 1, argv + 1);
  g_printerr (_("clochectl: unknown policy command \"%s\"\n"), argv[1]);
  return clochectl_policy_usage ();
}
