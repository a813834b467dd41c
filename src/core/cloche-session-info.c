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
