/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum
{
  CLOCHE_SESSION_STATE_OPEN,
  CLOCHE_SESSION_STATE_CLOSED,
  CLOCHE_SESSION_STATE_DAMAGED,
} ClocheSessionState;

/* A host folder mounted into the session at /sessions/<id>/mnt/<name>. */
typedef struct
{
  char     *path;      /* canonical host path */
  char     *name;
  gboolean  readonly;
} ClocheSessionMount;

void                cloche_session_mount_free   (ClocheSessionMount *mount);
ClocheSessionMount *cloche_session_mount_new    (const char         *path,
                                                 const char         *name,
                                                 gboolean            readonly);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheSessionMount, cloche_session_mount_free)

#define CLOCHE_TYPE_SESSION (cloche_session_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSession, cloche_session, CLOCHE, SESSION, GObject)

ClocheSession      *cloche_session_new              (const char          *title,
                                                     const char          *client);
ClocheSession      *cloche_session_new_damaged      (const char          *id,
                                                     const char          *reason,
                                                     gint64               last_active);
ClocheSession      *cloche_session_new_from_json    (const char          *id,
                                                     const char          *json,
                                                     gsize                length,
                                                     GError             **error);
ClocheSession      *cloche_session_new_from_info    (GVariant            *info);
ClocheSession      *cloche_session_copy             (ClocheSession       *self);
char               *cloche_session_to_json          (ClocheSession       *self);
const char         *cloche_session_get_id           (ClocheSession       *self);
const char         *cloche_session_get_title        (ClocheSession       *self);
const char         *cloche_session_get_client       (ClocheSession       *self);
gint64              cloche_session_get_created      (ClocheSession       *self);
gint64              cloche_session_get_last_active  (ClocheSession       *self);
void                cloche_session_touch            (ClocheSession       *self);
ClocheSessionState  cloche_session_get_state        (ClocheSession       *self);
void                cloche_session_set_state        (ClocheSession       *self,
                                                     ClocheSessionState   state);
const char         *cloche_session_get_damage       (ClocheSession       *self);
gboolean            cloche_session_get_pinned       (ClocheSession       *self);
void                cloche_session_set_pinned       (ClocheSession       *self,
                                                     gboolean             pinned);
GPtrArray          *cloche_session_get_mounts       (ClocheSession       *self);
void                cloche_session_add_mount        (ClocheSession       *self,
                                                     ClocheSessionMount  *mount);
char               *cloche_session_dup_guest_dir    (ClocheSession       *self);
gboolean            cloche_session_is_stale         (ClocheSession       *self,
                                                     gint64               now,
                                                     guint                stale_after_days);
gboolean            cloche_session_stale_rule       (gboolean             pinned,
                                                     gint64               last_active,
                                                     gint64               now,
                                                     guint                stale_after_days);
const char         *cloche_session_state_to_string  (ClocheSessionState   state);

G_END_DECLS
