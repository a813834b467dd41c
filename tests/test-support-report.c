/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl support-report against a real daemon (no VM booted): the
 * archive holds what it says, and no secret or home folder planted in the
 * audit log, the policy file and the bundle path survives in any file.
 */
#include "config.h"

#include <stdlib.h>

#include "cloche-audit-log.h"
#include "cloche-test-daemon.h"

static const char * const secrets[] = {
  "abcdEFGH1234ijklMNOP", "hunter2hunter2", "ghp_0123456789abcdefghijABCDEFGHIJ012345",
  "s3cr3tpass", NULL,
};

static void
plant_secrets (ClocheTestDaemon *daemon)
{
  g_autofree char *state = g_build_filename (daemon->home, "state", "cloche", NULL);
  g_autofree char *config = g_build_filename (daemon->home, "config", "cloche", NULL);
  g_autofree char *policy = g_build_filename (config, "policy.json", NULL);
  g_autofree char *cwd = g_build_filename (daemon->home, "projects", "plans", NULL);
  g_autoptr(ClocheAuditLog) log = cloche_audit_log_new (state, 0, 4);
  const char *argv[] = { "curl", "-H", "Authorization: Bearer abcdEFGH1234ijklMNOP",
                         "https://ann:s3cr3tpass@example.com/", NULL };
  g_autoptr(GError) error = NULL;

  cloche_audit_log_open (log, &error);
  g_assert_no_error (error);
  cloche_audit_log_append (log, "command", "abc123",
                           "argv", g_variant_new_strv (argv, -1),
                           "cwd", g_variant_new_string (cwd),
                           "exit-code", g_variant_new_int32 (0), NULL);
  cloche_audit_log_flush (log);
  g_assert_cmpint (g_mkdir_with_parents (config, 0700), ==, 0);
  g_file_set_contents (policy, "{\n  \"version\": 1,\n  \"egress\": {\"proxy_password\": \"hunter2hunter2\"},\n"
                       "  \"token\": \"ghp_0123456789abcdefghijABCDEFGHIJ012345\"\n}\n", -1, &error);
  g_assert_no_error (error);
}

static char *
make_report (ClocheTestDaemon *daemon,
             const char       *out_dir)
{
  g_autofree char *state = g_build_filename (daemon->home, "state", NULL);
  g_autofree char *config = g_build_filename (daemon->home, "config", NULL);
  g_autofree char *archive = g_build_filename (out_dir, "report.tar.gz", NULL);
  g_auto(GStrv) envp = g_get_environ ();
  const char *argv[] = { g_getenv ("CLOCHE_CTL"), "support-report", archive, NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  envp = g_environ_setenv (envp, "HOME", daemon->home, TRUE);
  envp = g_environ_setenv (envp, "XDG_STATE_HOME", state, TRUE);
  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", config, TRUE);
  envp = g_environ_setenv (envp, "XDG_RUNTIME_DIR", daemon->runtime_dir, TRUE);
  g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_nonnull (strstr (out, "Wrote"));
  return g_steal_pointer (&archive);
}

/* The archive unpacked: its one folder. */
static char *
unpack (const char *archive,
        const char *into)
{
  const char *argv[] = { "tar", "-xzf", archive, "-C", into, NULL };
  g_autoptr(GDir) dir = NULL;
  int status;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                &status, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  dir = g_dir_open (into, 0, NULL);
  for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
    if (g_str_has_prefix (name, "cloche-support-"))
      return g_build_filename (into, name, NULL);
  g_error ("No cloche-support-* folder in %s", archive);
}

static char *
read_member (const char *folder,
             const char *name)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    g_error ("The report has no %s", name);
  return contents;
}

static void
test_report (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  ClocheTestDaemon *daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle, NULL });
  g_autofree char *out_dir = g_dir_make_tmp ("cloche-report-test-XXXXXX", NULL);
  g_autofree char *unpacked = g_build_filename (out_dir, "x", NULL);
  g_autofree char *archive = NULL;
  g_autofree char *folder = NULL;
  const char *members[] = { "README.txt", "daemon.json", "doctor.json", "policy-user.json",
                            "policy-effective.json",
                            "bundle-manifest.json", "audit.jsonl", "versions.txt" };
  g_autoptr(GDir) dir = NULL;

  plant_secrets (daemon);
  archive = make_report (daemon, out_dir);
  g_mkdir (unpacked, 0700);
  folder = unpack (archive, unpacked);

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    g_free (read_member (folder, members[i]));
  {
    g_autofree char *doctor = read_member (folder, "doctor.json");
    g_autofree char *audit = read_member (folder, "audit.jsonl");
    g_autofree char *versions = read_member (folder, "versions.txt");
    g_autofree char *effective = read_member (folder, "policy-effective.json");

    g_assert_nonnull (strstr (doctor, "\"check\" : \"bundle\""));
    g_assert_nonnull (strstr (audit, "\"cwd\":\"~/projects/plans\""));
    g_assert_nonnull (strstr (audit, "<redacted>"));
    g_assert_nonnull (strstr (versions, "QEMU emulator version"));
    g_assert_nonnull (strstr (effective, "egress.default"));
  }

  /* Nothing anywhere in it: not the secrets, not the home folder. */
  dir = g_dir_open (folder, 0, NULL);
  for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
    {
      g_autofree char *contents = read_member (folder, name);

      for (guint i = 0; secrets[i] != NULL; i++)
        if (strstr (contents, secrets[i]) != NULL)
          g_error ("%s still holds \"%s\"", name, secrets[i]);
      if (strstr (contents, daemon->home) != NULL)
        g_error ("%s still holds the home folder %s", name, daemon->home);
    }

  cloche_test_daemon_free (daemon);
  {
    const char *rm[] = { "rm", "-rf", out_dir, NULL };
    g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/support-report/contents-redacted", test_report);

  return g_test_run ();
}
