/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * clochectl secret and io.github.cloche.Secrets, the real command and a
 * real daemon against a real GNOME Keyring on a private bus
 * (tests/cloche-test-keyring.h), the policy files in folders of the test's
 * own. What it holds: the value goes to the keyring from stdin and is
 * never printed, the binding to the user's policy file; a bad binding or
 * one the administrator locks changes nothing; remove takes both away; no
 * option takes a value. On the bus: a caller's input is checked before
 * anything changes (name, hosts, header, format, value), no reply, error
 * or signal carries a value, List says what the keyring holds and what is
 * locked, and Changed follows every change.
 */
#include "config.h"

#include <libsecret/secret.h>
#include <string.h>

#include "cloche-error.h"
#include "cloche-policy.h"
#include "cloche-secret-binding.h"
#include "cloche-secret-store.h"
#include "cloche-test-daemon.h"
#include "cloche-test-keyring.h"

#define VALUE "sk-test-value-0123456789-never-printed"

static char *dir;
static char *user_file;
static char *admin_file;
static ClocheTestDaemon *daemon_under_test;
static ClocheDbusSecrets *secrets_proxy;

typedef struct
{
  int   status;
  char *out;
  char *err;
} Run;

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

/* clochectl secret ARGS…, with @input on its stdin (not a terminal). */
static void
run_ctl (Run                *run,
         const char         *input,
         const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, (gpointer) g_getenv ("CLOCHE_CTL"));
  g_ptr_array_add (argv, (gpointer) "secret");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                               | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input != NULL ? input : "", NULL, &run->out, &run->err,
                                 &error);
  g_assert_no_error (error);
  run->status = g_subprocess_get_exit_status (process);
  g_test_message ("status %d\nout: %s\nerr: %s", run->status, run->out, run->err);
  /* Whatever it did, it never printed the value. */
  g_assert_null (strstr (run->out, VALUE));
  g_assert_null (strstr (run->err, VALUE));
}

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* The keyring's value for @name, or NULL. */
static char *
keyring_value (const char *name)
{
  g_autoptr(ClocheSecretStore) store = cloche_secret_store_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *value;

  cloche_secret_store_lookup_async (store, name, NULL, on_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  value = cloche_secret_store_lookup_finish (store, result, &error);
  if (value == NULL)
    g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_SECRET_MISSING);
  return value;
}

static char *
read_user_file (void)
{
  char *text = NULL;

  if (!g_file_get_contents (user_file, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static void
test_set_list_remove (void)
{
  const char *set[] = { "set", "TOKEN_A", "--host", "api.example.com,*.example.org",
                        "--header", "x-api-key", "--format", "{}", NULL };
  const char *list[] = { "list", NULL };
  const char *remove[] = { "remove", "TOKEN_A", NULL };
  g_auto(Run) ran = { 0 };
  g_auto(Run) listed = { 0 };
  g_auto(Run) removed = { 0 };
  g_autofree char *value = NULL;
  g_autofree char *file = NULL;
  g_autoptr(ClochePolicy) policy = cloche_policy_new (NULL, NULL);
  g_autoptr(GPtrArray) bindings = NULL;
  ClocheSecretBinding *binding;

  run_ctl (&ran, VALUE "\n", set);
  g_assert_cmpint (ran.status, ==, 0);
  value = keyring_value ("TOKEN_A");
  g_assert_cmpstr (value, ==, VALUE);
  /* The binding is the user's policy, as the daemon reads it. */
  file = read_user_file ();
  g_assert_null (strstr (file, VALUE));
  cloche_policy_load (policy);
  bindings = cloche_policy_dup_secret_bindings (policy);
  g_assert_cmpuint (bindings->len, ==, 1);
  binding = bindings->pdata[0];
  g_assert_cmpstr (binding->name, ==, "TOKEN_A");
  g_assert_cmpstr (binding->hosts[1], ==, "*.example.org");
  g_assert_cmpstr (binding->header, ==, "x-api-key");
  g_assert_cmpstr (binding->format, ==, "{}");

  run_ctl (&listed, NULL, list);
  g_assert_cmpint (listed.status, ==, 0);
  g_assert_nonnull (strstr (listed.out, "TOKEN_A"));
  g_assert_nonnull (strstr (listed.out, "value in the keyring"));

  run_ctl (&removed, NULL, remove);
  g_assert_cmpint (removed.status, ==, 0);
  g_clear_pointer (&value, g_free);
  value = keyring_value ("TOKEN_A");
  g_assert_null (value);
  g_clear_pointer (&file, g_free);
  file = read_user_file ();
  g_assert_null (strstr (file, "TOKEN_A"));
}

/* A binding the daemon's parser refuses: nothing is kept anywhere. */
static void
test_bad_binding (void)
{
  const char *set[] = { "set", "TOKEN_B", "--host", "POST api.example.com/v1", NULL };
  g_auto(Run) ran = { 0 };
  g_autofree char *value = NULL;
  g_autofree char *file = NULL;

  run_ctl (&ran, VALUE, set);
  g_assert_cmpint (ran.status, ==, 1);
  g_assert_nonnull (strstr (ran.err, "cannot set the secret"));
  value = keyring_value ("TOKEN_B");
  g_assert_null (value);
  file = read_user_file ();
  g_assert_null (strstr (file, "TOKEN_B"));
}

/* The administrator locks the secrets: set and remove change nothing. */
static void
test_locked (void)
{
  const char *set[] = { "set", "TOKEN_C", "--host", "api.example.com", NULL };
  const char *remove[] = { "remove", "TOKEN_C", NULL };
  g_auto(Run) ran = { 0 };
  g_auto(Run) removed = { 0 };
  g_autofree char *value = NULL;
  g_autoptr(GError) error = NULL;

  g_file_set_contents (admin_file, "{ \"version\": 1, \"locked\": [\"secrets\"] }", -1, &error);
  g_assert_no_error (error);
  run_ctl (&ran, VALUE, set);
  g_assert_cmpint (ran.status, ==, 1);
  g_assert_nonnull (strstr (ran.err, "locks secrets.TOKEN_C"));
  value = keyring_value ("TOKEN_C");
  g_assert_null (value);
  run_ctl (&removed, NULL, remove);
  g_assert_cmpint (removed.status, ==, 1);
  g_assert_cmpint (g_unlink (admin_file), ==, 0);
}

/* No option carries a value: argv is readable by every user (ps). */
static void
test_no_value_option (void)
{
  const char *set[] = { "set", "TOKEN_D", "--host", "api.example.com", "--value", "x", NULL };
  g_auto(Run) ran = { 0 };
  g_autofree char *value = NULL;

  run_ctl (&ran, VALUE, set);
  g_assert_cmpint (ran.status, ==, 2);
  value = keyring_value ("TOKEN_D");
  g_assert_null (value);
}

/* An empty stdin is no value. */
static void
test_empty_value (void)
{
  const char *set[] = { "set", "TOKEN_E", "--host", "api.example.com", NULL };
  g_auto(Run) ran = { 0 };

  run_ctl (&ran, "\n", set);
  g_assert_cmpint (ran.status, ==, 1);
  g_assert_nonnull (strstr (ran.err, "empty"));
}

/* On the bus */

static guint changes;

static void
on_changed (ClocheDbusSecrets *proxy)
{
  changes++;
}

/* A Set the service must refuse, naming @what, keeping nothing. */
static void
assert_set_refused (const char         *name,
                    const char * const *hosts,
                    const char         *header,
                    const char         *format,
                    const char         *value,
                    const char         *what)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *stored = NULL;

  g_assert_false (cloche_dbus_secrets_call_set_sync (secrets_proxy, name, hosts, header, format,
                                                     value, NULL, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_test_message ("refused: %s", error->message);
  g_assert_nonnull (strstr (error->message, what));
  g_assert_null (strstr (error->message, VALUE));
  if (cloche_secret_name_check (name, NULL))
    {
      stored = keyring_value (name);
      g_assert_null (stored);
    }
}

static void
test_dbus_input (void)
{
  const char *one[] = { "api.example.com", NULL };
  const char *none[] = { NULL };
  g_autoptr(GPtrArray) many = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < 33; i++)
    g_ptr_array_add (many, g_strdup_printf ("h%u.example.com", i));
  g_ptr_array_add (many, NULL);
  assert_set_refused ("bad name", one, "", "", VALUE, "bad name");
  assert_set_refused ("TOKEN_F", none, "", "", VALUE, "host");
  assert_set_refused ("TOKEN_F", (const char * const *) many->pdata, "", "", VALUE, "32");
  assert_set_refused ("TOKEN_F", (const char *[]) { "POST api.example.com/v1", NULL }, "", "",
                      VALUE, "api.example.com/v1");
  assert_set_refused ("TOKEN_F", one, "x-key\r\nHost: evil", "", VALUE, "header");
  assert_set_refused ("TOKEN_F", one, "", "Bearer", VALUE, "{}");
  /* A line end in a value would be a header of its own in every request. */
  assert_set_refused ("TOKEN_F", one, "", "", VALUE "\r\nX-Evil: 1", "value");
  assert_set_refused ("TOKEN_F", one, "", "", "", "empty");
  {
    g_autofree char *long_value = g_strnfill (9000, 'k');

    assert_set_refused ("TOKEN_F", one, "", "", long_value, "longer");
  }
  {
    g_autofree char *file = read_user_file ();

    g_assert_null (strstr (file, "TOKEN_F"));
  }
}

/* Set, List and Remove on the bus: what List says, that no reply holds the
 * value, and a Changed after each. */
static void
test_dbus_list (void)
{
  const char *hosts[] = { "api.example.com", "*.example.org", NULL };
  g_autoptr(GVariant) listed = NULL;
  g_autofree char *problem = NULL, *printed = NULL, *value = NULL;
  g_autoptr(GError) error = NULL;
  guint before = changes;
  const char *name, *header, *format;
  g_autofree const char **got_hosts = NULL;
  gboolean has_value, locked;

  g_assert_true (cloche_dbus_secrets_call_set_sync (secrets_proxy, "TOKEN_G", hosts, "", "",
                                                    VALUE, NULL, &error));
  g_assert_no_error (error);
  value = keyring_value ("TOKEN_G");
  g_assert_cmpstr (value, ==, VALUE);
  CLOCHE_TEST_WAIT_FOR (changes > before, 10);
  g_assert_true (cloche_dbus_secrets_call_list_sync (secrets_proxy, &listed, &problem, NULL,
                                                     &error));
  g_assert_no_error (error);
  g_assert_cmpstr (problem, ==, "");
  printed = g_variant_print (listed, TRUE);
  g_assert_null (strstr (printed, VALUE));
  g_assert_cmpuint (g_variant_n_children (listed), ==, 1);
  g_variant_get_child (listed, 0, "(&s^a&s&s&sbb)", &name, &got_hosts, &header, &format,
                       &has_value, &locked);
  g_assert_cmpstr (name, ==, "TOKEN_G");
  g_assert_cmpstr (got_hosts[1], ==, "*.example.org");
  g_assert_cmpstr (header, ==, "Authorization");
  g_assert_cmpstr (format, ==, "Bearer {}");
  g_assert_true (has_value);
  g_assert_false (locked);

  before = changes;
  g_assert_true (cloche_dbus_secrets_call_remove_sync (secrets_proxy, "TOKEN_G", NULL, &error));
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (changes > before, 10);
  g_clear_pointer (&value, g_free);
  value = keyring_value ("TOKEN_G");
  g_assert_null (value);
}

/* A binding only the administrator's file holds, locked: listed as
 * locked, without a value until the user sets one; Set with other hosts
 * and Remove refuse it before anything changes; Set with the binding as
 * it is sets the value only (the command, given no --host, takes the
 * binding in force), and the user's file stays without it. */
static void
test_dbus_locked (void)
{
  const char *hosts[] = { "api.example.com", NULL };
  const char *other[] = { "evil.example.com", NULL };
  const char *set[] = { "set", "ADMIN_TOKEN", NULL };
  g_auto(Run) ran = { 0 };
  g_autofree char *value = NULL, *file = NULL;
  g_autoptr(GVariant) listed = NULL;
  g_autofree char *problem = NULL;
  g_autoptr(GError) error = NULL;
  const char *name, *header, *format;
  g_autofree const char **got_hosts = NULL;
  gboolean has_value, locked;

  g_file_set_contents (admin_file,
                       "{ \"version\": 1, \"locked\": [\"secrets.ADMIN_TOKEN\"],\n"
                       "  \"secrets\": { \"ADMIN_TOKEN\": { \"hosts\": [\"api.example.com\"] } } }",
                       -1, &error);
  g_assert_no_error (error);
  g_assert_false (cloche_dbus_secrets_call_set_sync (secrets_proxy, "ADMIN_TOKEN", other, "", "",
                                                     VALUE, NULL, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_LOCKED);
  g_assert_null (keyring_value ("ADMIN_TOKEN"));
  g_clear_error (&error);
  g_assert_false (cloche_dbus_secrets_call_remove_sync (secrets_proxy, "ADMIN_TOKEN", NULL,
                                                        &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_LOCKED);
  g_clear_error (&error);
  g_assert_true (cloche_dbus_secrets_call_list_sync (secrets_proxy, &listed, &problem, NULL,
                                                     &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (listed), ==, 1);
  g_variant_get_child (listed, 0, "(&s^a&s&s&sbb)", &name, &got_hosts, &header, &format,
                       &has_value, &locked);
  g_assert_cmpstr (name, ==, "ADMIN_TOKEN");
  g_assert_false (has_value);
  g_assert_true (locked);

  g_assert_true (cloche_dbus_secrets_call_set_sync (secrets_proxy, "ADMIN_TOKEN", hosts, "", "",
                                                    VALUE, NULL, &error));
  g_assert_no_error (error);
  value = keyring_value ("ADMIN_TOKEN");
  g_assert_cmpstr (value, ==, VALUE);
  run_ctl (&ran, "another-" VALUE "\n", set);
  g_assert_cmpint (ran.status, ==, 0);
  g_clear_pointer (&value, g_free);
  value = keyring_value ("ADMIN_TOKEN");
  g_assert_cmpstr (value, ==, "another-" VALUE);
  file = read_user_file ();
  g_assert_null (strstr (file, "ADMIN_TOKEN"));
  g_assert_cmpint (g_unlink (admin_file), ==, 0);
}

/* Kept to the end, stopped but never finalized (see the end of main()). */
static GTestDBus *bus;

int
main (int   argc,
      char *argv[])
{
  ClocheTestKeyring *keyring;
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  dir = g_dir_make_tmp ("cloche-ctl-secret-XXXXXX", &error);
  g_assert_no_error (error);
  /* The daemon inherits it: its admin file is this test's. */
  admin_file = g_build_filename (dir, "admin-policy.json", NULL);
  g_setenv (CLOCHE_ADMIN_POLICY_ENV, admin_file, TRUE);
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);
  keyring = cloche_test_keyring_start (g_test_dbus_get_bus_address (bus));
  daemon_under_test = cloche_test_daemon_start_on_bus (bus, (const char *[]) { NULL });
  {
    /* The daemon and this test read the same user file (set before GLib
     * first reads the variable, which it then keeps). */
    g_autofree char *config = g_build_filename (daemon_under_test->home, "config", NULL);

    g_setenv ("XDG_CONFIG_HOME", config, TRUE);
    user_file = cloche_policy_default_user_path ();
  }
  secrets_proxy = cloche_dbus_secrets_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon_under_test->proxy)),
    G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (secrets_proxy, "changed", G_CALLBACK (on_changed), NULL);

  g_test_add_func ("/clochectl-secret/set-list-remove", test_set_list_remove);
  g_test_add_func ("/clochectl-secret/bad-binding", test_bad_binding);
  g_test_add_func ("/clochectl-secret/locked", test_locked);
  g_test_add_func ("/clochectl-secret/no-value-option", test_no_value_option);
  g_test_add_func ("/clochectl-secret/empty-value", test_empty_value);
  g_test_add_func ("/clochectl-secret/dbus-input", test_dbus_input);
  g_test_add_func ("/clochectl-secret/dbus-list", test_dbus_list);
  g_test_add_func ("/clochectl-secret/dbus-locked", test_dbus_locked);
  status = g_test_run ();

  g_clear_object (&secrets_proxy);
  cloche_test_daemon_free (daemon_under_test);

  /* As in test-egress-secrets: libsecret may keep the bus connection. */
  secret_service_disconnect ();
  cloche_test_keyring_stop (keyring);
  g_test_dbus_stop (bus);
  command = g_strdup_printf ("rm -rf '%s'", dir);
  g_assert_cmpint (system (command), ==, 0);
  return status;
}
