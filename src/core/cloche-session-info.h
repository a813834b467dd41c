/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* One session as ListSessions and Cleanup send it (see
 * data/io.github.cloche.Daemon.xml): a flat struct, cheap to send and parse
 * by the ten thousand. */
#define CLOCHE_SESSION_INFO_TYPE  "(sssxxssba(ssb)bt)"
#define CLOCHE_SESSION_INFOS_TYPE "a" CLOCHE_SESSION_INFO_TYPE

/* Its fields, pointing into the variant (which must outlive this). */
typedef struct
{
  const char *id;
  const char *title;
  const char *client;
  gint64      created;
  gint64      last_active;
  const char *state;
  const char *damage;
  gboolean    pinned;
  GVariant   *mounts;        /* a(ssb): path, name, read-only */
  gboolean    stale;
  guint64     size;
} ClocheSessionInfo;

void cloche_session_info_init  (ClocheSessionInfo *info,
                                GVariant          *session);
void cloche_session_info_clear (ClocheSessionInfo *info);
GVariant *cloche_session_infos_unpack (GVariant *packed);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClocheSessionInfo, cloche_session_info_clear)

G_END_DECLS
