/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Every form a session takes outside memory, both ways, in one place:
 * ClocheSession ↔ session.json, ClocheSession ↔ the flat struct
 * (CLOCHE_SESSION_INFO_TYPE: what lists send, Get sends and sessions.index
 * keeps), a list of structs ↔ the packed "ay", the struct → clochectl's
 * JSON, and the folders Open asks for.
 *
 * Its rules: what is read is never trusted. session.json goes through
 * cloche_json_check() (the grammar, surrogates, nesting) before json-glib
 * reads it, and every member is type-checked: a wrong type, a time out of
 * range, an unknown state, a mount that is not a plain name under an
 * absolute path is an error naming the member, which the store turns into
 * a damaged record. A missing optional member (title, client, pinned,
 * mounts, version) is its default. A struct read back (sessions.index, a
 * reply) is checked by the same rules. What is written is always valid:
 * a string that is not UTF-8 (a host path can be anything) is made valid
 * rather than handed to GVariant, which would refuse it.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "cloche-error.h"
#include "cloche-json.h"
#include "cloche-session-codec.h"

#define FORMAT_VERSION 1
#define NAME_MAX_BYTES 255

/* Returns: %FALSE, for `return damaged (…)` */
static gboolean cloche_session_damaged (GError     **error,
                                        const char  *format,
                                        ...) G_GNUC_PRINTF (2, 3);

static gboolean
cloche_session_damaged (GError     **error,
                        const char  *format,
                        ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED,
                                                format, args));
  va_end (args);
  return FALSE;
}

/* Shared checks */

static gboolean
cloche_session_check_time (const char  *member,
                           gint64       usec,
                           GError     **error)
{
  if (usec >= 0 && usec <= CLOCHE_SESSION_TIME_MAX)
    return TRUE;
  return cloche_session_damaged (error, _("\"%s\" is not between 1970 and 9999"), member);
}

static gboolean
cloche_session_is_plain_name (const char *name)
{
  return name[0] != '\0' && strchr (name, '/') == NULL && strlen (name) <= NAME_MAX_BYTES
         && !g_str_equal (name, ".") && !g_str_equal (name, "..");
}

static gboolean
cloche_session_check_mount (guint        index,
                            const char  *path,
                            const char  *name,
                            GError     **error)
{
  if (!g_path_is_absolute (path))
    return cloche_session_damaged (error, _("mount %u: \"path\" is not an absolute path"), index);
  if (!cloche_session_is_plain_name (name))
    return cloche_session_damaged (error, _("mount %u: \"name\" is not a plain folder name"),
                                   index);
  return TRUE;
}

static gboolean
cloche_session_check_id (const char  *id,
                         const char  *expected,
                         GError     **error)
{
  if (!cloche_session_id_is_valid (id))
    return cloche_session_damaged (error, _("\"id\" is not a session id"));
  if (expected != NULL && !g_str_equal (id, expected))
    return cloche_session_damaged (error, _("\"id\" does not match its folder %s"), expected);
  return TRUE;
}

/* Strings handed to GVariant must be UTF-8; a host path can be anything. */
static GVariant *
cloche_session_new_string (const char *text)
{
  g_autofree char *valid = NULL;

  if (g_utf8_validate (text, -1, NULL))
    return g_variant_new_string (text);
  valid = g_utf8_make_valid (text, -1);
  return g_variant_new_string (valid);
}

/* session.json: typed members */

static JsonNode *
cloche_session_member (JsonObject *object,
                       const char *name)
{
  return json_object_has_member (object, name) ? json_object_get_member (object, name) : NULL;
}

static gboolean
cloche_session_is_value_of (JsonNode *node,
                            GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* @fallback: %NULL when the member must be there */
static gboolean
cloche_session_read_string (JsonObject  *object,
                            const char  *name,
                            const char  *fallback,
                            const char **value,
                            GError     **error)
{
  JsonNode *node = cloche_session_member (object, name);

  if (node == NULL && fallback != NULL)
    *value = fallback;
  else if (node == NULL)
    return cloche_session_damaged (error, _("\"%s\" is missing"), name);
  else if (!cloche_session_is_value_of (node, G_TYPE_STRING))
    return cloche_session_damaged (error, _("\"%s\" is not a string"), name);
  else
    *value = json_node_get_string (node);
  return TRUE;
}

static gboolean
cloche_session_read_boolean (JsonObject  *object,
                             const char  *name,
                             gboolean    *value,
                             GError     **error)
{
  JsonNode *node = cloche_session_member (object, name);

  *value = FALSE;
  if (node == NULL)
    return TRUE;
  if (!cloche_session_is_value_of (node, G_TYPE_BOOLEAN))
    return cloche_session_damaged (error, _("\"%s\" is not true or false"), name);
  *value = json_node_get_boolean (node);
  return TRUE;
}

static gboolean
cloche_session_read_version (JsonObject  *object,
                             GError     **error)
{
  JsonNode *node = cloche_session_member (object, "version");

  if (node == NULL
      || (cloche_session_is_value_of (node, G_TYPE_INT64)
          && json_node_get_int (node) == FORMAT_VERSION))
    return TRUE;
  return cloche_session_damaged (error, _("\"version\" is not %d, the only one this Cloche reads"),
                                 FORMAT_VERSION);
}

static gboolean
cloche_session_read_time (JsonObject  *object,
                          const char  *name,
                          gint64      *usec,
                          GError     **error)
{
  g_autoptr(GDateTime) time = NULL;
  const char *text;

  if (!cloche_session_read_string (object, name, NULL, &text, error))
    return FALSE;
  time = g_date_time_new_from_iso8601 (text, NULL);
  if (time == NULL)
    return cloche_session_damaged (error, _("\"%s\" is not an ISO 8601 time"), name);
  *usec = g_date_time_to_unix (time) * G_USEC_PER_SEC;
  return cloche_session_check_time (name, *usec, error);
}

static gboolean
cloche_session_read_state (JsonObject          *object,
                           ClocheSessionState  *state,
                           GError             **error)
{
  const char *text;

  if (!cloche_session_read_string (object, "state", NULL, &text, error))
    return FALSE;
  if (!cloche_session_state_from_string (text, state) || *state == CLOCHE_SESSION_STATE_DAMAGED)
    return cloche_session_damaged (error, _("\"state\" is not \"open\" or \"closed\""));
  return TRUE;
}

static gboolean
cloche_session_read_mount (ClocheSession  *session,
                           guint           index,
                           JsonNode       *node,
                           GError        **error)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  const char *path, *name, *mode;

  if (object == NULL)
    return cloche_session_damaged (error, _("mount %u is not an object"), index);
  if (!cloche_session_read_string (object, "path", NULL, &path, NULL)
      || !cloche_session_read_string (object, "name", NULL, &name, NULL))
    return cloche_session_damaged (error,
                                   _("mount %u: \"path\" or \"name\" is missing or not a string"),
                                   index);
  if (!cloche_session_read_string (object, "mode", "ro", &mode, NULL)
      || (!g_str_equal (mode, "ro") && !g_str_equal (mode, "rw")))
    return cloche_session_damaged (error, _("mount %u: \"mode\" is not \"ro\" or \"rw\""), index);
  if (!cloche_session_check_mount (index, path, name, error))
    return FALSE;
  cloche_session_add_mount (session,
                            cloche_session_mount_new (path, name, g_str_equal (mode, "ro")));
  return TRUE;
}

static gboolean
cloche_session_read_mounts (JsonObject     *object,
                            ClocheSession  *session,
                            GError        **error)
{
  JsonNode *node = cloche_session_member (object, "mounts");
  JsonArray *array;

  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return cloche_session_damaged (error, _("\"mounts\" is not a list"));
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (!cloche_session_read_mount (session, i, json_array_get_element (array, i), error))
      return FALSE;
  return TRUE;
}

static ClocheSession *
cloche_session_read_record (JsonObject  *object,
                            const char  *id,
                            GError     **error)
{
  g_autoptr(ClocheSession) session = NULL;
  const char *record_id, *title, *client;
  ClocheSessionState state;
  gint64 created, last_active;
  gboolean pinned;

  if (!cloche_session_read_version (object, error)
      || !cloche_session_read_string (object, "id", NULL, &record_id, error)
      || !cloche_session_check_id (record_id, id, error)
      || !cloche_session_read_state (object, &state, error)
      || !cloche_session_read_string (object, "title", "", &title, error)
      || !cloche_session_read_string (object, "client", "", &client, error)
      || !cloche_session_read_boolean (object, "pinned", &pinned, error)
      || !cloche_session_read_time (object, "created", &created, error)
      || !cloche_session_read_time (object, "last_active", &last_active, error))
    return NULL;
  session = cloche_session_new_record (id, title, client, created, last_active, state, pinned);
  if (!cloche_session_read_mounts (object, session, error))
    return NULL;
  return g_steal_pointer (&session);
}

/* "2:17: problem": the line and column (in bytes) of @offset in @text. */
static char *
cloche_session_locate (const char *text,
                       gsize       offset,
                       const char *problem)
{
  guint line = 1;
  gsize line_start = 0;

  for (gsize i = 0; i < offset; i++)
    if (text[i] == '\n')
      {
        line++;
        line_start = i + 1;
      }
  return g_strdup_printf ("%u:%" G_GSIZE_FORMAT ": %s", line, offset - line_start + 1, problem);
}

static gboolean
cloche_session_is_blank (const char *text)
{
  while (g_ascii_isspace (*text))
    text++;
  return *text == '\0';
}

/* What json-glib must never see: a NUL (it would read up to it), and
 * what cloche_json_check() refuses. */
static gboolean
cloche_session_check_syntax (const char  *json,
                             gsize        length,
                             GError     **error)
{
  g_autofree char *where = NULL;
  const char *problem;
  gsize offset = 0;

  if (memchr (json, '\0', length) != NULL)
    return cloche_session_damaged (error, _("it holds a NUL byte"));
  if (cloche_session_is_blank (json))
    return cloche_session_damaged (error,
                                   _("not a JSON object (the file may be empty or cut short)"));
  if ((problem = cloche_json_check (json, &offset)) == NULL)
    return TRUE;
  where = cloche_session_locate (json, offset, problem);
  return cloche_session_damaged (error, _("not valid JSON: %s"), where);
}

/* The object in @json, checked before json-glib reads it. */
static JsonNode *
cloche_session_parse_object (const char  *json,
                             gsize        length,
                             GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  if (!cloche_session_check_syntax (json, length, error))
    return NULL;
  if (!json_parser_load_from_data (parser, json, length, &local_error))
    {
      cloche_session_damaged (error, _("not valid JSON: %s"), local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      cloche_session_damaged (error, _("not a JSON object (the file may be empty or cut short)"));
      return NULL;
    }
  return json_node_ref (root);
}

/**
 * cloche_session_new_from_json:
 * @id: the name of the session's folder
 * @json: the file's bytes, NUL-terminated after @length
 *
 * Returns: (transfer full): the session, or %NULL with
 *   %CLOCHE_ERROR_SESSION_DAMAGED saying what is wrong (line and column
 *   for JSON that does not parse, the member otherwise)
 */
ClocheSession *
cloche_session_new_from_json (const char  *id,
                              const char  *json,
                              gsize        length,
                              GError     **error)
{
  g_autoptr(JsonNode) root = cloche_session_parse_object (json, length, error);

  if (root == NULL)
    return NULL;
  return cloche_session_read_record (json_node_get_object (root), id, error);
}

static char *
cloche_session_format_time (gint64 usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  return g_date_time_format_iso8601 (time);
}

static JsonNode *
cloche_session_mounts_to_json (ClocheSession *session)
{
  GPtrArray *mounts = cloche_session_get_mounts (session);
  g_autoptr(JsonArray) array = json_array_new ();

  for (guint i = 0; i < mounts->len; i++)
    {
      ClocheSessionMount *mount = g_ptr_array_index (mounts, i);
      JsonObject *object = json_object_new ();

      json_object_set_string_member (object, "path", mount->path);
      json_object_set_string_member (object, "name", mount->name);
      json_object_set_string_member (object, "mode", mount->readonly ? "ro" : "rw");
      json_array_add_object_element (array, object);
    }
  return json_node_init_array (json_node_alloc (), array);
}

/* Returns: (transfer full): @session's session.json; never for a damaged one */
char *
cloche_session_to_json (ClocheSession *session)
{
  g_autoptr(JsonObject) object = json_object_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *created = NULL;
  g_autofree char *last_active = NULL;
  ClocheSessionState state = cloche_session_get_state (session);

  g_return_val_if_fail (state != CLOCHE_SESSION_STATE_DAMAGED, NULL);

  created = cloche_session_format_time (cloche_session_get_created (session));
  last_active = cloche_session_format_time (cloche_session_get_last_active (session));
  json_object_set_int_member (object, "version", FORMAT_VERSION);
  json_object_set_string_member (object, "id", cloche_session_get_id (session));
  json_object_set_string_member (object, "title", cloche_session_get_title (session));
  json_object_set_string_member (object, "client", cloche_session_get_client (session));
  json_object_set_string_member (object, "created", created);
  json_object_set_string_member (object, "last_active", last_active);
  json_object_set_string_member (object, "state", cloche_session_state_to_string (state));
  json_object_set_boolean_member (object, "pinned", cloche_session_get_pinned (session));
  json_object_set_member (object, "mounts", cloche_session_mounts_to_json (session));
  root = json_node_init_object (json_node_alloc (), object);
  return json_to_string (root, TRUE);
}

/* The struct */

/* Field @i of a struct; a string points into the struct's own bytes. */
static const char *
cloche_session_field_string (GVariant *session,
                             gsize     i)
{
  g_autoptr(GVariant) child = g_variant_get_child_value (session, i);

  return g_variant_get_string (child, NULL);
}

static gint64
cloche_session_field_int64 (GVariant *session,
                            gsize     i)
{
  g_autoptr(GVariant) child = g_variant_get_child_value (session, i);

  return g_variant_get_int64 (child);
}

static gboolean
cloche_session_field_boolean (GVariant *session,
                              gsize     i)
{
  g_autoptr(GVariant) child = g_variant_get_child_value (session, i);

  return g_variant_get_boolean (child);
}

/*
 * @session: CLOCHE_SESSION_INFO_TYPE
 *
 * Field by field: g_variant_get() with the struct's format string cost a
 * quarter of clochectl's CPU in a list of 10,000 (and as much of a start
 * reading sessions.index), scanning the format for every session.
 */
void
cloche_session_info_init (ClocheSessionInfo *info,
                          GVariant          *session)
{
  g_autoptr(GVariant) size = NULL;

  g_return_if_fail (g_variant_is_of_type (session, G_VARIANT_TYPE (CLOCHE_SESSION_INFO_TYPE)));

  info->id = cloche_session_field_string (session, 0);
  info->title = cloche_session_field_string (session, 1);
  info->client = cloche_session_field_string (session, 2);
  info->created = cloche_session_field_int64 (session, 3);
  info->last_active = cloche_session_field_int64 (session, 4);
  info->state = cloche_session_field_string (session, 5);
  info->damage = cloche_session_field_string (session, 6);
  info->pinned = cloche_session_field_boolean (session, 7);
  info->mounts = g_variant_get_child_value (session, 8);
  info->stale = cloche_session_field_boolean (session, 9);
  size = g_variant_get_child_value (session, 10);
  info->size = g_variant_get_uint64 (size);
}

void
cloche_session_info_clear (ClocheSessionInfo *info)
{
  g_clear_pointer (&info->mounts, g_variant_unref);
}

static GVariant *
cloche_session_mounts_to_variant (ClocheSession *session)
{
  GPtrArray *mounts = cloche_session_get_mounts (session);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ssb)"));
  for (guint i = 0; i < mounts->len; i++)
    {
      ClocheSessionMount *mount = g_ptr_array_index (mounts, i);

      g_variant_builder_add (&builder, "(@s@sb)", cloche_session_new_string (mount->path),
                             cloche_session_new_string (mount->name), mount->readonly);
    }
  return g_variant_builder_end (&builder);
}

/**
 * cloche_session_to_info:
 *
 * Returns: (transfer full): @session as CLOCHE_SESSION_INFO_TYPE, already
 *   serialised (one block of memory, cheap to copy into an array)
 */
GVariant *
cloche_session_to_info (ClocheSession *session,
                        gboolean       stale,
                        guint64        size)
{
  const char *damage = cloche_session_get_damage (session);
  GVariant *fields[] = {
    cloche_session_new_string (cloche_session_get_id (session)),
    cloche_session_new_string (cloche_session_get_title (session)),
    cloche_session_new_string (cloche_session_get_client (session)),
    g_variant_new_int64 (cloche_session_get_created (session)),
    g_variant_new_int64 (cloche_session_get_last_active (session)),
    g_variant_new_string (cloche_session_state_to_string (cloche_session_get_state (session))),
    cloche_session_new_string (damage != NULL ? damage : ""),
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

static gboolean
cloche_session_add_info_mounts (ClocheSession  *session,
                                GVariant       *mounts,
                                GError        **error)
{
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly;
  guint i = 0;

  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    {
      if (!cloche_session_check_mount (i++, path, name, error))
        return FALSE;
      cloche_session_add_mount (session, cloche_session_mount_new (path, name, readonly));
    }
  return TRUE;
}

/* A damaged record has a reason, and only a damaged one. */
static gboolean
cloche_session_check_info_state (ClocheSessionInfo   *fields,
                                 ClocheSessionState  *state,
                                 GError             **error)
{
  if (cloche_session_state_from_string (fields->state, state)
      && (*state == CLOCHE_SESSION_STATE_DAMAGED) == (fields->damage[0] != '\0'))
    return TRUE;
  return cloche_session_damaged (error,
                                 _("\"state\" is not \"open\", \"closed\", or \"damaged\" with a "
                                   "reason"));
}

/**
 * cloche_session_new_from_fields:
 * @fields: a struct read with cloche_session_info_init(), from anywhere
 *
 * Returns: (transfer full) (nullable): the session, or %NULL with
 *   %CLOCHE_ERROR_SESSION_DAMAGED when @fields hold no valid one
 */
ClocheSession *
cloche_session_new_from_fields (ClocheSessionInfo  *fields,
                                GError            **error)
{
  g_autoptr(ClocheSession) session = NULL;
  ClocheSessionState state;

  if (!cloche_session_check_id (fields->id, NULL, error)
      || !cloche_session_check_time ("created", fields->created, error)
      || !cloche_session_check_time ("last-active", fields->last_active, error)
      || !cloche_session_check_info_state (fields, &state, error))
    return NULL;
  if (state == CLOCHE_SESSION_STATE_DAMAGED)
    return cloche_session_new_damaged (fields->id, fields->damage, fields->last_active);
  session = cloche_session_new_record (fields->id, fields->title, fields->client,
                                       fields->created, fields->last_active, state,
                                       fields->pinned);
  if (!cloche_session_add_info_mounts (session, fields->mounts, error))
    return NULL;
  return g_steal_pointer (&session);
}

/**
 * cloche_session_new_from_info:
 * @info: CLOCHE_SESSION_INFO_TYPE, from anywhere (sessions.index, a reply)
 *
 * Returns: (transfer full) (nullable): the session, or %NULL with
 *   %CLOCHE_ERROR_SESSION_DAMAGED when @info holds no valid one
 */
ClocheSession *
cloche_session_new_from_info (GVariant  *info,
                              GError   **error)
{
  g_auto(ClocheSessionInfo) fields = { 0 };

  if (!g_variant_is_of_type (info, G_VARIANT_TYPE (CLOCHE_SESSION_INFO_TYPE)))
    {
      cloche_session_damaged (error, _("not a session"));
      return NULL;
    }
  cloche_session_info_init (&fields, info);
  return cloche_session_new_from_fields (&fields, error);
}

/* Packed */

/**
 * cloche_session_infos_pack:
 * @infos: (element-type GVariant): CLOCHE_SESSION_INFO_TYPE each
 *
 * Returns: (transfer full): CLOCHE_SESSION_INFOS_TYPE serialised,
 *   little-endian, as the Sessions interface sends it: D-Bus copies one
 *   block of bytes where it would convert an array of structs value by
 *   value on each side
 */
GBytes *
cloche_session_infos_pack (GPtrArray *infos)
{
  g_autoptr(GVariant) array = NULL;

  array = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE (CLOCHE_SESSION_INFO_TYPE),
                                                   (GVariant **) infos->pdata, infos->len));
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      GVariant *swapped = g_variant_ref_sink (g_variant_byteswap (array));

      g_variant_unref (array);
      array = swapped;
    }
  return g_variant_get_data_as_bytes (array);
}

/**
 * cloche_session_variant_new_checked:
 * @type: what @bytes should hold
 * @bytes: bytes from anywhere (a D-Bus reply, a file)
 *
 * Checks @bytes once as a whole. GLib 2.74 checks an untrusted array's
 * framing again from its start at each element read: reading 10,000
 * sessions one by one cost 50 million checks, more than building their
 * JSON. In normal form, @bytes are used as they are (no copy); in any other,
 * GVariant's normal form of them is (a copy, malformed parts read as empty).
 *
 * Returns: (transfer full): a value of @type, in this host's byte order
 */
GVariant *
cloche_session_variant_new_checked (const GVariantType *type,
                                    GBytes             *bytes)
{
  g_autoptr(GVariant) untrusted = g_variant_ref_sink (g_variant_new_from_bytes (type, bytes, FALSE));
  GVariant *value;

  if (g_variant_is_normal_form (untrusted))
    value = g_variant_ref_sink (g_variant_new_from_bytes (type, bytes, TRUE));
  else
    value = g_variant_get_normal_form (untrusted);
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      GVariant *swapped = g_variant_ref_sink (g_variant_byteswap (value));

      g_variant_unref (value);
      value = swapped;
    }
  return value;
}

/**
 * cloche_session_infos_unpack:
 * @packed: "ay", as the Sessions interface sends its lists
 *
 * Returns: (transfer full): CLOCHE_SESSION_INFOS_TYPE, checked once
 *   (cloche_session_variant_new_checked())
 */
GVariant *
cloche_session_infos_unpack (GVariant *packed)
{
  g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (packed);

  return cloche_session_variant_new_checked (G_VARIANT_TYPE (CLOCHE_SESSION_INFOS_TYPE), bytes);
}

/* clochectl's JSON: built as objects directly, a third cheaper than
 * through a JsonBuilder for a list of 10,000 */

static JsonArray *
cloche_session_mounts_to_json_array (GVariant *mounts)
{
  JsonArray *array = json_array_sized_new (g_variant_n_children (mounts));
  GVariantIter iter;
  const char *path, *name;
  gboolean readonly;

  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&s&sb)", &path, &name, &readonly))
    {
      JsonArray *mount = json_array_sized_new (3);

      json_array_add_string_element (mount, path);
      json_array_add_string_element (mount, name);
      json_array_add_boolean_element (mount, readonly);
      json_array_add_array_element (array, mount);
    }
  return array;
}

/**
 * cloche_session_info_set_json:
 * @object: an empty object, or one this filled before
 * @info: CLOCHE_SESSION_INFO_TYPE
 *
 * Sets @info's members on @object, named and ordered as the struct's
 * fields, strings as they are (a script gets the raw title; only a
 * terminal gets it sanitised). Members set again keep their place, so one
 * object serves a list of 10,000 (a new one each, its hash table grown
 * and freed, cost a tenth of clochectl's CPU).
 */
void
cloche_session_info_set_json (JsonObject *object,
                              GVariant   *info)
{
  g_auto(ClocheSessionInfo) fields = { 0 };

  cloche_session_info_init (&fields, info);
  json_object_set_string_member (object, "id", fields.id);
  json_object_set_string_member (object, "title", fields.title);
  json_object_set_string_member (object, "client", fields.client);
  json_object_set_int_member (object, "created", fields.created);
  json_object_set_int_member (object, "last-active", fields.last_active);
  json_object_set_string_member (object, "state", fields.state);
  json_object_set_string_member (object, "damage", fields.damage);
  json_object_set_boolean_member (object, "pinned", fields.pinned);
  json_object_set_array_member (object, "mounts",
                                cloche_session_mounts_to_json_array (fields.mounts));
  json_object_set_boolean_member (object, "stale", fields.stale);
  json_object_set_int_member (object, "size", (gint64) MIN (fields.size, (guint64) G_MAXINT64));
}

/**
 * cloche_session_info_to_json:
 * @info: CLOCHE_SESSION_INFO_TYPE
 *
 * Returns: (transfer full): the session as the object clochectl prints
 *   (cloche_session_info_set_json())
 */
JsonNode *
cloche_session_info_to_json (GVariant *info)
{
  g_autoptr(JsonObject) object = json_object_new ();

  cloche_session_info_set_json (object, info);
  return json_node_init_object (json_node_alloc (), object);
}

/* Open's folders */

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
                   _("\"mounts\" must be a(sb) (path, read-only), not %s"),
                   g_variant_get_type_string (mounts));
      return NULL;
    }
  g_variant_iter_init (&iter, mounts);
  while (g_variant_iter_next (&iter, "(&sb)", &path, &readonly))
    g_ptr_array_add (requests, cloche_session_mount_new (path, NULL, readonly));
  return g_steal_pointer (&requests);
}
