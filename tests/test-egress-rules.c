/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "cloche-egress-rules.h"
#include "cloche-error.h"

static ClocheEgressRules *
rules_new (gboolean    default_allow,
           const char *allow,
           const char *deny)
{
  g_auto(GStrv) allow_list = g_strsplit (allow, " ", -1);
  g_auto(GStrv) deny_list = g_strsplit (deny, " ", -1);
  g_autoptr(GError) error = NULL;
  ClocheEgressRules *rules;

  rules = cloche_egress_rules_new (default_allow,
                                   allow[0] != '\0' ? (const char * const *) allow_list : NULL,
                                   deny[0] != '\0' ? (const char * const *) deny_list : NULL,
                                   &error);
  g_assert_no_error (error);
  return rules;
}

static void
assert_decision (ClocheEgressRules *rules,
                 const char        *host,
                 guint16            port,
                 gboolean           allowed,
                 const char        *expected_rule)
{
  const char *rule = NULL;

  g_assert_cmpint (cloche_egress_rules_decide (rules, host, port, &rule), ==, allowed);
  g_assert_cmpstr (rule, ==, expected_rule);
}

static void
test_default (void)
{
  g_autoptr(ClocheEgressRules) deny_all = rules_new (FALSE, "", "");
  g_autoptr(ClocheEgressRules) allow_all = rules_new (TRUE, "", "");

  assert_decision (deny_all, "example.com", 443, FALSE, "default deny");
  assert_decision (allow_all, "example.com", 443, TRUE, "default allow");
}

static void
test_hosts_and_ports (void)
{
  g_autoptr(ClocheEgressRules) rules =
    rules_new (FALSE, "pypi.org:443 *.debian.org 127.0.0.1:8080 [::1]:80", "");

  assert_decision (rules, "pypi.org", 443, TRUE, "allow pypi.org:443");
  assert_decision (rules, "PyPI.org.", 443, TRUE, "allow pypi.org:443");
  assert_decision (rules, "pypi.org", 80, FALSE, "default deny");
  assert_decision (rules, "deb.debian.org", 80, TRUE, "allow *.debian.org");
  assert_decision (rules, "a.b.debian.org", 443, TRUE, "allow *.debian.org");
  /* A wildcard covers names below the domain, not the domain itself and
   * not a name that merely ends the same way. */
  assert_decision (rules, "debian.org", 443, FALSE, "default deny");
  assert_decision (rules, "notdebian.org", 443, FALSE, "default deny");
  assert_decision (rules, "127.0.0.1", 8080, TRUE, "allow 127.0.0.1:8080");
  assert_decision (rules, "127.0.0.1", 22, FALSE, "default deny");
  assert_decision (rules, "[::1]", 80, TRUE, "allow [::1]:80");
  assert_decision (rules, "::1", 80, TRUE, "allow [::1]:80");
}

static void
test_deny_wins (void)
{
  g_autoptr(ClocheEgressRules) rules =
    rules_new (TRUE, "*.example.com upload.example.com", "upload.example.com *:25");

  assert_decision (rules, "upload.example.com", 443, FALSE, "deny upload.example.com");
  assert_decision (rules, "www.example.com", 443, TRUE, "allow *.example.com");
  assert_decision (rules, "mail.example.net", 25, FALSE, "deny *:25");
  assert_decision (rules, "mail.example.net", 587, TRUE, "default allow");
}

/* An address matches in any spelling that reaches it: rules and requests
 * are compared in the canonical form (cloche_http_canonical_host()). */
static void
test_address_forms (void)
{
  g_autoptr(ClocheEgressRules) rules =
    rules_new (TRUE, "[2001:DB8:0:0::1]:443", "1.2.3.4 [::FFFF:5.6.7.8]");

  assert_decision (rules, "2001:db8::1", 443, TRUE, "allow [2001:DB8:0:0::1]:443");
  assert_decision (rules, "[2001:db8:0::1]", 443, TRUE, "allow [2001:DB8:0:0::1]:443");
  assert_decision (rules, "::ffff:1.2.3.4", 80, FALSE, "deny 1.2.3.4");
  assert_decision (rules, "[::ffff:102:304]", 80, FALSE, "deny 1.2.3.4");
  assert_decision (rules, "5.6.7.8", 80, FALSE, "deny [::FFFF:5.6.7.8]");
}

static gboolean
names_host (ClocheEgressRules *rules,
            const char        *host,
            guint16            port)
{
  gboolean names = -1;

  cloche_egress_rules_decide_full (rules, host, port, NULL, &names);
  return names;
}

/* Only an allow rule that names the host itself lets a request reach the
 * host's own or private addresses; "*", "*.domain" and the default do not. */
static void
test_names_host (void)
{
  g_autoptr(ClocheEgressRules) rules =
    rules_new (TRUE, "127.0.0.1:8080 localhost *.example.com *:9000", "10.0.0.1");

  g_assert_true (names_host (rules, "127.0.0.1", 8080));
  g_assert_true (names_host (rules, "LOCALHOST.", 22));
  g_assert_false (names_host (rules, "127.0.0.1", 22));
  g_assert_false (names_host (rules, "intranet.example.com", 80));
  g_assert_false (names_host (rules, "127.0.0.2", 9000));
  g_assert_false (names_host (rules, "10.0.0.1", 80));
}

static void
test_bad_rules (void)
{
  const char *bad[] = {
    "", ":443", "example.com:", "example.com:0", "example.com:65536", "example.com:http",
    "exa mple.com", "-example.com", "example..com", "*example.com", "*.", "a.*.com",
    "[::1", "[not-an-address]:80", "http://example.com", "example.com/path",
    /* What the resolver reads as an address, but not written as one. */
    "16909060", "0x7f.1", "001.2.3.4:80", "1.2.3", "example.123", "*.3.4",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      const char *list[] = { "good.example.com", bad[i], NULL };
      g_autoptr(ClocheEgressRules) rules = NULL;

      g_test_message ("rule “%s”", bad[i]);
      g_assert_false (cloche_egress_rule_check (bad[i], &error));
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID);
      g_clear_error (&error);
      rules = cloche_egress_rules_new (FALSE, list, NULL, &error);
      g_assert_null (rules);
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID);
      /* The message quotes the rule, so the user can find it. */
      g_assert_nonnull (strstr (error->message, bad[i]));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/egress-rules/default", test_default);
  g_test_add_func ("/egress-rules/hosts-and-ports", test_hosts_and_ports);
  g_test_add_func ("/egress-rules/deny-wins", test_deny_wins);
  g_test_add_func ("/egress-rules/address-forms", test_address_forms);
  g_test_add_func ("/egress-rules/names-host", test_names_host);
  g_test_add_func ("/egress-rules/bad-rules", test_bad_rules);
  return g_test_run ();
}
