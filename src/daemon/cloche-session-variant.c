/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions as they travel on D-Bus: a flat struct each in lists
 * (CLOCHE_SESSION_INFO_TYPE), an a{sv} for GetSession; as documented in
 * data/io.github.cloche.Daemon.xml.
 */
#include "config.h"

#include <gio/gio.h>

#include "cloche-error.h"
#include "cloche-session-codec.h"
#include "cloche-session-variant.h"

/**
 * cloche_session_to_variant:
 * @size: allocated bytes, or -1 to leave "size" out
 *
 * Returns: (transfer floating): the session as an a{sv}
 */
GVariant *
cloche_session_to_variant (ClocheSession *session,
                           gboolean       stale,
                           gint64         size)
{
  g_autoptr(GVariant) info = cloche_session_to_info (session, stale, 0);
  g_autoptr(GVariant) mounts = g_variant_get_child_value (info, 8);
  GVariantDict dict;
  const char *damage = cloche_session_get_damage (session);

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "id", "s", cloche_session_get_id (session));
  g_variant_dict_insert (&dict, "title", "s", cloche_session_get_title (session));
  g_variant_dict_insert (&dict, "client", "s", cloche_session_get_client (session));
  g_variant_dict_insert (&dict, "created", "x", cloche_session_get_created (session));
  g_variant_dict_insert (&dict, "last-active", "x", cloche_session_get_last_active (session));
  g_variant_dict_insert (&dict, "state", "s",
                         cloche_session_state_to_string (cloche_session_get_state (session)));
  g_variant_dict_insert (&dict, "damage", "s", damage != NULL ? damage : "");
  g_variant_dict_insert (&dict, "pinned", "b", cloche_session_get_pinned (session));
  g_variant_dict_insert_value (&dict, "mounts", mounts);
  g_variant_dict_insert (&dict, "stale", "b", stale);
  if (size >= 0)
    g_variant_dict_insert (&dict, "size", "t", (guint64) size);
  return g_variant_dict_end (&dict);
}

/**
 * cloche_session_entries_to_variant:
 * @entries: (element-type ClocheSessionEntry)
 *
 * Returns: (transfer floating): CLOCHE_SESSION_INFOS_TYPE
 */
GVariant *
cloche_session_entries_to_variant (GPtrArray *entries)
{
  g_autofree GVariant **children = g_new (GVariant *, MAX (entries->len, 1));

  for (guint i = 0; i < entries->len; i++)
    children[i] = ((ClocheSessionEntry *) g_ptr_array_index (entries, i))->info;
  return g_variant_new_array (G_VARIANT_TYPE (CLOCHE_SESSION_INFO_TYPE), children, entries->len);
}
