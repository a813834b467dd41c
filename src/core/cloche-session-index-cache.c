/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The index kept across restarts: <sessions folder>.index holds each
 * session's record as last listed (the struct a list sends, staleness
 * included, so that the first list after a start sends it as it is), its
 * size and the stamps of its session.json, folder and work folder. A
 * daemon that starts fills the index from it, then checks every stamp
 * against the disk behind the lists (see cloche-session-store.c): what
 * moved is read or measured again, the rest is not (for 10,000 sessions,
 * 30,000 stats instead of 10,000 records parsed and 10,000 trees walked).
 * The file is a hint, never the truth: one whose header, root or checksum
 * does not match (damaged, cut short, from another folder or version) is
 * ignored whole and the index is built from the disk, as without it; an
 * entry that holds no valid session (every field is checked by the codec,
 * as a record's) is read again from its folder.
 *
 * Layout: a GVariant "(ssay)": a header naming the format and the sessions
 * folder, the SHA-256 of the payload, and the payload, the serialised
 * CACHE_ENTRIES_TYPE (little-endian).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-session-codec.h"
#include "cloche-session-index.h"

#define CACHE_MAGIC        "cloche-session-index 1"
#define CACHE_STAMP_TYPE   "(txxx)"
#define CACHE_ENTRY_TYPE   "(" CLOCHE_SESSION_INFO_TYPE CACHE_STAMP_TYPE CACHE_STAMP_TYPE \
                           CACHE_STAMP_TYPE ")"
#define CACHE_ENTRIES_TYPE "a" CACHE_ENTRY_TYPE
#define CACHE_MAX_BYTES    (256 * 1024 * 1024)

char *
cloche_session_index_cache_path (const char *root)
{
  return g_strconcat (root, ".index", NULL);
}

static char *
cloche_session_index_cache_header (ClocheSessionIndex *index)
{
  return g_strdup_printf ("%s\n%s", CACHE_MAGIC, index->root);
}

static GVariant *
cloche_session_index_cache_stamp_to_variant (const ClocheStamp *stamp)
{
  return g_variant_new ("(txxx)", stamp->ino, stamp->size, stamp->mtime_ns, stamp->ctime_ns);
}

/* The struct as last listed (staleness included) while it still is this
 * record's and size, so that a start can list it as it is; a record listed
 * settled (it says open) is kept as it says. */
static GVariant *
cloche_session_index_cache_entry_info (ClocheIndexEntry *entry)
{
  if (entry->info != NULL && entry->info_session == entry->session
      && entry->info_size == entry->size && !entry->info_settled)
    return g_variant_ref (entry->info);
  return cloche_session_to_info (entry->session, FALSE, entry->size);
}

static GVariant *
cloche_session_index_cache_entry_to_variant (ClocheIndexEntry *entry)
{
  g_autoptr(GVariant) info = cloche_session_index_cache_entry_info (entry);
  GVariant *fields[] = {
    info,
    cloche_session_index_cache_stamp_to_variant (&entry->record),
    cloche_session_index_cache_stamp_to_variant (&entry->folder),
    cloche_session_index_cache_stamp_to_variant (&entry->work),
  };

  return g_variant_new_tuple (fields, G_N_ELEMENTS (fields));
}

/**
 * cloche_session_index_build_cache:
 *
 * Returns: (transfer full): the cache file of @index as it stands
 */
GBytes *
cloche_session_index_build_cache (ClocheSessionIndex *index)
{
  g_autofree GVariant **children = g_new (GVariant *, MAX (g_hash_table_size (index->entries), 1));
  g_autoptr(GVariant) entries = NULL;
  g_autoptr(GVariant) file = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autofree char *checksum = NULL;
  g_autofree char *head = cloche_session_index_cache_header (index);
  GHashTableIter iter;
  ClocheIndexEntry *entry;
  guint n = 0;

  g_hash_table_iter_init (&iter, index->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    if (entry->session != NULL)
      children[n++] = cloche_session_index_cache_entry_to_variant (entry);
  entries = g_variant_ref_sink (g_variant_new_array (G_VARIANT_TYPE (CACHE_ENTRY_TYPE),
                                                     children, n));
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      GVariant *swapped = g_variant_ref_sink (g_variant_byteswap (entries));

      g_variant_unref (entries);
      entries = swapped;
    }
  payload = g_variant_get_data_as_bytes (entries);
  checksum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, payload);
  file = g_variant_ref_sink (g_variant_new ("(ss@ay)", head, checksum,
                                            g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                      payload, TRUE)));
  return g_variant_get_data_as_bytes (file);
}

/* Writes the file (temporary file, fsync, rename) and clears the index's
 * dirty flag. */
gboolean
cloche_session_index_save_cache (ClocheSessionIndex  *index,
                                 GError             **error)
{
  g_autofree char *path = cloche_session_index_cache_path (index->root);
  g_autoptr(GBytes) file = cloche_session_index_build_cache (index);

  if (!g_file_set_contents_full (path, g_bytes_get_data (file, NULL), g_bytes_get_size (file),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return FALSE;
  index->dirty = FALSE;
  return TRUE;
}

/**
 * cloche_session_index_parse_cache:
 * @contents: a cache file's bytes, from anywhere
 *
 * Returns: (transfer full) (nullable): its sessions (CACHE_ENTRIES_TYPE, in
 *   this host's byte order), once its header and checksum say it is whole
 *   and @index's; else %NULL. Checked once as a whole
 *   (cloche_session_variant_new_checked()), each entry then as it is used:
 *   a file with the right checksum may still hold anything.
 */
GVariant *
cloche_session_index_parse_cache (ClocheSessionIndex *index,
                                  GBytes             *contents)
{
  g_autoptr(GVariant) file = NULL;
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *checksum = NULL;
  g_autofree char *head = cloche_session_index_cache_header (index);
  const char *file_head, *file_checksum;

  file = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("(ssay)"), contents,
                                                       FALSE));
  g_variant_get (file, "(&s&s@ay)", &file_head, &file_checksum, &payload);
  bytes = g_variant_get_data_as_bytes (payload);
  checksum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  if (!g_str_equal (file_head, head) || !g_str_equal (file_checksum, checksum))
    return NULL;
  return cloche_session_variant_new_checked (G_VARIANT_TYPE (CACHE_ENTRIES_TYPE), bytes);
}

/* The file at @path, if it is a regular file of a sane size: never a fifo
 * left in its place (the worker would wait forever), never a link. */
static GBytes *
cloche_session_index_cache_read_file (const char  *path,
                                      GError     **error)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  g_autofree char *contents = NULL;
  struct stat st;
  gsize length = 0;
  int error_number = 0;

  if (fd < 0 || fstat (fd, &st) != 0)
    error_number = errno;
  else if (!S_ISREG (st.st_mode) || st.st_size > CACHE_MAX_BYTES)
    error_number = EINVAL;
  else if ((contents = cloche_session_index_read_fd (fd, st.st_size, &length, &error_number)) == NULL)
    error_number = error_number != 0 ? error_number : EIO;
  if (fd >= 0)
    close (fd);
  if (contents == NULL)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (error_number), "%s",
                   error_number == EINVAL ? "not a regular file of at most 256 MiB"
                                          : g_strerror (error_number));
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&contents), length);
}

/* A stamp as the file keeps it: (txxx) is ClocheStamp's own layout, in
 * this host's byte order once the payload is checked, so it is copied as
 * it is (g_variant_get() of 12 numbers cost a tenth of a start). */
static void
cloche_session_index_cache_stamp_from_variant (GVariant    *entry,
                                               gsize        i,
                                               ClocheStamp *stamp)
{
  g_autoptr(GVariant) child = g_variant_get_child_value (entry, i);

  G_STATIC_ASSERT (sizeof (ClocheStamp) == 4 * sizeof (guint64));
  if (g_variant_get_size (child) == sizeof *stamp)
    memcpy (stamp, g_variant_get_data (child), sizeof *stamp);
  else
    *stamp = (ClocheStamp) { 0 };
}

/* Entry @i of the file's sessions (this runs 10,000 times before the
 * first list after a start), or %NULL when it holds no valid session:
 * that one is read again from its folder. */
static ClocheIndexEntry *
cloche_session_index_cache_entry_from_cache (GVariant *entries,
                                             gsize     i)
{
  g_autoptr(GVariant) cached = g_variant_get_child_value (entries, i);
  g_autoptr(GVariant) info = g_variant_get_child_value (cached, 0);
  g_auto(ClocheSessionInfo) fields = { 0 };
  ClocheIndexEntry *entry;

  cloche_session_info_init (&fields, info);
  entry = g_new0 (ClocheIndexEntry, 1);
  entry->session = cloche_session_new_from_fields (&fields, NULL);
  if (entry->session == NULL)
    {
      g_free (entry);
      return NULL;
    }
  cloche_session_index_cache_stamp_from_variant (cached, 1, &entry->record);
  cloche_session_index_cache_stamp_from_variant (cached, 2, &entry->folder);
  cloche_session_index_cache_stamp_from_variant (cached, 3, &entry->work);
  entry->id = g_strdup (fields.id);
  entry->size = fields.size;
  /* The struct as last listed, a slice of the file: the first list after
   * a start copies it as it is unless it changed since. */
  entry->info = g_steal_pointer (&info);
  entry->info_session = g_object_ref (entry->session);
  entry->info_size = fields.size;
  entry->info_stale = fields.stale;
  return entry;
}

/**
 * cloche_session_index_read_cache:
 *
 * Returns: (transfer full) (nullable): the sessions in @index's cache file
 *   (see cloche_session_index_parse_cache()) if there is a sound one; else
 *   %NULL, and why in the log
 */
GVariant *
cloche_session_index_read_cache (ClocheSessionIndex *index)
{
  g_autofree char *path = cloche_session_index_cache_path (index->root);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) contents = cloche_session_index_cache_read_file (path, &error);
  GVariant *entries;

  if (contents == NULL)
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_message ("Session index %s not used: %s", path, error->message);
      return NULL;
    }
  entries = cloche_session_index_parse_cache (index, contents);
  if (entries == NULL)
    g_message ("Session index %s not used: it is damaged, cut short or not this "
               "folder's; the sessions are read from disk", path);
  return entries;
}

/**
 * cloche_session_index_fill:
 * @entries: what cloche_session_index_read_cache() gave
 *
 * Fills an empty @index from its cache file's sessions. The next sync must
 * be a full one: only then is what it holds checked.
 *
 * Returns: how many sessions it holds
 */
guint
cloche_session_index_fill (ClocheSessionIndex *index,
                           GVariant           *entries)
{
  gsize n = g_variant_n_children (entries);

  g_return_val_if_fail (g_hash_table_size (index->entries) == 0, 0);

  for (gsize i = 0; i < n; i++)
    {
      ClocheIndexEntry *entry = cloche_session_index_cache_entry_from_cache (entries, i);

      if (entry == NULL)
        continue;
      if (g_hash_table_contains (index->entries, entry->id))
        {
          cloche_session_index_entry_free (entry);
          continue;
        }
      entry->scan = index->scan;
      g_hash_table_insert (index->entries, entry->id, entry);
    }
  return g_hash_table_size (index->entries);
}
