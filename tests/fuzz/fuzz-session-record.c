/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A session.json as anyone could leave it in a session's folder: the bytes
 * go through the codec as the store reads a record. Whatever they are, the
 * result is a session whose every form (session.json, the struct lists
 * send, clochectl's JSON) reads back to the same session, or an error that
 * says why, which the store turns into a damaged record that must itself
 * travel (as a struct) without a critical.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-fuzz.h"
#include "cloche-session-codec.h"

#define ID "aaaaaaaaaaaa"

/* A damaged record travels too: its reason is the error's message. */
static void
check_damaged (const GError *error)
{
  g_autoptr(ClocheSession) damaged = cloche_session_new_damaged (ID, error->message, 0);
  g_autoptr(GVariant) info = cloche_session_to_info (damaged, TRUE, 0);
  g_autoptr(ClocheSession) back = cloche_session_new_from_info (info, NULL);

  g_assert_true (g_error_matches (error, CLOCHE_ERROR, CLOCHE_ERROR_SESSION_DAMAGED));
  g_assert_nonnull (back);
  g_assert_cmpint (cloche_session_get_state (back), ==, CLOCHE_SESSION_STATE_DAMAGED);
}

/* Every form of @session reads back to the same struct. */
static void
check_forms (ClocheSession *session)
{
  g_autoptr(GVariant) info = cloche_session_to_info (session, FALSE, 4096);
  g_autoptr(ClocheSession) from_info = cloche_session_new_from_info (info, NULL);
  g_autoptr(GVariant) again = NULL;
  g_autofree char *json = cloche_session_to_json (session);
  g_autoptr(ClocheSession) from_json = NULL;
  g_autoptr(JsonNode) printed = cloche_session_info_to_json (info);

  g_assert_nonnull (from_info);
  again = cloche_session_to_info (from_info, FALSE, 4096);
  g_assert_true (g_variant_equal (info, again));
  from_json = cloche_session_new_from_json (ID, json, strlen (json), NULL);
  g_assert_nonnull (from_json);
  g_clear_pointer (&again, g_variant_unref);
  again = cloche_session_to_info (from_json, FALSE, 4096);
  g_assert_true (g_variant_equal (info, again));
  g_assert_nonnull (printed);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  /* NUL-terminated, as the store reads a file. */
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(ClocheSession) session = NULL;
  g_autoptr(GError) error = NULL;

  cloche_fuzz_init ();
  session = cloche_session_new_from_json (ID, text, size, &error);
  if (session == NULL)
    check_damaged (error);
  else
    check_forms (session);
  return 0;
}
