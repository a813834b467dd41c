/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the guest sends inside the TLS the proxy ends for a host bound to a
 * secret: a head in origin-form, read for that host
 * (cloche_http_request_parse_origin()), then judged for secrets
 * (cloche_secrets_check()), over TLS and as a plain request. "@P@" in the
 * input stands for session s1's placeholder and "@Q@" for session s2's, so
 * that the fuzzer reaches the swap and the other session's placeholder.
 *
 * What holds: a swap names only headers of the request that hold the
 * session's own placeholder, in the bound header, over TLS; a refusal has a
 * reason, printable and valid UTF-8, that never quotes a placeholder or a
 * header's value; a pass has no reason and no swap; the verdict is the same
 * when asked twice.
 */
#include "config.h"

#include <string.h>

#include "cloche-fuzz.h"
#include "cloche-http-request.h"
#include "cloche-secrets.h"

static ClocheSecrets *secrets;
static char *own;     /* s1's placeholder */
static char *other;   /* s2's */

static char *
placeholder_of (const char *session)
{
  g_auto(GStrv) environment = cloche_secrets_dup_environment (secrets, session);

  g_assert_true (g_str_has_prefix (environment[0], "API_KEY="));
  return g_strdup (environment[0] + strlen ("API_KEY="));
}

static void
set_up (void)
{
  const char *hosts[] = { "api.example.com", "*.example.org:443", NULL };
  g_autoptr(GPtrArray) bindings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_secret_binding_free);
  g_autoptr(GError) error = NULL;

  if (secrets != NULL)
    return;
  g_ptr_array_add (bindings, cloche_secret_binding_new ("API_KEY", hosts, "x-api-key", "{}",
                                                        &error));
  g_assert_no_error (error);
  secrets = cloche_secrets_new ();
  cloche_secrets_set_bindings (secrets, bindings);
  own = placeholder_of ("s1");
  other = placeholder_of ("s2");
}

static void
assert_printable (const char *text)
{
  g_assert_true (g_utf8_validate (text, -1, NULL));
  for (const char *c = text; *c != '\0'; c = g_utf8_next_char (c))
    g_assert_false (g_unichar_iscntrl (g_utf8_get_char (c)));
}

static void
assert_swaps (const ClocheHttpRequest *request,
              GArray                  *swaps,
              gboolean                 over_tls)
{
  g_assert_true (over_tls);
  g_assert_cmpuint (swaps->len, >, 0);
  for (guint i = 0; i < swaps->len; i++)
    {
      ClocheSecretSwap *swap = &g_array_index (swaps, ClocheSecretSwap, i);
      ClocheHttpHeader *header;

      g_assert_cmpuint (swap->header, <, request->headers->len);
      header = &g_array_index (request->headers, ClocheHttpHeader, swap->header);
      g_assert_cmpint (g_ascii_strcasecmp (header->name, "x-api-key"), ==, 0);
      g_assert_nonnull (strstr (header->value, own));
    }
}

static void
check (const ClocheHttpRequest *request,
       gboolean                 over_tls)
{
  g_autoptr(GArray) swaps = NULL, again_swaps = NULL;
  g_autofree char *why = NULL, *again_why = NULL;
  ClocheSecretCheck verdict, again;

  verdict = cloche_secrets_check (secrets, request, "s1", over_tls, &swaps, &why);
  again = cloche_secrets_check (secrets, request, "s1", over_tls, &again_swaps, &again_why);
  g_assert_cmpint (verdict, ==, again);
  g_assert_cmpstr (why, ==, again_why);
  switch (verdict)
    {
    case CLOCHE_SECRET_CHECK_SWAP:
      assert_swaps (request, swaps, over_tls);
      break;
    case CLOCHE_SECRET_CHECK_FOREIGN:
    case CLOCHE_SECRET_CHECK_MISPLACED:
      g_assert_nonnull (why);
      assert_printable (why);
      g_assert_null (strstr (why, own));
      g_assert_null (strstr (why, other));
      break;
    case CLOCHE_SECRET_CHECK_PASS:
      g_assert_null (why);
      g_assert_cmpuint (swaps->len, ==, 0);
      break;
    default:
      g_assert_not_reached ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GString) text = NULL;
  g_autoptr(ClocheHttpRequest) request = NULL;
  g_autoptr(GError) error = NULL;
  gssize head;

  cloche_fuzz_init ();
  set_up ();
  text = g_string_new_len ((const char *) data, size);
  g_string_replace (text, "@P@", own, 0);
  g_string_replace (text, "@Q@", other, 0);
  head = cloche_http_request_head_length (text->str, text->len);
  request = cloche_http_request_parse_origin (text->str, head > 0 ? (gsize) head : text->len,
                                              "api.example.com", 443, &error);
  if (request == NULL)
    {
      g_assert_nonnull (error);
      assert_printable (error->message);
      return 0;
    }
  g_assert_cmpstr (request->host, ==, "api.example.com");
  g_assert_false (request->connect);
  check (request, TRUE);
  check (request, FALSE);
  return 0;
}
