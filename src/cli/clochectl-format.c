/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions for people and for scripts: a table, a record, JSON.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>

#include "clochectl.h"

static const char *
lookup_string (GVariant   *session,
               const char *key)
{
  const char *value = "";

  g_variant_lookup (session, key, "&s", &value);
  return value;
}

static gint64
lookup_int64 (GVariant   *session,
              const char *key)
{
  gint64 value = 0;

  g_variant_lookup (session, key, "x", &value);
  return value;
}

static gboolean
lookup_boolean (GVariant   *session,
                const char *key)
{
  gboolean value = FALSE;

  g_variant_lookup (session, key, "b", &value);
  return value;
}

char *
clochectl_format_age (gint64 since_usec)
{
  gint64 seconds = MAX (0, (g_get_real_time () - since_usec) / G_USEC_PER_SEC);

  if (since_usec == 0)
    return g_strdup ("?");
  if (seconds < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT "m", seconds / 60);
  if (seconds < 2 * 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT "h", seconds / 3600);
  return g_strdup_printf ("%" G_GINT64_FORMAT "d", seconds / 86400);
}

static char *
format_state (const char *state,
              gboolean    pinned,
              gboolean    stale)
{
  if (pinned)
    return g_strdup_printf ("%s, pinned", state);
  if (stale)
    return g_strdup_printf ("%s, stale", state);
  return g_strdup (state);
}

void
clochectl_print_session_row (const ClocheSessionInfo *info)
{
  g_autofree char *age = clochectl_format_age (info->last_active);
  g_autofree char *state = format_state (info->state, info->pinned, info->stale);
  g_autofree char *size = g_format_size (info->size);

  g_print ("%-12s  %-16s  %5s  %10s  %s\n", info->id, state, age, size, info->title);
}

void
clochectl_print_session_record (GVariant *session)
{
  g_autoptr(GVariant) mounts = g_variant_lookup_value (session, "mounts", G_VARIANT_TYPE ("a(ssb)"));
  g_autofree char *state = format_state (lookup_string (session, "state"),
                                         lookup_boolean (session, "pinned"),
                                         lookup_boolean (session, "stale"));
  g_autofree char *age = clochectl_format_age (lookup_int64 (session, "last-active"));
  const char *damage = lookup_string (session, "damage");
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly;

  g_print ("Id:          %s\n", lookup_string (session, "id"));
  g_print (_("Title:       %s\n"), lookup_string (session, "title"));
  g_print (_("State:       %s\n"), state);
  if (damage[0] != '\0')
    g_print (_("Damage:      %s\n"), damage);
  g_print (_("Client:      %s\n"), lookup_string (session, "client"));
  g_print (_("Last active: %s ago\n"), age);
  if (mounts == NULL)
    return;
  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    g_print (_("Mount:       %s → mnt/%s (%s)\n"), path, name, readonly ? "ro" : "rw");
}

JsonNode *
clochectl_session_to_json (GVariant *session)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  GVariantIter iter;
  const char *key;
  GVariant *value;

  json_builder_begin_object (builder);
  g_variant_iter_init (&iter, session);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      json_builder_set_member_name (builder, key);
      json_builder_add_value (builder, json_gvariant_serialize (value));
      g_variant_unref (value);
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

void
clochectl_print_json (JsonNode *root)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
}

/**
 * clochectl_sessions_to_json:
 * @sessions: CLOCHE_SESSION_INFOS_TYPE
 *
 * Returns: (transfer full): an array of the sessions as the codec writes them
 */
JsonNode *
clochectl_sessions_to_json (GVariant *sessions)
{
  g_autoptr(JsonArray) array = json_array_sized_new (g_variant_n_children (sessions));
  GVariantIter iter;
  GVariant *session;

  g_variant_iter_init (&iter, sessions);
  while ((session = g_variant_iter_next_value (&iter)) != NULL)
    {
      json_array_add_element (array, cloche_session_info_to_json (session));
      g_variant_unref (session);
    }
  return json_node_init_array (json_node_alloc (), array);
}
