/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The guest's way out, end to end on one boot of the real bundle: a
 * session's command in the guest (busybox wget and nc, through the
 * http_proxy the sandbox gives it) → QEMU's guestfwd → cloche-egress-relay
 * → the proxy → servers on this host. What the rules allow is reached,
 * what they do not is refused with the rule named, both land in the
 * decision log with the session; nothing else is reachable at all, and new
 * rules apply to the running VM. The cases run in order on one boot.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "cloche-egress-proxy.h"
#include "cloche-monitor.h"
#include "cloche-sandbox.h"
#include "cloche-test-daemon.h"
#include "cloche-test-http.h"

static ClocheSandbox *sandbox;
static ClocheEgressProxy *proxy;
static ClocheMonitor *monitor;
static guint64 sampled_in;           /* egress-in summed over the monitor's samples */
static char *session;
static ClocheTestHttp *allowed_server;    /* allowed by rule */
static guint16 allowed_port;
static ClocheTestHttp *denied_server;     /* denied by rule */
static guint16 denied_port;
static char *state_dir;

typedef struct
{
  gboolean      done;
  GAsyncResult *result;
} Wait;

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  wait->done = TRUE;
}

static GAsyncResult *
wait_result (Wait *wait)
{
  g_assert_true (cloche_test_wait (&wait->done, 300));
  return wait->result;
}

/* Both servers answer any request with a line naming themselves, on
 * every address of this host, so that "the guest cannot reach the host's
 * addresses" is tested against something that would answer. */
static ClocheTestHttp *
start_server (const char *name,
              guint16    *port)
{
  g_autofree char *body = g_strdup_printf ("hello from %s\n", name);
  ClocheTestHttp *server = cloche_test_http_start (body, CLOCHE_TEST_HTTP_ANY_ADDRESS);

  *port = cloche_test_http_get_port (server);
  return server;
}

static ClocheEgressRules *
make_rules (const char *allow,
            const char *deny)
{
  const char *allow_list[] = { allow, NULL };
  const char *deny_list[] = { deny, NULL };
  g_autoptr(GError) error = NULL;
  ClocheEgressRules *rules = cloche_egress_rules_new (FALSE, allow_list, deny_list, &error);

  g_assert_no_error (error);
  return rules;
}

/* A shell script in the session, with the environment the sandbox gives
 * every command, plus @env. */
static void
sh_in (const char     *id,
       const char     *script,
       const char    **env,
       ClocheTestRun  *run)
{
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  cloche_sandbox_exec_async (sandbox, id, argv, env, NULL, 0, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_sandbox_exec_finish (sandbox, result, &run->status, &out, &err, &error);
  g_assert_no_error (error);
  run->out = cloche_test_gbytes_string (out);
  run->err = cloche_test_gbytes_string (err);
  {
    /* One TAP line each: newlines escaped. */
    g_autofree char *script_text = g_strescape (script, NULL);
    g_autofree char *out_text = g_strescape (run->out, NULL);
    g_autofree char *err_text = g_strescape (run->err, NULL);

    g_test_message ("guest: %s → %d, out “%s”, err “%s”", script_text, run->status, out_text,
                    err_text);
  }
}

static void
session_sh (const char     *script,
            const char    **env,
            ClocheTestRun  *run)
{
  sh_in (session, script, env, run);
}

/* The guest's own loopback is the guest's: to ask the proxy for this
 * host's 127.0.0.1, the test clears no_proxy, as a caller may. */
static const char *through_proxy[] = { "no_proxy=", "NO_PROXY=", NULL };

static ClocheEgressDecision *
last_decision (void)
{
  g_autoptr(GPtrArray) decisions = cloche_egress_proxy_dup_decisions (proxy, 0);

  g_assert_cmpuint (decisions->len, >, 0);
  return cloche_egress_decision_ref (g_ptr_array_index (decisions, decisions->len - 1));
}

static guint
decision_count (void)
{
  g_autoptr(GPtrArray) decisions = cloche_egress_proxy_dup_decisions (proxy, 0);

  return decisions->len;
}

static void
on_sample (ClocheMonitor      *self,
           const ClocheSample *sample)
{
  sampled_in += sample->egress_in;
}

static void
test_start (void)
{
  g_autoptr(ClocheVm) vm = cloche_vm_new (g_getenv ("CLOCHE_TEST_BUNDLE"));
  g_autofree char *sessions = g_build_filename (state_dir, "sessions", NULL);
  g_autoptr(ClocheSessionStore) store = cloche_session_store_new (sessions);
  g_autofree char *socket_path = cloche_egress_proxy_default_socket_path ();
  g_autofree char *allow = NULL, *deny = NULL;
  g_autoptr(ClocheEgressRules) rules = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  allowed_server = start_server ("allowed", &allowed_port);
  denied_server = start_server ("denied", &denied_port);
  allow = g_strdup_printf ("127.0.0.1:%u", allowed_port);
  deny = g_strdup_printf ("127.0.0.1:%u", denied_port);
  rules = make_rules (allow, deny);
  proxy = cloche_egress_proxy_new (rules);
  cloche_egress_proxy_listen (proxy, socket_path, &error);
  g_assert_no_error (error);
  cloche_vm_set_egress (vm, g_getenv ("CLOCHE_EGRESS_RELAY"), socket_path);

  sandbox = cloche_sandbox_new (vm, store);
  monitor = cloche_monitor_new (sandbox, sessions);
  cloche_monitor_set_egress_proxy (monitor, proxy);
  g_signal_connect (monitor, "sample", G_CALLBACK (on_sample), NULL);
  cloche_sandbox_open_session_async (sandbox, "egress", "test", NULL, NULL, on_done, &wait);
  result = wait_result (&wait);
  session = cloche_sandbox_open_session_finish (sandbox, result, &error);
  g_assert_no_error (error);
}

static void
test_allowed (void)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/hello", allowed_port);
  g_autofree char *script = g_strdup_printf ("timeout 30 wget -q -O - %s", url);
  g_autofree char *rule = g_strdup_printf ("allow 127.0.0.1:%u", allowed_port);
  g_autoptr(ClocheEgressDecision) decision = NULL;
  g_auto(ClocheTestRun) run = { 0 };

  session_sh (script, through_proxy, &run);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, "hello from allowed\n");
  decision = last_decision ();
  g_assert_true (decision->allowed);
  g_assert_cmpstr (decision->rule, ==, rule);
  g_assert_cmpstr (decision->session, ==, session);
  g_assert_cmpstr (decision->method, ==, "GET");
  g_assert_cmpstr (decision->host, ==, "127.0.0.1");
  g_assert_cmpuint (decision->port, ==, allowed_port);
  /* The server has closed, so has the client: the counts are final. */
  CLOCHE_TEST_WAIT_FOR (decision->ended, 10);
  g_assert_cmpuint (decision->bytes_in, >, strlen ("hello from allowed\n"));
  g_assert_cmpuint (decision->bytes_out, >, 0);
  /* The monitor's egress figures come from the proxy's counters. */
  CLOCHE_TEST_WAIT_FOR (sampled_in >= decision->bytes_in, 10);
}

/* A CONNECT tunnel, the way HTTPS goes, written by hand through nc. */
static void
test_connect (void)
{
  g_autofree char *script =
    g_strdup_printf ("printf 'CONNECT 127.0.0.1:%u HTTP/1.1\\r\\n\\r\\n"
                     "GET /x HTTP/1.0\\r\\n\\r\\n' | timeout 30 nc %s %u",
                     allowed_port, "10.0.2.100", 3128);
  g_autoptr(ClocheEgressDecision) decision = NULL;
  g_auto(ClocheTestRun) run = { 0 };

  session_sh (script, NULL, &run);
  g_assert_true (g_str_has_prefix (run.out, "HTTP/1.1 200 Connection established\r\n\r\n"));
  g_assert_true (g_str_has_suffix (run.out, "hello from allowed\n"));
  decision = last_decision ();
  g_assert_true (decision->allowed);
  g_assert_cmpstr (decision->method, ==, "CONNECT");
  /* nc names no session: the session's forwarder does. */
  g_assert_cmpstr (decision->session, ==, session);
}

static void
assert_refused_in_guest (const char *host,
                         guint16     port,
                         const char *rule)
{
  g_autofree char *url = g_strdup_printf ("http://%s:%u/", host, port);
  g_autofree char *wget = g_strdup_printf ("timeout 30 wget -q -O - %s", url);
  g_autofree char *credentials = g_base64_encode ((const guchar *) session, strlen (session));
  g_autofree char *nc = g_strdup_printf ("printf 'GET %s HTTP/1.1\\r\\nProxy-Authorization: Basic "
                                         "%s\\r\\n\\r\\n' | timeout 30 nc 10.0.2.100 3128",
                                         url, credentials);
  g_autofree char *rule_line = g_strdup_printf ("Rule: %s\n", rule);
  g_autoptr(ClocheEgressDecision) decision = NULL;
  g_auto(ClocheTestRun) by_wget = { 0 };
  g_auto(ClocheTestRun) by_nc = { 0 };

  session_sh (wget, through_proxy, &by_wget);
  g_assert_cmpint (by_wget.status, !=, 0);
  g_assert_nonnull (strstr (by_wget.err, "403"));
  decision = last_decision ();
  g_assert_false (decision->allowed);
  g_assert_cmpstr (decision->rule, ==, rule);
  g_assert_cmpstr (decision->session, ==, session);
  g_assert_cmpstr (decision->host, ==, host);
  g_assert_cmpuint (decision->port, ==, port);
  g_assert_true (decision->ended);

  /* wget does not show the body; nc does: it names the rule. */
  session_sh (nc, NULL, &by_nc);
  g_assert_true (g_str_has_prefix (by_nc.out, "HTTP/1.1 403 Forbidden\r\n"));
  g_assert_nonnull (strstr (by_nc.out, rule_line));
}

static void
test_denied_port (void)
{
  g_autofree char *rule = g_strdup_printf ("deny 127.0.0.1:%u", denied_port);

  assert_refused_in_guest ("127.0.0.1", denied_port, rule);
}

static void
test_unlisted_host (void)
{
  assert_refused_in_guest ("example.org", 80, "default deny");
}

/* The host's IPv4 addresses, loopback aside. */
static GPtrArray *
host_addresses (void)
{
  GPtrArray *addresses = g_ptr_array_new_with_free_func (g_free);
  struct ifaddrs *list = NULL;

  g_assert_cmpint (getifaddrs (&list), ==, 0);
  for (struct ifaddrs *i = list; i != NULL; i = i->ifa_next)
    {
      char text[INET_ADDRSTRLEN];
      struct sockaddr_in address;

      if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
        continue;
      /* Copied out: a sockaddr is not aligned for a sockaddr_in. */
      memcpy (&address, i->ifa_addr, sizeof address);
      inet_ntop (AF_INET, &address.sin_addr, text, sizeof text);
      if (!g_str_has_prefix (text, "127."))
        g_ptr_array_add (addresses, g_strdup (text));
    }
  freeifaddrs (list);
  return addresses;
}

/* Straight out, with the proxy variables cleared: QEMU's restrict=on
 * refuses everything but the proxy's address and port. 10.0.2.2 is the
 * host's loopback to an unrestricted guest, where the allowed server
 * listens. */
static void
test_no_direct_way (void)
{
  static const char *no_proxy[] = { "http_proxy=", "HTTP_PROXY=", NULL };
  g_autoptr(GPtrArray) targets = host_addresses ();
  guint before = decision_count ();

  g_ptr_array_add (targets, g_strdup ("10.0.2.2"));
  for (guint i = 0; i < targets->len; i++)
    {
      g_autofree char *script = g_strdup_printf ("timeout 10 wget -q -O - http://%s:%u/",
                                                 (char *) targets->pdata[i], allowed_port);
      g_auto(ClocheTestRun) run = { 0 };

      session_sh (script, no_proxy, &run);
      g_assert_cmpint (run.status, !=, 0);
      g_assert_cmpstr (run.out, ==, "");
    }
  {
    g_auto(ClocheTestRun) other_port = { 0 };
    g_auto(ClocheTestRun) dns = { 0 };

    /* The proxy's address on another port, and the DNS of user networking. */
    session_sh ("echo x | timeout 10 nc 10.0.2.100 80", NULL, &other_port);
    g_assert_cmpint (other_port.status, !=, 0);
    session_sh ("timeout 5 nslookup example.org 10.0.2.3", NULL, &dns);
    g_assert_cmpint (dns.status, !=, 0);
  }
  /* None of that reached the proxy. */
  g_assert_cmpuint (decision_count (), ==, before);
}

static char *
open_session (const char *title)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };
  char *id;

  cloche_sandbox_open_session_async (sandbox, title, "test", NULL, NULL, on_done, &wait);
  result = wait_result (&wait);
  id = cloche_sandbox_open_session_finish (sandbox, result, &error);
  g_assert_no_error (error);
  return id;
}

/* A request from a session to the allowed server, through the proxy, by
 * nc with @extra (header lines) or by wget with @proxy as http_proxy. */
static ClocheEgressDecision *
decision_of (const char *id,
             const char *extra,
             const char *proxy_url)
{
  g_autofree char *script = NULL;
  g_autofree char *proxy_var = g_strdup_printf ("http_proxy=%s", proxy_url ? proxy_url : "");
  const char *env[] = { "no_proxy=", proxy_var, NULL };
  g_auto(ClocheTestRun) run = { 0 };
  guint before = decision_count ();

  if (proxy_url != NULL)
    script = g_strdup_printf ("timeout 30 wget -q -O - http://127.0.0.1:%u/", allowed_port);
  else
    script = g_strdup_printf ("printf 'GET http://127.0.0.1:%u/ HTTP/1.1\r\nConnection: close"
                              "\r\n%s\r\n' | timeout 30 nc 10.0.2.100 3128", allowed_port,
                              extra);
  sh_in (id, script, proxy_url != NULL ? env : NULL, &run);
  g_assert_true (strstr (run.out, "hello from allowed\n") != NULL);
  g_assert_cmpuint (decision_count (), ==, before + 1);
  return last_decision ();
}

/* Issue 15, item 10: the session of a request is the one whose network
 * namespace it came from, whatever the request says: another session's
 * name in Proxy-Authorization or the proxy URL, none, or a session line of
 * its own (which its forwarder's comes before: 400, refused as a
 * bad-request decision of its own session, never the one it names). And
 * a session's network has nothing but its loopback. */
static void
test_attribution (void)
{
  g_autofree char *other = open_session ("other");
  g_autofree char *other_basic = g_base64_encode ((const guchar *) other, strlen (other));
  g_autofree char *naming_other = g_strdup_printf ("Proxy-Authorization: Basic %s\r\n",
                                                   other_basic);
  g_autofree char *other_url = g_strdup_printf ("http://%s@10.0.2.100:3128", other);
  g_autofree char *forged = g_strdup_printf ("printf 'CLOCHE-SESSION %s\nGET http://127.0.0.1:%u/ "
                                             "HTTP/1.1\r\n\r\n' | timeout 30 nc 10.0.2.100 "
                                             "3128", other, allowed_port);
  ClocheEgressDecision *decisions[4];
  g_autoptr(ClocheEgressDecision) refused = NULL;
  g_auto(ClocheTestRun) forged_run = { 0 };
  g_auto(ClocheTestRun) network = { 0 };
  g_autoptr(GError) error = NULL;
  guint before;

  decisions[0] = decision_of (session, naming_other, NULL);
  decisions[1] = decision_of (session, "Proxy-Authorization: Basic Og==\r\n", NULL);
  decisions[2] = decision_of (session, NULL, other_url);
  decisions[3] = decision_of (other, "", NULL);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpstr (decisions[i]->session, ==, session);
  g_assert_cmpstr (decisions[3]->session, ==, other);
  for (guint i = 0; i < G_N_ELEMENTS (decisions); i++)
    cloche_egress_decision_unref (decisions[i]);

  before = decision_count ();
  session_sh (forged, NULL, &forged_run);
  g_assert_true (g_str_has_prefix (forged_run.out, "HTTP/1.1 400 Bad Request\r\n"));
  g_assert_cmpuint (decision_count (), ==, before + 1);
  refused = last_decision ();
  g_assert_false (refused->allowed);
  g_assert_cmpstr (refused->rule, ==, "bad-request");
  g_assert_cmpstr (refused->session, ==, session);
  g_assert_cmpuint (refused->bytes_in + refused->bytes_out, ==, 0);

  /* Its only device is its loopback, and it has no route at all. */
  session_sh ("ip -o link | cut -d: -f2; ip route", NULL, &network);
  g_assert_cmpstr (network.out, ==, " lo\n");
  cloche_sandbox_close_session (sandbox, other, &error);
  g_assert_no_error (error);
}

/* The forwarders of this session the guest's root runs (forks of its
 * keeper, whose command line names the session), keeper and init included. */
static guint
count_forwarders (void)
{
  ClocheGuestAgent *agent = cloche_vm_get_guest_agent (cloche_sandbox_get_vm (sandbox));
  g_autofree char *script = g_strdup_printf (
    "for p in $(pidof cloche-guest); do grep -q %s /proc/$p/cmdline && echo $p; done | wc -l",
    session);
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  Wait wait = { 0 };
  int status = -1;

  cloche_guest_agent_exec_async (agent, argv, NULL, 120, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_guest_agent_exec_finish (agent, result, &status, &out, &err, &error);
  g_assert_no_error (error);
  text = cloche_test_gbytes_string (out);
  return (guint) g_ascii_strtoull (text, NULL, 10);
}

/* 80 connections a session holds open (each refused, and kept, as HTTP/1.1
 * keeps a refused request's connection): the guest's root runs at most 64
 * forwarders for them; the others wait their turn. */
static void
test_forwarders_bounded (void)
{
  g_auto(ClocheTestRun) held = { 0 };
  g_auto(ClocheTestRun) let_go = { 0 };
  guint most = 0, now = 0;

  session_sh ("i=0; while [ $i -lt 80 ]; do ( (printf 'GET http://example.org/ HTTP/1.1\\r\\n"
              "Host: example.org\\r\\n\\r\\n'; sleep 300) | nc 10.0.2.100 3128 ) </dev/null "
              ">/dev/null 2>&1 & i=$((i + 1)); done; echo holding", NULL, &held);
  g_assert_cmpstr (held.out, ==, "holding\n");
  /* Until the count stays the same for a while: the keeper forks them one
   * after the other, slowly under TCG. */
  for (guint i = 0, same = 0; i < 120 && same < 4; i++)
    {
      guint before = now;

      now = count_forwarders ();
      most = MAX (most, now);
      same = now == before ? same + 1 : 0;
    }
  g_test_message ("forwarders with their keeper and init: at most %u", most);
  g_assert_cmpuint (most, ==, 2 + 64);
  session_sh ("kill $(pidof sleep); true", NULL, &let_go);
}

/* New rules, same boot: what was denied is allowed and the other way round. */
static void
test_rules_change (void)
{
  g_autofree char *allow = g_strdup_printf ("127.0.0.1:%u", denied_port);
  g_autofree char *deny = g_strdup_printf ("127.0.0.1:%u", allowed_port);
  g_autofree char *to_denied = g_strdup_printf ("timeout 30 wget -q -O - http://127.0.0.1:%u/",
                                                denied_port);
  g_autofree char *to_allowed = g_strdup_printf ("timeout 30 wget -q -O - http://127.0.0.1:%u/",
                                                 allowed_port);
  g_autoptr(ClocheEgressRules) rules = make_rules (allow, deny);
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  gint64 booted_at = cloche_vm_get_booted_at (vm);
  g_auto(ClocheTestRun) now_allowed = { 0 };
  g_auto(ClocheTestRun) now_denied = { 0 };
  g_autoptr(ClocheEgressDecision) decision = NULL;

  cloche_egress_proxy_set_rules (proxy, rules);
  session_sh (to_denied, through_proxy, &now_allowed);
  g_assert_cmpint (now_allowed.status, ==, 0);
  g_assert_cmpstr (now_allowed.out, ==, "hello from denied\n");
  session_sh (to_allowed, through_proxy, &now_denied);
  g_assert_cmpint (now_denied.status, !=, 0);
  decision = last_decision ();
  g_assert_true (g_str_has_prefix (decision->rule, "deny "));
  g_assert_cmpstr (decision->rule + 5, ==, deny);
  g_assert_cmpint (cloche_vm_get_booted_at (vm), ==, booted_at);
}

static void
test_stop (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  Wait wait = { 0 };

  cloche_sandbox_close_session (sandbox, session, &error);
  g_assert_no_error (error);
  cloche_vm_stop_async (vm, "test over", NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_vm_stop_finish (vm, result, &error);
  g_assert_no_error (error);
  g_assert_finalize_object (g_steal_pointer (&monitor));
  g_clear_object (&sandbox);
  g_assert_finalize_object (g_steal_pointer (&proxy));
  g_clear_pointer (&allowed_server, cloche_test_http_stop);
  g_clear_pointer (&denied_server, cloche_test_http_stop);
}

static void
remove_tree (const char *dir)
{
  const char *argv[] = { "rm", "-rf", dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *runtime = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  /* Our own runtime and state folders: the VM's sockets, the proxy's
   * socket, the session records. */
  runtime = g_dir_make_tmp ("cloche-run-XXXXXX", NULL);
  state_dir = g_dir_make_tmp ("cloche-state-XXXXXX", NULL);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  g_assert_nonnull (g_getenv ("CLOCHE_EGRESS_RELAY"));
  g_free (cloche_test_bundle_dir ());

  g_test_add_func ("/vm-egress/start", test_start);
  g_test_add_func ("/vm-egress/allowed", test_allowed);
  g_test_add_func ("/vm-egress/connect", test_connect);
  g_test_add_func ("/vm-egress/denied-port", test_denied_port);
  g_test_add_func ("/vm-egress/unlisted-host", test_unlisted_host);
  g_test_add_func ("/vm-egress/no-direct-way", test_no_direct_way);
  g_test_add_func ("/vm-egress/attribution", test_attribution);
  g_test_add_func ("/vm-egress/forwarders-bounded", test_forwarders_bounded);
  g_test_add_func ("/vm-egress/rules-change", test_rules_change);
  g_test_add_func ("/vm-egress/stop", test_stop);
  status = g_test_run ();

  if (status == 0)
    {
      remove_tree (runtime);
      remove_tree (state_dir);
    }
  g_free (session);
  g_free (state_dir);
  return status;
}
