/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "cloche-session.h"

G_BEGIN_DECLS

/* One session as the Sessions interface sends it (List, Cleanup, Get; see
 * data/io.github.cloche.Sessions.xml) and as sessions.index keeps it: id,
 * title, client, created, last-active, state, damage, pinned, mounts
 * (path, name, read-only), stale, size. Flat, cheap to send and parse by
 * the ten thousand. */
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

void           cloche_session_info_init           (ClocheSessionInfo  *info,
                                                   GVariant           *session);
void           cloche_session_info_clear          (ClocheSessionInfo  *info);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClocheSessionInfo, cloche_session_info_clear)

/* session.json */
ClocheSession *cloche_session_new_from_json       (const char         *id,
                                                   const char         *json,
                                                   gsize               length,
                                                   GError            **error);
char          *cloche_session_to_json             (ClocheSession      *session);

/* The struct */
GVariant      *cloche_session_to_info             (ClocheSession      *session,
                                                   gboolean            stale,
                                                   guint64             size);
ClocheSession *cloche_session_new_from_info       (GVariant           *info,
                                                   GError            **error);
ClocheSession *cloche_session_new_from_fields     (ClocheSessionInfo  *fields,
                                                   GError            **error);

/* A list of structs, packed into one "ay" */
GBytes        *cloche_session_infos_pack          (GPtrArray          *infos);
GVariant      *cloche_session_infos_unpack        (GVariant           *packed);
GVariant      *cloche_session_variant_new_checked (const GVariantType *type,
                                                   GBytes             *bytes);

/* clochectl's JSON */
void           cloche_session_info_set_json       (JsonObject         *object,
                                                  GVariant           *info);
JsonNode      *cloche_session_info_to_json        (GVariant           *info);

/* The folders Open asks for: a(sb), path and read-only */
GPtrArray     *cloche_session_mounts_from_variant (GVariant           *mounts,
                                                   GError            **error);

G_END_DECLS
