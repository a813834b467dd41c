/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions as flat structs (CLOCHE_SESSION_INFO_TYPE), built once per
 * change and kept by the index (so a list of 10,000 copies serialised
 * structs instead of making 130,000 values), and packed for
 * io.github.cloche.Sessions: the whole array serialised as a GVariant and
 * sent as bytes. GDBus converts an "ay" with one copy, where it turns an
 * array of structs into D-Bus's wire format value by value on each side.
 */
#include "config.h"

#include "cloche-session-info.h"
#include "cloche-session-pack.h"

/**
 * cloche_session_mounts_to_variant:
 *
 * Returns: (transfer floating): @session's mounts as a(ssb): path, name, read-only
 */
GVariant *
cloche_session_mounts_to_variant (ClocheSession *session)
{
  GPtrArray *mounts = cloche_session_get_mounts (session);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssb)"));
  for (guint i = 0; i < mounts->len; i++)
    {
      ClocheSessionMount *mount = g_ptr_array_index (mounts, i);

      g_variant_builder_add (&builder, "(ssb)", mount->path, mount->name, mount->readonly);
    }
  return g_variant_builder_end (&builder);
}

/**
 * cloche_session_info_build:
 *
 * Returns: (transfer full): @session as CLOCHE_SESSION_INFO_TYPE, already
 *   serialised (one block of memory, cheap to copy into an array)
 */
GVariant *
cloche_session_info_build (ClocheSession *session,
                           gboolean       stale,
                           guint64        size)
{
  const char *damage = cloche_session_get_damage (session);
  GVariant *fields[] = {
    g_variant_new_string (cloche_session_get_id (session)),
    g_variant_new_string (cloche_session_get_title (session)),
    g_variant_new_string (cloche_session_get_client (session)),
    g_variant_new_int64 (cloche_session_get_created (session)),
    g_variant_new_int64 (cloche_session_get_last_active (session)),
    g_variant_new_string (cloche_session_state_to_string (cloche_session_get_state (session))),
    g_variant_new_string (damage != NULL ? damage : ""),
    g_variant_new_boolean (cloche_session_get_pinned (session)),
    cloche_session_mounts_to_variant (session),
    g_variant_new_boolean (stale),
    g_variant_new_uint64 (size),
  };
  GVariant *info = g_variant_ref_sink (g_variant_new_tuple (fields, G_N_ELEMENTS (fields)));

  /* Serialised now, in the thread that builds it: the tree of values goes. */
  g_variant_get_data (info);
  return info;
}

static GVariant *
entry_info (ClocheSessionEntry *entry)
{
  if (entry->info == NULL)
    entry->info = cloche_session_info_build (entry->session, entry->stale, entry->size);
  return entry->info;
}

/**
 * cloche_session_infos_new:
 * @entries: (element-type ClocheSessionEntry)
 *
 * Returns: (transfer floating): CLOCHE_SESSION_INFOS_TYPE
 */
GVariant *
cloche_session_infos_new (GPtrArray *entries)
{
  g_autofree GVariant **children = g_new (GVariant *, MAX (entries->len, 1));

  for (guint i = 0; i < entries->len; i++)
    children[i] = entry_info (g_ptr_array_index (entries, i));
  return g_variant_new_array (G_VARIANT_TYPE (CLOCHE_SESSION_INFO_TYPE), children, entries->len);
}

/**
 * cloche_session_infos_pack:
 * @entries: (element-type ClocheSessionEntry)
 *
 * Returns: (transfer full): CLOCHE_SESSION_INFOS_TYPE serialised,
 *   little-endian, as io.github.cloche.Sessions sends it
 */
GBytes *
cloche_session_infos_pack (GPtrArray *entries)
{
  g_autoptr(GVariant) infos = g_variant_ref_sink (cloche_session_infos_new (entries));

  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      GVariant *swapped = g_variant_ref_sink (g_variant_byteswap (infos));

      g_variant_unref (infos);
      infos = swapped;
    }
  return g_variant_get_data_as_bytes (infos);
}
