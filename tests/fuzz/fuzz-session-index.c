/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * sessions.index as anyone could leave it: the daemon fills its index from
 * it at every start. The checksum is integrity, not a secret, so the bytes
 * are tried both as a whole file and as the payload of a file made sound
 * around them (the first byte chooses). Whatever they are, the index fills
 * with valid sessions only, lists them, and writes a file that reads back
 * to as many sessions.
 */
#include "config.h"

#include "cloche-fuzz.h"
#include "cloche-session-codec.h"
#include "cloche-session-index.h"

#define ROOT "/nonexistent/cloche/sessions"

/* A file whose header and checksum are right, around @payload. */
static GBytes *
sound_file (const uint8_t *payload,
            size_t         size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (payload, size);
  g_autofree char *checksum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  g_autofree char *head = g_strdup_printf ("cloche-session-index 1\n%s", ROOT);
  g_autoptr(GVariant) file = NULL;

  file = g_variant_ref_sink (g_variant_new ("(ss@ay)", head, checksum,
                                            g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                      bytes, TRUE)));
  return g_variant_get_data_as_bytes (file);
}

/* Every entry filled is a valid session, listed without a critical. */
static guint
fill_and_list (ClocheSessionIndex *index,
               GVariant           *entries)
{
  guint n = cloche_session_index_fill (index, entries);
  GHashTableIter iter;
  ClocheIndexEntry *entry;
  gboolean built = FALSE;

  g_hash_table_iter_init (&iter, index->entries);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    {
      g_autoptr(ClocheSession) listed = cloche_session_settle (entry->session, NULL);
      g_autoptr(GVariant) info = cloche_session_index_listed (entry, listed, FALSE, &built);

      g_assert_true (cloche_session_id_is_valid (entry->id));
      g_assert_true (g_variant_is_of_type (info, G_VARIANT_TYPE (CLOCHE_SESSION_INFO_TYPE)));
    }
  return n;
}

static void
check_file (GBytes *contents)
{
  ClocheSessionIndex *index = cloche_session_index_new (ROOT);
  ClocheSessionIndex *again = cloche_session_index_new (ROOT);
  g_autoptr(GVariant) entries = cloche_session_index_parse_cache (index, contents);
  g_autoptr(GVariant) reread = NULL;
  g_autoptr(GBytes) written = NULL;

  if (entries != NULL)
    {
      guint n = fill_and_list (index, entries);

      written = cloche_session_index_build_cache (index);
      reread = cloche_session_index_parse_cache (again, written);
      g_assert_nonnull (reread);
      g_assert_cmpuint (fill_and_list (again, reread), ==, n);
    }
  cloche_session_index_free (again);
  cloche_session_index_free (index);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) whole = g_bytes_new (data, size);
  g_autoptr(GBytes) sound = sound_file (data, size);

  cloche_fuzz_init ();
  check_file (whole);
  check_file (sound);
  return 0;
}
