/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The policy through the real daemon on a private bus, files edited while
 * it runs: the effective policy follows without a restart, a bad file is
 * refused and published while the old policy stays, a user value for a
 * locked key is reported, a mount the policy denies is refused naming the
 * rule, and clochectl shows and validates it all. No VM boots here: a
 * refused mount fails before the boot. The cases share one daemon and run
 * in order.
 */
#include "config.h"

#include <stdlib.h>
#include <sys/wait.h>

#include "cloche-test-daemon.h"

static ClocheTestDaemon *daemon_under_test;

static gboolean
audit_has (const char *text)
{
  g_autofree char *path = g_build_filename (daemon_under_test->home, "state", "cloche",
                                            "audit.jsonl", NULL);
  g_autofree char *contents = NULL;

  return g_file_get_contents (path, &contents, NULL, NULL) && strstr (contents, text) != NULL;
}
static ClocheDbusPolicy *policy;
static char *admin_path;

static char *
user_path (void)
{
  return g_build_filename (daemon_under_test->home, "config", "cloche", "policy.json", NULL);
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

/* The effective value of @key as JSON-ish text, and its layer. */
static char *
effective (const char  *key,
           const char **layer)
{
  g_autoptr(GVariant) entry = NULL;
  g_autoptr(GVariant) value = NULL;
  GVariant *all = cloche_dbus_policy_get_effective (policy);

  if (all == NULL)
    return NULL;
  entry = g_variant_lookup_value (all, key, G_VARIANT_TYPE ("(vs)"));
  if (entry == NULL)
    return NULL;
  g_variant_get (entry, "(v&s)", &value, layer);
  return g_variant_print (value, FALSE);
}

static gboolean
effective_is (const char *key,
              const char *expected,
              const char *expected_layer)
{
  const char *layer = NULL;
  g_autofree char *value = effective (key, &layer);

  return g_strcmp0 (value, expected) == 0 && g_strcmp0 (layer, expected_layer) == 0;
}

static void
assert_effective (const char *key,
                  const char *expected,
                  const char *expected_layer)
{
  const char *layer = NULL;
  g_autofree char *value = effective (key, &layer);

  g_assert_cmpstr (value, ==, expected);
  g_assert_cmpstr (layer, ==, expected_layer);
}

static const char *
last_refusal (void)
{
  const char *refusal = cloche_dbus_policy_get_last_refusal (policy);

  return refusal != NULL ? refusal : "";
}

static void
test_defaults (void)
{
  assert_effective ("egress.default", "'deny'", "default");
  assert_effective ("egress.allow", "[]", "default");
  assert_effective ("vm.idle_timeout_s", "300", "default");
  g_assert_cmpstr (last_refusal (), ==, "");
  g_assert_cmpuint (cloche_dbus_daemon_get_idle_timeout (daemon_under_test->proxy), ==, 300);
  g_assert_cmpuint (cloche_dbus_sessions_get_stale_after_days (daemon_under_test->sessions), ==,
                    7);
}

/* The user's folder does not exist when the daemon starts: GLib looks for
 * a missing folder every few seconds, hence the generous wait. */
static void
test_user_edit (void)
{
  g_autofree char *path = user_path ();

  write_file (path, "{\n"
                    "  \"version\": 1,\n"
                    "  \"vm\": { \"idle_timeout_s\": 42 },\n"
                    "  \"egress\": { \"allow\": [\"pypi.org:443\", \"*.debian.org\"] },\n"
                    "  \"sessions\": { \"stale_after_days\": 30 }\n"
                    "}\n");
  CLOCHE_TEST_WAIT_FOR (effective_is ("vm.idle_timeout_s", "42", "user"), 30);
  assert_effective ("egress.allow", "['pypi.org:443', '*.debian.org']", "user");
  assert_effective ("sessions.stale_after_days", "30", "user");
  /* Applied at once: the daemon's own properties follow. */
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_daemon_get_idle_timeout (daemon_under_test->proxy) == 42, 10);
  CLOCHE_TEST_WAIT_FOR (
    cloche_dbus_sessions_get_stale_after_days (daemon_under_test->sessions) == 30, 10);
}

static void
test_bad_file_keeps_old (void)
{
  g_autofree char *path = user_path ();
  g_autofree char *expected = NULL;

  /* Rename over the old file, as editors do. */
  write_file (path, "{\n"
                    "  \"version\": 1,\n"
                    "  \"vm\": { \"idle_timeout_s\": 5 },\n"
                    "  \"egress\": { \"allow\": [\"pypi.org:443\", \"bad host\"] },\n"
                    "  \"sessions\": { \"stale_after_days\": 0 }\n"
                    "}\n");
  expected = g_strdup_printf ("%s:4:41: egress.allow[1]: “bad host” is not a rule: write a host "
                              "name, “*.domain” or “*”, optionally followed by “:port”\n"
                              "%s:5:37: sessions.stale_after_days: 0 is out of range: use a "
                              "whole number from 1 to 3650", path, path);
  CLOCHE_TEST_WAIT_FOR (last_refusal ()[0] != '\0', 30);
  g_assert_cmpstr (last_refusal (), ==, expected);
  /* Nothing of the bad file is applied, not even its good values. */
  assert_effective ("vm.idle_timeout_s", "42", "user");
  assert_effective ("egress.allow", "['pypi.org:443', '*.debian.org']", "user");
  g_assert_cmpuint (cloche_dbus_daemon_get_idle_timeout (daemon_under_test->proxy), ==, 42);
  /* The refusal is in the audit log too, written by its own thread. */
  CLOCHE_TEST_WAIT_FOR (audit_has ("\"event\":\"policy.refused\""), 10);
}

static void
test_reload_method (void)
{
  g_autoptr(GError) error = NULL;

  /* Still bad: Reload says why. */
  cloche_dbus_policy_call_reload_sync (policy, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID);
  g_assert_nonnull (strstr (error->message, "sessions.stale_after_days: 0 is out of range"));
}

static void
test_locked_key_reported (void)
{
  g_autofree char *path = user_path ();
  g_autofree char *notice = NULL;
  const char * const *notices;

  write_file (admin_path, "{\n"
                          "  \"version\": 1,\n"
                          "  \"egress\": { \"allow\": [\"intranet.example:443\"] },\n"
                          "  \"mounts\": { \"deny\": [\"~/.ssh\", \"~/private\", \"/\"] },\n"
                          "  \"locked\": [\"egress.allow\", \"mounts.deny\"]\n"
                          "}\n");
  write_file (path, "{\n"
                    "  \"version\": 1,\n"
                    "  \"egress\": { \"allow\": [\"*\"] },\n"
                    "  \"vm\": { \"idle_timeout_s\": 43 }\n"
                    "}\n");
  CLOCHE_TEST_WAIT_FOR (effective_is ("vm.idle_timeout_s", "43", "user"), 30);
  CLOCHE_TEST_WAIT_FOR (effective_is ("egress.allow", "['intranet.example:443']", "admin"), 30);
  g_assert_cmpstr (last_refusal (), ==, "");
  notice = g_strdup_printf ("%s:3:24: egress.allow: locked by the administrator in %s; "
                            "this value is not used", path, admin_path);
  notices = cloche_dbus_policy_get_notices (policy);
  g_assert_nonnull (notices);
  g_assert_cmpstrv (notices, ((const char *[]) { notice, NULL }));
  g_assert_cmpstrv (cloche_dbus_policy_get_locked (policy),
                    ((const char *[]) { "egress.allow", "mounts.deny", NULL }));
}

static void
test_mount_denied (void)
{
  g_autofree char *private = g_build_filename (daemon_under_test->home, "private", "work", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  GVariantBuilder mounts, options;

  g_assert_cmpint (g_mkdir_with_parents (private, 0700), ==, 0);
  g_variant_builder_init (&mounts, G_VARIANT_TYPE ("a(sb)"));
  g_variant_builder_add (&mounts, "(sb)", private, TRUE);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "mounts", g_variant_builder_end (&mounts));
  g_variant_builder_add (&options, "{sv}", "keep-open", g_variant_new_boolean (TRUE));
  cloche_dbus_sessions_call_open_sync (daemon_under_test->sessions, "denied",
                                       g_variant_builder_end (&options), &id, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_REFUSED);
  g_assert_nonnull (strstr (error->message, "the deny rule \"~/private\" covers"));
  g_assert_cmpstr (cloche_dbus_daemon_get_state (daemon_under_test->proxy), ==, "stopped");
}

static char *
run_clochectl (const char * const *args,
               int                *status)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int wait_status = 0;

  g_ptr_array_add (argv, (gpointer) g_getenv ("CLOCHE_CTL"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  /* The private bus is this process's session bus: clochectl finds it. */
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                &wait_status, &error);
  g_assert_no_error (error);
  *status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
  return g_steal_pointer (&out);
}

static void
test_clochectl (void)
{
  g_autofree char *path = user_path ();
  g_autofree char *bad = g_build_filename (daemon_under_test->home, "bad.json", NULL);
  g_autofree char *shown = NULL;
  g_autofree char *json = NULL;
  g_autofree char *layers = NULL;
  g_autofree char *checked = NULL;
  g_autofree char *expected = NULL;
  int status = -1;

  shown = run_clochectl ((const char *[]) { "policy", "show", "--effective", NULL }, &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_regex_match_simple ("^egress\\.allow +\\[\"intranet.example:443\"\\] +admin "
                                       "\\(locked\\)$", shown, G_REGEX_MULTILINE, 0));
  g_assert_true (g_regex_match_simple ("^vm\\.idle_timeout_s +43 +user$", shown,
                                       G_REGEX_MULTILINE, 0));
  g_assert_nonnull (strstr (shown, "Not applied:\n  "));

  json = run_clochectl ((const char *[]) { "policy", "show", "--effective", "--json", NULL },
                        &status);
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (json, "\"vm.idle_timeout_s\" : {\n      \"value\" : 43,\n"
                                  "      \"layer\" : \"user\",\n      \"locked\" : false"));

  layers = run_clochectl ((const char *[]) { "policy", "show", NULL }, &status);
  g_assert_cmpint (status, ==, 0);
  expected = g_strdup_printf ("user %s\n  vm.idle_timeout_s = 43\n  egress.allow = [\"*\"]\n\n",
                              path);
  g_assert_nonnull (strstr (layers, expected));
  g_assert_nonnull (strstr (layers, "  locked: egress.allow\n"));

  write_file (bad, "{\"version\": 1, \"vm\": {\"cpus\": 0}}");
  checked = run_clochectl ((const char *[]) { "policy", "validate", bad, NULL }, &status);
  g_assert_cmpint (status, ==, 1);
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("%s:1:31: vm.cpus: 0 is out of range: use a whole number from 1 "
                              "to 64\n", bad);
  g_assert_cmpstr (checked, ==, expected);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *admin_dir = g_dir_make_tmp ("cloche-admin-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  /* The daemon inherits it: its admin file is this test's. */
  admin_path = g_build_filename (admin_dir, "policy.json", NULL);
  g_setenv ("CLOCHE_ADMIN_POLICY", admin_path, TRUE);
  daemon_under_test = cloche_test_daemon_start ((const char *[]) { NULL });
  policy = cloche_dbus_policy_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon_under_test->proxy)),
    G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/policy-daemon/defaults", test_defaults);
  g_test_add_func ("/policy-daemon/user-edit", test_user_edit);
  g_test_add_func ("/policy-daemon/bad-file-keeps-old", test_bad_file_keeps_old);
  g_test_add_func ("/policy-daemon/reload-method", test_reload_method);
  g_test_add_func ("/policy-daemon/locked-key-reported", test_locked_key_reported);
  g_test_add_func ("/policy-daemon/mount-denied", test_mount_denied);
  g_test_add_func ("/policy-daemon/clochectl", test_clochectl);
  status = g_test_run ();

  g_clear_object (&policy);
  cloche_test_daemon_free (daemon_under_test);
  g_unlink (admin_path);
  g_rmdir (admin_dir);
  g_free (admin_path);
  return status;
}
