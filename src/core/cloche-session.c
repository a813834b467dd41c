/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One agent task: what sessions/<id>/session.json records. A record that
 * cannot be read is kept as "damaged" with the reason, never dropped: what
 * cannot be read must not look like nothing. Every form a session takes
 * outside memory (session.json, the struct lists send, the packed list,
 * clochectl's JSON) is cloche-session-codec.c's; the rules every form
 * shares are here: what an id may be, the names of the states, when a
 * session is stale, and that a record left open by a daemon that is gone
 * counts as closed.
 */
#include "config.h"

#include "cloche-session.h"

#define USEC_PER_DAY ((gint64) 24 * 3600 * G_USEC_PER_SEC)
#define ID_MAX_BYTES 64

struct _ClocheSession
{
  GObject             parent_instance;
  char               *id;
  char               *title;
  char               *client;
  gint64              created;       /* µs since the epoch */
  gint64              last_active;
  ClocheSessionState  state;
  char               *damage;
  gboolean            pinned;
  GPtrArray          *mounts;        /* ClocheSessionMount */
};

G_DEFINE_FINAL_TYPE (ClocheSession, cloche_session, G_TYPE_OBJECT)

static const char *state_names[] = { "open", "closed", "damaged" };

const char *
cloche_session_state_to_string (ClocheSessionState state)
{
  g_return_val_if_fail (state < G_N_ELEMENTS (state_names), "damaged");
  return state_names[state];
}

/* The one reader of the names above. */
gboolean
cloche_session_state_from_string (const char         *text,
                                  ClocheSessionState *state)
{
  for (guint i = 0; text != NULL && i < G_N_ELEMENTS (state_names); i++)
    if (g_str_equal (text, state_names[i]))
      {
        *state = (ClocheSessionState) i;
        return TRUE;
      }
  return FALSE;
}

/**
 * cloche_session_id_is_valid:
 *
 * Ids name folders and travel as D-Bus strings: valid UTF-8 of at most
 * 64 bytes, no "/", not starting with "." (so not "." or ".."), no control
 * character. A folder in the sessions folder whose name is not one is not
 * a session.
 */
gboolean
cloche_session_id_is_valid (const char *id)
{
  gsize length = id != NULL ? strlen (id) : 0;

  if (length == 0 || length > ID_MAX_BYTES || id[0] == '.' || !g_utf8_validate (id, length, NULL))
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (*p == '/' || g_ascii_iscntrl (*p))
      return FALSE;
  return TRUE;
}

/* Mounts */

ClocheSessionMount *
cloche_session_mount_new (const char *path,
                          const char *name,
                          gboolean    readonly)
{
  ClocheSessionMount *mount = g_new0 (ClocheSessionMount, 1);

  mount->path = g_strdup (path);
  mount->name = g_strdup (name);
  mount->readonly = readonly;
  return mount;
}

void
cloche_session_mount_free (ClocheSessionMount *mount)
{
  if (mount == NULL)
    return;
  g_free (mount->path);
  g_free (mount->name);
  g_free (mount);
}

/* Twelve hex digits: short enough to type, and safe in a path and a shell. */
static char *
cloche_session_make_id (void)
{
  return g_strdup_printf ("%06x%06x", g_random_int () & 0xffffff, g_random_int () & 0xffffff);
}

ClocheSession *
cloche_session_new (const char *title,
                    const char *client)
{
  ClocheSession *self = g_object_new (CLOCHE_TYPE_SESSION, NULL);

  self->id = cloche_session_make_id ();
  self->title = g_strdup (title != NULL ? title : "");
  self->client = g_strdup (client != NULL ? client : "");
  self->created = self->last_active = g_get_real_time ();
  return self;
}

/**
 * cloche_session_new_record:
 *
 * A session as a record says it was (read back by the codec, which checked
 * every field first).
 */
ClocheSession *
cloche_session_new_record (const char         *id,
                           const char         *title,
                           const char         *client,
                           gint64              created,
                           gint64              last_active,
                           ClocheSessionState  state,
                           gboolean            pinned)
{
  ClocheSession *self = g_object_new (CLOCHE_TYPE_SESSION, NULL);

  g_return_val_if_fail (state != CLOCHE_SESSION_STATE_DAMAGED, self);

  self->id = g_strdup (id);
  self->title = g_strdup (title);
  self->client = g_strdup (client);
  self->created = created;
  self->last_active = last_active;
  self->state = state;
  self->pinned = !!pinned;
  return self;
}

/* @last_active: when the record was last known good, clamped to what a
 * record may hold (a folder's mtime can be anything). */
ClocheSession *
cloche_session_new_damaged (const char *id,
                            const char *reason,
                            gint64      last_active)
{
  ClocheSession *self = g_object_new (CLOCHE_TYPE_SESSION, NULL);

  self->id = g_strdup (id);
  self->title = g_strdup ("");
  self->client = g_strdup ("");
  self->state = CLOCHE_SESSION_STATE_DAMAGED;
  self->damage = g_strdup (reason);
  self->created = self->last_active = CLAMP (last_active, 0, CLOCHE_SESSION_TIME_MAX);
  return self;
}

/* An independent copy: the store keeps copies for its worker thread while
 * the sandbox goes on changing the session it has open. */
ClocheSession *
cloche_session_copy (ClocheSession *self)
{
  ClocheSession *copy;

  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);

  copy = g_object_new (CLOCHE_TYPE_SESSION, NULL);
  copy->id = g_strdup (self->id);
  copy->title = g_strdup (self->title);
  copy->client = g_strdup (self->client);
  copy->created = self->created;
  copy->last_active = self->last_active;
  copy->state = self->state;
  copy->damage = g_strdup (self->damage);
  copy->pinned = self->pinned;
  for (guint i = 0; i < self->mounts->len; i++)
    {
      ClocheSessionMount *mount = g_ptr_array_index (self->mounts, i);

      g_ptr_array_add (copy->mounts,
                       cloche_session_mount_new (mount->path, mount->name, mount->readonly));
    }
  return copy;
}

/* Accessors */

const char *
cloche_session_get_id (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return self->id;
}

const char *
cloche_session_get_title (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return self->title;
}

const char *
cloche_session_get_client (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return self->client;
}

gint64
cloche_session_get_created (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), 0);
  return self->created;
}

gint64
cloche_session_get_last_active (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), 0);
  return self->last_active;
}

void
cloche_session_touch (ClocheSession *self)
{
  g_return_if_fail (CLOCHE_IS_SESSION (self));
  self->last_active = g_get_real_time ();
}

ClocheSessionState
cloche_session_get_state (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), CLOCHE_SESSION_STATE_DAMAGED);
  return self->state;
}

void
cloche_session_set_state (ClocheSession      *self,
                          ClocheSessionState  state)
{
  g_return_if_fail (CLOCHE_IS_SESSION (self));
  g_return_if_fail (self->state != CLOCHE_SESSION_STATE_DAMAGED);
  self->state = state;
}

const char *
cloche_session_get_damage (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return self->damage;
}

gboolean
cloche_session_get_pinned (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), FALSE);
  return self->pinned;
}

void
cloche_session_set_pinned (ClocheSession *self,
                           gboolean       pinned)
{
  g_return_if_fail (CLOCHE_IS_SESSION (self));
  self->pinned = !!pinned;
}

/**
 * cloche_session_get_mounts:
 *
 * Returns: (transfer none) (element-type ClocheSessionMount): the mounts
 */
GPtrArray *
cloche_session_get_mounts (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return self->mounts;
}

/* Takes @mount. */
void
cloche_session_add_mount (ClocheSession      *self,
                          ClocheSessionMount *mount)
{
  g_return_if_fail (CLOCHE_IS_SESSION (self));
  g_ptr_array_add (self->mounts, mount);
}

char *
cloche_session_dup_guest_dir (ClocheSession *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  return g_strdup_printf ("/sessions/%s", self->id);
}

/* Closed or damaged, not pinned, and idle for longer than the threshold. A
 * damaged record has no time of its own: its age is its folder's. Times
 * are within 0 and CLOCHE_SESSION_TIME_MAX, so the age cannot overflow;
 * a threshold too long to count in µs is never reached. */
gboolean
cloche_session_is_stale (ClocheSession *self,
                         gint64         now,
                         guint          stale_after_days)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), FALSE);

  if (self->state == CLOCHE_SESSION_STATE_OPEN || self->pinned)
    return FALSE;
  if (stale_after_days > G_MAXINT64 / USEC_PER_DAY)
    return FALSE;
  return now - self->last_active > (gint64) stale_after_days * USEC_PER_DAY;
}

/**
 * cloche_session_settle:
 * @open_ids: (nullable): the sessions this daemon has open
 *
 * The one place of the rule: a record that says "open" while this daemon
 * does not have it open was left so by a daemon that is gone (killed, or
 * the machine lost power). It is closed, and may grow stale like any other.
 *
 * Returns: (transfer full): @self, or a closed copy of it
 */
ClocheSession *
cloche_session_settle (ClocheSession      *self,
                       const char * const *open_ids)
{
  ClocheSession *settled;

  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);

  if (self->state != CLOCHE_SESSION_STATE_OPEN
      || (open_ids != NULL && g_strv_contains (open_ids, self->id)))
    return g_object_ref (self);
  settled = cloche_session_copy (self);
  settled->state = CLOCHE_SESSION_STATE_CLOSED;
  return settled;
}

static void
cloche_session_finalize (GObject *object)
{
  ClocheSession *self = CLOCHE_SESSION (object);

  g_free (self->id);
  g_free (self->title);
  g_free (self->client);
  g_free (self->damage);
  g_ptr_array_unref (self->mounts);

  G_OBJECT_CLASS (cloche_session_parent_class)->finalize (object);
}

static void
cloche_session_class_init (ClocheSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_session_finalize;
}

static void
cloche_session_init (ClocheSession *self)
{
  self->mounts = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_session_mount_free);
}
