/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions for people and for scripts: a table, a record, JSON.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>
#include <stdio.h>

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

/* Sessions as JSON, written straight out rather than built as a tree:
 * 10,000 of them print in a blink. The text is what json-glib's pretty
 * generator makes of the same values (session show --json uses it), so the
 * two read the same. */

static void
append_string (GString    *out,
               const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = *p;

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, c);
        }
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\b')
        g_string_append (out, "\\b");
      else if (c == '\f')
        g_string_append (out, "\\f");
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, c);
    }
  g_string_append_c (out, '"');
}

static void
append_member (GString    *out,
               const char *indent,
               const char *name,
               gboolean    first)
{
  g_string_append (out, first ? "\n" : ",\n");
  g_string_append (out, indent);
  append_string (out, name);
  g_string_append (out, " : ");
}

static void
append_mounts (GString    *out,
               GVariant   *mounts,
               const char *indent)
{
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly, first = TRUE;

  if (g_variant_n_children (mounts) == 0)
    {
      g_string_append (out, "[]");
      return;
    }
  g_string_append_c (out, '[');
  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    {
      g_string_append_printf (out, "%s\n%s  [\n%s    ", first ? "" : ",", indent, indent);
      append_string (out, path);
      g_string_append_printf (out, ",\n%s    ", indent);
      append_string (out, name);
      g_string_append_printf (out, ",\n%s    %s\n%s  ]", indent, readonly ? "true" : "false",
                              indent);
      first = FALSE;
    }
  g_string_append_printf (out, "\n%s]", indent);
}

/* One session as a JSON object at @indent; "size" too, beside what
 * `session show --json` has, in the same order. */
static void
append_session (GString                 *out,
                const ClocheSessionInfo *info,
                const char              *indent)
{
  g_autofree char *inner = g_strconcat (indent, "  ", NULL);

  g_string_append_c (out, '{');
  append_member (out, inner, "created", TRUE);
  g_string_append_printf (out, "%" G_GINT64_FORMAT, info->created);
  append_member (out, inner, "id", FALSE);
  append_string (out, info->id);
  append_member (out, inner, "damage", FALSE);
  append_string (out, info->damage);
  append_member (out, inner, "stale", FALSE);
  g_string_append (out, info->stale ? "true" : "false");
  append_member (out, inner, "state", FALSE);
  append_string (out, info->state);
  append_member (out, inner, "size", FALSE);
  g_string_append_printf (out, "%" G_GUINT64_FORMAT, info->size);
  append_member (out, inner, "mounts", FALSE);
  append_mounts (out, info->mounts, inner);
  append_member (out, inner, "pinned", FALSE);
  g_string_append (out, info->pinned ? "true" : "false");
  append_member (out, inner, "client", FALSE);
  append_string (out, info->client);
  append_member (out, inner, "title", FALSE);
  append_string (out, info->title);
  append_member (out, inner, "last-active", FALSE);
  g_string_append_printf (out, "%" G_GINT64_FORMAT "\n%s}", info->last_active, indent);
}

/**
 * clochectl_append_sessions_json:
 * @sessions: CLOCHE_SESSION_INFOS_TYPE
 * @indent: where the array itself stands
 */
void
clochectl_append_sessions_json (GString    *out,
                                GVariant   *sessions,
                                const char *indent)
{
  g_autofree char *inner = g_strconcat (indent, "  ", NULL);
  GVariantIter iter;
  GVariant *session;
  gboolean first = TRUE;

  if (g_variant_n_children (sessions) == 0)
    {
      g_string_append (out, "[]");
      return;
    }
  g_string_append_c (out, '[');
  g_variant_iter_init (&iter, sessions);
  while ((session = g_variant_iter_next_value (&iter)) != NULL)
    {
      g_auto(ClocheSessionInfo) info = { 0 };

      cloche_session_info_init (&info, session);
      g_string_append_printf (out, "%s\n%s", first ? "" : ",", inner);
      append_session (out, &info, inner);
      g_variant_unref (session);
      first = FALSE;
    }
  g_string_append_printf (out, "\n%s]", indent);
}

void
clochectl_print_sessions_json (GVariant *sessions)
{
  g_autoptr(GString) out = g_string_sized_new (300 * (g_variant_n_children (sessions) + 1));

  clochectl_append_sessions_json (out, sessions, "");
  g_string_append_c (out, '\n');
  fwrite (out->str, 1, out->len, stdout);
}
