/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The environment every command of a session gets (exec, terminals, and so
 * clochectl exec/shell/run and the MCP server's run_command, which all go
 * through _cloche_sandbox_build_env): with secrets bound, each secret's
 * variable holds the session's placeholder, one of its own per session,
 * never the value; the caller's entries still come last. No VM boots: the
 * environment is built before anything reaches the guest. The guest's
 * side (the variables seen by a real command, the CA's) is
 * tests/test-vm-secrets.c.
 */
#include "config.h"

#include <string.h>

#include "cloche-sandbox-private.h"

#define NAME "ANTHROPIC_API_KEY"

static ClocheSecrets *
make_secrets (void)
{
  g_autoptr(GPtrArray) bindings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_secret_binding_free);
  const char *hosts[] = { "api.example.com", NULL };
  g_autoptr(GError) error = NULL;
  ClocheSecrets *secrets = cloche_secrets_new ();

  g_ptr_array_add (bindings, cloche_secret_binding_new (NAME, hosts, "x-api-key", "{}", &error));
  g_assert_no_error (error);
  g_ptr_array_add (bindings, cloche_secret_binding_new ("GH_TOKEN", hosts, NULL, NULL, &error));
  g_assert_no_error (error);
  cloche_secrets_set_bindings (secrets, bindings);
  return secrets;
}

static ClocheSandbox *
make_sandbox (const char *dir)
{
  g_autoptr(ClocheVm) vm = cloche_vm_new (dir);
  g_autoptr(ClocheSessionStore) store = cloche_session_store_new (dir);

  return cloche_sandbox_new (vm, store);
}

/* The value of @name in @env, the last entry winning as in the guest. */
static const char *
lookup (GStrv       env,
        const char *name)
{
  const char *found = NULL;
  gsize length = strlen (name);

  for (guint i = 0; env[i] != NULL; i++)
    if (strncmp (env[i], name, length) == 0 && env[i][length] == '=')
      found = env[i] + length + 1;
  return found;
}

static void
test_placeholders (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cloche-sandbox-env-XXXXXX", NULL);
  g_autoptr(ClocheSandbox) sandbox = make_sandbox (dir);
  g_autoptr(ClocheSecrets) secrets = make_secrets ();
  g_autoptr(ClocheSession) one = cloche_session_new ("one", "test");
  g_autoptr(ClocheSession) two = cloche_session_new ("two", "test");
  const char *caller[] = { "GH_TOKEN=the caller's own", NULL };
  g_auto(GStrv) env_one = NULL, env_two = NULL, again = NULL, plain = NULL;

  plain = _cloche_sandbox_build_env (sandbox, one, NULL);
  g_assert_null (lookup (plain, NAME));
  cloche_sandbox_set_secrets (sandbox, secrets, NULL);
  env_one = _cloche_sandbox_build_env (sandbox, one, NULL);
  env_two = _cloche_sandbox_build_env (sandbox, two, caller);
  again = _cloche_sandbox_build_env (sandbox, one, NULL);

  g_assert_nonnull (lookup (env_one, NAME));
  g_assert_true (g_str_has_prefix (lookup (env_one, NAME), CLOCHE_SECRET_PLACEHOLDER_PREFIX));
  g_assert_true (g_str_has_prefix (lookup (env_one, "GH_TOKEN"),
                                   CLOCHE_SECRET_PLACEHOLDER_PREFIX));
  g_assert_cmpstr (lookup (env_one, NAME), !=, lookup (env_one, "GH_TOKEN"));
  /* One per session, the same for each command of it. */
  g_assert_cmpstr (lookup (env_one, NAME), !=, lookup (env_two, NAME));
  g_assert_cmpstr (lookup (env_one, NAME), ==, lookup (again, NAME));
  /* The caller's entries come after, and win. */
  g_assert_cmpstr (lookup (env_two, "GH_TOKEN"), ==, "the caller's own");
  /* No trust bundle named before a boot trusts the CA. */
  g_assert_null (lookup (env_one, "SSL_CERT_FILE"));
  g_assert_cmpstr (lookup (env_one, "CLOCHE_SESSION"), ==, cloche_session_get_id (one));

  /* A closed session's placeholders are forgotten: the next are new. */
  _cloche_sandbox_forget_secrets (sandbox, cloche_session_get_id (one));
  {
    g_auto(GStrv) later = _cloche_sandbox_build_env (sandbox, one, NULL);

    g_assert_cmpstr (lookup (later, NAME), !=, lookup (env_one, NAME));
  }
  g_clear_object (&sandbox);
  {
    const char *rm[] = { "rm", "-rf", dir, NULL };

    g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                  NULL);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sandbox-env/placeholders", test_placeholders);
  return g_test_run ();
}
