/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "cloche-session-info.h"

/* @session: CLOCHE_SESSION_INFO_TYPE */
void
cloche_session_info_init (ClocheSessionInfo *info,
                          GVariant          *session)
{
  g_return_if_fail (g_variant_is_of_type (session, G_VARIANT_TYPE (CLOCHE_SESSION_INFO_TYPE)));

  g_variant_get (session, "(&s&s&sxx&s&sb@a(ssb)bt)",
                 &info->id, &info->title, &info->client, &info->created, &info->last_active,
                 &info->state, &info->damage, &info->pinned, &info->mounts, &info->stale,
                 &info->size);
}

void
cloche_session_info_clear (ClocheSessionInfo *info)
{
  g_clear_pointer (&info->mounts, g_variant_unref);
}

/**
 * cloche_session_infos_unpack:
 * @packed: "ay", as io.github.cloche.Sessions sends its sessions
 *
 * Returns: (transfer full): CLOCHE_SESSION_INFOS_TYPE over the same bytes
 *   (no copy), in this host's byte order. Untrusted: GVariant checks each
 *   value as it is read, and anything malformed reads as empty values.
 */
GVariant *
cloche_session_infos_unpack (GVariant *packed)
{
  g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (packed);
  GVariant *sessions;

  sessions = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (CLOCHE_SESSION_INFOS_TYPE),
                                                           bytes, FALSE));
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      GVariant *swapped = g_variant_ref_sink (g_variant_byteswap (sessions));

      g_variant_unref (sessions);
      sessions = swapped;
    }
  return sessions;
}
