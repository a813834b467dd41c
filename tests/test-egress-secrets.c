/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Secrets through the egress proxy, on this host with no VM: the proxy on
 * its real Unix socket, a real GNOME Keyring on a private bus holding the
 * value, real HTTPS servers on 127.0.0.1 with a CA of the test's own that
 * the proxy is told to trust (as the daemon is by CLOCHE_TEST_UPSTREAM_CA),
 * and a client in a thread of its own doing what one in the guest does:
 * CONNECT, then TLS trusting only the CA it is given.
 *
 * What it holds: a placeholder in the bound header arrives as the value;
 * another key is refused (foreign-credential) and never reaches the
 * server; an unbound host is a tunnel (the client sees the server's own
 * certificate); a server whose certificate the host does not trust is a
 * refusal with its reason; a placeholder anywhere else is refused; rules
 * with a method and a path decide each request inside; and the value is in
 * no decision.
 */
#include "config.h"

#include <gio/gunixsocketaddress.h>
#include <libsecret/secret.h>
#include <string.h>

#include "cloche-egress-proxy.h"
#include "cloche-test-http.h"
#include "cloche-test-https.h"
#include "cloche-test-keyring.h"

#define VALUE "sk-real-0123456789abcdef-never-in-a-log"
#define NAME "ANTHROPIC_API_KEY"

typedef struct
{
  char               *dir;
  char               *socket_path;
  ClocheTestCa       *test_ca;
  char               *test_ca_path;      /* the servers' CA, which the proxy trusts */
  char               *cloche_ca_path;    /* the proxy's CA, which the guest trusts */
  ClocheTestHttps    *server;            /* localhost and 127.0.0.1, by the test CA */
  ClocheTestHttps    *rogue;             /* localhost, by a CA nobody trusts */
  ClocheEgressProxy  *proxy;
  ClocheSecrets      *secrets;
  ClocheSecretStore  *store;
  ClocheEgressCa     *ca;
  char               *placeholder;       /* session s1's */
  GPtrArray          *ended;
} Fixture;

/* The client, in a thread: one connection, a CONNECT (or none), TLS
 * trusting @ca_path alone, then each request in turn. */

typedef struct
{
  const char  *socket_path;
  char        *session;          /* the connection's */
  char        *connect;          /* "host:port", or NULL for plain http:// requests */
  char        *ca_path;
  char       **requests;
  char        *connect_answer;   /* the head (and body) of the CONNECT's answer */
  char        *tls_error;
  char        *issuer;           /* of the certificate the client was shown */
  GPtrArray   *answers;
  gboolean     done;
} Client;

static void
client_free (Client *client)
{
  g_free (client->session);
  g_free (client->connect);
  g_free (client->ca_path);
  g_strfreev (client->requests);
  g_free (client->connect_answer);
  g_free (client->tls_error);
  g_free (client->issuer);
  g_ptr_array_unref (client->answers);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

/* A head and the body its Content-Length frames, or what came before the end. */
static char *
read_answer (GInputStream *in)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *lower = NULL;
  const char *length;
  gsize n = 0, got = 0;
  char c;

  while (!g_str_has_suffix (text->str, "\r\n\r\n")
         && g_input_stream_read (in, &c, 1, NULL, NULL) == 1)
    g_string_append_c (text, c);
  lower = g_ascii_strdown (text->str, -1);
  if ((length = strstr (lower, "\r\ncontent-length:")) != NULL)
    n = g_ascii_strtoull (length + 17, NULL, 10);
  if (n > 0)
    {
      g_autofree char *body = g_malloc0 (n + 1);

      g_input_stream_read_all (in, body, n, &got, NULL, NULL);
      g_string_append_len (text, body, got);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* What the session's forwarder in the guest sends first on each
 * connection (cloche-egress-proxy-session.c): the connection's session. */
static void
send_session_line (Client    *client,
                   GIOStream *stream)
{
  g_autofree char *line = g_strdup_printf ("CLOCHE-SESSION %s\n", client->session);

  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (stream), line,
                                            strlen (line), NULL, NULL, NULL));
}

static GIOStream *
open_tls (Client    *client,
          GIOStream *base)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *host = g_strndup (client->connect, strrchr (client->connect, ':') - client->connect);
  g_autoptr(GSocketConnectable) identity = g_network_address_new (host, 443);
  g_autoptr(GTlsDatabase) database = g_tls_file_database_new (client->ca_path, &error);
  g_autoptr(GIOStream) tls = NULL;
  GTlsCertificate *peer;

  g_assert_no_error (error);
  tls = g_tls_client_connection_new (base, identity, &error);
  g_assert_no_error (error);
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), database);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error))
    {
      client->tls_error = g_strdup (error->message);
      return NULL;
    }
  peer = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (tls));
  client->issuer = g_tls_certificate_get_issuer_name (peer);
  return g_steal_pointer (&tls);
}

static gboolean
send_connect (Client    *client,
              GIOStream *stream)
{
  g_autofree char *head = g_strdup_printf ("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                                           client->connect, client->connect);

  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (stream), head,
                                            strlen (head), NULL, NULL, NULL));
  client->connect_answer = read_answer (g_io_stream_get_input_stream (stream));
  return g_str_has_prefix (client->connect_answer, "HTTP/1.1 200 ");
}

static gpointer
client_thread (gpointer data)
{
  Client *client = data;
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (client->socket_path);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GIOStream) tls = NULL;
  GIOStream *stream;

  connection = g_socket_client_connect (socket_client, G_SOCKET_CONNECTABLE (address), NULL, NULL);
  g_assert_nonnull (connection);
  stream = G_IO_STREAM (connection);
  send_session_line (client, stream);
  if (client->connect != NULL)
    {
      if (!send_connect (client, stream) || (tls = open_tls (client, stream)) == NULL)
        goto out;
      stream = tls;
    }
  for (guint i = 0; client->requests[i] != NULL; i++)
    {
      g_autoptr(GString) text = g_string_new (client->requests[i]);
      g_autofree char *request = NULL;

      if (client->connect != NULL)
        g_string_replace (text, "@HOST@", client->connect, 1);
      request = g_string_free (g_steal_pointer (&text), FALSE);

      if (!g_output_stream_write_all (g_io_stream_get_output_stream (stream), request,
                                      strlen (request), NULL, NULL, NULL))
        break;
      g_ptr_array_add (client->answers, read_answer (g_io_stream_get_input_stream (stream)));
      if (strstr (client->answers->pdata[i], "\r\nConnection: close\r\n") != NULL)
        break;
    }
out:
  g_atomic_int_set (&client->done, TRUE);
  /* The test's loop may be waiting with nothing else to wake it. */
  g_main_context_wakeup (NULL);
  return NULL;
}

/* Runs the client while the proxy serves it on this thread's loop; a
 * request's "@HOST@" is the CONNECT's host. */
static Client *
run_client (Fixture            *fixture,
            const char         *session,
            const char         *connect,
            const char         *ca_path,
            const char * const *requests)
{
  Client *client = g_new0 (Client, 1);
  GThread *thread;

  client->socket_path = fixture->socket_path;
  client->session = g_strdup (session);
  client->connect = g_strdup (connect);
  client->ca_path = g_strdup (ca_path);
  client->requests = g_strdupv ((char **) requests);
  client->answers = g_ptr_array_new_with_free_func (g_free);
  thread = g_thread_new ("client", client_thread, client);
  while (!g_atomic_int_get (&client->done))
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  /* The proxy ends its side's decisions as the connection closes. */
  for (guint i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  return client;
}

static const char *
answer (Client *client,
        guint   index)
{
  g_assert_cmpuint (client->answers->len, >, index);
  g_test_message ("answer %u: %s", index, (const char *) client->answers->pdata[index]);
  return client->answers->pdata[index];
}

/* Set-up */

static gboolean
on_tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
on_ended (ClocheEgressProxy    *proxy,
          ClocheEgressDecision *decision,
          Fixture              *fixture)
{
  g_ptr_array_add (fixture->ended, cloche_egress_decision_ref (decision));
}

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
store_value (ClocheSecretStore *store)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cloche_secret_store_save_async (store, NAME, VALUE, NULL, on_done, &result);
  g_assert_true (cloche_secret_store_save_finish (store, wait_result (&result), &error));
  g_assert_no_error (error);
}

static char *
write_cloche_ca (Fixture *fixture)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (fixture->dir, "cloche-ca.pem", NULL);

  cloche_egress_ca_load_async (fixture->ca, NULL, on_done, &result);
  g_assert_true (cloche_egress_ca_load_finish (fixture->ca, wait_result (&result), &error));
  g_file_set_contents (path, cloche_egress_ca_get_certificate_pem (fixture->ca), -1, &error);
  g_assert_no_error (error);
  return path;
}

static ClocheSecretBinding *
binding (const char *name,
         const char *header,
         guint16     port_a,
         guint16     port_b)
{
  g_autofree char *host_a = g_strdup_printf ("localhost:%u", port_a);
  g_autofree char *host_b = g_strdup_printf ("localhost:%u", port_b);
  const char *hosts[] = { host_a, host_b, NULL };
  g_autoptr(GError) error = NULL;
  ClocheSecretBinding *made = cloche_secret_binding_new (name, hosts, header, "{}", &error);

  g_assert_no_error (error);
  return made;
}

static void
set_rules (Fixture            *fixture,
           const char * const *allow)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheEgressRules) rules = cloche_egress_rules_new (FALSE, allow, NULL, &error);

  g_assert_no_error (error);
  cloche_egress_proxy_set_rules (fixture->proxy, rules);
}

static void
set_up_secrets (Fixture *fixture)
{
  g_autoptr(GPtrArray) bindings =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_secret_binding_free);
  guint16 good = cloche_test_https_get_port (fixture->server);
  guint16 rogue = cloche_test_https_get_port (fixture->rogue);
  g_auto(GStrv) environment = NULL;

  g_ptr_array_add (bindings, binding (NAME, "x-api-key", good, rogue));
  /* Bound, with no value in the keyring. */
  g_ptr_array_add (bindings, binding ("NO_VALUE_TOKEN", "x-other-key", good, rogue));
  fixture->secrets = cloche_secrets_new ();
  cloche_secrets_set_bindings (fixture->secrets, bindings);
  environment = cloche_secrets_dup_environment (fixture->secrets, "s1");
  g_assert_true (g_str_has_prefix (environment[0], NAME "="));
  fixture->placeholder = g_strdup (environment[0] + strlen (NAME "="));
  fixture->store = cloche_secret_store_new ();
  store_value (fixture->store);
  {
    g_autofree char *folder = g_build_filename (fixture->dir, "egress-ca", NULL);

    fixture->ca = cloche_egress_ca_new (folder);
  }
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(ClocheTestCa) rogue_ca = cloche_test_ca_new ("Rogue CA");
  g_autoptr(GTlsCertificate) good = NULL, bad = NULL;
  g_autoptr(GTlsDatabase) upstream = NULL;
  g_autoptr(ClocheEgressRules) rules = NULL;
  g_autoptr(GError) error = NULL;
  const char *allow[] = { "localhost", "127.0.0.1", NULL };

  fixture->dir = g_dir_make_tmp ("cloche-egress-secrets-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->test_ca = cloche_test_ca_new ("Test server CA");
  fixture->test_ca_path = cloche_test_ca_write (fixture->test_ca, fixture->dir);
  good = cloche_test_ca_issue (fixture->test_ca, "localhost", "127.0.0.1");
  bad = cloche_test_ca_issue (rogue_ca, "localhost", "127.0.0.1");
  fixture->server = cloche_test_https_start (good);
  fixture->rogue = cloche_test_https_start (bad);
  set_up_secrets (fixture);
  fixture->cloche_ca_path = write_cloche_ca (fixture);

  fixture->socket_path = g_build_filename (fixture->dir, "egress.sock", NULL);
  rules = cloche_egress_rules_new (FALSE, allow, NULL, &error);
  g_assert_no_error (error);
  fixture->proxy = cloche_egress_proxy_new (rules);
  upstream = g_tls_file_database_new (fixture->test_ca_path, &error);
  g_assert_no_error (error);
  cloche_egress_proxy_set_upstream_database (fixture->proxy, upstream);
  cloche_egress_proxy_set_secrets (fixture->proxy, fixture->secrets, fixture->store, fixture->ca);
  g_assert_true (cloche_egress_proxy_listen (fixture->proxy, fixture->socket_path, &error));
  g_assert_no_error (error);
  fixture->ended = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_egress_decision_unref);
  g_signal_connect (fixture->proxy, "decision-ended", G_CALLBACK (on_ended), fixture);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", fixture->dir);

  g_assert_finalize_object (fixture->proxy);
  g_clear_object (&fixture->secrets);
  g_clear_object (&fixture->store);
  g_clear_object (&fixture->ca);
  cloche_test_https_stop (fixture->server);
  cloche_test_https_stop (fixture->rogue);
  cloche_test_ca_free (fixture->test_ca);
  g_ptr_array_unref (fixture->ended);
  g_assert_cmpint (system (command), ==, 0);
  g_free (fixture->dir);
  g_free (fixture->socket_path);
  g_free (fixture->test_ca_path);
  g_free (fixture->cloche_ca_path);
  g_free (fixture->placeholder);
}

/* Checks */

static char *
authority (ClocheTestHttps *server,
           const char      *host)
{
  return g_strdup_printf ("%s:%u", host, cloche_test_https_get_port (server));
}

/* The decision ended for @method (the last one), never holding the value. */
static ClocheEgressDecision *
scan_decisions (Fixture    *fixture,
                const char *method)
{
  ClocheEgressDecision *found = NULL;

  for (guint i = 0; i < fixture->ended->len; i++)
    {
      ClocheEgressDecision *decision = fixture->ended->pdata[i];
      g_autofree char *all = g_strjoin ("|", decision->session, decision->method, decision->host,
                                        decision->path != NULL ? decision->path : "",
                                        decision->rule,
                                        decision->error != NULL ? decision->error : "", NULL);

      g_assert_null (strstr (all, VALUE));
      if (g_str_equal (decision->method, method))
        found = decision;
    }
  return found;
}

/* Until @n decisions have ended. */
static void
wait_ended (Fixture *fixture,
            guint    n)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, on_tick, NULL);

  while (fixture->ended->len < n && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  g_assert_cmpuint (fixture->ended->len, >=, n);
}

/* A tunnel's decision ends once the proxy has seen both sides close, which
 * may be after the client's thread is done: the loop runs until it has
 * (no time is asserted; the bound only keeps a broken proxy from hanging). */
static ClocheEgressDecision *
find_decision (Fixture    *fixture,
               const char *method)
{
  ClocheEgressDecision *found;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, on_tick, NULL);

  while ((found = scan_decisions (fixture, method)) == NULL
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  g_assert_nonnull (found);
  return found;
}

static char *
request_with (const char *path,
              const char *headers)
{
  return g_strdup_printf ("POST %s HTTP/1.1\r\nHost: @HOST@\r\n%sContent-Length: 2\r\n"
                          "\r\n{}", path, headers);
}

static void
test_swap (Fixture       *fixture,
           gconstpointer  data)
{
  g_autofree char *target = authority (fixture->server, "localhost");
  g_autofree char *header = g_strdup_printf ("x-api-key: %s\r\n", fixture->placeholder);
  g_autofree char *request = request_with ("/v1/messages?beta=1", header);
  const char *requests[] = { request, request, NULL };
  g_autoptr(Client) client = run_client (fixture, "s1", target, fixture->cloche_ca_path,
                                         requests);
  g_autofree char *record = cloche_test_https_dup_record (fixture->server);
  g_autofree char *expected = g_strdup_printf ("x-api-key: %s\r\n", VALUE);
  ClocheEgressDecision *decision;

  g_assert_null (client->tls_error);
  /* The guest was shown a certificate of Cloche's CA, for the host. */
  g_assert_nonnull (strstr (client->issuer, "Cloche egress proxy CA"));
  g_assert_true (g_str_has_prefix (answer (client, 0), "HTTP/1.1 200 "));
  g_assert_true (g_str_has_suffix (answer (client, 1), CLOCHE_TEST_HTTPS_BODY));
  /* Both requests (one connection) reached the server with the value, and
   * never with the placeholder. */
  g_assert_cmpuint (cloche_test_https_get_count (fixture->server), ==, 2);
  g_assert_nonnull (strstr (strstr (record, expected) + 1, expected));
  g_assert_null (strstr (record, fixture->placeholder));
  decision = find_decision (fixture, "POST");
  g_assert_true (decision->allowed);
  g_assert_true (decision->intercepted);
  g_assert_cmpstr (decision->path, ==, "/v1/messages");
  g_assert_cmpstr (decision->session, ==, "s1");
  g_assert_cmpstr (decision->rule, ==, "allow localhost");
  decision = find_decision (fixture, "CONNECT");
  g_assert_true (decision->intercepted);
  g_assert_null (decision->path);
}

/* Another key to the bound host: refused, readable by the agent, and it
 * never reaches the server. */
static void
test_foreign_credential (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autofree char *target = authority (fixture->server, "localhost");
  g_autofree char *own = request_with ("/v1/messages", "x-api-key: sk-attacker-key\r\n");
  g_autofree char *beside = g_strdup_printf ("x-api-key: %s\r\nAuthorization: Bearer sk-x\r\n",
                                             fixture->placeholder);
  g_autofree char *both = request_with ("/v1/files", beside);
  const char *requests[] = { own, both, NULL };
  g_autoptr(Client) client = run_client (fixture, "s1", target, fixture->cloche_ca_path,
                                         requests);
  ClocheEgressDecision *decision;

  g_assert_true (g_str_has_prefix (answer (client, 0), "HTTP/1.1 403 "));
  g_assert_nonnull (strstr (answer (client, 0), "X-Cloche-Rule: foreign-credential"));
  g_assert_nonnull (strstr (answer (client, 0), "not the placeholder of " NAME));
  g_assert_null (strstr (answer (client, 0), "sk-attacker-key"));
  g_assert_cmpuint (client->answers->len, ==, 1);  /* a refused request with a body ends it */
  g_assert_cmpuint (cloche_test_https_get_count (fixture->server), ==, 0);
  decision = find_decision (fixture, "POST");
  g_assert_false (decision->allowed);
  g_assert_cmpstr (decision->rule, ==, "foreign-credential");
  g_assert_null (strstr (decision->error, "sk-attacker-key"));
}

static void
test_foreign_beside_placeholder (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autofree char *target = authority (fixture->server, "localhost");
  g_autofree char *headers = g_strdup_printf ("x-api-key: %s\r\nCookie: session=attacker\r\n",
                                              fixture->placeholder);
  g_autofree char *request = g_strdup_printf ("GET /v1/files HTTP/1.1\r\nHost: @HOST@\r\n"
                                              "%s\r\n", headers);
  const char *requests[] = { request, NULL };
  g_autoptr(Client) client = run_client (fixture, "s1", target, fixture->cloche_ca_path,
                                         requests);

  g_assert_nonnull (strstr (answer (client, 0), "X-Cloche-Rule: foreign-credential"));
  g_assert_cmpuint (cloche_test_https_get_count (fixture->server), ==, 0);
}

/* Not bound: a tunnel, and the client sees the server's own certificate
 * (it trusts only the servers' CA here, and the handshake holds). */
static void
test_unbound_is_tunnel (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autofree char *target = authority (fixture->server, "127.0.0.1");
  const char *requests[] = { "GET / HTTP/1.1\r\nHost: @HOST@\r\n\r\n", NULL };
  g_autoptr(Client) client = run_client (fixture, "s1", target, fixture->test_ca_path, requests);
  g_autoptr(Client) trusting_cloche = NULL;
  ClocheEgressDecision *decision;

  g_assert_null (client->tls_error);
  g_assert_nonnull (strstr (client->issuer, "Test server CA"));
  g_assert_true (g_str_has_prefix (answer (client, 0), "HTTP/1.1 200 "));
  decision = find_decision (fixture, "CONNECT");
  g_assert_false (decision->intercepted);
  g_assert_cmpuint (decision->bytes_in, >, 0);
  /* With only Cloche's CA trusted, the server's certificate is refused. */
  trusting_cloche = run_client (fixture, "s1", target, fixture->cloche_ca_path, requests);
  g_assert_nonnull (trusting_cloche->tls_error);
  /* Its tunnel ends too before the proxy goes (it holds the proxy). */
  wait_ended (fixture, 2);
}

/* A bound host whose certificate this host does not trust: a refusal
 * that says so, before the guest's TLS and before any secret. */
static void
test_upstream_certificate (Fixture       *fixture,
                           gconstpointer  data)
{
  g_autofree char *target = authority (fixture->rogue, "localhost");
  const char *requests[] = { NULL };
  g_autoptr(Client) client = run_client (fixture, "s1", target, fixture->cloche_ca_path,
                                         requests);
  ClocheEgressDecision *decision;

  g_assert_true (g_str_has_prefix (client->connect_answer, "HTTP/1.1 502 "));
  g_assert_nonnull (strstr (client->connect_answer, "X-Cloche-Rule: upstream-certificate"));
  g_assert_nonnull (strstr (client->connect_answer, "not signed by an authority"));
  g_assert_cmpuint (cloche_test_https_get_count (fixture->rogue), ==, 0);
  decision = find_decision (fixture, "CONNECT");
  g_assert_false (decision->allowed);
  g_assert_cmpstr (decision->rule, ==, "upstream-certificate");
  g_assert_true (decision->intercepted);
}

/* A placeholder where its secret does not go, and one of another session. */
static void
test_misplaced (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(ClocheTestHttp) plain = cloche_test_http_start ("plain", CLOCHE_TEST_HTTP_LOOPBACK);
  g_autofree char *to_other = g_strdup_printf ("GET http://127.0.0.1:%u/ HTTP/1.1\r\n"
                                               "Host: x\r\nX-Note: %s\r\n\r\n",
                                               cloche_test_http_get_port (plain),
                                               fixture->placeholder);
  const char *plain_requests[] = { to_other, NULL };
  g_autoptr(Client) client = run_client (fixture, "s1", NULL, NULL, plain_requests);
  g_autofree char *target = authority (fixture->server, "localhost");
  g_autofree char *header = g_strdup_printf ("x-api-key: %s\r\n", fixture->placeholder);
  g_autofree char *request = request_with ("/v1/messages", header);
  const char *requests[] = { request, NULL };
  g_autoptr(Client) other_session = run_client (fixture, "s2", target, fixture->cloche_ca_path,
                                                requests);

  g_assert_nonnull (strstr (answer (client, 0), "X-Cloche-Rule: misplaced-placeholder"));
  g_assert_nonnull (strstr (answer (other_session, 0), "X-Cloche-Rule: misplaced-placeholder"));
  g_assert_nonnull (strstr (answer (other_session, 0), "another session"));
  g_assert_cmpuint (cloche_test_https_get_count (fixture->server), ==, 0);
}

/* "POST localhost/v1/messages": that endpoint, and no other path of the
 * host; each request inside the TLS decided on its own. */
static void
test_path_rules (Fixture       *fixture,
                 gconstpointer  data)
{
  const char *allow[] = { "POST localhost/v1/messages", NULL };
  g_autofree char *target = authority (fixture->server, "localhost");
  g_autofree char *header = g_strdup_printf ("x-api-key: %s\r\n", fixture->placeholder);
  g_autofree char *files = g_strdup_printf ("GET /v1/files HTTP/1.1\r\nHost: @HOST@\r\n"
                                            "%s\r\n", header);
  g_autofree char *messages = request_with ("/v1/messages", header);
  const char *requests[] = { files, messages, NULL };
  g_autoptr(Client) client = NULL;
  ClocheEgressDecision *decision;

  set_rules (fixture, allow);
  client = run_client (fixture, "s1", target, fixture->cloche_ca_path, requests);
  g_assert_true (g_str_has_prefix (answer (client, 0), "HTTP/1.1 403 "));
  g_assert_nonnull (strstr (answer (client, 0), "X-Cloche-Rule: default deny"));
  /* Refused without a body: the connection goes on to the next request. */
  g_assert_true (g_str_has_prefix (answer (client, 1), "HTTP/1.1 200 "));
  g_assert_cmpuint (cloche_test_https_get_count (fixture->server), ==, 1);
  decision = find_decision (fixture, "GET");
  g_assert_cmpstr (decision->path, ==, "/v1/files");
  g_assert_false (decision->allowed);
  decision = find_decision (fixture, "POST");
  g_assert_cmpstr (decision->rule, ==, "allow POST localhost/v1/messages");
}

static void
test_secret_unavailable (Fixture       *fixture,
                         gconstpointer  data)
{
  g_auto(GStrv) environment = cloche_secrets_dup_environment (fixture->secrets, "s1");
  g_autofree char *target = authority (fixture->server, "localhost");
  g_autofree char *header = g_strdup_printf ("x-other-key: %s\r\n",
                                             environment[1] + strlen ("NO_VALUE_TOKEN="));
  g_autofree char *request = request_with ("/v1/messages", header);
  const char *requests[] = { request, NULL };
  g_autoptr(Client) client = run_client (fixture, "s1", target, fixture->cloche_ca_path,
                                         requests);

  g_assert_nonnull (strstr (answer (client, 0), "X-Cloche-Rule: secret-unavailable"));
  g_assert_nonnull (strstr (answer (client, 0), "clochectl secret set NO_VALUE_TOKEN"));
  g_assert_cmpuint (cloche_test_https_get_count (fixture->server), ==, 0);
}

/* Kept to the end, stopped but never finalized (see the end of main()). */
static GTestDBus *bus;

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
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/egress-secrets/swap", test_swap);
  ADD ("/egress-secrets/foreign-credential", test_foreign_credential);
  ADD ("/egress-secrets/foreign-beside-placeholder", test_foreign_beside_placeholder);
  ADD ("/egress-secrets/unbound-is-tunnel", test_unbound_is_tunnel);
  ADD ("/egress-secrets/upstream-certificate", test_upstream_certificate);
  ADD ("/egress-secrets/misplaced", test_misplaced);
  ADD ("/egress-secrets/path-rules", test_path_rules);
  ADD ("/egress-secrets/secret-unavailable", test_secret_unavailable);
#undef ADD
  /* One bus and one keyring for all the tests, as on a desktop. */
  bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (bus);
  keyring = cloche_test_keyring_start (g_test_dbus_get_bus_address (bus));
  status = g_test_run ();
  /* libsecret keeps the Secret Service, and after a lookup that finds
   * nothing a reference to the bus connection that its disconnect does
   * not drop: the bus is stopped without waiting for that connection to
   * go (g_test_dbus_down() would wait for it, then fail), and the process
   * ends with it. */
  secret_service_disconnect ();
  cloche_test_keyring_stop (keyring);
  g_test_dbus_stop (bus);
  return status;
}
