/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Egress on a real daemon, on a private bus, with no VM:
 * requests go straight to the proxy's socket, as the relay would send them.
 * The rules and socket as properties, every decision through GetDecisions
 * and the Decision signal, the byte counters, clochectl egress, and a
 * daemon that shrugs off garbage on its socket. The cases run in order on
 * one daemon.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "cloche-test-daemon.h"
#include "cloche-test-http.h"

static ClocheTestDaemon *daemon_;
static ClocheDbusEgress *egress;
static ClocheTestHttp *server;
static guint16 port;
static GPtrArray *signalled;    /* a{sv} from the Decision signal */

static void
on_decision (ClocheDbusEgress *proxy,
             GVariant         *decision)
{
  g_ptr_array_add (signalled, g_variant_ref (decision));
}

/* One request on the proxy's socket; the whole answer. */
static char *
request (const char *text,
         gsize       length)
{
  const char *path = cloche_dbus_egress_get_socket_path (egress);
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  struct timeval timeout = { .tv_sec = 30 };
  GString *answer = g_string_new (NULL);
  char buffer[4096];
  gssize n;
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_strlcpy (address.sun_path, path, sizeof address.sun_path);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &address, sizeof address), ==, 0);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  /* The proxy may answer before reading it all (a head too large). */
  send (fd, text, length, MSG_NOSIGNAL);
  shutdown (fd, SHUT_WR);
  while ((n = recv (fd, buffer, sizeof buffer, 0)) > 0)
    g_string_append_len (answer, buffer, n);
  g_assert_true (n == 0 || errno == ECONNRESET);
  close (fd);
  return g_string_free (answer, FALSE);
}

static void
assert_daemon_alive (void)
{
  g_autoptr(GVariant) decisions = NULL;
  g_autoptr(GError) error = NULL;

  cloche_dbus_egress_call_get_decisions_sync (egress, G_MAXUINT64, &decisions, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (decisions), ==, 0);
}

static void
test_properties (void)
{
  g_autofree char *rule = g_strdup_printf ("allow 127.0.0.1:%u", port);
  const char * const *rules = cloche_dbus_egress_get_rules (egress);
  const char *path = cloche_dbus_egress_get_socket_path (egress);
  struct stat st;

  g_assert_cmpstr (cloche_dbus_egress_get_default_rule (egress), ==, "deny");
  g_assert_nonnull (rules);
  g_assert_cmpstr (rules[0], ==, rule);
  g_assert_null (rules[1]);
  /* In the daemon's runtime folder, for this user only. */
  g_assert_true (g_str_has_prefix (path, daemon_->runtime_dir));
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

static GVariant *
find_decision (GVariant *decisions,
               guint64   id)
{
  for (gsize i = 0; i < g_variant_n_children (decisions); i++)
    {
      g_autoptr(GVariant) decision = g_variant_get_child_value (decisions, i);
      guint64 this_id = 0;

      g_variant_lookup (decision, "id", "t", &this_id);
      if (this_id == id)
        return g_steal_pointer (&decision);
    }
  return NULL;
}

static void
test_decisions (void)
{
  g_autofree char *allowed_request = g_strdup_printf ("CLOCHE-SESSION abc\n"
                                                      "GET http://127.0.0.1:%u/v1/x?key=k HTTP/1.1\r\n"
                                                      "\r\n", port);
  static const char denied_request[] = "CONNECT example.org:443 HTTP/1.1\r\n\r\n";
  g_autofree char *allowed = request (allowed_request, strlen (allowed_request));
  g_autofree char *denied = request (denied_request, strlen (denied_request));
  g_autoptr(GVariant) decisions = NULL, first = NULL, second = NULL;
  g_autoptr(GError) error = NULL;
  const char *session = NULL, *rule = NULL, *path = NULL;
  gboolean allowed_flag = TRUE, ended = FALSE, intercepted = TRUE;
  guint64 bytes_in = 0;

  g_assert_true (g_str_has_suffix (allowed, "\r\n\r\nyes"));
  g_assert_true (g_str_has_prefix (denied, "HTTP/1.1 403 Forbidden\r\n"));

  /* allowed: decided, then ended; denied: ended */
  CLOCHE_TEST_WAIT_FOR (signalled->len == 3, 10);
  cloche_dbus_egress_call_get_decisions_sync (egress, 0, &decisions, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_n_children (decisions), ==, 2);
  first = find_decision (decisions, 1);
  second = find_decision (decisions, 2);
  g_assert_nonnull (first);
  g_assert_nonnull (second);
  g_assert_true (g_variant_lookup (first, "session", "&s", &session));
  g_assert_cmpstr (session, ==, "abc");
  /* A request the proxy read has its path, without the query; a CONNECT none. */
  g_assert_true (g_variant_lookup (first, "path", "&s", &path));
  g_assert_cmpstr (path, ==, "/v1/x");
  g_assert_true (g_variant_lookup (first, "intercepted", "b", &intercepted));
  g_assert_false (intercepted);
  g_assert_false (g_variant_lookup (second, "path", "&s", &path));
  g_assert_true (g_variant_lookup (first, "ended", "b", &ended));
  g_assert_true (ended);
  g_assert_true (g_variant_lookup (first, "bytes-in", "t", &bytes_in));
  g_assert_cmpuint (bytes_in, ==, strlen (allowed));
  g_assert_true (g_variant_lookup (second, "allowed", "b", &allowed_flag));
  g_assert_false (allowed_flag);
  g_assert_true (g_variant_lookup (second, "rule", "&s", &rule));
  g_assert_cmpstr (rule, ==, "default deny");
  /* The last signal is the denial, final. */
  g_assert_true (g_variant_lookup (signalled->pdata[2], "rule", "&s", &rule));
  g_assert_cmpstr (rule, ==, "default deny");

  /* Counters are published within a second or so. */
  CLOCHE_TEST_WAIT_FOR (cloche_dbus_egress_get_bytes_in (egress) == bytes_in, 10);
  g_assert_cmpuint (cloche_dbus_egress_get_bytes_out (egress), >, 0);
  g_assert_nonnull (cloche_dbus_egress_get_session_bytes (egress));
  g_assert_true (g_variant_lookup (cloche_dbus_egress_get_session_bytes (egress), "abc", "(tt)",
                                   &bytes_in, NULL));
}

static char *
run_clochectl (const char *first,
               ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status = -1;
  va_list args;

  g_ptr_array_add (argv, (gpointer) g_getenv ("CLOCHE_CTL"));
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  return out;
}

static void
test_clochectl (void)
{
  g_autofree char *log = run_clochectl ("egress", "log", NULL);
  g_autofree char *log_json = run_clochectl ("egress", "log", "--json", NULL);
  g_autofree char *status = run_clochectl ("egress", "status", NULL);
  g_autofree char *status_json = run_clochectl ("egress", "status", "--json", NULL);
  g_auto(GStrv) lines = g_strsplit (g_strchomp (log_json), "\n", -1);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *rule = g_strdup_printf ("allow 127.0.0.1:%u", port);
  JsonObject *object;

  g_assert_nonnull (strstr (log, "DENIED  CONNECT  example.org:443  session -  rule \"default deny\""));
  g_assert_nonnull (strstr (log, "allowed GET"));
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  json_parser_load_from_data (parser, lines[1], -1, &error);
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (object, "host"), ==, "example.org");
  g_assert_false (json_object_get_boolean_member (object, "allowed"));

  g_assert_nonnull (strstr (status, rule));
  g_assert_nonnull (strstr (status, "default deny"));
  json_parser_load_from_data (parser, status_json, -1, &error);
  g_assert_no_error (error);
  object = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (object, "default"), ==, "deny");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (object, "rules"), 0),
                   ==, rule);
}

static gboolean
audit_log_has (const char *text)
{
  g_autofree char *path = g_build_filename (daemon_->home, "state", "cloche", "audit.jsonl",
                                            NULL);
  g_autofree char *contents = NULL;

  return g_file_get_contents (path, &contents, NULL, NULL) && strstr (contents, text) != NULL;
}

/* The Decision signal @i says @key is @value. */
static void
assert_signalled (guint       i,
                  const char *key,
                  const char *value)
{
  const char *got = NULL;

  g_assert_true (g_variant_lookup (signalled->pdata[i], key, "&s", &got));
  if (strstr (got, value) == NULL)
    g_error ("Decision %u: %s is “%s”, not “%s”", i, key, got, value);
}

/* What a confused or hostile guest could send; each gets its answer and
 * the daemon goes on. Each refusal is a decision: a Decision signal and a
 * line of the audit log, with the proxy's rule and the reason. */
static void
test_bad_input (void)
{
  static const char garbage[] = "\x16\x03\x01\x02\xff\x01\x7f\x01\xfc\x03\x03\r\n\r\n";
  static const char nul[] = "GET http://a\0b/ HTTP/1.1\r\n\r\n";
  static const char https[] = "CLOCHE-SESSION wget\n"
                              "GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\n"
                              "Proxy-Authorization: Basic a2Ey\r\n\r\n" /* ka2 */;
  guint before = signalled->len;
  g_autofree char *big = g_strnfill (64 * 1024, 'x');
  g_autofree char *oversized = g_strdup_printf ("GET http://a/ HTTP/1.1\r\nX: %s\r\n\r\n", big);
  g_autofree char *a = request (garbage, sizeof garbage - 1);
  g_autofree char *b = request (nul, sizeof nul - 1);
  g_autofree char *c = request (oversized, strlen (oversized));
  g_autofree char *d = request ("", 0);
  g_autofree char *e = request (https, strlen (https));
  g_autofree char *log = NULL;

  g_assert_true (g_str_has_prefix (a, "HTTP/1.1 400 Bad Request\r\n"));
  g_assert_true (g_str_has_prefix (b, "HTTP/1.1 400 Bad Request\r\n"));
  g_assert_nonnull (strstr (b, "NUL"));
  g_assert_true (g_str_has_prefix (c, "HTTP/1.1 431 "));
  g_assert_cmpstr (d, ==, "");
  g_assert_true (g_str_has_prefix (e, "HTTP/1.1 400 Bad Request\r\n"));
  assert_daemon_alive ();
  g_assert_cmpuint (cloche_dbus_egress_get_connections (egress), ==, 0);

  CLOCHE_TEST_WAIT_FOR (signalled->len == before + 4, 10);
  assert_signalled (before, "rule", "bad-request");
  assert_signalled (before, "error", "request line");
  assert_signalled (before + 1, "error", "NUL");
  assert_signalled (before + 2, "rule", "head-too-large");
  assert_signalled (before + 2, "host", "a");
  assert_signalled (before + 3, "host", "example.com");
  assert_signalled (before + 3, "session", "wget");
  assert_signalled (before + 3, "error", "must go through CONNECT");
  CLOCHE_TEST_WAIT_FOR (audit_log_has ("\"rule\":\"head-too-large\""), 10);
  g_assert_true (audit_log_has ("\"session\":\"wget\""));
  g_assert_true (audit_log_has ("must go through CONNECT"));
  /* clochectl shows what could not be read as "-". */
  log = run_clochectl ("egress", "log", NULL);
  g_assert_nonnull (strstr (log, "DENIED  -        -  session -  rule \"bad-request\"  failed: "));
  g_assert_nonnull (strstr (log, "DENIED  GET      example.com:443  session wget  rule "
                                 "\"bad-request\"  failed: "));
}

static gboolean
rules_include (const char *rule)
{
  const char * const *rules = cloche_dbus_egress_get_rules (egress);

  return rules != NULL && g_strv_contains (rules, rule);
}

/* Three requests on one connection, sent at once (pipelined): allowed,
 * refused, allowed. Each is its own decision, all of the connection's
 * session (a Proxy-Authorization naming another changes nothing), in the
 * Decision signals and the audit log. */
static void
test_keep_alive (void)
{
  g_autofree char *text = g_strdup_printf ("CLOCHE-SESSION ka\n"
                                           "GET http://127.0.0.1:%u/1 HTTP/1.1\r\n\r\n"
                                           "GET http://example.net/ HTTP/1.1\r\n"
                                           "Proxy-Authorization: Basic a2Ey\r\n\r\n"
                                           "GET http://127.0.0.1:%u/3 HTTP/1.1\r\n\r\n",
                                           port, port);
  static const char yes[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes";
  guint before = signalled->len;
  g_autofree char *answers = request (text, strlen (text));
  const char *refusal = answers + strlen (yes);
  const char *session = NULL, *rule = NULL;

  g_assert_true (g_str_has_prefix (answers, yes));
  g_assert_true (g_str_has_prefix (refusal, "HTTP/1.1 403 Forbidden\r\n"));
  g_assert_true (g_str_has_suffix (answers, yes));
  g_assert_nonnull (strstr (refusal, "Session: ka\n"));

  /* decided + ended, ended, decided + ended */
  CLOCHE_TEST_WAIT_FOR (signalled->len == before + 5, 10);
  g_assert_true (g_variant_lookup (signalled->pdata[before + 2], "session", "&s", &session));
  g_assert_cmpstr (session, ==, "ka");
  g_assert_true (g_variant_lookup (signalled->pdata[before + 2], "rule", "&s", &rule));
  g_assert_cmpstr (rule, ==, "default deny");
  g_assert_true (g_variant_lookup (signalled->pdata[before + 4], "session", "&s", &session));
  g_assert_cmpstr (session, ==, "ka");
  CLOCHE_TEST_WAIT_FOR (audit_log_has ("\"session\":\"ka\""), 10);
  g_assert_false (audit_log_has ("\"session\":\"ka2\""));
}

/* The policy file is where the rules come from: an edit reaches the
 * running proxy, a deny there wins over --egress-allow, and every
 * decision is in the audit log with its rule. */
static void
test_policy_and_audit (void)
{
  g_autofree char *dir = g_build_filename (daemon_->home, "config", "cloche", NULL);
  g_autofree char *path = g_build_filename (dir, "policy.json", NULL);
  g_autofree char *deny = g_strdup_printf ("deny 127.0.0.1:%u", port);
  g_autofree char *policy = g_strdup_printf ("{ \"version\": 1, \"egress\": "
                                             "{ \"deny\": [\"127.0.0.1:%u\"] } }\n", port);
  g_autofree char *get = g_strdup_printf ("GET http://127.0.0.1:%u/ HTTP/1.1\r\n\r\n", port);
  g_autofree char *answer = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, policy, -1, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (rules_include (deny), 30);
  answer = request (get, strlen (get));
  g_assert_true (g_str_has_prefix (answer, "HTTP/1.1 403 Forbidden\r\n"));
  g_assert_nonnull (strstr (answer, deny));

  /* Written by the log's own thread. */
  CLOCHE_TEST_WAIT_FOR (audit_log_has (deny), 10);
  g_assert_true (audit_log_has ("\"event\":\"egress.decision\""));
  g_assert_true (audit_log_has ("\"rule\":\"default deny\""));
  g_assert_true (audit_log_has ("\"session\":\"abc\""));
}

/* With "default": "allow", the host's own addresses are still out of
 * reach (rule "host-local", in the answer and the audit log), by address
 * or by a name that resolves to one; --egress-allow's rule, which names
 * 127.0.0.1:PORT, still reaches the test's server. */
static void
test_host_local (void)
{
  g_autofree char *dir = g_build_filename (daemon_->home, "config", "cloche", NULL);
  g_autofree char *path = g_build_filename (dir, "policy.json", NULL);
  g_autofree char *get = g_strdup_printf ("GET http://127.0.0.1:%u/ HTTP/1.1\r\n\r\n", port);
  g_autofree char *by_name = g_strdup_printf ("CONNECT localhost:%u HTTP/1.1\r\n\r\n", port);
  static const char by_address[] = "CLOCHE-SESSION local\n"
                                   "CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n";
  g_autofree char *refused = NULL, *refused_name = NULL, *allowed = NULL;
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, "{ \"version\": 1, \"egress\": { \"default\": \"allow\" } }\n",
                       -1, &error);
  g_assert_no_error (error);
  CLOCHE_TEST_WAIT_FOR (g_strcmp0 (cloche_dbus_egress_get_default_rule (egress), "allow") == 0,
                        30);

  refused = request (by_address, strlen (by_address));
  g_assert_true (g_str_has_prefix (refused, "HTTP/1.1 403 Forbidden\r\n"));
  g_assert_nonnull (strstr (refused, "X-Cloche-Rule: host-local\r\n"));
  g_assert_nonnull (strstr (refused, "(127.0.0.1)"));
  refused_name = request (by_name, strlen (by_name));
  g_assert_nonnull (strstr (refused_name, "X-Cloche-Rule: host-local\r\n"));
  allowed = request (get, strlen (get));
  g_assert_true (g_str_has_suffix (allowed, "\r\n\r\nyes"));

  CLOCHE_TEST_WAIT_FOR (audit_log_has ("\"rule\":\"host-local\""), 10);
  g_assert_true (audit_log_has ("\"session\":\"local\""));
  g_assert_true (audit_log_has ("\"host\":\"localhost\""));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *allow = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

  server = cloche_test_http_start ("yes", CLOCHE_TEST_HTTP_LOOPBACK);
  port = cloche_test_http_get_port (server);

  allow = g_strdup_printf ("127.0.0.1:%u", port);
  daemon_ = cloche_test_daemon_start ((const char *[]) { "--egress-allow", allow, NULL });
  egress = cloche_dbus_egress_proxy_new_sync (
    g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon_->proxy)), G_DBUS_PROXY_FLAGS_NONE,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  signalled = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_signal_connect (egress, "decision", G_CALLBACK (on_decision), NULL);

  g_test_add_func ("/egress-daemon/properties", test_properties);
  g_test_add_func ("/egress-daemon/decisions", test_decisions);
  g_test_add_func ("/egress-daemon/clochectl", test_clochectl);
  g_test_add_func ("/egress-daemon/bad-input", test_bad_input);
  g_test_add_func ("/egress-daemon/keep-alive", test_keep_alive);
  g_test_add_func ("/egress-daemon/policy-and-audit", test_policy_and_audit);
  g_test_add_func ("/egress-daemon/host-local", test_host_local);
  status = g_test_run ();

  g_clear_object (&egress);
  cloche_test_daemon_free (daemon_);
  cloche_test_http_stop (server);
  g_ptr_array_unref (signalled);
  return status;
}
