/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Secrets end to end (issue 20): the real VM under QEMU, a real GNOME
 * Keyring on a private bus holding the value, the egress proxy on its real
 * socket, and an HTTPS server on this host's 127.0.0.1 with a CA of the
 * test's own that the proxy trusts for it (as the daemon does under
 * CLOCHE_TEST_UPSTREAM_CA).
 *
 * The client in the guest is this host's curl: nothing in the minimal
 * bundle speaks TLS through a proxy (busybox wget ignores https_proxy and
 * never verifies a certificate), so the test copies curl, its libraries
 * and the dynamic loader into the session's work folder and runs it from
 * there. It verifies the server it is shown against CURL_CA_BUNDLE, as any
 * client in the guest would, so a guest that does not trust the egress CA
 * fails the handshake: what is tested is the guest's trust, not curl's -k.
 *
 * What it holds: the session's environment names the trust bundle five
 * ways and holds a placeholder, the guest has the CA the host has (and a
 * session cannot change it); the placeholder sent to the bound host
 * arrives there as the value; another key there is refused and never
 * arrives; the placeholder sent to a host it is not bound to is refused
 * (plain http) or reaches it as the worthless placeholder it is (https,
 * a tunnel the proxy does not read); two sessions have different
 * placeholders; where the guest has a trust store of its own, the CA joins
 * it and an older CA leaves it, and what is not a certificate is refused;
 * a CA made again reaches the running guest before the next command, and
 * a guest restored by warm wake.
 */
#include "config.h"

#include <libsecret/secret.h>
#include <string.h>

#include "cloche-egress-proxy.h"
#include "cloche-test-http.h"
#include "cloche-test-https.h"
#include "cloche-test-keyring.h"
#include "cloche-test-sandbox.h"
#include "cloche-test-util.h"
#include "cloche-vm-command.h"

#define VALUE "sk-real-0123456789abcdef-never-in-the-guest"
#define NAME "ANTHROPIC_API_KEY"
#define GUEST_CA "/etc/cloche/egress-ca.crt"
#define GUEST_BUNDLE "/etc/cloche/ca-certificates.crt"

static ClocheEgressProxy *proxy;
static ClocheSecrets *secrets;
static ClocheSecretStore *secret_store;
static ClocheEgressCa *ca;
static char *ca_folder;
static ClocheTestCa *test_ca;
static char *test_ca_path;
static ClocheTestHttps *server;
static ClocheTestHttp *plain_server;
static char *session;
static GTestDBus *bus;

/* Commands: what the sandbox gives every command, with no_proxy cleared
 * so that this host's localhost goes through the proxy. */
static const char *through_proxy[] = { "no_proxy=", "NO_PROXY=", NULL };

static void
sh_in (const char    *id,
       const char    *script,
       ClocheTestRun *run)
{
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *escaped = NULL, *out_text = NULL, *err_text = NULL;
  Wait wait = { 0 };

  cloche_sandbox_exec_async (sandbox, id, argv, through_proxy, NULL, 0, NULL, CLOCHE_EXEC_NONE,
                             NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_sandbox_exec_finish (sandbox, result, &run->status, &out, &err, &error);
  g_assert_no_error (error);
  run->out = cloche_test_gbytes_string (out);
  run->err = cloche_test_gbytes_string (err);
  escaped = g_strescape (script, NULL);
  out_text = g_strescape (run->out, NULL);
  err_text = g_strescape (run->err, NULL);
  g_test_message ("guest: %s → %d, out “%s”, err “%s”", escaped, run->status, out_text,
                  err_text);
}

/* curl in session @id, from its work folder, with @args. */
static void
curl_in (const char    *id,
         const char    *args,
         ClocheTestRun *run)
{
  g_autofree char *script =
    g_strdup_printf ("c=/sessions/$CLOCHE_SESSION/curl; "
                     "$c/ld-linux-x86-64.so.2 --library-path $c $c/curl -sS --max-time 120 "
                     "%s", args);

  sh_in (id, script, run);
}

/* This host's curl, its libraries and the loader, into @id's work folder. */
static void
copy_curl (const char *id)
{
  g_autofree char *folder = g_build_filename (state_dir, "sessions", id, "work", "curl", NULL);
  g_autofree char *script =
    g_strdup_printf ("set -e; mkdir -p '%s'; cp -L /usr/bin/curl '%s/'; "
                     "for lib in $(ldd /usr/bin/curl | awk '/=>/ { print $3 } "
                     "/ld-linux/ { print $1 }'); do cp -L \"$lib\" '%s/'; done; "
                     "cp '%s' '%s/test-ca.pem'", folder, folder, folder, test_ca_path, folder);
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static char *
open_one (const char *title)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };
  char *id;

  cloche_sandbox_open_session_async (sandbox, title, "test", NULL, NULL, on_done, &wait);
  result = wait_result (&wait);
  id = cloche_sandbox_open_session_finish (sandbox, result, &error);
  g_assert_no_error (error);
  copy_curl (id);
  return id;
}

static void
on_result (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
store_value (void)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cloche_secret_store_save_async (secret_store, NAME, VALUE, NULL, on_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (cloche_secret_store_save_finish (secret_store, result, &error));
  g_assert_no_error (error);
}

/* The secret is bound to this host's HTTPS server as "localhost"; the
 * same server as 127.0.0.1 is a host it is not bound to. */
static void
bind_secret (void)
{
  g_autoptr(GPtrArray) bindings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_secret_binding_free);
  g_autofree char *host = g_strdup_printf ("localhost:%u", cloche_test_https_get_port (server));
  const char *hosts[] = { host, NULL };
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (bindings, cloche_secret_binding_new (NAME, hosts, "x-api-key", "{}", &error));
  g_assert_no_error (error);
  secrets = cloche_secrets_new ();
  cloche_secrets_set_bindings (secrets, bindings);
  secret_store = cloche_secret_store_new ();
  store_value ();
}

static void
start_proxy (void)
{
  g_autofree char *socket_path = cloche_egress_proxy_default_socket_path ();
  const char *allow[] = { "localhost", "127.0.0.1", NULL };
  g_autoptr(ClocheEgressRules) rules = NULL;
  g_autoptr(GTlsDatabase) upstream = NULL;
  g_autoptr(GError) error = NULL;

  rules = cloche_egress_rules_new (FALSE, allow, NULL, &error);
  g_assert_no_error (error);
  proxy = cloche_egress_proxy_new (rules);
  upstream = g_tls_file_database_new (test_ca_path, &error);
  g_assert_no_error (error);
  cloche_egress_proxy_set_upstream_database (proxy, upstream);
  cloche_egress_proxy_set_secrets (proxy, secrets, secret_store, ca);
  g_assert_true (cloche_egress_proxy_listen (proxy, socket_path, &error));
  g_assert_no_error (error);
  cloche_vm_set_egress (cloche_sandbox_get_vm (sandbox), g_getenv ("CLOCHE_EGRESS_RELAY"),
                        socket_path);
}

static void
test_start (void)
{
  g_autoptr(GTlsCertificate) certificate = NULL;

  test_ca = cloche_test_ca_new ("Test server CA");
  test_ca_path = cloche_test_ca_write (test_ca, home);
  certificate = cloche_test_ca_issue (test_ca, "localhost", "127.0.0.1");
  server = cloche_test_https_start (certificate);
  plain_server = cloche_test_http_start ("hello over http\n", CLOCHE_TEST_HTTP_LOOPBACK);
  ca_folder = g_build_filename (home, "egress-ca", NULL);
  ca = cloche_egress_ca_new (ca_folder);
  bind_secret ();
  sandbox_start ();
  start_proxy ();
  cloche_sandbox_set_secrets (sandbox, secrets, ca);
  session = open_one ("secrets");
}

static char *
guest_value (const char *id,
             const char *name)
{
  g_autofree char *script = g_strdup_printf ("printf %%s \"$%s\"", name);
  g_auto(ClocheTestRun) run = { 0 };

  sh_in (id, script, &run);
  g_assert_cmpint (run.status, ==, 0);
  return g_steal_pointer (&run.out);
}

/* The five variables name the bundle; the guest has the host's CA, in the
 * bundle too, and a session cannot change either. */
static void
test_environment (void)
{
  const char *variables[] = { "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE",
                              "GIT_SSL_CAINFO", "CURL_CA_BUNDLE", NULL };
  g_autofree char *placeholder = guest_value (session, NAME);
  g_auto(ClocheTestRun) file = { 0 }, bundle = { 0 }, write = { 0 };

  for (guint i = 0; variables[i] != NULL; i++)
    {
      g_autofree char *value = guest_value (session, variables[i]);

      g_assert_cmpstr (value, ==, GUEST_BUNDLE);
    }
  g_assert_true (g_str_has_prefix (placeholder, CLOCHE_SECRET_PLACEHOLDER_PREFIX));
  g_assert_cmpuint (strlen (placeholder), ==, strlen (CLOCHE_SECRET_PLACEHOLDER_PREFIX) + 32);
  sh_in (session, "cat " GUEST_CA, &file);
  g_assert_cmpstr (file.out, ==, cloche_egress_ca_get_certificate_pem (ca));
  sh_in (session, "cat " GUEST_BUNDLE, &bundle);
  g_assert_true (g_str_has_suffix (bundle.out, cloche_egress_ca_get_certificate_pem (ca)));
  sh_in (session, "echo forged > " GUEST_CA " || echo forged > " GUEST_BUNDLE, &write);
  g_assert_cmpint (write.status, !=, 0);
}

static char *
placeholder_header (const char *id)
{
  g_autofree char *placeholder = guest_value (id, NAME);

  return g_strdup_printf ("-H \"x-api-key: %s\"", placeholder);
}

/* The placeholder to the bound host: the value arrives, the placeholder
 * does not; curl verified the proxy's certificate against the bundle. */
static void
test_swap (void)
{
  g_autofree char *args = g_strdup_printf ("-H \"x-api-key: $" NAME "\" "
                                           "https://localhost:%u/v1/messages",
                                           cloche_test_https_get_port (server));
  g_autofree char *placeholder = guest_value (session, NAME);
  g_autofree char *before_record = cloche_test_https_dup_record (server);
  g_autofree char *record = NULL;
  g_auto(ClocheTestRun) run = { 0 };
  guint before = cloche_test_https_get_count (server);
  const char *added;

  curl_in (session, args, &run);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, CLOCHE_TEST_HTTPS_BODY);
  g_assert_cmpuint (cloche_test_https_get_count (server), ==, before + 1);
  /* What this request brought the server. */
  record = cloche_test_https_dup_record (server);
  added = record + strlen (before_record);
  g_assert_nonnull (strstr (added, "x-api-key: " VALUE "\r\n"));
  g_assert_null (strstr (added, placeholder));
}

/* Another key to the bound host is refused and never arrives. */
static void
test_foreign (void)
{
  g_autofree char *args = g_strdup_printf ("-i -H \"x-api-key: sk-attacker-key\" "
                                           "https://localhost:%u/v1/files",
                                           cloche_test_https_get_port (server));
  g_auto(ClocheTestRun) run = { 0 };
  guint before = cloche_test_https_get_count (server);

  curl_in (session, args, &run);
  /* -i shows the CONNECT's answer first, then the request's. */
  g_assert_nonnull (strstr (run.out, "HTTP/1.1 403 "));
  g_assert_nonnull (strstr (run.out, "X-Cloche-Rule: foreign-credential"));
  g_assert_cmpuint (cloche_test_https_get_count (server), ==, before);
}

/* To a host the secret is not bound to: over plain http the proxy reads
 * the request and refuses it; over https it is a tunnel the proxy never
 * reads, and the server gets the placeholder, worth nothing, never the
 * value (curl trusts the test's CA there: it is shown the server's own
 * certificate). */
static void
test_unbound (void)
{
  g_autofree char *header = placeholder_header (session);
  g_autofree char *plain = g_strdup_printf ("-i %s http://127.0.0.1:%u/", header,
                                            cloche_test_http_get_port (plain_server));
  g_autofree char *tunnel = g_strdup_printf ("--cacert /sessions/$CLOCHE_SESSION/curl/test-ca.pem"
                                             " %s https://127.0.0.1:%u/",
                                             header, cloche_test_https_get_port (server));
  g_autofree char *placeholder = guest_value (session, NAME);
  g_auto(ClocheTestRun) refused = { 0 }, tunnelled = { 0 };
  g_autofree char *record = NULL;

  curl_in (session, plain, &refused);
  g_assert_true (g_str_has_prefix (refused.out, "HTTP/1.1 403 "));
  g_assert_nonnull (strstr (refused.out, "X-Cloche-Rule: misplaced-placeholder"));
  curl_in (session, tunnel, &tunnelled);
  g_assert_cmpint (tunnelled.status, ==, 0);
  g_assert_cmpstr (tunnelled.out, ==, CLOCHE_TEST_HTTPS_BODY);
  record = cloche_test_https_dup_record (server);
  g_assert_nonnull (strstr (record, placeholder));
  /* The value arrived once, by the swap, and never through the tunnel. */
  g_assert_null (strstr (strstr (record, VALUE) + 1, VALUE));
}

/* Each session has a placeholder of its own. */
static void
test_two_sessions (void)
{
  g_autofree char *other = open_one ("other");
  g_autofree char *mine = guest_value (session, NAME);
  g_autofree char *theirs = guest_value (other, NAME);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_str_has_prefix (theirs, CLOCHE_SECRET_PLACEHOLDER_PREFIX));
  g_assert_cmpstr (mine, !=, theirs);
  g_assert_true (cloche_sandbox_close_session (sandbox, other, &error));
  g_assert_no_error (error);
}

/* As the guest's root, outside any session: what the daemon's trust step
 * runs, and what a test reads back (the daemon never does). */
static void
as_root (const char    *script,
         const char    *input,
         ClocheTestRun *run)
{
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  const char *env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
  ClocheGuestAgent *agent = cloche_vm_get_guest_agent (cloche_sandbox_get_vm (sandbox));
  g_autoptr(GBytes) in = input != NULL ? g_bytes_new (input, strlen (input)) : NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  cloche_guest_agent_exec_async (agent, argv, env, 60, in, CLOCHE_EXEC_NONE, NULL, on_done,
                                 &wait);
  result = wait_result (&wait);
  cloche_guest_agent_exec_finish (agent, result, &run->status, &out, &err, &error);
  g_assert_no_error (error);
  run->out = cloche_test_gbytes_string (out);
  run->err = cloche_test_gbytes_string (err);
}

static char *
guest_file (const char *path)
{
  g_autofree char *script = g_strdup_printf ("cat %s", path);
  g_auto(ClocheTestRun) run = { 0 };

  as_root (script, NULL, &run);
  g_assert_cmpint (run.status, ==, 0);
  return g_steal_pointer (&run.out);
}

/* `cloche-guest trust` where the guest has a trust store of its own (the
 * full bundle's Debian one, which the minimal bundle lacks, so the test
 * makes one): the bundle is that store and the CA, the store itself gets
 * the CA too, and a second trust with another CA builds from the store
 * as shipped, so the old CA is trusted no more. What is not PEM
 * certificates is refused and changes nothing. */
static void
test_guest_store (void)
{
  g_autoptr(ClocheTestCa) other_ca = cloche_test_ca_new ("Another CA");
  g_autofree char *other_path = cloche_test_ca_write (other_ca, home);
  g_autofree char *other_pem = NULL, *shipped = NULL, *expected = NULL, *bundle = NULL;
  const char *pem = cloche_egress_ca_get_certificate_pem (ca);
  g_auto(ClocheTestRun) store = { 0 }, first = { 0 }, second = { 0 }, garbage = { 0 },
                         again = { 0 };

  g_assert_true (g_file_get_contents (test_ca_path, &shipped, NULL, NULL));
  g_assert_true (g_file_get_contents (other_path, &other_pem, NULL, NULL));
  as_root ("rm -f /etc/cloche/system-ca-certificates.crt && mkdir -p /etc/ssl/certs && "
           "cat > /etc/ssl/certs/ca-certificates.crt", shipped, &store);
  g_assert_cmpint (store.status, ==, 0);

  as_root (CLOCHE_VM_GUEST_HELPER " trust", pem, &first);
  g_assert_cmpint (first.status, ==, 0);
  expected = g_strconcat (shipped, pem, NULL);
  bundle = guest_file ("/etc/cloche/ca-certificates.crt");
  g_assert_cmpstr (bundle, ==, expected);
  g_clear_pointer (&bundle, g_free);
  bundle = guest_file ("/etc/ssl/certs/ca-certificates.crt");
  g_assert_cmpstr (bundle, ==, expected);
  g_clear_pointer (&bundle, g_free);

  as_root (CLOCHE_VM_GUEST_HELPER " trust", other_pem, &second);
  g_assert_cmpint (second.status, ==, 0);
  g_clear_pointer (&expected, g_free);
  expected = g_strconcat (shipped, other_pem, NULL);
  bundle = guest_file ("/etc/ssl/certs/ca-certificates.crt");
  g_assert_cmpstr (bundle, ==, expected);
  g_clear_pointer (&bundle, g_free);

  as_root (CLOCHE_VM_GUEST_HELPER " trust", "-----BEGIN CERTIFICATE-----\n$(reboot)\n", &garbage);
  g_assert_cmpint (garbage.status, ==, 125);
  g_assert_nonnull (strstr (garbage.err, "not PEM certificates"));
  bundle = guest_file ("/etc/cloche/ca-certificates.crt");
  g_assert_cmpstr (bundle, ==, expected);

  /* Back to the CA the proxy signs with, for what follows. */
  as_root (CLOCHE_VM_GUEST_HELPER " trust", pem, &again);
  g_assert_cmpint (again.status, ==, 0);
}

/* Its files gone and the CA read anew; the proxy and the sandbox get it. */
static char *
make_ca_again (void)
{
  const char *rm[] = { "rm", "-rf", ca_folder, NULL };
  char *old_pem = g_strdup (cloche_egress_ca_get_certificate_pem (ca));

  g_assert_true (g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, NULL, NULL));
  g_clear_object (&ca);
  ca = cloche_egress_ca_new (ca_folder);
  cloche_egress_proxy_set_secrets (proxy, secrets, secret_store, ca);
  cloche_sandbox_set_secrets (sandbox, secrets, ca);
  return old_pem;
}

/* A CA made again while the VM runs: the next command of the open
 * session finds it trusted, with no new boot. */
static void
test_new_ca_while_running (void)
{
  g_autofree char *old_pem = make_ca_again ();
  g_auto(ClocheTestRun) file = { 0 };
  g_autofree char *bundle_var = NULL;

  bundle_var = guest_value (session, "SSL_CERT_FILE");
  g_assert_cmpstr (bundle_var, ==, GUEST_BUNDLE);
  sh_in (session, "cat " GUEST_CA, &file);
  g_assert_cmpstr (file.out, ==, cloche_egress_ca_get_certificate_pem (ca));
  g_assert_cmpstr (file.out, !=, old_pem);
  test_swap ();
}

/* The CA made again (its files gone, as when it was damaged, and read
 * anew as a daemon started again does) while the VM is saved by warm
 * wake: the restored guest trusts the new one, and the swap still works. */
static void
test_new_ca_after_warm_wake (void)
{
  g_autofree char *old_pem = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ClocheTestRun) file = { 0 };
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  gint64 deadline = g_get_monotonic_time () + 180 * G_USEC_PER_SEC;

  cloche_sandbox_set_idle_timeout (sandbox, 1);
  g_assert_true (cloche_sandbox_close_session (sandbox, session, &error));
  g_assert_no_error (error);
  g_clear_pointer (&session, g_free);
  while (cloche_vm_get_state (vm) != CLOCHE_VM_STATE_STOPPED && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (cloche_vm_get_state (vm), ==, CLOCHE_VM_STATE_STOPPED);

  old_pem = make_ca_again ();
  session = open_one ("after");
  g_assert_true (cloche_vm_get_woke_warm (vm));
  sh_in (session, "cat " GUEST_CA, &file);
  g_assert_cmpstr (file.out, ==, cloche_egress_ca_get_certificate_pem (ca));
  g_assert_cmpstr (file.out, !=, old_pem);
  test_swap ();
}

static void
test_stop (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (cloche_sandbox_close_session (sandbox, session, &error));
  g_assert_no_error (error);
  sandbox_stop ();
  g_assert_finalize_object (g_steal_pointer (&proxy));
  g_clear_object (&secrets);
  g_clear_object (&secret_store);
  g_clear_object (&ca);
  g_clear_pointer (&server, cloche_test_https_stop);
  g_clear_pointer (&plain_server, cloche_test_http_stop);
  g_clear_pointer (&test_ca, cloche_test_ca_free);
}

int
main (int   argc,
      char *argv[])
{
  ClocheTestKeyring *keyring;
  int status;

  g_test_init (&argc, &argv, NULL);
  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_test_skip ("No TLS backend: install glib-networking (tools/dev/setup does)");
      return g_test_run ();
    }
  sandbox_home_set_up ();
  g_unsetenv ("XDG_CACHE_HOME");
  g_assert_nonnull (g_getenv ("CLOCHE_EGRESS_RELAY"));
  g_test_add_func ("/vm-secrets/start", test_start);
  g_test_add_func ("/vm-secrets/environment", test_environment);
  g_test_add_func ("/vm-secrets/swap", test_swap);
  g_test_add_func ("/vm-secrets/foreign", test_foreign);
  g_test_add_func ("/vm-secrets/unbound", test_unbound);
  g_test_add_func ("/vm-secrets/two-sessions", test_two_sessions);
  g_test_add_func ("/vm-secrets/guest-store", test_guest_store);
  g_test_add_func ("/vm-secrets/new-ca-while-running", test_new_ca_while_running);
  g_test_add_func ("/vm-secrets/new-ca-after-warm-wake", test_new_ca_after_warm_wake);
  g_test_add_func ("/vm-secrets/stop", test_stop);
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);
  keyring = cloche_test_keyring_start (g_test_dbus_get_bus_address (bus));
  status = g_test_run ();
  /* As tests/test-egress-secrets.c: libsecret keeps its connection. */
  secret_service_disconnect ();
  cloche_test_keyring_stop (keyring);
  g_test_dbus_stop (bus);
  sandbox_home_tear_down (status);
  g_free (ca_folder);
  g_free (test_ca_path);
  g_free (session);
  return status;
}
