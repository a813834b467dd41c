/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A bundle's manifest.json, read strictly: the one reader of the format,
 * for booting (ClocheBundle), install, verify, relocate, remove and the
 * doctor. The raw bytes are kept so that an install writes the manifest it
 * checked against, byte for byte.
 *
 * The rules, because a manifest comes from a download or a folder someone
 * else can write:
 * - the text is strict JSON (cloche-json-locator.c: nesting bounded, no
 *   name given twice, no number json-glib would change), at most 1 MiB,
 *   and every problem names the file, and the line and column when there
 *   is one;
 * - every member has its type; a missing or mistyped one is an error;
 * - every file is a plain name in the bundle folder (no "/", no "..", not
 *   the manifest itself, no control character), listed once, with a size
 *   and a sha256;
 * - every file a boot uses ("kernel", "initrd", and "root" for a disk
 *   bundle) is one of those listed files, so that verify and install hash
 *   it and nothing outside the bundle can be named;
 * - numbers are in range: sizes add up within 63 bits, "memory_mib" within
 *   what the policy allows, the kernel command line within what Linux
 *   reads.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <fcntl.h>
#include <json-glib/json-glib.h>

#include "cloche-bundle-manifest.h"
#include "cloche-error.h"
#include "cloche-file.h"
#include "cloche-json.h"
#include "cloche-json-locator.h"

/* Linux's COMMAND_LINE_SIZE on x86, its terminating NUL included. */
#define MAX_CMDLINE 2047
#define MIN_MEMORY_MIB 128
#define MAX_MEMORY_MIB 65536
#define DEFAULT_MEMORY_MIB 512

struct _ClocheBundleManifest
{
  GObject    parent_instance;
  GBytes    *bytes;
  char      *name;
  char      *version;
  char      *kernel;
  char      *initrd;
  char      *root;            /* a disk bundle's root image; NULL: initramfs */
  char      *cmdline;
  guint      memory_mib;
  GArray    *files;           /* of ClocheBundleFile */
  guint64    total_size;
};

G_DEFINE_FINAL_TYPE (ClocheBundleManifest, cloche_bundle_manifest, G_TYPE_OBJECT)

static void
cloche_bundle_manifest_bundle_file_clear (gpointer data)
{
  ClocheBundleFile *file = data;

  g_free (file->path);
  g_free (file->sha256);
}

static gboolean
cloche_bundle_manifest_is_sha256 (const char *text)
{
  if (text == NULL || strlen (text) != 64)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

/* Text shown to people as it is (names, versions, file names): UTF-8 with
 * no control character, so that it cannot act on a terminal. */
static gboolean
cloche_bundle_manifest_is_printable (const char *text)
{
  if (text == NULL || !g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

/* Flat names only: the bundle is one folder, and a name must never reach
 * out of it (no "/", no "..") nor replace the manifest itself. */
static gboolean
cloche_bundle_manifest_is_plain_name (const char *name)
{
  return cloche_bundle_manifest_is_printable (name) && name[0] != '\0' && strchr (name, '/') == NULL
         && !g_str_equal (name, ".") && !g_str_equal (name, "..")
         && !g_str_equal (name, "manifest.json") && name[0] != '.';
}

static gboolean G_GNUC_PRINTF (3, 4)
cloche_bundle_manifest_invalid (GError     **error,
                                const char  *origin,
                                const char  *format,
                                ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
               /* Translators: "The bundle manifest FILE has no "name"; use …" */
               _("The bundle manifest %s %s; use a manifest made by tools/build-bundle"),
               origin, what);
  return FALSE;
}

/* A member that must be a string of printable text. */
static gboolean
cloche_bundle_manifest_read_string (JsonObject  *object,
                                    const char  *member,
                                    char       **target,
                                    const char  *origin,
                                    GError     **error)
{
  const char *value = cloche_json_get_string (object, member, NULL);

  if ((value == NULL || value[0] == '\0') && json_object_has_member (object, member))
    return cloche_bundle_manifest_invalid (error, origin, _("has a \"%s\" that is not a text"),
                                           member);
  if (value == NULL || value[0] == '\0')
    return cloche_bundle_manifest_invalid (error, origin, _("has no \"%s\""), member);
  if (!cloche_bundle_manifest_is_printable (value))
    return cloche_bundle_manifest_invalid (error, origin, _("has a \"%s\" with control characters"),
                                           member);
  *target = g_strdup (value);
  return TRUE;
}

static const ClocheBundleFile *
cloche_bundle_manifest_find_file_internal (ClocheBundleManifest *self,
                                           const char           *name)
{
  for (guint i = 0; i < self->files->len; i++)
    if (g_str_equal (g_array_index (self->files, ClocheBundleFile, i).path, name))
      return &g_array_index (self->files, ClocheBundleFile, i);
  return NULL;
}

static gboolean
cloche_bundle_manifest_add_file (ClocheBundleManifest  *self,
                                 JsonNode              *node,
                                 const char            *origin,
                                 GError               **error)
{
  ClocheBundleFile file = { 0 };
  JsonObject *entry;
  gint64 size;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return cloche_bundle_manifest_invalid (error, origin,
                                           _("has a file entry that is not an object"));
  entry = json_node_get_object (node);
  file.path = (char *) cloche_json_get_string (entry, "path", NULL);
  size = cloche_json_get_int (entry, "size", -1);
  file.sha256 = (char *) cloche_json_get_string (entry, "sha256", NULL);
  if (!cloche_bundle_manifest_is_plain_name (file.path))
    {
      g_autofree char *shown = g_strescape (file.path != NULL ? file.path : "", NULL);

      return cloche_bundle_manifest_invalid (error, origin,
                                             _("lists a file with a bad name: \"%s\""), shown);
    }
  if (cloche_bundle_manifest_find_file_internal (self, file.path) != NULL)
    return cloche_bundle_manifest_invalid (error, origin, _("lists %s twice"), file.path);
  if (size < 0 || !cloche_bundle_manifest_is_sha256 (file.sha256))
    return cloche_bundle_manifest_invalid (error, origin,
                                           _("gives %s no size or no sha256 (64 lowercase hex "
                                             "digits)"),
                                           file.path);
  if ((guint64) size > (guint64) G_MAXINT64 - self->total_size)
    return cloche_bundle_manifest_invalid (error, origin,
                                           _("lists files larger than any disk together"));
  file.path = g_strdup (file.path);
  file.size = (guint64) size;
  file.sha256 = g_strdup (file.sha256);
  self->total_size += file.size;
  g_array_append_val (self->files, file);
  return TRUE;
}

static gboolean
cloche_bundle_manifest_read_files (ClocheBundleManifest  *self,
                                   JsonObject            *object,
                                   const char            *origin,
                                   GError               **error)
{
  JsonNode *node = json_object_get_member (object, "files");
  JsonArray *files;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return cloche_bundle_manifest_invalid (error, origin, _("has no \"files\" list"));
  files = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (files); i++)
    if (!cloche_bundle_manifest_add_file (self, json_array_get_element (files, i), origin, error))
      return FALSE;
  if (self->files->len == 0)
    return cloche_bundle_manifest_invalid (error, origin, _("lists no files"));
  return TRUE;
}

/* A file the boot hands QEMU: one of the listed files, so that it is
 * hashed by install and verify and checked before each boot. A path out
 * of the bundle ("../../tmp/evil/initrd.img") names no listed file. */
static gboolean
cloche_bundle_manifest_read_boot_file (ClocheBundleManifest  *self,
                                       JsonObject            *object,
                                       const char            *member,
                                       char                 **target,
                                       const char            *origin,
                                       GError               **error)
{
  if (!cloche_bundle_manifest_read_string (object, member, target, origin, error))
    return FALSE;
  if (cloche_bundle_manifest_find_file_internal (self, *target) != NULL)
    return TRUE;
  if (!cloche_bundle_manifest_is_plain_name (*target))
    return cloche_bundle_manifest_invalid (error, origin,
                                           _("names \"%s\" as its %s: a file of the bundle is a "
                                             "plain name in its folder, listed in \"files\""),
                                           *target, member);
  return cloche_bundle_manifest_invalid (error, origin,
                                         _("names %s as its %s but does not list it in \"files\""),
                                         *target, member);
}

/* "kind": absent or "initramfs" (the whole guest in the initrd), or
 * "disk" (a root image, named by "root", booted on a throw-away overlay).
 * A kind this version does not know would boot wrong, so it is refused. */
static gboolean
cloche_bundle_manifest_read_kind (ClocheBundleManifest  *self,
                                  JsonObject            *object,
                                  const char            *origin,
                                  GError               **error)
{
  const char *kind = cloche_json_get_string (object, "kind", NULL);
  g_autofree char *shown = NULL;

  if (!json_object_has_member (object, "kind") || g_strcmp0 (kind, "initramfs") == 0)
    return TRUE;
  if (g_strcmp0 (kind, "disk") == 0)
    return cloche_bundle_manifest_read_boot_file (self, object, "root", &self->root, origin, error);
  shown = kind != NULL ? g_strescape (kind, NULL) : g_strdup ("?");
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
               _("The bundle manifest %s is of kind \"%s\", which this version of Cloche "
                 "cannot boot (it knows \"initramfs\" and \"disk\"): install a bundle made "
                 "for it or update Cloche"), origin, shown);
  return FALSE;
}

static gboolean
cloche_bundle_manifest_read_boot (ClocheBundleManifest  *self,
                                  JsonObject            *object,
                                  const char            *origin,
                                  GError               **error)
{
  JsonNode *memory = json_object_get_member (object, "memory_mib");
  gint64 memory_mib = cloche_json_get_int (object, "memory_mib", -1);

  if (!cloche_bundle_manifest_read_boot_file (self, object, "kernel", &self->kernel, origin, error)
      || !cloche_bundle_manifest_read_boot_file (self, object, "initrd", &self->initrd, origin,
                                                 error)
      || !cloche_bundle_manifest_read_string (object, "cmdline", &self->cmdline, origin, error)
      || !cloche_bundle_manifest_read_kind (self, object, origin, error))
    return FALSE;
  if (strlen (self->cmdline) > MAX_CMDLINE)
    return cloche_bundle_manifest_invalid (error, origin,
                                           _("has a \"cmdline\" longer than the %d bytes Linux "
                                             "reads"),
                                           MAX_CMDLINE);
  if (memory != NULL && (memory_mib < MIN_MEMORY_MIB || memory_mib > MAX_MEMORY_MIB))
    return cloche_bundle_manifest_invalid (error, origin,
                                           _("has a \"memory_mib\" that is not a whole number "
                                             "from %d to %d"), MIN_MEMORY_MIB, MAX_MEMORY_MIB);
  self->memory_mib = memory != NULL ? (guint) memory_mib : DEFAULT_MEMORY_MIB;
  return TRUE;
}

static gboolean
cloche_bundle_manifest_read_object (ClocheBundleManifest  *self,
                                    JsonObject            *object,
                                    const char            *origin,
                                    GError               **error)
{
  return cloche_bundle_manifest_read_string (object, "name", &self->name, origin, error)
         && cloche_bundle_manifest_read_string (object, "version", &self->version, origin, error)
         && cloche_bundle_manifest_read_files (self, object, origin, error)
         && cloche_bundle_manifest_read_boot (self, object, origin, error);
}

/* The text checked by our strict scanner before json-glib builds a tree:
 * json-glib recurses per level, keeps the last of two equal names and
 * silently wraps numbers past 64 bits. */
static JsonObject *
cloche_bundle_manifest_parse_text (GBytes      *bytes,
                                   const char  *origin,
                                   GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *message = NULL;
  ClocheJsonPosition where = { 0, 0 };
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);
  JsonNode *root;

  if (length > CLOCHE_BUNDLE_MANIFEST_MAX_SIZE)
    {
      cloche_bundle_manifest_invalid (error, origin,
                                      _("is larger than 1 MiB, which no manifest is"));
      return NULL;
    }
  if (!cloche_json_check_syntax (data, length, &where, &path, &message))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle manifest %s is not valid JSON: %u:%u: %s; reinstall the bundle"),
                   origin, where.line, where.column, message);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data != NULL ? data : "", length, &local_error))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                   _("The bundle manifest %s is not valid JSON: %s"), origin, local_error->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      cloche_bundle_manifest_invalid (error, origin, _("is not a JSON object"));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/**
 * cloche_bundle_manifest_new_from_bytes:
 * @origin: where @bytes came from (a path or URL), for error messages
 *
 * Returns: (transfer full): the manifest, or %NULL with
 *   %CLOCHE_ERROR_BUNDLE_INVALID saying what is wrong, and where
 */
ClocheBundleManifest *
cloche_bundle_manifest_new_from_bytes (GBytes      *bytes,
                                       const char  *origin,
                                       GError     **error)
{
  g_autoptr(ClocheBundleManifest) self = g_object_new (CLOCHE_TYPE_BUNDLE_MANIFEST, NULL);
  g_autoptr(JsonObject) object = cloche_bundle_manifest_parse_text (bytes, origin, error);

  if (object == NULL || !cloche_bundle_manifest_read_object (self, object, origin, error))
    return NULL;
  self->bytes = g_bytes_ref (bytes);
  return g_steal_pointer (&self);
}

/**
 * cloche_bundle_manifest_load:
 *
 * Reads @dir/manifest.json: a regular file, not a link, at most 1 MiB.
 *
 * Returns: the manifest of the bundle in @dir, or %NULL with
 *   %CLOCHE_ERROR_BUNDLE_MISSING when @dir holds none
 */
ClocheBundleManifest *
cloche_bundle_manifest_load (const char  *dir,
                             GError     **error)
{
  g_autofree char *path = g_build_filename (dir, "manifest.json", NULL);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  bytes = cloche_file_read (AT_FDCWD, path, CLOCHE_BUNDLE_MANIFEST_MAX_SIZE,
                            _("bundle manifest"), CLOCHE_FILE_NO_FOLLOW, &local_error);
  if (bytes == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING,
                     _("No sandbox bundle is installed at %s"), dir);
      else
        g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID,
                     _("Cannot read %s: %s"), path, local_error->message);
      return NULL;
    }
  return cloche_bundle_manifest_new_from_bytes (bytes, path, error);
}

GBytes *
cloche_bundle_manifest_get_bytes (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->bytes;
}

const char *
cloche_bundle_manifest_get_name (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->name;
}

const char *
cloche_bundle_manifest_get_version (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->version;
}

const char *
cloche_bundle_manifest_get_kernel (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->kernel;
}

const char *
cloche_bundle_manifest_get_initrd (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->initrd;
}

/* NULL for an initramfs bundle. */
const char *
cloche_bundle_manifest_get_root (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->root;
}

const char *
cloche_bundle_manifest_get_cmdline (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return self->cmdline;
}

guint
cloche_bundle_manifest_get_memory_mib (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), 0);
  return self->memory_mib;
}

/**
 * cloche_bundle_manifest_find_file:
 *
 * Returns: (nullable): the entry of the file called @name
 */
const ClocheBundleFile *
cloche_bundle_manifest_find_file (ClocheBundleManifest *self,
                                  const char           *name)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  return cloche_bundle_manifest_find_file_internal (self, name);
}

guint
cloche_bundle_manifest_get_n_files (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), 0);
  return self->files->len;
}

const ClocheBundleFile *
cloche_bundle_manifest_get_file (ClocheBundleManifest *self,
                                 guint                 index)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), NULL);
  g_return_val_if_fail (index < self->files->len, NULL);
  return &g_array_index (self->files, ClocheBundleFile, index);
}

/* Apparent bytes of all listed files, the manifest itself not counted. */
guint64
cloche_bundle_manifest_get_total_size (ClocheBundleManifest *self)
{
  g_return_val_if_fail (CLOCHE_IS_BUNDLE_MANIFEST (self), 0);
  return self->total_size;
}

static void
cloche_bundle_manifest_finalize (GObject *object)
{
  ClocheBundleManifest *self = CLOCHE_BUNDLE_MANIFEST (object);

  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->files, g_array_unref);
  g_free (self->name);
  g_free (self->version);
  g_free (self->kernel);
  g_free (self->initrd);
  g_free (self->root);
  g_free (self->cmdline);

  G_OBJECT_CLASS (cloche_bundle_manifest_parent_class)->finalize (object);
}

static void
cloche_bundle_manifest_class_init (ClocheBundleManifestClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_bundle_manifest_finalize;
}

static void
cloche_bundle_manifest_init (ClocheBundleManifest *self)
{
  self->files = g_array_new (FALSE, TRUE, sizeof (ClocheBundleFile));
  g_array_set_clear_func (self->files, cloche_bundle_manifest_bundle_file_clear);
}
