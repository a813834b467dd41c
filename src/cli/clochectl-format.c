/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions for people and for scripts: a table, a record, JSON. Every
 * session arrives as the codec's struct (CLOCHE_SESSION_INFO_TYPE). What a
 * person reads on a terminal is made printable first: a title, a client
 * name or a path is anyone's text, and a control character in it (an
 * escape sequence that moves the cursor, rewrites the line, sets the
 * window title) must not reach the terminal. JSON carries the raw text:
 * json-glib escapes control characters, and a script gets what was given.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>
#include <stdio.h>

#include "clochectl.h"

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
clochectl_format_state (const char *state,
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
  g_autofree char *state = clochectl_format_state (info->state, info->pinned, info->stale);
  g_autofree char *size = g_format_size (info->size);
  g_autofree char *title = clochectl_printable (info->title);

  g_print ("%-12s  %-16s  %5s  %10s  %s\n", info->id, state, age, size, title);
}

static void
clochectl_format_print_mounts (GVariant *mounts)
{
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly;

  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    {
      g_autofree char *shown_path = clochectl_printable (path);
      g_autofree char *shown_name = clochectl_printable (name);

      g_print (_("Mount:       %s → mnt/%s (%s)\n"), shown_path, shown_name,
               readonly ? "ro" : "rw");
    }
}

/* @session: CLOCHE_SESSION_INFO_TYPE */
void
clochectl_print_session_record (GVariant *session)
{
  g_auto(ClocheSessionInfo) info = { 0 };
  g_autofree char *state = NULL;
  g_autofree char *age = NULL;
  g_autofree char *title = NULL;
  g_autofree char *client = NULL;
  g_autofree char *damage = NULL;

  cloche_session_info_init (&info, session);
  state = clochectl_format_state (info.state, info.pinned, info.stale);
  age = clochectl_format_age (info.last_active);
  title = clochectl_printable (info.title);
  client = clochectl_printable (info.client);
  damage = clochectl_printable (info.damage);
  g_print ("Id:          %s\n", info.id);
  g_print (_("Title:       %s\n"), title);
  g_print (_("State:       %s\n"), state);
  if (damage[0] != '\0')
    g_print (_("Damage:      %s\n"), damage);
  g_print (_("Client:      %s\n"), client);
  g_print (_("Last active: %s ago\n"), age);
  clochectl_format_print_mounts (info.mounts);
}

/* Written as it is: a list of 10,000 sessions is 2.5 MB of JSON, which
 * g_print() would format into a copy first. */
void
clochectl_print_json (JsonNode *root)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;
  gsize length = 0;

  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, &length);
  fwrite (text, 1, length, stdout);
  fputc ('\n', stdout);
}

/* @text, the generator's text of one element, as json-glib's pretty
 * printer indents it one level down inside an array. */
static void
clochectl_format_append_indented (GString    *out,
                                  const char *text)
{
  const char *line = text;
  const char *end;

  while ((end = strchr (line, '\n')) != NULL)
    {
      g_string_append (out, "  ");
      g_string_append_len (out, line, end + 1 - line);
      line = end + 1;
    }
  g_string_append (out, "  ");
  g_string_append (out, line);
}

/**
 * clochectl_print_sessions_json:
 * @sessions: CLOCHE_SESSION_INFOS_TYPE
 *
 * The same text as clochectl_print_json() of clochectl_sessions_to_json(),
 * one session's tree at a time: a tree of 10,000 sessions (a JsonObject,
 * its hash table and a dozen nodes each) cost clochectl most of its CPU
 * and memory in a list, for a tree that lived only to be printed.
 */
void
clochectl_print_sessions_json (GVariant *sessions)
{
  gsize n = g_variant_n_children (sessions);
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autoptr(GString) out = g_string_sized_new (n * 320 + 8);
  g_autoptr(GString) one = g_string_sized_new (512);

  json_generator_set_pretty (generator, TRUE);
  /* The generator's root shares the object, filled again for each. */
  json_generator_set_root (generator, node);
  g_string_append (out, n > 0 ? "[\n" : "[]");
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) session = g_variant_get_child_value (sessions, i);

      cloche_session_info_set_json (object, session);
      g_string_truncate (one, 0);
      json_generator_to_gstring (generator, one);
      clochectl_format_append_indented (out, one->str);
      g_string_append (out, i + 1 < n ? ",\n" : "\n]");
    }
  g_string_append_c (out, '\n');
  fwrite (out->str, 1, out->len, stdout);
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
