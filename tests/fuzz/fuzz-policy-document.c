/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A policy file as a user or an administrator could write it, whole: the
 * strict JSON scanner, json-glib behind it, every key's check and the
 * positions of every problem. Whatever the bytes, a document either is
 * valid or names at least one problem at a line and column inside the text.
 */
#include "config.h"

#include "cloche-fuzz.h"
#include "cloche-policy-document.h"

static void
check_document (ClochePolicyLayer  layer,
                const char        *text,
                gsize              length)
{
  g_autoptr(ClochePolicyDocument) document =
    cloche_policy_document_new_from_data (layer, "policy.json", text, length);
  guint n = cloche_policy_document_get_n_problems (document);

  g_assert_true (cloche_policy_document_is_valid (document) == (n == 0));
  for (guint i = 0; i < n; i++)
    {
      ClocheJsonPosition where = { 0 };
      const char *key = NULL, *message = NULL;

      cloche_policy_document_get_problem (document, i, &where, &key, &message);
      g_assert_nonnull (message);
      g_assert_cmpuint (where.line, >=, 1);
      g_assert_cmpuint (where.line, <=, length + 1);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  ClocheJsonPosition key, value;

  cloche_fuzz_init ();
  check_document (CLOCHE_POLICY_LAYER_USER, (const char *) data, size);
  check_document (CLOCHE_POLICY_LAYER_ADMIN, (const char *) data, size);
  /* The locator on its own, for a path that is often there. */
  cloche_json_locate ((const char *) data, size, "egress.allow[0]", &key, &value);
  return 0;
}
