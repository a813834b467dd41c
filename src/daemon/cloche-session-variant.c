/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions as they travel on D-Bus: a flat struct each in lists
 * (CLOCHE_SESSION_INFO_TYPE), an a{sv} for GetSession; as documented in
 * data/io.github.cloche.Daemon.xml.
 */
#include "config.h"

#include <gio/gio.h>

#include "cloche-error.h"
#include "cloche-session-info.h"
#include "cloche-session-pack.h"
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
  g_variant_dict_insert_value (&dict, "mounts", cloche_session_mounts_to_variant (session));
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
  return cloche_session_infos_new (entries);
}

/**
 * cloche_session_mounts_from_variant:
 * @mounts: (nullable): a(sb)
 *
 * Returns: (transfer full) (element-type ClocheSessionMount): the requests
 */
GPtrArray *
cloche_session_mounts_from_variant (GVariant  *mounts,
                                    GError   **error)
{
  g_autoptr(GPtrArray) requests = NULL;
  GVariantIter iter;
  const char *path;
  gboolean readonly;

  requests = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_session_mount_free);
  if (mounts == NULL)
    return g_steal_pointer (&requests);
  if (!g_variant_is_of_type (mounts, G_VARIANT_TYPE ("a(sb)")))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   "\"mounts\" must be a(sb) (path, read-only), not %s",
                   g_variant_get_type_string (mounts));
      return NULL;
    }
  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&sb)", &path, &readonly))
    g_ptr_array_add (requests, cloche_session_mount_new (path, NULL, readonly));
  return g_steal_pointer (&requests);
}
