/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the support report removes before anything leaves the machine:
 * each line holds a secret or a home folder, and none may survive.
 */
#include "config.h"

#include "cloche-audit-redact.h"

#define HOME "/home/ann"

static const struct
{
  const char *in;
  const char *secret;     /* must be gone */
  const char *kept;       /* must still be there */
} cases[] = {
  { "{\"argv\":[\"curl\",\"-H\",\"Authorization: Bearer abcdEFGH1234ijkl\",\"https://api.example.com\"]}",
    "abcdEFGH1234ijkl", "https://api.example.com" },
  { "export GITHUB_TOKEN=ghp_0123456789abcdefghijABCDEFGHIJ012345", "ghp_0123456789", "GITHUB_TOKEN" },
  { "{\"password\": \"hunter2\", \"user\": \"ann\"}", "hunter2", "\"user\": \"ann\"" },
  { "OPENAI_API_KEY=sk-proj-AAAABBBBCCCCDDDDEEEE", "AAAABBBBCCCC", "OPENAI_API_KEY" },
  { "git clone https://ann:s3cr3tpass@git.example.com/repo.git", "s3cr3tpass", "git.example.com/repo.git" },
  { "mysql --password hunter22 -u root", "hunter22", "-u root" },
  { "aws AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "aws" },
  { "cookie=sessionid=abc123def456", "abc123def456", "cookie" },
  { "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "jwt" },
  { "mounted /home/ann/projects/secret-plans at /sessions/x", "/home/ann", "~/projects/secret-plans" },
  { "also /home/bob/work", "bob", "/home/<user>/work" },
  { "cwd " HOME, HOME, "cwd ~" },
};

static void
test_redact (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = cloche_audit_redact (cases[i].in, HOME);

      g_test_message ("%s\n  → %s", cases[i].in, out);
      if (strstr (out, cases[i].secret) != NULL)
        g_error ("\"%s\" survived: %s", cases[i].secret, out);
      if (strstr (out, cases[i].kept) == NULL)
        g_error ("\"%s\" was lost: %s", cases[i].kept, out);
    }
}

/* Plain log lines pass unchanged. */
static void
test_keeps_ordinary_text (void)
{
  const char *line = "{\"v\":1,\"event\":\"command\",\"fields\":{\"argv\":[\"make\",\"-j2\"],"
                     "\"cwd\":\"/sessions/ab12\",\"exit-code\":0}}";
  g_autofree char *out = cloche_audit_redact (line, HOME);

  g_assert_cmpstr (out, ==, line);
}

/* /home/annex is not the home folder /home/ann. */
static void
test_home_prefix (void)
{
  g_autofree char *out = cloche_audit_redact ("/home/annex/x", HOME);

  g_assert_cmpstr (out, ==, "/home/<user>/x");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/redact/secrets-and-homes", test_redact);
  g_test_add_func ("/redact/keeps-ordinary-text", test_keeps_ordinary_text);
  g_test_add_func ("/redact/home-prefix", test_home_prefix);

  return g_test_run ();
}
