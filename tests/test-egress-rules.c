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

/* Rules with a method hold a space: a list split on "|". */
static ClocheEgressRules *
rules_new_listed (gboolean    default_allow,
                  const char *allow,
                  const char *deny)
{
  g_auto(GStrv) allow_list = g_strsplit (allow, "|", -1);
  g_auto(GStrv) deny_list = g_strsplit (deny, "|", -1);
  g_autoptr(GError) error = NULL;
  ClocheEgressRules *rules;

  rules = cloche_egress_rules_new (default_allow, (const char * const *) allow_list,
                                   (const char * const *) deny_list, &error);
  g_assert_no_error (error);
  return rules;
}

static gboolean
decide (ClocheEgressRules *rules,
        const char        *method,
        const char        *host,
        const char        *target,
        ClocheEgressSight  sight,
        const char        *expected_rule)
{
  const char *rule = NULL;
  gboolean allowed = cloche_egress_rules_decide_request (rules, method, host, 443, target, sight,
                                                         &rule, NULL);

  g_assert_cmpstr (rule, ==, expected_rule);
  return allowed;
}

/* "POST api.example.com/v1/messages": one endpoint of a domain, not the
 * files API beside it (the incident of issue 20). */
static void
test_methods_and_paths (void)
{
  g_autoptr(ClocheEgressRules) rules =
    rules_new_listed (FALSE, "POST api.example.com/v1/messages|GET api.example.com/v1/models/",
                      "www.example.com/admin");
  const ClocheEgressSight request = CLOCHE_EGRESS_SIGHT_REQUEST;
  const char *messages = "allow POST api.example.com/v1/messages";

  g_assert_true (decide (rules, "POST", "api.example.com", "/v1/messages", request, messages));
  g_assert_true (decide (rules, "POST", "api.example.com", "/v1/messages?beta=1", request,
                         messages));
  g_assert_true (decide (rules, "POST", "api.example.com", "/v1/messages/batches", request,
                         messages));
  g_assert_false (decide (rules, "POST", "api.example.com", "/v1/messagesX", request,
                          "default deny"));
  g_assert_false (decide (rules, "POST", "api.example.com", "/v1/files", request,
                          "default deny"));
  g_assert_false (decide (rules, "GET", "api.example.com", "/v1/messages", request,
                          "default deny"));
  /* Methods are case-sensitive (RFC 9110 9.1). */
  g_assert_false (decide (rules, "post", "api.example.com", "/v1/messages", request,
                          "default deny"));
  g_assert_true (decide (rules, "GET", "api.example.com", "/v1/models/x", request,
                         "allow GET api.example.com/v1/models/"));
  g_assert_false (decide (rules, "GET", "api.example.com", "/v1/models", request,
                          "default deny"));

  /* A tunnel carries requests unseen: an allow rule with a path lets none
   * through; a CONNECT the proxy opens is let in, its requests decided. */
  g_assert_false (decide (rules, NULL, "api.example.com", NULL, CLOCHE_EGRESS_SIGHT_TUNNEL,
                          "default deny"));
  g_assert_true (decide (rules, NULL, "api.example.com", NULL, CLOCHE_EGRESS_SIGHT_OPENED,
                         messages));
}

/* A path that two servers could read as two paths gets past no rule:
 * it matches every deny rule with a path and no allow rule with one. */
static void
test_paths_in_one_form (void)
{
  g_autoptr(ClocheEgressRules) rules =
    rules_new_listed (TRUE, "api.example.com/v1/messages", "api.example.com/v1/files");
  const ClocheEgressSight request = CLOCHE_EGRESS_SIGHT_REQUEST;
  const char *files = "deny api.example.com/v1/files";
  const char *odd[] = {
    "/v1/messages/../files", "/v1//files", "/v1/./files", "/v1/%2e%2e/files", "/v1%2Ffiles",
    "/v1/messages%2f..%2ffiles", "/v1\\files", "/v1/%zzfiles", "/v1/%2", "v1/files", "",
  };

  /* An escaped unreserved character is the character itself. */
  g_assert_false (decide (rules, "GET", "api.example.com", "/v1/%66iles", request, files));
  g_assert_false (decide (rules, "GET", "api.example.com", "/v1/fil%65s/1", request, files));
  g_assert_true (decide (rules, "GET", "api.example.com", "/v1/%6Dessages", request,
                         "allow api.example.com/v1/messages"));
  for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
    {
      g_test_message ("path “%s”", odd[i]);
      g_assert_null (cloche_egress_path_normalize (odd[i]));
      g_assert_false (decide (rules, "GET", "api.example.com", odd[i], request, files));
    }
  /* A deny rule with a path refuses a tunnel: the path would go unseen. */
  g_assert_false (decide (rules, NULL, "api.example.com", NULL, CLOCHE_EGRESS_SIGHT_TUNNEL,
                          files));
  /* ...and waits for the requests of a CONNECT the proxy opens. */
  g_assert_true (decide (rules, NULL, "api.example.com", NULL, CLOCHE_EGRESS_SIGHT_OPENED,
                         "allow api.example.com/v1/messages"));
  {
    g_autofree char *normal = cloche_egress_path_normalize ("/a/b?c=/../d#e");

    g_assert_cmpstr (normal, ==, "/a/b");
  }
}

static void
test_bad_rules (void)
{
  const char *bad[] = {
    "", ":443", "example.com:", "example.com:0", "example.com:65536", "example.com:http",
    "exa mple.com", "-example.com", "example..com", "*example.com", "*.", "a.*.com",
    "[::1", "[not-an-address]:80", "http://example.com",
    /* A method and a path, each in one form only. */
    "POST ", " example.com", "POST  example.com", "PO(ST example.com",
    "POST example.com extra", "post example.com", "example.com/a/../b", "example.com/a//b", "example.com/./a",
    "example.com/%2e", "example.com/a?b", "example.com/a#b", "example.com/a\\b",
    "example.com:/a", "/v1/messages",
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
  g_test_add_func ("/egress-rules/methods-and-paths", test_methods_and_paths);
  g_test_add_func ("/egress-rules/paths-in-one-form", test_paths_in_one_form);
  return g_test_run ();
}
