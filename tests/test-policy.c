/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-error.h"
#include "cloche-policy.h"
#include "cloche-sandbox.h"
#include "cloche-secret-binding.h"

/* Validation: each tests/data/policy/NAME.json beside NAME.expected, the
 * exact lines `clochectl policy validate` prints for it. */

static ClochePolicyDocument *
load_fixture (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "policy", name, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_file_get_contents (path, &text, &length, &error);
  g_assert_no_error (error);
  /* By its base name, so that the expected lines do not depend on where
   * the sources are. */
  return cloche_policy_document_new_from_data (g_str_has_prefix (name, "admin")
                                               ? CLOCHE_POLICY_LAYER_ADMIN
                                               : CLOCHE_POLICY_LAYER_USER,
                                               name, text, length);
}

static void
test_fixture (gconstpointer data)
{
  const char *name = data;
  g_autofree char *base = g_strndup (name, strlen (name) - strlen (".expected"));
  g_autofree char *expected_path = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *json_name = NULL;
  g_autoptr(ClochePolicyDocument) document = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *actual = NULL;

  expected_path = g_test_build_filename (G_TEST_DIST, "data", "policy", name, NULL);
  g_file_get_contents (expected_path, &expected, NULL, &error);
  g_assert_no_error (error);
  json_name = g_strconcat (base, ".json", NULL);
  document = load_fixture (json_name);

  actual = g_strjoinv ("\n", (char **) cloche_policy_document_get_problems (document));
  g_strchomp (expected);
  g_assert_cmpstr (actual, ==, expected);
  g_assert_false (cloche_policy_document_is_valid (document));
  g_assert_cmpuint (cloche_policy_document_get_n_problems (document), ==,
                    g_strv_length ((char **) cloche_policy_document_get_problems (document)));
  /* A document with problems sets nothing: half a policy is never applied. */
  g_assert_null (cloche_policy_document_lookup (document, "vm.cpus"));
  g_assert_false (cloche_policy_document_check (document, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID);
  g_assert_cmpstr (error->message, ==, expected);
}

static void
test_valid_fixtures (void)
{
  g_autoptr(ClochePolicyDocument) user = load_fixture ("valid-user.json");
  g_autoptr(ClochePolicyDocument) admin = load_fixture ("admin-valid.json");
  g_autofree const char **allow = NULL;
  ClocheJsonPosition where = { 0, 0 };

  g_assert_true (cloche_policy_document_is_valid (user));
  g_assert_true (cloche_policy_document_is_valid (admin));
  allow = g_variant_get_strv (cloche_policy_document_lookup (user, "egress.allow"), NULL);
  g_assert_cmpstrv (allow, ((const char *[]) { "pypi.org:443", "*.debian.org", NULL }));
  g_assert_cmpuint (g_variant_get_uint32 (cloche_policy_document_lookup (user, "vm.cpus")), ==, 2);
  g_assert_null (cloche_policy_document_lookup (user, "egress.default"));
  g_assert_true (cloche_policy_document_get_position (user, "vm.cpus", &where));
  g_assert_cmpuint (where.line, ==, 6);
  g_assert_cmpuint (where.column, ==, 39);
  g_assert_true (cloche_policy_document_is_locked (admin, "mounts.deny"));
  g_assert_cmpstr (g_variant_get_string (cloche_policy_document_lookup (admin, "vm.accelerator"),
                                         NULL), ==, "tcg");
  g_assert_true (cloche_policy_document_is_locked (admin, "egress.deny"));
  g_assert_false (cloche_policy_document_is_locked (admin, "egress.allow"));
  g_assert_false (cloche_policy_document_is_locked (admin, "vm.memory_mib"));
}

/* Layers, with files in a folder of the test's own. */

typedef struct
{
  char         *dir;
  char         *user_path;
  char         *admin_path;
  ClochePolicy *policy;
  guint         changed;
} Fixture;

static void
on_changed (ClochePolicy *policy,
            Fixture      *fixture)
{
  fixture->changed++;
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("cloche-policy-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->user_path = g_build_filename (fixture->dir, "user", "policy.json", NULL);
  fixture->admin_path = g_build_filename (fixture->dir, "admin", "policy.json", NULL);
  fixture->policy = cloche_policy_new (fixture->user_path, fixture->admin_path);
  g_signal_connect (fixture->policy, "changed", G_CALLBACK (on_changed), fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", fixture->dir);

  g_assert_finalize_object (fixture->policy);
  g_assert_cmpint (system (command), ==, 0);
  g_free (fixture->dir);
  g_free (fixture->user_path);
  g_free (fixture->admin_path);
}

static void
write_file (const char *path,
            const char *text)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
assert_value (ClochePolicy      *policy,
              const char        *key,
              const char        *expected,
              ClochePolicyLayer  expected_layer)
{
  ClochePolicyLayer layer = 99;
  g_autofree char *text = g_variant_print (cloche_policy_lookup (policy, key, &layer), FALSE);

  g_assert_cmpstr (text, ==, expected);
  g_assert_cmpstr (cloche_policy_layer_to_string (layer), ==,
                   cloche_policy_layer_to_string (expected_layer));
}

static void
test_defaults (Fixture       *fixture,
               gconstpointer  data)
{
  ClochePolicy *policy = fixture->policy;
  g_auto(GStrv) deny = NULL;
  const char *rule = NULL;

  cloche_policy_load (policy);
  /* Today's values, before there was a policy file. */
  g_assert_cmpuint (cloche_policy_get_idle_timeout_s (policy), ==, CLOCHE_DEFAULT_IDLE_TIMEOUT_S);
  g_assert_cmpuint (cloche_policy_get_stale_after_days (policy), ==, 7);
  g_assert_cmpuint (cloche_policy_get_cpus (policy), ==, 1);
  g_assert_cmpuint (cloche_policy_get_memory_mib (policy), >=, 1024);
  g_assert_cmpuint (cloche_policy_get_memory_mib (policy), <=, 4096);
  deny = cloche_policy_dup_mount_deny (policy);
  g_assert_true (g_strv_contains ((const char * const *) deny, "~/.ssh"));
  g_assert_false (cloche_policy_get_allow_outside_home (policy));
  g_assert_true (cloche_policy_get_mounts_readonly (policy));
  g_assert_false (cloche_egress_rules_decide (cloche_policy_get_egress_rules (policy),
                                              "pypi.org", 443, &rule));
  g_assert_cmpstr (rule, ==, "default deny");
  assert_value (policy, "egress.default", "'deny'", CLOCHE_POLICY_LAYER_DEFAULT);
  g_assert_cmpstr (cloche_policy_get_last_refusal (policy), ==, "");
  g_assert_cmpuint (g_strv_length ((char **) cloche_policy_get_notices (policy)), ==, 0);
}

static void
test_user_over_admin_over_defaults (Fixture       *fixture,
                                    gconstpointer  data)
{
  ClochePolicy *policy = fixture->policy;
  const char *rule = NULL;

  write_file (fixture->admin_path,
              "{\"version\": 1, \"vm\": {\"memory_mib\": 1024, \"cpus\": 2},"
              " \"egress\": {\"allow\": [\"intranet.example\"]}}");
  write_file (fixture->user_path,
              "{\"version\": 1, \"vm\": {\"cpus\": 4},"
              " \"egress\": {\"allow\": [\"pypi.org:443\", \"*.debian.org\"]}}");
  cloche_policy_load (policy);

  /* Unlocked, the admin file sets the site's defaults, and the user's
   * file may change them. */
  assert_value (policy, "vm.memory_mib", "1024", CLOCHE_POLICY_LAYER_ADMIN);
  assert_value (policy, "vm.cpus", "4", CLOCHE_POLICY_LAYER_USER);
  assert_value (policy, "vm.idle_timeout_s", "300", CLOCHE_POLICY_LAYER_DEFAULT);
  assert_value (policy, "vm.accelerator", "'auto'", CLOCHE_POLICY_LAYER_DEFAULT);
  g_assert_cmpstr (cloche_policy_get_accelerator (policy), ==, "auto");
  /* A list replaces the list below it as a whole. */
  assert_value (policy, "egress.allow", "['pypi.org:443', '*.debian.org']",
                CLOCHE_POLICY_LAYER_USER);
  g_assert_true (cloche_egress_rules_decide (cloche_policy_get_egress_rules (policy),
                                             "deb.debian.org", 80, &rule));
  g_assert_cmpstr (rule, ==, "allow *.debian.org");
  g_assert_false (cloche_egress_rules_decide (cloche_policy_get_egress_rules (policy),
                                              "intranet.example", 443, NULL));
  g_assert_cmpuint (g_strv_length ((char **) cloche_policy_get_notices (policy)), ==, 0);
}

static void
test_locked (Fixture       *fixture,
             gconstpointer  data)
{
  ClochePolicy *policy = fixture->policy;
  g_autofree char *notice_allow = NULL;
  g_autofree char *notice_cpus = NULL;

  write_file (fixture->admin_path,
              "{\"version\": 1, \"egress\": {\"allow\": [\"intranet.example\"]},\n"
              " \"locked\": [\"egress\", \"vm.cpus\"]}");
  write_file (fixture->user_path,
              "{\n"
              "  \"version\": 1,\n"
              "  \"vm\": { \"cpus\": 4, \"memory_mib\": 2048 },\n"
              "  \"egress\": { \"allow\": [\"*\"] }\n"
              "}\n");
  cloche_policy_load (policy);

  /* Locked and set by the admin: the admin's value. */
  assert_value (policy, "egress.allow", "['intranet.example']", CLOCHE_POLICY_LAYER_ADMIN);
  /* Locked but not set: the default, which the user cannot move either. */
  assert_value (policy, "vm.cpus", "1", CLOCHE_POLICY_LAYER_DEFAULT);
  assert_value (policy, "egress.default", "'deny'", CLOCHE_POLICY_LAYER_DEFAULT);
  /* Not locked: the user's. */
  assert_value (policy, "vm.memory_mib", "2048", CLOCHE_POLICY_LAYER_USER);
  g_assert_true (cloche_policy_is_locked (policy, "egress.deny"));
  g_assert_false (cloche_policy_is_locked (policy, "vm.memory_mib"));
  g_assert_false (cloche_egress_rules_decide (cloche_policy_get_egress_rules (policy),
                                              "example.com", 443, NULL));

  /* Reported, not dropped in silence: where the user wrote it. */
  notice_cpus = g_strdup_printf ("%s:3:19: vm.cpus: locked by the administrator in %s; "
                                 "this value is not used", fixture->user_path,
                                 fixture->admin_path);
  notice_allow = g_strdup_printf ("%s:4:24: egress.allow: locked by the administrator in %s; "
                                  "this value is not used", fixture->user_path,
                                  fixture->admin_path);
  g_assert_cmpstrv (cloche_policy_get_notices (policy),
                    ((const char *[]) { notice_cpus, notice_allow, NULL }));
  g_assert_cmpstr (cloche_policy_get_last_refusal (policy), ==, "");
}

/* A session's egress additions (issue 17) are the user's: allowed with no
 * admin file or one that does not lock egress.allow, refused naming the
 * admin file when it locks egress (or egress.allow), and refused while an
 * admin file is refused with no good version (its locks are unknown). */
static void
test_session_egress (Fixture       *fixture,
                     gconstpointer  data)
{
  const char *hosts[] = { "api.example.com:443", NULL };
  const char *locks[] = { "[\"egress\"]", "[\"egress.allow\"]" };
  g_autoptr(GError) error = NULL;

  cloche_policy_load (fixture->policy);
  g_assert_true (cloche_policy_allows_session_egress (fixture->policy, hosts, &error));
  g_assert_no_error (error);
  write_file (fixture->admin_path, "{\"version\": 1, \"locked\": [\"egress.deny\"]}");
  cloche_policy_load (fixture->policy);
  g_assert_true (cloche_policy_allows_session_egress (fixture->policy, hosts, &error));
  for (guint i = 0; i < G_N_ELEMENTS (locks); i++)
    {
      g_autofree char *text = g_strdup_printf ("{\"version\": 1, \"locked\": %s}", locks[i]);

      write_file (fixture->admin_path, text);
      cloche_policy_load (fixture->policy);
      g_assert_false (cloche_policy_allows_session_egress (fixture->policy, hosts, &error));
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_LOCKED);
      g_assert_nonnull (strstr (error->message, fixture->admin_path));
      g_assert_nonnull (strstr (error->message, "locks egress"));
      g_assert_nonnull (strstr (error->message, "api.example.com:443"));
      g_clear_error (&error);
    }
}

static void
test_session_egress_admin_refused (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_file (fixture->admin_path, "{\"version\": 1, \"locked\": [\"egress\"],}");
  cloche_policy_load (fixture->policy);
  g_assert_false (cloche_policy_allows_session_egress (fixture->policy, NULL, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_LOCKED);
  g_assert_nonnull (strstr (error->message, "is refused"));
}

/* A binding per secret, each a key of its own: the admin defines and locks
 * one, the user adds another and cannot move the admin's. */
static void
test_secret_bindings (Fixture       *fixture,
                      gconstpointer  data)
{
  ClochePolicy *policy = fixture->policy;
  g_autoptr(GPtrArray) bindings = NULL;
  g_autofree char *notice = NULL;
  g_autofree char *formatted = NULL;
  g_auto(GStrv) keys = NULL;
  ClocheSecretBinding *binding;

  write_file (fixture->admin_path,
              "{\"version\": 1, \"secrets\": {\"ANTHROPIC_API_KEY\": {\"hosts\": "
              "[\"api.anthropic.com\"], \"header\": \"x-api-key\", \"format\": \"{}\"}},\n"
              " \"locked\": [\"secrets.ANTHROPIC_API_KEY\", \"secrets.NOT_YET\"]}");
  write_file (fixture->user_path,
              "{\n"
              "  \"version\": 1,\n"
              "  \"secrets\": {\n"
              "    \"ANTHROPIC_API_KEY\": { \"hosts\": [\"attacker.example\"] },\n"
              "    \"NOT_YET\": { \"hosts\": [\"attacker.example\"] },\n"
              "    \"GITHUB_TOKEN\": { \"hosts\": [\"api.github.com\", \"*.github.com\"] }\n"
              "  }\n"
              "}\n");
  cloche_policy_load (policy);

  keys = cloche_policy_dup_keys (policy);
  g_assert_true (g_strv_contains ((const char * const *) keys, "secrets.ANTHROPIC_API_KEY"));
  g_assert_true (g_strv_contains ((const char * const *) keys, "secrets.GITHUB_TOKEN"));
  /* Locked by name with no value: no binding, and the user's is not used. */
  g_assert_false (g_strv_contains ((const char * const *) keys, "secrets.NOT_YET"));
  g_assert_null (cloche_policy_lookup (policy, "secrets.NOT_YET", NULL));
  assert_value (policy, "secrets.ANTHROPIC_API_KEY",
                "{'hosts': <['api.anthropic.com']>, 'header': <'x-api-key'>, 'format': <'{}'>}",
                CLOCHE_POLICY_LAYER_ADMIN);
  /* The defaults are filled in. */
  assert_value (policy, "secrets.GITHUB_TOKEN",
                "{'hosts': <['api.github.com', '*.github.com']>, 'header': <'Authorization'>, "
                "'format': <'Bearer {}'>}", CLOCHE_POLICY_LAYER_USER);

  bindings = cloche_policy_dup_secret_bindings (policy);
  g_assert_cmpuint (bindings->len, ==, 2);
  binding = bindings->pdata[0];
  g_assert_cmpstr (binding->name, ==, "ANTHROPIC_API_KEY");
  g_assert_true (cloche_secret_binding_covers (binding, "api.anthropic.com", 443));
  g_assert_false (cloche_secret_binding_covers (binding, "attacker.example", 443));
  binding = bindings->pdata[1];
  g_assert_true (cloche_secret_binding_covers (binding, "uploads.github.com", 443));
  g_assert_false (cloche_secret_binding_covers (binding, "github.com", 443));
  formatted = cloche_secret_binding_format (binding, "xyz");
  g_assert_cmpstr (formatted, ==, "Bearer xyz");

  notice = g_strdup_printf ("%s:4:26: secrets.ANTHROPIC_API_KEY: locked by the administrator "
                            "in %s; this value is not used", fixture->user_path,
                            fixture->admin_path);
  g_assert_true (g_strv_contains (cloche_policy_get_notices (policy), notice));
  g_assert_cmpuint (g_strv_length ((char **) cloche_policy_get_notices (policy)), ==, 2);
}

static void
on_reloaded (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  GError **error = user_data;
  gboolean ok = cloche_policy_reload_finish (CLOCHE_POLICY (object), result, error);

  g_assert_true (ok == (*error == NULL));
  /* Marks "done" whatever the outcome. */
  if (ok)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "done");
}

/* Runs a reload to its end; returns its error, NULL if it passed. */
static GError *
reload (ClochePolicy *policy)
{
  GError *error = NULL;

  cloche_policy_reload_async (policy, NULL, on_reloaded, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_EXISTS))
    g_clear_error (&error);
  return error;
}

static void
test_refused_keeps_last_good (Fixture       *fixture,
                              gconstpointer  data)
{
  ClochePolicy *policy = fixture->policy;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  ClocheEgressRules *before;

  write_file (fixture->user_path, "{\"version\": 1, \"vm\": {\"idle_timeout_s\": 60}}");
  cloche_policy_load (policy);
  g_assert_cmpuint (fixture->changed, ==, 1);
  before = cloche_policy_get_egress_rules (policy);

  write_file (fixture->user_path, "{\"version\": 1, \"vm\": {\"idle_timeout_s\": 0, \"cpu\": 2}}");
  error = reload (policy);
  expected = g_strdup_printf ("%s:1:41: vm.idle_timeout_s: 0 is out of range: use a whole "
                              "number from 1 to 86400\n"
                              "%s:1:44: vm.cpu: unknown key \"cpu\": vm has memory_mib, cpus, "
                              "idle_timeout_s, accelerator, warm_wake", fixture->user_path,
                              fixture->user_path);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_cmpstr (cloche_policy_get_last_refusal (policy), ==, expected);
  /* The last good file stays in force, and nothing moved. */
  assert_value (policy, "vm.idle_timeout_s", "60", CLOCHE_POLICY_LAYER_USER);
  g_assert_cmpuint (fixture->changed, ==, 1);
  g_assert_true (cloche_policy_get_egress_rules (policy) == before);

  /* Fixed: applied, and the refusal is gone. */
  write_file (fixture->user_path, "{\"version\": 1, \"vm\": {\"idle_timeout_s\": 5}}");
  g_clear_error (&error);
  error = reload (policy);
  g_assert_no_error (error);
  assert_value (policy, "vm.idle_timeout_s", "5", CLOCHE_POLICY_LAYER_USER);
  g_assert_cmpstr (cloche_policy_get_last_refusal (policy), ==, "");
  g_assert_cmpuint (fixture->changed, ==, 2);

  /* Removed: the layer is gone. */
  g_assert_cmpint (g_unlink (fixture->user_path), ==, 0);
  g_clear_error (&error);
  error = reload (policy);
  g_assert_no_error (error);
  assert_value (policy, "vm.idle_timeout_s", "300", CLOCHE_POLICY_LAYER_DEFAULT);
  g_assert_cmpuint (fixture->changed, ==, 3);
}

/* With the admin file refused from the start, its locks are unknown: the
 * user's file must not slip past them. */
static void
test_admin_refused_at_start (Fixture       *fixture,
                             gconstpointer  data)
{
  ClochePolicy *policy = fixture->policy;

  write_file (fixture->admin_path, "{\"version\": 1, \"locked\": [\"egress\"],}");
  write_file (fixture->user_path, "{\"version\": 1, \"egress\": {\"default\": \"allow\"}}");
  cloche_policy_load (policy);

  assert_value (policy, "egress.default", "'deny'", CLOCHE_POLICY_LAYER_DEFAULT);
  g_assert_true (g_str_has_prefix (cloche_policy_get_last_refusal (policy), fixture->admin_path));
  g_assert_nonnull (strstr (cloche_policy_get_last_refusal (policy), ":1:37: (document): a comma"));
  g_assert_cmpuint (g_strv_length ((char **) cloche_policy_get_notices (policy)), ==, 1);
  g_assert_nonnull (strstr (cloche_policy_get_notices (policy)[0], "not applied while"));
}

static void
test_unreadable_file (Fixture       *fixture,
                      gconstpointer  data)
{
  ClochePolicy *policy = fixture->policy;

  /* A folder where the file should be: it exists and cannot be read. */
  g_assert_cmpint (g_mkdir_with_parents (fixture->user_path, 0700), ==, 0);
  cloche_policy_load (policy);
  g_assert_true (g_str_has_prefix (cloche_policy_get_last_refusal (policy), fixture->user_path));
  g_assert_nonnull (strstr (cloche_policy_get_last_refusal (policy), "cannot be read"));
  assert_value (policy, "vm.cpus", "1", CLOCHE_POLICY_LAYER_DEFAULT);
}

/* Reading a FIFO blocks in open() until someone writes: a guard in the
 * test (not a timing check) opens its other end if the reader is still
 * inside after 10 s, so that a regression fails instead of hanging. */
typedef struct
{
  GMutex   mutex;
  GCond    cond;
  gboolean done;
} Guard;

static gboolean
guard_wait (Guard      *guard,
            const char *fifo)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gboolean done;

  g_mutex_lock (&guard->mutex);
  while (!guard->done && g_cond_wait_until (&guard->cond, &guard->mutex, deadline))
    ;
  done = guard->done;
  g_mutex_unlock (&guard->mutex);
  if (!done)
    close (open (fifo, O_WRONLY | O_CLOEXEC));
  return done;
}

static gpointer
load_thread (gpointer data)
{
  Fixture *fixture = data;
  Guard *guard = g_object_get_data (G_OBJECT (fixture->policy), "guard");

  cloche_policy_load (fixture->policy);
  g_mutex_lock (&guard->mutex);
  guard->done = TRUE;
  g_cond_signal (&guard->cond);
  g_mutex_unlock (&guard->mutex);
  return NULL;
}

/* A policy.json that is a FIFO (or a device) hung the daemon at start:
 * every file read must be a regular file, opened without blocking. */
static void
test_not_a_file (Fixture       *fixture,
                 gconstpointer  data)
{
  ClochePolicy *policy = fixture->policy;
  g_autofree char *dir = g_path_get_dirname (fixture->user_path);
  g_autoptr(GError) error = NULL;
  Guard guard = { 0 };
  GThread *thread;
  gint64 deadline;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (mkfifo (fixture->user_path, 0600), ==, 0);
  g_object_set_data (G_OBJECT (policy), "guard", &guard);
  thread = g_thread_new ("load", load_thread, fixture);
  g_assert_true (guard_wait (&guard, fixture->user_path));
  g_thread_join (thread);
  g_assert_true (g_str_has_prefix (cloche_policy_get_last_refusal (policy), fixture->user_path));
  g_assert_nonnull (strstr (cloche_policy_get_last_refusal (policy), "FIFO"));
  assert_value (policy, "vm.cpus", "1", CLOCHE_POLICY_LAYER_DEFAULT);

  /* The same on a reload, which must finish. */
  cloche_policy_reload_async (policy, NULL, on_reloaded, &error);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  /* on_reloaded() sets "done" for a success, which this must not be. */
  while (error == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  if (error == NULL)
    close (open (fixture->user_path, O_WRONLY | O_CLOEXEC));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID);
  g_assert_nonnull (strstr (error->message, "FIFO"));

  /* A device is read no further than a policy can be long. */
  g_assert_cmpint (g_unlink (fixture->user_path), ==, 0);
  g_assert_cmpint (symlink ("/dev/zero", fixture->user_path), ==, 0);
  cloche_policy_load (policy);
  g_assert_nonnull (strstr (cloche_policy_get_last_refusal (policy), "a device"));
  g_object_set_data (G_OBJECT (policy), "guard", NULL);
}

static gboolean
changed_reached (Fixture *fixture,
                 guint    count)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (fixture->changed < count && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  return fixture->changed >= count;
}

/* Editors replace the file by renaming a new one over it, and the folder
 * may not exist when watching starts. */
static void
test_watch (Fixture       *fixture,
            gconstpointer  data)
{
  ClochePolicy *policy = fixture->policy;
  g_autofree char *temporary = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *user_dir = g_path_get_dirname (fixture->user_path);

  /* The admin's folder exists, the user's not yet (GLib looks for a
   * missing folder every few seconds). */
  g_autofree char *admin_dir = g_path_get_dirname (fixture->admin_path);

  g_assert_cmpint (g_mkdir_with_parents (admin_dir, 0700), ==, 0);
  cloche_policy_load (policy);
  g_assert_true (cloche_policy_watch (policy, &error));
  g_assert_no_error (error);
  /* No file yet: the defaults, as at construction, so no change. */
  g_assert_cmpuint (fixture->changed, ==, 0);

  write_file (fixture->user_path, "{\"version\": 1, \"vm\": {\"cpus\": 3}}");
  g_assert_true (changed_reached (fixture, 1));
  assert_value (policy, "vm.cpus", "3", CLOCHE_POLICY_LAYER_USER);

  temporary = g_build_filename (user_dir, ".policy.json.swp", NULL);
  write_file (temporary, "{\"version\": 1, \"vm\": {\"cpus\": 5}}");
  g_assert_cmpint (g_rename (temporary, fixture->user_path), ==, 0);
  g_assert_true (changed_reached (fixture, 2));
  assert_value (policy, "vm.cpus", "5", CLOCHE_POLICY_LAYER_USER);

  /* A bad edit changes nothing but the refusal, and is logged. */
  g_test_expect_message ("Cloche", G_LOG_LEVEL_WARNING,
                         "Policy refused; the last good policy stays in force:*vm.cpus: 500*");
  write_file (fixture->user_path, "{\"version\": 1, \"vm\": {\"cpus\": 500}}");
  while (cloche_policy_get_last_refusal (policy)[0] == '\0')
    g_main_context_iteration (NULL, TRUE);
  g_test_assert_expected_messages ();
  assert_value (policy, "vm.cpus", "5", CLOCHE_POLICY_LAYER_USER);
  g_assert_cmpuint (fixture->changed, ==, 2);

  write_file (fixture->admin_path, "{\"version\": 1, \"locked\": [\"vm\"]}");
  g_assert_true (changed_reached (fixture, 3));
  assert_value (policy, "vm.cpus", "1", CLOCHE_POLICY_LAYER_DEFAULT);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *dir = NULL;
  g_autoptr(GDir) fixtures = NULL;
  const char *name;

  g_test_init (&argc, &argv, NULL);
  /* The built-in memory default depends on the host; it is not compared. */
  dir = g_test_build_filename (G_TEST_DIST, "data", "policy", NULL);
  fixtures = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (fixtures);
  while ((name = g_dir_read_name (fixtures)) != NULL)
    if (g_str_has_suffix (name, ".expected"))
      {
        g_autofree char *test_path = g_strdup_printf ("/policy/validate/%s", name);

        g_test_add_data_func_full (test_path, g_strdup (name), test_fixture, g_free);
      }
  g_test_add_func ("/policy/validate/valid", test_valid_fixtures);
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/policy/layers/defaults", test_defaults);
  ADD ("/policy/layers/user-over-admin-over-defaults", test_user_over_admin_over_defaults);
  ADD ("/policy/layers/locked", test_locked);
  ADD ("/policy/layers/secret-bindings", test_secret_bindings);
  ADD ("/policy/reload/refused-keeps-last-good", test_refused_keeps_last_good);
  ADD ("/policy/reload/admin-refused-at-start", test_admin_refused_at_start);
  ADD ("/policy/reload/unreadable", test_unreadable_file);
  ADD ("/policy/reload/not-a-file", test_not_a_file);
  ADD ("/policy/watch", test_watch);
  ADD ("/policy/session-egress", test_session_egress);
  ADD ("/policy/session-egress-admin-refused", test_session_egress_admin_refused);
#undef ADD
  return g_test_run ();
}
