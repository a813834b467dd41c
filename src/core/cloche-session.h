/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  CLOCHE_SESSION_STATE_OPEN,
  CLOCHE_SESSION_STATE_CLOSED,
  CLOCHE_SESSION_STATE_DAMAGED,
} ClocheSessionState;

/* The latest time a record may hold: 9999-12-31T23:59:59Z, in µs since the
 * epoch (what ISO 8601 and GDateTime can write). Earlier than the epoch is
 * refused too. */
#define CLOCHE_SESSION_TIME_MAX ((gint64) 253402300799 * G_USEC_PER_SEC)

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
ClocheSession      *cloche_session_new_record       (const char          *id,
                                                     const char          *title,
                                                     const char          *client,
                                                     gint64               created,
                                                     gint64               last_active,
                                                     ClocheSessionState   state,
                                                     gboolean             pinned);
ClocheSession      *cloche_session_new_damaged      (const char          *id,
                                                     const char          *reason,
                                                     gint64               last_active);
ClocheSession      *cloche_session_copy             (ClocheSession       *self);
ClocheSession      *cloche_session_settle           (ClocheSession       *self,
                                                     const char * const  *open_ids);
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
gboolean            cloche_session_id_is_valid      (const char          *id);
const char         *cloche_session_state_to_string  (ClocheSessionState   state);
gboolean            cloche_session_state_from_string (const char         *text,
                                                      ClocheSessionState *state);

G_END_DECLS
