/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One agent task, as recorded in sessions/<id>/session.json. A record that
 * cannot be read is kept as "damaged" with the reason, never dropped: what
 * cannot be read must not look like nothing.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-error.h"
#include "cloche-session.h"
#include "cloche-session-info.h"

#define SESSION_FORMAT_VERSION 1

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
make_id (void)
{
  return g_strdup_printf ("%06x%06x", g_random_int () & 0xffffff, g_random_int () & 0xffffff);
}

ClocheSession *
cloche_session_new (const char *title,
                    const char *client)
{
  ClocheSession *self = g_object_new (CLOCHE_TYPE_SESSION, NULL);

  self->id = make_id ();
  self->title = g_strdup (title != NULL ? title : "");
  self->client = g_strdup (client != NULL ? client : "");
  self->created = self->last_active = g_get_real_time ();
  return self;
}

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
  self->created = self->last_active = last_active;
  return self;
}

/**
 * cloche_session_new_from_info:
 * @info: CLOCHE_SESSION_INFO_TYPE, as cloche_session_info_build() made it
 *
 * For the index's cache file: the record as it was listed.
 *
 * Returns: (transfer full) (nullable): the session, or %NULL when @info
 *   holds no valid one (an unknown state, no id)
 */
ClocheSession *
cloche_session_new_from_info (GVariant *info)
{
  g_auto(ClocheSessionInfo) fields = { 0 };
  ClocheSession *self;
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly;

  cloche_session_info_init (&fields, info);
  if (fields.id[0] == '\0')
    return NULL;
  if (g_str_equal (fields.state, "damaged"))
    return cloche_session_new_damaged (fields.id, fields.damage, fields.last_active);
  if (!g_str_equal (fields.state, "open") && !g_str_equal (fields.state, "closed"))
    return NULL;
  self = g_object_new (CLOCHE_TYPE_SESSION, NULL);
  self->id = g_strdup (fields.id);
  self->title = g_strdup (fields.title);
  self->client = g_strdup (fields.client);
  self->created = fields.created;
  self->last_active = fields.last_active;
  self->state = g_str_equal (fields.state, "open") ? CLOCHE_SESSION_STATE_OPEN
                                                   : CLOCHE_SESSION_STATE_CLOSED;
  self->pinned = fields.pinned;
  g_variant_iter_init (&iter, fields.mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    g_ptr_array_add (self->mounts, cloche_session_mount_new (path, name, readonly));
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

/* JSON */

static char *
format_time (gint64 usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  return g_date_time_format_iso8601 (time);
}

static gboolean
parse_time (JsonObject  *object,
            const char  *member,
            gint64      *usec,
            GError     **error)
{
  const char *text = json_object_get_string_member_with_default (object, member, NULL);
  g_autoptr(GDateTime) time = NULL;

  if (text != NULL)
    time = g_date_time_new_from_iso8601 (text, NULL);
  if (time == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                   _("\"%s\" is missing or not an ISO 8601 time"), member);
      return FALSE;
    }
  *usec = g_date_time_to_unix (time) * G_USEC_PER_SEC;
  return TRUE;
}

static JsonNode *
mounts_to_json (ClocheSession *self)
{
  g_autoptr(JsonArray) array = json_array_new ();

  for (guint i = 0; i < self->mounts->len; i++)
    {
      ClocheSessionMount *mount = g_ptr_array_index (self->mounts, i);
      JsonObject *object = json_object_new ();

      json_object_set_string_member (object, "path", mount->path);
      json_object_set_string_member (object, "name", mount->name);
      json_object_set_string_member (object, "mode", mount->readonly ? "ro" : "rw");
      json_array_add_object_element (array, object);
    }
  return json_node_init_array (json_node_alloc (), array);
}

char *
cloche_session_to_json (ClocheSession *self)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *created = NULL;
  g_autofree char *last_active = NULL;

  g_return_val_if_fail (CLOCHE_IS_SESSION (self), NULL);
  g_return_val_if_fail (self->state != CLOCHE_SESSION_STATE_DAMAGED, NULL);

  created = format_time (self->created);
  last_active = format_time (self->last_active);
  json_object_set_int_member (object, "version", SESSION_FORMAT_VERSION);
  json_object_set_string_member (object, "id", self->id);
  json_object_set_string_member (object, "title", self->title);
  json_object_set_string_member (object, "client", self->client);
  json_object_set_string_member (object, "created", created);
  json_object_set_string_member (object, "last_active", last_active);
  json_object_set_string_member (object, "state", state_names[self->state]);
  json_object_set_boolean_member (object, "pinned", self->pinned);
  json_object_set_member (object, "mounts", mounts_to_json (self));
  root = json_node_init_object (json_node_alloc (), object);
  return json_to_string (root, TRUE);
}

static gboolean
parse_mounts (ClocheSession  *self,
              JsonObject     *object,
              GError        **error)
{
  JsonArray *array = json_object_get_array_member (object, "mounts");

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *entry = json_array_get_object_element (array, i);
      const char *path, *name, *mode;

      path = entry ? json_object_get_string_member_with_default (entry, "path", NULL) : NULL;
      name = entry ? json_object_get_string_member_with_default (entry, "name", NULL) : NULL;
      mode = entry ? json_object_get_string_member_with_default (entry, "mode", "ro") : "ro";
      if (path == NULL || name == NULL)
        {
          g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                       _("mount %u has no \"path\" or \"name\""), i);
          return FALSE;
        }
      g_ptr_array_add (self->mounts,
                       cloche_session_mount_new (path, name, g_strcmp0 (mode, "rw") != 0));
    }
  return TRUE;
}

static gboolean
parse_fields (ClocheSession  *self,
              JsonObject     *object,
              GError        **error)
{
  const char *state = json_object_get_string_member_with_default (object, "state", "");

  if (g_strcmp0 (json_object_get_string_member_with_default (object, "id", NULL), self->id) != 0)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                   _("\"id\" does not match its folder %s"), self->id);
      return FALSE;
    }
  if (!g_str_equal (state, "open") && !g_str_equal (state, "closed"))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                   _("\"state\" is \"%s\", not \"open\" or \"closed\""), state);
      return FALSE;
    }
  self->state = g_str_equal (state, "open") ? CLOCHE_SESSION_STATE_OPEN
                                            : CLOCHE_SESSION_STATE_CLOSED;
  self->title = g_strdup (json_object_get_string_member_with_default (object, "title", ""));
  self->client = g_strdup (json_object_get_string_member_with_default (object, "client", ""));
  self->pinned = json_object_get_boolean_member_with_default (object, "pinned", FALSE);
  return parse_time (object, "created", &self->created, error)
         && parse_time (object, "last_active", &self->last_active, error)
         && parse_mounts (self, object, error);
}

/**
 * cloche_session_new_from_json:
 * @id: the name of the session's folder
 *
 * Returns: (transfer full): the session, or %NULL with
 *   %CLOCHE_ERROR_SESSION_DAMAGED saying what is wrong, line and column
 *   included for JSON that does not parse
 */
ClocheSession *
cloche_session_new_from_json (const char  *id,
                              const char  *json,
                              gsize        length,
                              GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(ClocheSession) self = g_object_new (CLOCHE_TYPE_SESSION, NULL);
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  self->id = g_strdup (id);
  if (!json_parser_load_from_data (parser, json, length, &local_error))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                   _("not valid JSON: %s"), local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                   _("not a JSON object (the file may be empty or cut short)"));
      return NULL;
    }
  if (!parse_fields (self, json_node_get_object (root), error))
    return NULL;
  return g_steal_pointer (&self);
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
 * damaged record has no time of its own: its age is its folder's. */
gboolean
cloche_session_is_stale (ClocheSession *self,
                         gint64         now,
                         guint          stale_after_days)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION (self), FALSE);

  if (self->state == CLOCHE_SESSION_STATE_OPEN)
    return FALSE;
  return cloche_session_stale_rule (self->pinned, self->last_active, now, stale_after_days);
}

/* Stale, for a session that is not open: also for what the index's cache
 * file holds, read without making a session of it. */
gboolean
cloche_session_stale_rule (gboolean pinned,
                           gint64   last_active,
                           gint64   now,
                           guint    stale_after_days)
{
  return !pinned && now - last_active > (gint64) stale_after_days * 24 * 3600 * G_USEC_PER_SEC;
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
