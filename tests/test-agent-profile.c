/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Agent profiles (src/core/cloche-agent-profile.c): the built-ins, a user's
 * profile read from a real file (tests/data/agents), one replacing a
 * built-in, and files that are not profiles refused as FILE:LINE:COLUMN:
 * KEY: what is wrong (unknown key, wrong type, a host that names every
 * host, a bad variable or package name, control characters, too large, a
 * FIFO, a name given twice); and a session's egress rules (the policy's
 * plus the profile's hosts, deny rules first).
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-agent-profile.h"
#include "cloche-egress-rules.h"
#include "cloche-error.h"

static char *scratch;

static char *
data_dir (void)
{
  return g_test_build_filename (G_TEST_DIST, "data", "agents", NULL);
}

static void
test_builtins (void)
{
  const char *names[] = { "claude", "codex", "gemini" };
  const char *packages[] = { "@anthropic-ai/claude-code", "@openai/codex", "@google/gemini-cli" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ClocheAgentProfile) profile = cloche_agent_profile_lookup (scratch, names[i],
                                                                          &error);

      g_assert_no_error (error);
      g_assert_cmpstr (cloche_agent_profile_get_name (profile), ==, names[i]);
      g_assert_cmpstr (cloche_agent_profile_get_command (profile)[0], ==, names[i]);
      g_assert_cmpstr (cloche_agent_profile_get_package (profile), ==, packages[i]);
      g_assert_cmpuint (g_strv_length ((GStrv) cloche_agent_profile_get_hosts (profile)), ==, 1);
      g_assert_true (g_str_has_suffix (cloche_agent_profile_get_hosts (profile)[0], ":443"));
      g_assert_null (cloche_agent_profile_get_file (profile));
    }
}

static void
test_user_profile (void)
{
  g_autofree char *dir = data_dir ();
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheAgentProfile) mine = cloche_agent_profile_lookup (dir, "mine", &error);
  g_autoptr(ClocheAgentProfile) claude = NULL;
  const char * const command[] = { "sh", "-c", "echo started", NULL };

  g_assert_no_error (error);
  g_assert_true (g_strv_equal (cloche_agent_profile_get_command (mine), command));
  g_assert_cmpstr (cloche_agent_profile_get_package (mine), ==, "@example/agent-cli");
  g_assert_cmpstr (cloche_agent_profile_get_hosts (mine)[1], ==, "*.example.org");
  g_assert_cmpstr (cloche_agent_profile_get_env (mine)[1], ==, "_OTHER");
  g_assert_true (g_str_has_suffix (cloche_agent_profile_get_file (mine), "mine.json"));

  /* A user's file replaces the built-in of its name. */
  claude = cloche_agent_profile_lookup (dir, "claude", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cloche_agent_profile_get_command (claude)[0], ==, "claude-wrapper");
  g_assert_null (cloche_agent_profile_get_package (claude));
  g_assert_null (cloche_agent_profile_get_hosts (claude)[0]);

  g_assert_null (cloche_agent_profile_lookup (dir, "nobody", &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "No agent is called “nobody”"));
  g_clear_error (&error);
  g_assert_null (cloche_agent_profile_lookup (dir, "../mine", &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (cloche_agent_profile_lookup (dir, "list", &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
}

static void
assert_refused (const char *contents,
                const char *expected)
{
  g_autofree char *path = g_build_filename (scratch, "bad.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheAgentProfile) profile = NULL;
  g_autofree char *want = g_strdup_printf ("%s:%s", path, expected);

  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  profile = cloche_agent_profile_load (path, "bad", &error);
  g_assert_null (profile);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  if (!g_str_has_prefix (error->message, want))
    g_error ("expected “%s…”, got “%s”", want, error->message);
}

static void
test_refused (void)
{
  assert_refused ("{\"command\": \"a\", \"hostz\": []}", "1:27: hostz: unknown key “hostz”");
  assert_refused ("{\"command\": 7}", "1:13: command: expected a string");
  assert_refused ("{\"hosts\": []}", "0:0: command: missing");
  assert_refused ("{\"command\": \"a\",\n \"hosts\": [\"ok.example:443\", \"*\"]}",
                  "2:30: hosts[1]: “*” names no host");
  assert_refused ("{\"command\": \"a\", \"hosts\": [\"*:443\"]}", "1:28: hosts[0]: “*:443” names no host");
  assert_refused ("{\"command\": \"a\", \"hosts\": [\"not a rule\"]}", "1:28: hosts[0]: “not a rule” is not a rule");
  assert_refused ("{\"command\": \"a\", \"env\": [\"1ABC\"]}", "1:26: env[0]: “1ABC” is not an environment");
  assert_refused ("{\"command\": \"a\", \"env\": [\"A=B\"]}", "1:26: env[0]: “A=B” is not an environment");
  assert_refused ("{\"command\": \"a\", \"package\": \"../../etc\"}", "1:29: package: “../../etc” is not an npm");
  assert_refused ("{\"command\": \"a\", \"package\": \"Upper\"}", "1:29: package: “Upper” is not an npm");
  assert_refused ("{\"command\": [\"sh\", \"a\\u001bb\"]}", "1:20: command[1]: expected 1 to");
  assert_refused ("{\"command\": []}", "1:13: command: expected 1 to 32 items");
  assert_refused ("{\"command\": \"a\", \"command\": \"b\"}", "1:18: command: “command” is given twice");
  assert_refused ("[\"command\"]", " an agent profile is a JSON object");
}

static void
test_refused_files (void)
{
  g_autofree char *big = g_build_filename (scratch, "big.json", NULL);
  g_autofree char *fifo = g_build_filename (scratch, "fifo.json", NULL);
  g_autofree char *text = g_strnfill (CLOCHE_AGENT_PROFILE_MAX_BYTES + 1, ' ');
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (big, text, -1, NULL));
  g_assert_null (cloche_agent_profile_load (big, "big", &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, big));
  g_clear_error (&error);

  /* A FIFO in a profile's place is refused at once, never waited on. */
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_null (cloche_agent_profile_load (fifo, "fifo", &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "FIFO"));
}

static void
test_list (void)
{
  g_autofree char *dir = data_dir ();
  g_autoptr(GPtrArray) problems = NULL;
  g_autoptr(GPtrArray) profiles = cloche_agent_profile_list (dir, &problems);
  const char *names[] = { "claude", "codex", "gemini", "mine" };

  g_assert_cmpuint (profiles->len, ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < profiles->len; i++)
    g_assert_cmpstr (cloche_agent_profile_get_name (profiles->pdata[i]), ==, names[i]);
  g_assert_nonnull (cloche_agent_profile_get_file (profiles->pdata[0]));
  g_assert_cmpuint (problems->len, ==, 0);
  g_clear_pointer (&problems, g_ptr_array_unref);
  g_clear_pointer (&profiles, g_ptr_array_unref);

  /* A broken file is named, the rest still listed. */
  profiles = cloche_agent_profile_list (scratch, &problems);
  g_assert_cmpuint (profiles->len, ==, 3);
  g_assert_cmpuint (problems->len, >=, 1);
}

static void
test_session_rules (void)
{
  const char *deny[] = { "blocked.example.com", NULL };
  const char *adds[] = { "api.example.com:443", "blocked.example.com:443", NULL };
  const char *everything[] = { "*:443", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheEgressRules) base = cloche_egress_rules_new (FALSE, NULL, deny, &error);
  g_autoptr(ClocheEgressRules) session = cloche_egress_rules_new_for_session (base, adds, &error);
  const char *rule = NULL;

  g_assert_no_error (error);
  g_assert_false (cloche_egress_rules_decide (base, "api.example.com", 443, &rule));
  g_assert_cmpstr (rule, ==, "default deny");
  g_assert_true (cloche_egress_rules_decide (session, "api.example.com", 443, &rule));
  g_assert_cmpstr (rule, ==, "session allow api.example.com:443");
  g_assert_false (cloche_egress_rules_decide (session, "api.example.com", 80, &rule));
  /* The policy's deny rules come first: a session adds, never takes away. */
  g_assert_false (cloche_egress_rules_decide (session, "blocked.example.com", 443, &rule));
  g_assert_cmpstr (rule, ==, "deny blocked.example.com");

  g_assert_null (cloche_egress_rules_new_for_session (base, everything, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  scratch = g_dir_make_tmp ("cloche-agent-profile-XXXXXX", NULL);
  g_test_add_func ("/agent-profile/builtins", test_builtins);
  g_test_add_func ("/agent-profile/user-profile", test_user_profile);
  g_test_add_func ("/agent-profile/refused", test_refused);
  g_test_add_func ("/agent-profile/refused-files", test_refused_files);
  g_test_add_func ("/agent-profile/list", test_list);
  g_test_add_func ("/agent-profile/session-rules", test_session_rules);
  status = g_test_run ();
  for (guint i = 0; i < 3; i++)
    {
      const char *names[] = { "bad.json", "big.json", "fifo.json" };
      g_autofree char *path = g_build_filename (scratch, names[i], NULL);

      g_unlink (path);
    }
  g_rmdir (scratch);
  g_free (scratch);
  return status;
}
