/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * io.github.cloche.Sessions' Exec options and CancelExec against the real
 * daemon and a real VM: stdin, a deadline that kills (with the output so
 * far when asked, ExecTimeout otherwise), cancelling that kills the
 * command in the guest (not only the wait), only by the caller that
 * started it, and the caller leaving; and a session tied to its caller
 * that keeps the client name it was given. The cases share one daemon and
 * one boot.
 */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "cloche-test-daemon.h"

static ClocheTestDaemon *vm_daemon;
static char *session;

static GVariant *
options_new (const char *tag,
             guint       timeout_ms,
             GBytes     *input)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  /* As clochectl mcp asks: the output of a command killed at its deadline. */
  g_variant_dict_insert (&dict, "output-on-timeout", "b", TRUE);
  if (tag != NULL)
    g_variant_dict_insert (&dict, "tag", "s", tag);
  if (timeout_ms > 0)
    g_variant_dict_insert (&dict, "timeout-ms", "u", timeout_ms);
  if (input != NULL)
    g_variant_dict_insert_value (&dict, "stdin",
                                 g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                           input, TRUE));
  return g_variant_dict_end (&dict);
}

/* A shell line through plain Exec; its stdout. */
static char *
sh (const char *line)
{
  const char * const argv[] = { "sh", "-c", line, NULL };
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GError) error = NULL;
  int code;

  cloche_dbus_sessions_call_exec_sync (vm_daemon->sessions, session, argv,
                                       cloche_test_exec_options (NULL, NULL), &code, &out, &err,
                                       NULL, NULL, &error);
  g_assert_no_error (error);
  return cloche_test_bytes_string (out);
}

static gboolean
guest_runs (const char *marker)
{
  g_autofree char *line = g_strdup_printf ("ps -o args | grep -v grep | grep -c '%s'", marker);
  g_autofree char *count = sh (line);

  return atoi (count) > 0;
}

static void
test_stdin (void)
{
  const char * const argv[] = { "sh", "-c", "wc -c; echo; printf 'x' | cat", NULL };
  g_autofree guint8 *data = g_malloc (300000);
  g_autoptr(GBytes) input = NULL;
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  int code = -1;

  for (guint i = 0; i < 300000; i++)
    data[i] = i % 256;   /* NULs included */
  input = g_bytes_new (data, 300000);
  cloche_dbus_sessions_call_exec_sync (vm_daemon->sessions, session, argv,
                                       options_new (NULL, 0, input), &code, &out, &err, &info,
                                       NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 0);
  text = cloche_test_bytes_string (out);
  g_assert_cmpstr (g_strstrip (text), ==, "300000\n\nx");
}

static void
test_timeout_kills (void)
{
  const char * const argv[] = { "sh", "-c", "echo before; sleep 601 & sleep 602; echo after",
                                NULL };
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gboolean timed_out = FALSE;
  gint64 started = g_get_monotonic_time ();
  int code = -1;

  cloche_dbus_sessions_call_exec_sync (vm_daemon->sessions, session, argv,
                                       options_new (NULL, 1000, NULL), &code, &out, &err, &info,
                                       NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (info, "timed-out", "b", &timed_out));
  g_assert_true (timed_out);
  g_assert_cmpint (code, ==, 137);
  text = cloche_test_bytes_string (out);
  g_assert_cmpstr (text, ==, "before\n");
  g_assert_cmpint (g_get_monotonic_time () - started, <, 120 * G_USEC_PER_SEC);
  /* The background one went with the group. */
  g_assert_false (guest_runs ("sleep 60[1]"));
}

/* Not asked for the output: the deadline is ExecTimeout, as for every
 * other caller, and the command is killed all the same. */
static void
test_timeout_error (void)
{
  const char * const argv[] = { "sh", "-c", "echo before; sleep 631 & sleep 632", NULL };
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;
  int code = -1;

  cloche_dbus_sessions_call_exec_sync (vm_daemon->sessions, session, argv,
                                       g_variant_new_parsed ("{'timeout-ms': <uint32 1000>}"),
                                       &code, &out, &err, &info, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT);
  g_assert_false (guest_runs ("sleep 63[12]"));
}

typedef struct
{
  gboolean  done;
  GError   *error;
} Pending;

static void
on_exec_done (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  Pending *pending = user_data;
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GVariant) info = NULL;
  int code;

  cloche_dbus_sessions_call_exec_finish (CLOCHE_DBUS_SESSIONS (object), &code, &out, &err,
                                         &info, result, &pending->error);
  pending->done = TRUE;
}

static void
start_sleeper (ClocheDbusSessions *proxy,
               const char         *tag,
               const char         *marker,
               Pending            *pending)
{
  g_autofree char *line = g_strdup_printf ("sleep %s & sleep %s", marker, marker);
  const char * const argv[] = { "sh", "-c", line, NULL };

  cloche_dbus_sessions_call_exec (proxy, session, argv, options_new (tag, 0, NULL), NULL,
                                  on_exec_done, pending);
  CLOCHE_TEST_WAIT_FOR (guest_runs (marker), 60);
}

static ClocheDbusSessions *
second_caller (GDBusConnection **connection)
{
  g_autoptr(GError) error = NULL;
  ClocheDbusSessions *proxy;

  *connection = g_dbus_connection_new_for_address_sync (
    g_test_dbus_get_bus_address (vm_daemon->bus),
    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT
    | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
  g_assert_no_error (error);
  proxy = cloche_dbus_sessions_proxy_new_sync (*connection, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                               DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), 300 * 1000);
  return proxy;
}

/* Cancelling kills the command in the guest; another caller's CancelExec
 * with the same tag does nothing to it. */
static void
test_cancel_kills (void)
{
  g_autoptr(GDBusConnection) other_connection = NULL;
  g_autoptr(ClocheDbusSessions) other = second_caller (&other_connection);
  g_autoptr(GError) error = NULL;
  Pending pending = { 0 };

  start_sleeper (vm_daemon->sessions, "job", "611", &pending);
  cloche_dbus_sessions_call_cancel_exec_sync (other, "job", NULL, &error);
  g_assert_no_error (error);
  sleep (1);
  g_assert_true (guest_runs ("sleep 611"));
  g_assert_false (pending.done);

  cloche_dbus_sessions_call_cancel_exec_sync (vm_daemon->sessions, "job", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (cloche_test_wait (&pending.done, 60));
  g_assert_error (pending.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&pending.error);
  g_assert_false (guest_runs ("sleep 611"));
}

/* A caller that leaves the bus while its command runs: the command goes. */
static void
test_caller_leaves (void)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(ClocheDbusSessions) other = second_caller (&connection);
  Pending pending = { 0 };

  start_sleeper (other, NULL, "621", &pending);
  g_dbus_connection_close_sync (connection, NULL, NULL);
  CLOCHE_TEST_WAIT_FOR (!guest_runs ("sleep 621"), 60);
  cloche_test_wait (&pending.done, 10);
  g_clear_error (&pending.error);
}

static void
assert_refused (GVariant   *options,
                const char *expected)
{
  const char * const argv[] = { "true", NULL };
  g_autoptr(GVariant) out = NULL;
  g_autoptr(GVariant) err = NULL;
  g_autoptr(GVariant) info = NULL;
  g_autoptr(GError) error = NULL;
  int code;

  cloche_dbus_sessions_call_exec_sync (vm_daemon->sessions, session, argv, options, &code,
                                       &out, &err, &info, NULL, &error);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, expected));
}

static void
test_bad_options (void)
{
  g_autofree char *long_tag = g_strnfill (129, 't');

  assert_refused (g_variant_new_parsed ("{'timeout-ms': <uint32 0>}"), "\"timeout-ms\" is 0");
  assert_refused (g_variant_new_parsed ("{'timeout-ms': <uint32 604800001>}"),
                  "from 1 to 604800000");
  assert_refused (g_variant_new_parsed ("{'timeout-ms': <5>}"), "must be of type u");
  assert_refused (g_variant_new_parsed ("{'stdin': <'text'>}"), "must be of type ay");
  assert_refused (g_variant_new_parsed ("{'output-on-timeout': <1>}"), "must be of type b");
  assert_refused (g_variant_new_parsed ("{'tag': <%s>}", long_tag), "1 to 128 bytes");
  assert_refused (g_variant_new_parsed ("{'tag': <''>}"), "1 to 128 bytes");
}

/* A session tied to its caller shows the client it named (the Sessions
 * page reads it), and still closes when the caller leaves the bus. */
static void
test_client_name_kept (void)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(ClocheDbusSessions) other = second_caller (&connection);
  g_autoptr(GVariant) record = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  const char *client = NULL;
  const char *state = NULL;

  cloche_dbus_sessions_call_open_sync (other, "tied",
                                       g_variant_new_parsed ("{'client': <'Agent 1.0 (MCP)'>}"),
                                       &id, NULL, &error);
  g_assert_no_error (error);
  cloche_dbus_sessions_call_get_sync (vm_daemon->sessions, id, &record, NULL, &error);
  g_assert_no_error (error);
  /* SESSION's third field (data/io.github.cloche.Sessions.xml). */
  g_variant_get_child (record, 2, "&s", &client);
  g_assert_cmpstr (client, ==, "Agent 1.0 (MCP)");
  g_clear_pointer (&record, g_variant_unref);

  g_dbus_connection_close_sync (connection, NULL, NULL);
  for (gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
       g_get_monotonic_time () < deadline; g_usleep (100 * 1000))
    {
      g_clear_pointer (&record, g_variant_unref);
      cloche_dbus_sessions_call_get_sync (vm_daemon->sessions, id, &record, NULL, &error);
      g_assert_no_error (error);
      g_variant_get_child (record, 5, "&s", &state);
      if (g_str_equal (state, "closed"))
        break;
    }
  g_assert_cmpstr (state, ==, "closed");
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *bundle = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  bundle = cloche_test_bundle_dir ();
  vm_daemon = cloche_test_daemon_start ((const char *[]) {
    "--bundle", bundle, "--idle-timeout", "600", NULL });
  cloche_dbus_sessions_call_open_sync (vm_daemon->sessions, "exec options",
                                       g_variant_new_parsed ("{'keep-open': <true>}"),
                                       &session, NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/exec-options/stdin", test_stdin);
  g_test_add_func ("/exec-options/timeout-kills", test_timeout_kills);
  g_test_add_func ("/exec-options/timeout-error", test_timeout_error);
  g_test_add_func ("/exec-options/cancel-kills", test_cancel_kills);
  g_test_add_func ("/exec-options/caller-leaves", test_caller_leaves);
  g_test_add_func ("/exec-options/bad-options", test_bad_options);
  g_test_add_func ("/exec-options/client-name-kept", test_client_name_kept);

  status = g_test_run ();
  g_free (session);
  cloche_test_daemon_free (vm_daemon);
  return status;
}
