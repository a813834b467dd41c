/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A secret's value goes nowhere but the request (issue 20): the whole
 * path through a real daemon on a private bus with a real GNOME Keyring,
 * a real VM (TCG), `clochectl secret set` for the value and the binding,
 * Sessions.Exec for a request from the guest (this host's curl, copied
 * into the session's work folder, as in tests/test-vm-secrets.c) to an
 * HTTPS server on 127.0.0.1 signed by the test's CA, which the daemon
 * trusts under CLOCHE_TEST_UPSTREAM_CA.
 *
 * Then every place the value must never be is searched for it: each
 * D-Bus signal any name sent on the bus while it ran (Egress.Decision,
 * Secrets.Changed, properties…), the daemon's decisions
 * (Egress.GetDecisions), the guest's whole file system as a session sees
 * it, the audit log and the support report.
 */
#include "config.h"

#include <string.h>

#include "cloche-test-daemon.h"
#include "cloche-test-https.h"
#include "cloche-test-keyring.h"

#define VALUE_HEAD "sk-daemon-0123456789"
#define VALUE_TAIL "abcdef-only-in-the-request"
#define VALUE VALUE_HEAD VALUE_TAIL
#define NAME "ANTHROPIC_API_KEY"

static GTestDBus *bus;
static ClocheTestDaemon *daemon_;
static ClocheTestCa *test_ca;
static ClocheTestHttps *server;
static GString *signals;        /* every signal seen on the bus, printed */
static char *session;
static char *work_dir;

static void
on_signal (GDBusConnection *connection,
           const char      *sender,
           const char      *path,
           const char      *interface,
           const char      *name,
           GVariant        *parameters,
           gpointer         user_data)
{
  g_autofree char *printed = g_variant_print (parameters, FALSE);

  g_string_append_printf (signals, "%s.%s %s\n", interface, name, printed);
}

/* A program beside the tests, with the daemon's bus in its environment. */
static int
run (const char * const *argv,
     const char         *input,
     char              **out)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                     | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, input, NULL, out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("%s: %s", argv[0], err);
  return g_subprocess_get_exit_status (process);
}

static void
exec_in (const char     *script,
         ClocheTestExec *exec)
{
  const char * const argv[] = { "sh", "-c", script, NULL };
  const char * const env[] = { "no_proxy=", "NO_PROXY=", NULL };
  g_autoptr(GVariant) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;

  cloche_dbus_sessions_call_exec_sync (daemon_->sessions, session, argv,
                                       cloche_test_exec_options (env, NULL), &exec->exit_code,
                                       &out, &err, NULL, NULL, &error);
  g_assert_no_error (error);
  exec->out = cloche_test_bytes_string (out);
  exec->err = cloche_test_bytes_string (err);
  g_test_message ("guest: %s → %d: %s%s", script, exec->exit_code, exec->out, exec->err);
}

static void
test_start (void)
{
  g_autofree char *bundle = cloche_test_bundle_dir ();
  g_autofree char *ca_path = NULL;
  g_autoptr(GTlsCertificate) certificate = NULL;
  g_autofree char *dir = g_dir_make_tmp ("cloche-secrets-daemon-XXXXXX", NULL);

  test_ca = cloche_test_ca_new ("Test server CA");
  ca_path = cloche_test_ca_write (test_ca, dir);
  certificate = cloche_test_ca_issue (test_ca, "localhost", "127.0.0.1");
  server = cloche_test_https_start (certificate);
  g_setenv ("CLOCHE_TEST_UPSTREAM_CA", ca_path, TRUE);
  daemon_ = cloche_test_daemon_start_on_bus (bus, (const char *[]) {
    "--bundle", bundle, "--idle-timeout", "600", "--egress-allow", "localhost", NULL });
  g_dbus_connection_signal_subscribe (g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon_->proxy)),
                                      NULL, NULL, NULL, NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                      on_signal, NULL, NULL);
}

/* The value in through the command, the request out through the guest. */
static void
test_request (void)
{
  g_autofree char *host = g_strdup_printf ("localhost:%u", cloche_test_https_get_port (server));
  const char *set[] = { g_getenv ("CLOCHE_CTL"), "secret", "set", NAME, "--host", host,
                        "--header", "x-api-key", "--format", "{}", NULL };
  g_autofree char *out = NULL, *copy = NULL, *curl = NULL, *record = NULL;
  g_autoptr(GVariantDict) options = g_variant_dict_new (NULL);
  g_auto(ClocheTestExec) exec = { 0 };
  g_autoptr(GError) error = NULL;
  const char *copy_argv[] = { "/bin/sh", "-c", NULL, NULL };

  g_assert_cmpint (run (set, VALUE "\n", &out), ==, 0);
  g_variant_dict_insert (options, "keep-open", "b", TRUE);
  cloche_dbus_sessions_call_open_sync (daemon_->sessions, "secrets",
                                       g_variant_dict_end (options), &session, NULL, &error);
  g_assert_no_error (error);
  work_dir = g_build_filename (cloche_dbus_sessions_get_sessions_path (daemon_->sessions),
                               session, "work", "curl", NULL);
  copy = g_strdup_printf ("set -e; mkdir -p '%s'; cp -L /usr/bin/curl '%s/'; "
                          "for lib in $(ldd /usr/bin/curl | awk '/=>/ { print $3 } "
                          "/ld-linux/ { print $1 }'); do cp -L \"$lib\" '%s/'; done",
                          work_dir, work_dir, work_dir);
  copy_argv[2] = copy;
  g_assert_cmpint (run (copy_argv, "", NULL), ==, 0);
  curl = g_strdup_printf ("c=/sessions/$CLOCHE_SESSION/curl; $c/ld-linux-x86-64.so.2 "
                          "--library-path $c $c/curl -sS --max-time 120 "
                          "-H \"x-api-key: $" NAME "\" https://localhost:%u/v1/messages",
                          cloche_test_https_get_port (server));
  exec_in (curl, &exec);
  g_assert_cmpint (exec.exit_code, ==, 0);
  g_assert_cmpstr (exec.out, ==, CLOCHE_TEST_HTTPS_BODY);
  record = cloche_test_https_dup_record (server);
  g_assert_nonnull (strstr (record, "x-api-key: " VALUE "\r\n"));
}

/* Nowhere but in the request. */
static void
test_nowhere_else (void)
{
  g_autoptr(GVariant) decisions = NULL;
  g_autofree char *printed = NULL;
  g_auto(ClocheTestExec) grep = { 0 };
  g_autoptr(ClocheDbusEgress) egress = NULL;
  g_autoptr(GError) error = NULL;

  /* The guest: every file a session sees, its work folder and the root
   * too (regular files only: grep would wait on a FIFO for good). The
   * value is put together in the guest: the command, in the audit log,
   * must not hold it whole. */
#define FIND_ALL "find $(ls -d /* | grep -v -e '^/proc$' -e '^/sys$' -e '^/dev$') -type f "
  /* First the search itself, on a file of its own: it finds that. */
  exec_in ("m=marker-; m=${m}" VALUE_TAIL "; echo \"$m\" > /tmp/control; "
           FIND_ALL "-exec grep -l \"$m\" {} + ; rm /tmp/control", &grep);
  g_assert_cmpstr (grep.out, ==, "/tmp/control\n");
  cloche_test_exec_clear (&grep);
  exec_in ("v=" VALUE_HEAD "; v=${v}" VALUE_TAIL "; "
           FIND_ALL "-exec grep -l \"$v\" {} + ; echo found none", &grep);
  g_assert_cmpstr (grep.out, ==, "found none\n");
#undef FIND_ALL
  egress = cloche_dbus_egress_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon_->proxy)), G_DBUS_PROXY_FLAGS_NONE,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (cloche_dbus_egress_call_get_decisions_sync (egress, 0, &decisions, NULL,
                                                             &error));
  g_assert_no_error (error);
  printed = g_variant_print (decisions, FALSE);
  g_assert_nonnull (strstr (printed, "/v1/messages"));
  g_assert_null (strstr (printed, VALUE));
  /* Every signal, of every interface, since the daemon started (they are
   * delivered as the main loop runs). */
  CLOCHE_TEST_WAIT_FOR (strstr (signals->str, "io.github.cloche.Egress.Decision") != NULL, 30);
  CLOCHE_TEST_WAIT_FOR (strstr (signals->str, "io.github.cloche.Secrets.Changed") != NULL, 30);
  g_test_message ("%u bytes of signals", (guint) signals->len);
  g_assert_null (strstr (signals->str, VALUE));
}

/* What is written to disk, the session closed: the audit log and
 * everything under the daemon's home and runtime folder, the support
 * report (made now, unpacked there) among it. */
static void
test_files (void)
{
  g_autofree char *state = g_build_filename (daemon_->home, "state", NULL);
  g_autofree char *config = g_build_filename (daemon_->home, "config", NULL);
  g_autofree char *audit = g_build_filename (state, "cloche", "audit.jsonl", NULL);
  g_autofree char *report = g_build_filename (daemon_->home, "report.tar.gz", NULL);
  g_autofree char *unpacked = g_build_filename (daemon_->home, "report", NULL);
  g_autofree char *text = NULL, *out = NULL;
  g_auto(GStrv) envp = g_get_environ ();
  const char *report_argv[] = { g_getenv ("CLOCHE_CTL"), "support-report", report, NULL };
  const char *tar[] = { "tar", "-xzf", report, "-C", unpacked, NULL };
  const char *grep[] = { "grep", "-rl", "--devices=skip", VALUE, daemon_->home,
                         daemon_->runtime_dir, NULL };
  int status = -1;

  envp = g_environ_setenv (envp, "HOME", daemon_->home, TRUE);
  envp = g_environ_setenv (envp, "XDG_STATE_HOME", state, TRUE);
  envp = g_environ_setenv (envp, "XDG_CONFIG_HOME", config, TRUE);
  envp = g_environ_setenv (envp, "XDG_RUNTIME_DIR", daemon_->runtime_dir, TRUE);
  g_assert_true (g_spawn_sync (NULL, (char **) report_argv, envp, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpint (g_mkdir_with_parents (unpacked, 0700), ==, 0);
  g_assert_true (g_spawn_sync (NULL, (char **) tar, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, NULL));
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  /* The audit log has the session's command and its egress. */
  g_assert_true (g_file_get_contents (audit, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "egress"));
  g_assert_nonnull (strstr (text, session));
  /* Nothing under the daemon's home (state, config, the report, unpacked)
   * or its runtime folder holds the value: grep finds nothing (1). */
  g_clear_pointer (&out, g_free);
  g_assert_true (g_spawn_sync (NULL, (char **) grep, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, NULL, &status, NULL));
  g_test_message ("files holding the value: %s", out);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 1);
}

static void
test_stop (void)
{
  g_autoptr(GError) error = NULL;

  cloche_dbus_sessions_call_close_sync (daemon_->sessions, session, NULL, &error);
  g_assert_no_error (error);
  test_files ();
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
  signals = g_string_new (NULL);
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);
  keyring = cloche_test_keyring_start (g_test_dbus_get_bus_address (bus));
  g_test_add_func ("/vm-secrets-daemon/start", test_start);
  g_test_add_func ("/vm-secrets-daemon/request", test_request);
  g_test_add_func ("/vm-secrets-daemon/nowhere-else", test_nowhere_else);
  g_test_add_func ("/vm-secrets-daemon/stop", test_stop);
  status = g_test_run ();
  cloche_test_daemon_free (daemon_);
  cloche_test_keyring_stop (keyring);
  g_test_dbus_stop (bus);
  g_clear_pointer (&server, cloche_test_https_stop);
  g_clear_pointer (&test_ca, cloche_test_ca_free);
  g_string_free (signals, TRUE);
  g_free (session);
  g_free (work_dir);
  return status;
}
