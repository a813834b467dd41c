/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "cloche-secrets.h"

#define ANTHROPIC "api.anthropic.com"

typedef struct
{
  ClocheSecrets *secrets;
  char          *mine;     /* session "s1"'s placeholder of ANTHROPIC_API_KEY */
  char          *theirs;   /* session "s2"'s */
  char          *github;   /* session "s1"'s of GITHUB_TOKEN */
} Fixture;

static ClocheSecretBinding *
binding (const char *name,
         const char *host,
         const char *header,
         const char *format)
{
  const char *hosts[] = { host, NULL };
  g_autoptr(GError) error = NULL;
  ClocheSecretBinding *made = cloche_secret_binding_new (name, hosts, header, format, &error);

  g_assert_no_error (error);
  return made;
}

static char *
placeholder_of (GStrv       environment,
                const char *name)
{
  g_autofree char *prefix = g_strconcat (name, "=", NULL);

  for (guint i = 0; environment[i] != NULL; i++)
    if (g_str_has_prefix (environment[i], prefix))
      return g_strdup (environment[i] + strlen (prefix));
  g_assert_not_reached ();
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GPtrArray) bindings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_secret_binding_free);
  g_auto(GStrv) s1 = NULL;
  g_auto(GStrv) s2 = NULL;

  g_ptr_array_add (bindings, binding ("ANTHROPIC_API_KEY", ANTHROPIC, "x-api-key", "{}"));
  g_ptr_array_add (bindings, binding ("GITHUB_TOKEN", "*.github.com", NULL, NULL));
  fixture->secrets = cloche_secrets_new ();
  cloche_secrets_set_bindings (fixture->secrets, bindings);
  s1 = cloche_secrets_dup_environment (fixture->secrets, "s1");
  s2 = cloche_secrets_dup_environment (fixture->secrets, "s2");
  fixture->mine = placeholder_of (s1, "ANTHROPIC_API_KEY");
  fixture->theirs = placeholder_of (s2, "ANTHROPIC_API_KEY");
  fixture->github = placeholder_of (s1, "GITHUB_TOKEN");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_assert_finalize_object (fixture->secrets);
  g_free (fixture->mine);
  g_free (fixture->theirs);
  g_free (fixture->github);
}

/* A request inside the TLS the proxy ended for @host. */
static ClocheHttpRequest *
inside (const char *host,
        const char *head)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("POST /v1/messages HTTP/1.1\r\nHost: %s\r\n%s\r\n",
                                           host, head);
  ClocheHttpRequest *request = cloche_http_request_parse_origin (text, strlen (text), host, 443,
                                                                 &error);

  g_assert_no_error (error);
  return request;
}

static ClocheSecretCheck
check (Fixture                  *fixture,
       const ClocheHttpRequest  *request,
       const char               *session,
       gboolean                  over_tls,
       GArray                  **swaps,
       char                    **why)
{
  GArray *ignored = NULL;
  ClocheSecretCheck verdict = cloche_secrets_check (fixture->secrets, request, session, over_tls,
                                                    swaps != NULL ? swaps : &ignored, why);

  g_clear_pointer (&ignored, g_array_unref);
  return verdict;
}

static void
test_placeholders (Fixture       *fixture,
                   gconstpointer  data)
{
  g_auto(GStrv) again = cloche_secrets_dup_environment (fixture->secrets, "s1");
  g_autofree char *same = placeholder_of (again, "ANTHROPIC_API_KEY");

  g_assert_true (g_str_has_prefix (fixture->mine, CLOCHE_SECRET_PLACEHOLDER_PREFIX));
  g_assert_cmpuint (strlen (fixture->mine), ==, strlen (CLOCHE_SECRET_PLACEHOLDER_PREFIX) + 32);
  /* One per session and secret, the same for the session's life. */
  g_assert_cmpstr (same, ==, fixture->mine);
  g_assert_cmpstr (fixture->mine, !=, fixture->theirs);
  g_assert_cmpstr (fixture->mine, !=, fixture->github);
}

static void
test_swap (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *head = g_strdup_printf ("x-api-key: %s\r\nContent-Type: application/json\r\n",
                                           fixture->mine);
  g_autoptr(ClocheHttpRequest) request = inside (ANTHROPIC, head);
  g_autoptr(GArray) swaps = NULL;
  g_autofree char *bearer = g_strdup_printf ("Authorization: Bearer %s\r\n", fixture->github);
  g_autoptr(ClocheHttpRequest) github = inside ("api.github.com", bearer);
  g_autoptr(GArray) github_swaps = NULL;
  g_autoptr(ClocheHttpRequest) plain = inside (ANTHROPIC, "Content-Type: text/plain\r\n");

  g_assert_cmpint (check (fixture, request, "s1", TRUE, &swaps, NULL), ==,
                   CLOCHE_SECRET_CHECK_SWAP);
  g_assert_cmpuint (swaps->len, ==, 1);
  g_assert_cmpuint (g_array_index (swaps, ClocheSecretSwap, 0).header, ==, 1);
  g_assert_cmpstr (g_array_index (swaps, ClocheSecretSwap, 0).binding->name, ==,
                   "ANTHROPIC_API_KEY");
  /* The format around the placeholder ("Bearer {}"). */
  g_assert_cmpint (check (fixture, github, "s1", TRUE, &github_swaps, NULL), ==,
                   CLOCHE_SECRET_CHECK_SWAP);
  g_assert_cmpstr (g_array_index (github_swaps, ClocheSecretSwap, 0).binding->name, ==,
                   "GITHUB_TOKEN");
  /* No credential at all: nothing to do. */
  g_assert_cmpint (check (fixture, plain, "s1", TRUE, NULL, NULL), ==, CLOCHE_SECRET_CHECK_PASS);
}

/* To a bound host, no credential but the secret's: the attacker's key of
 * the incident, in the bound header or beside it. */
static void
test_foreign (Fixture       *fixture,
              gconstpointer  data)
{
  const char *heads[] = {
    "x-api-key: sk-ant-attacker\r\n",
    "X-API-KEY: Bearer-something\r\n",
    "Authorization: Bearer sk-ant-attacker\r\n",
    "Cookie: session=attacker\r\n",
    "X-Auth-Token: attacker\r\n",
    "Ocp-Apim-Subscription-Key: attacker\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (heads); i++)
    {
      g_autoptr(ClocheHttpRequest) request = inside (ANTHROPIC, heads[i]);
      g_autofree char *why = NULL;

      g_test_message ("%s", heads[i]);
      g_assert_cmpint (check (fixture, request, "s1", TRUE, NULL, &why), ==,
                       CLOCHE_SECRET_CHECK_FOREIGN);
      g_assert_nonnull (strstr (why, "ANTHROPIC_API_KEY"));
      /* Never a value in what is logged. */
      g_assert_null (strstr (why, "attacker"));
    }
  {
    /* The right placeholder, and an attacker's key beside it. */
    g_autofree char *head = g_strdup_printf ("x-api-key: %s\r\nAuthorization: Bearer sk\r\n",
                                             fixture->mine);
    g_autoptr(ClocheHttpRequest) request = inside (ANTHROPIC, head);

    g_assert_cmpint (check (fixture, request, "s1", TRUE, NULL, NULL), ==,
                     CLOCHE_SECRET_CHECK_FOREIGN);
  }
}

static void
test_misplaced (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *mine = g_strdup_printf ("x-api-key: %s\r\n", fixture->mine);
  g_autofree char *theirs = g_strdup_printf ("x-api-key: %s\r\n", fixture->theirs);
  g_autofree char *elsewhere = g_strdup_printf ("X-Note: key=%s\r\n", fixture->mine);
  g_autoptr(ClocheHttpRequest) other_session = inside (ANTHROPIC, theirs);
  g_autoptr(ClocheHttpRequest) other_host = inside ("attacker.example", mine);
  g_autoptr(ClocheHttpRequest) other_header = inside (ANTHROPIC, elsewhere);
  g_autofree char *plain_text = g_strdup_printf ("GET http://" ANTHROPIC "/?k=1 HTTP/1.1\r\n"
                                                 "x-api-key: %s\r\n\r\n", fixture->mine);
  g_autoptr(ClocheHttpRequest) plain = cloche_http_request_parse (plain_text,
                                                                  strlen (plain_text), NULL);
  g_autofree char *path_text = g_strdup_printf ("GET http://example.com/?k=%s HTTP/1.1\r\n\r\n",
                                                fixture->mine);
  g_autoptr(ClocheHttpRequest) in_path = cloche_http_request_parse (path_text, strlen (path_text),
                                                                    NULL);
  g_autofree char *why = NULL;

  /* Good only in its own session. */
  g_assert_cmpint (check (fixture, other_session, "s1", TRUE, NULL, &why), ==,
                   CLOCHE_SECRET_CHECK_MISPLACED);
  g_assert_nonnull (strstr (why, "another session"));
  g_clear_pointer (&why, g_free);
  g_assert_cmpint (check (fixture, other_host, "s1", TRUE, NULL, &why), ==,
                   CLOCHE_SECRET_CHECK_MISPLACED);
  g_assert_nonnull (strstr (why, "attacker.example"));
  g_assert_null (strstr (why, fixture->mine));
  g_assert_cmpint (check (fixture, other_header, "s1", TRUE, NULL, NULL), ==,
                   CLOCHE_SECRET_CHECK_MISPLACED);
  /* Never over plain http, even to its host. */
  g_assert_cmpint (check (fixture, plain, "s1", FALSE, NULL, NULL), ==,
                   CLOCHE_SECRET_CHECK_MISPLACED);
  g_assert_cmpint (check (fixture, in_path, "s1", FALSE, NULL, NULL), ==,
                   CLOCHE_SECRET_CHECK_MISPLACED);
  /* A connection that names no session has no placeholder. */
  g_assert_cmpint (check (fixture, other_session, "", TRUE, NULL, NULL), ==,
                   CLOCHE_SECRET_CHECK_MISPLACED);
}

/* A closed session's placeholders are good nowhere. */
static void
test_forgotten (Fixture       *fixture,
                gconstpointer  data)
{
  g_autofree char *head = g_strdup_printf ("x-api-key: %s\r\n", fixture->mine);
  g_autoptr(ClocheHttpRequest) request = inside (ANTHROPIC, head);
  g_auto(GStrv) fresh = NULL;
  g_autofree char *next = NULL;

  cloche_secrets_forget_session (fixture->secrets, "s1");
  g_assert_cmpint (check (fixture, request, "s1", TRUE, NULL, NULL), ==,
                   CLOCHE_SECRET_CHECK_MISPLACED);
  fresh = cloche_secrets_dup_environment (fixture->secrets, "s1");
  next = placeholder_of (fresh, "ANTHROPIC_API_KEY");
  g_assert_cmpstr (next, !=, fixture->mine);
}

/* What is not a bound host's business passes. */
static void
test_unbound (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(ClocheHttpRequest) request = inside ("pypi.org", "Authorization: Basic dXNlcg==\r\n");

  g_assert_cmpint (check (fixture, request, "s1", TRUE, NULL, NULL), ==, CLOCHE_SECRET_CHECK_PASS);
  g_assert_true (cloche_secrets_is_bound (fixture->secrets, ANTHROPIC, 443));
  g_assert_true (cloche_secrets_is_bound (fixture->secrets, "api.github.com", 443));
  g_assert_false (cloche_secrets_is_bound (fixture->secrets, "github.com", 443));
  g_assert_false (cloche_secrets_is_bound (fixture->secrets, "pypi.org", 443));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/secrets/placeholders", test_placeholders);
  ADD ("/secrets/swap", test_swap);
  ADD ("/secrets/foreign", test_foreign);
  ADD ("/secrets/misplaced", test_misplaced);
  ADD ("/secrets/forgotten", test_forgotten);
  ADD ("/secrets/unbound", test_unbound);
#undef ADD
  return g_test_run ();
}
