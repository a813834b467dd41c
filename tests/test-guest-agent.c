/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <sys/socket.h>

#include "cloche-error.h"
#include "cloche-guest-agent-private.h"
#include "cloche-test-util.h"

static JsonNode *
parse_fixture (const char  *name,
               GError     **error)
{
  g_autofree char *line = cloche_test_fixture_line (name);

  return cloche_guest_agent_parse_reply (line, error);
}

static void
test_parse_return (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = parse_fixture ("ga-sync-return.json", &error);

  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_int (reply), ==, 1234567);
}

static void
test_parse_error (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = parse_fixture ("ga-error.json", &error);

  g_assert_null (reply);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_COMMAND);
  g_assert_true (strstr (error->message, "/nonexistent") != NULL);
}

/* A console line on the agent port: the error quotes it. */
static void
test_parse_garbage_is_quoted (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = parse_fixture ("ga-garbage.txt", &error);

  g_assert_null (reply);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
  g_assert_true (strstr (error->message, "Started Serial Getty on ttyS0") != NULL);
  g_assert_true (strstr (error->message, "guest agent") != NULL);
}

static void
test_parse_long_garbage_is_cut (void)
{
  g_autofree char *line = g_strnfill (5000, 'x');
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = cloche_guest_agent_parse_reply (line, &error);

  g_assert_null (reply);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
  g_assert_cmpuint (strlen (error->message), <, 600);
}

/* A reply with neither "return" nor "error" is the agent's mistake. */
static void
test_parse_not_a_reply (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = parse_fixture ("ga-not-reply.json", &error);

  g_assert_null (reply);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
  g_assert_true (strstr (error->message, "not a reply") != NULL);
}

/* json-glib leaks on a high surrogate followed by another escape and passes
 * a lone one on as invalid UTF-8, which would end up in a D-Bus error
 * message: refused (tests/fuzz found this). A proper pair still reads. */
static void
test_parse_surrogates (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = parse_fixture ("ga-lone-surrogate.json", &error);
  g_autoptr(JsonNode) pair = NULL;

  g_assert_null (reply);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
  g_assert_true (strstr (error->message, "unpaired UTF-16 surrogate") != NULL);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));

  g_clear_error (&error);
  pair = parse_fixture ("ga-surrogate-pair.json", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (pair), ==, "\xf0\x9f\x98\x80");
}

/* Lines are checked against the JSON grammar before json-glib reads them:
 * what it would tolerate and then leak on, or overflow its stack on, is
 * refused with what was wrong; every form of strict JSON still reads. */
static void
test_parse_strict_json (void)
{
  const char *accepted[] = {
    "{\"return\": [1, -0, 0.5, -2.5e+3, 1E-2, true, false, null, {}, []]}",
    "{\"return\": \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\ud83d\\ude00\"}",
    " \t{\"return\" : {\"a\" : [ ] } }\r",
  };
  const struct { const char *line; const char *problem; } refused[] = {
    { "{\"return\": 1} {\"return\": 2}", "more than one JSON value" },
    { "{\"return\": 1} x", "text after the JSON value" },
    { "{\"return\": \"\\ud800\\u0041\"}", "unpaired UTF-16 surrogate" },
    { "{\"return\": \"\\ud8x\\ud\"}", "invalid JSON" },
    { "{\"return\": \"\\udc00\"}", "unpaired UTF-16 surrogate" },
    { "{'return': 1}", "invalid JSON" },
    { "{\"return\": 1 /* c */}", "invalid JSON" },
    { "{\"return\": 01}", "invalid JSON" },
    { "{\"return\": [1,]}", "invalid JSON" },
    { "{\"return\": \"\\u12\"}", "invalid JSON" },
    /* Cut off where the checker once read past the end (tests/fuzz). */
    { "{\"return\"", "invalid JSON" },
    { "{\"return\": [1", "invalid JSON" },
  };
  g_autofree char *deep = g_strnfill (100000, '[');

  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) reply = cloche_guest_agent_parse_reply (accepted[i], &error);

      g_assert_no_error (error);
      g_assert_nonnull (reply);
    }
  for (guint i = 0; i < G_N_ELEMENTS (refused) + 1; i++)
    {
      const char *line = i < G_N_ELEMENTS (refused) ? refused[i].line : deep;
      const char *problem = i < G_N_ELEMENTS (refused) ? refused[i].problem : "nesting deeper than 64";
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) reply = cloche_guest_agent_parse_reply (line, &error);

      g_assert_null (reply);
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
      g_assert_true (strstr (error->message, problem) != NULL);
    }
}

static void
parse_status_fixture (const char       *name,
                      ClocheExecStatus *status,
                      GError          **error)
{
  g_autoptr(JsonNode) reply = parse_fixture (name, error);

  g_assert_nonnull (reply);
  cloche_guest_agent_parse_exec_status (reply, status, error);
}

/* What the guest claims is checked: an "exited" that is no boolean, or a
 * signal no process can die of (128 + it would overflow an int). */
static void
test_exec_status_impossible (void)
{
  const char *fixtures[] = { "ga-exec-status-exited-object.json", "ga-exec-status-bad-signal.json" };

  for (guint i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_auto(ClocheExecStatus) status = { 0 };
      g_autoptr(GError) error = NULL;

      parse_status_fixture (fixtures[i], &status, &error);
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
      g_assert_true (strstr (error->message, "guest-exec-status") != NULL);
    }
}

static void
assert_bytes (GBytes     *bytes,
              const char *expected)
{
  gsize length;
  const char *data = g_bytes_get_data (bytes, &length);

  g_assert_cmpmem (data, length, expected, strlen (expected));
}

static void
test_exec_status_running (void)
{
  g_auto(ClocheExecStatus) status = { 0 };
  g_autoptr(GError) error = NULL;

  parse_status_fixture ("ga-exec-status-running.json", &status, &error);
  g_assert_no_error (error);
  g_assert_false (status.exited);
}

static void
test_exec_status_exited (void)
{
  g_auto(ClocheExecStatus) status = { 0 };
  g_autoptr(GError) error = NULL;

  parse_status_fixture ("ga-exec-status-exited.json", &status, &error);
  g_assert_no_error (error);
  g_assert_true (status.exited);
  g_assert_cmpint (status.exit_code, ==, 3);
  assert_bytes (status.stdout_bytes, "hi\n");
  assert_bytes (status.stderr_bytes, "err\n");
}

static void
test_exec_status_signal (void)
{
  g_auto(ClocheExecStatus) status = { 0 };
  g_autoptr(GError) error = NULL;

  parse_status_fixture ("ga-exec-status-signal.json", &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status.exit_code, ==, 128 + 9);
  assert_bytes (status.stdout_bytes, "");
}

static void
test_exec_status_no_output (void)
{
  g_auto(ClocheExecStatus) status = { 0 };
  g_autoptr(GError) error = NULL;

  parse_status_fixture ("ga-exec-status-no-output.json", &status, &error);
  g_assert_no_error (error);
  g_assert_cmpint (status.exit_code, ==, 0);
  g_assert_cmpuint (g_bytes_get_size (status.stderr_bytes), ==, 0);
}

/* qemu-ga keeps 16 MiB of each stream and says when it cut one. */
static void
test_exec_status_truncated (void)
{
  g_auto(ClocheExecStatus) status = { 0 };
  g_autoptr(GError) error = NULL;

  parse_status_fixture ("ga-exec-status-truncated.json", &status, &error);
  g_assert_no_error (error);
  g_assert_true (status.stdout_truncated);
  g_assert_false (status.stderr_truncated);
}

/* Over a socket */

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
wait_result (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
}

static gint64
sync_id_of (const char *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *arguments;

  g_assert_true (json_parser_load_from_data (parser, line, -1, NULL));
  arguments = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                             "arguments");
  return json_object_get_int_member (arguments, "id");
}

/* A reply to an older sync must not count: only the newest id does. */
static void
test_sync_skips_stale_replies (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheGuestAgent) agent = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *stale = NULL;
  g_autofree char *fresh = NULL;

  cloche_test_stream_pair (&stream, &peer);
  agent = cloche_guest_agent_new (stream);
  cloche_guest_agent_sync_async (agent, 10, NULL, on_done, &result);
  first = cloche_test_peer_read_line (peer);
  second = cloche_test_peer_read_line (peer);
  g_assert_cmpint (sync_id_of (first), !=, sync_id_of (second));

  stale = g_strdup_printf ("{\"return\": %" G_GINT64_FORMAT "}\n", sync_id_of (first));
  cloche_test_peer_write (peer, stale);
  for (guint i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (result);

  /* Answer each sync as it comes until one is the newest when it lands. */
  while (result == NULL)
    {
      g_free (fresh);
      fresh = g_strdup_printf ("{\"return\": %" G_GINT64_FORMAT "}\n", sync_id_of (second));
      cloche_test_peer_write (peer, fresh);
      for (guint i = 0; i < 10 && result == NULL; i++)
        g_main_context_iteration (NULL, FALSE);
      if (result == NULL)
        {
          g_free (second);
          second = cloche_test_peer_read_line (peer);
        }
    }
  g_assert_true (cloche_guest_agent_sync_finish (agent, result, &error));
  g_assert_no_error (error);
}

/* A guest that prints garbage on the agent port: the timeout quotes it. */
static void
test_sync_timeout_quotes_garbage (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheGuestAgent) agent = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cloche_test_stream_pair (&stream, &peer);
  agent = cloche_guest_agent_new (stream);
  cloche_guest_agent_sync_async (agent, 1, NULL, on_done, &result);
  cloche_test_peer_write (peer, "login: \n");
  wait_result (&result);
  g_assert_false (cloche_guest_agent_sync_finish (agent, result, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
  g_assert_true (strstr (error->message, "\"login:") != NULL);
}

static void
test_sync_timeout_names_agent (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheGuestAgent) agent = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cloche_test_stream_pair (&stream, &peer);
  agent = cloche_guest_agent_new (stream);
  cloche_guest_agent_sync_async (agent, 1, NULL, on_done, &result);
  wait_result (&result);
  g_assert_false (cloche_guest_agent_sync_finish (agent, result, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT);
  g_assert_true (strstr (error->message, "guest agent") != NULL);
  g_assert_true (strstr (error->message, CLOCHE_GUEST_AGENT_PORT) != NULL);
}

static GAsyncResult *
wait_for (GAsyncResult **result)
{
  while (*result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *result;
}

/* A command the agent does not answer fails at its deadline, and its late
 * answer is not taken for the next command's (the agent's replies carry no
 * id: it keeps its place in the queue). */
static void
test_command_deadline (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheGuestAgent) agent = NULL;
  g_autoptr(GAsyncResult) first = NULL;
  g_autoptr(GAsyncResult) second = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ping = NULL;
  g_autofree char *info = NULL;

  cloche_test_stream_pair (&stream, &peer);
  agent = cloche_guest_agent_new (stream);
  cloche_guest_agent_set_command_timeout (agent, 1);
  cloche_guest_agent_execute_async (agent, "guest-ping", NULL, NULL, on_done, &first);
  ping = cloche_test_peer_read_line (peer);
  g_assert_nonnull (strstr (ping, "guest-ping"));
  wait_for (&first);
  g_assert_null (cloche_guest_agent_execute_finish (agent, first, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "guest-ping"));
  g_clear_error (&error);

  cloche_guest_agent_execute_async (agent, "guest-info", NULL, NULL, on_done, &second);
  info = cloche_test_peer_read_line (peer);
  cloche_test_peer_write (peer, "{\"return\": \"late pong\"}\n{\"return\": \"info\"}\n");
  reply = cloche_guest_agent_execute_finish (agent, wait_for (&second), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (reply), ==, "info");
}

/* An output qemu-ga cut is an error that says so, not a short result. */
static void
test_exec_truncated (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheGuestAgent) agent = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *exec = NULL, *status = NULL, *truncated = NULL;
  const char *argv[] = { "/bin/sh", "-c", "big", NULL };
  int code = -1;

  cloche_test_stream_pair (&stream, &peer);
  agent = cloche_guest_agent_new (stream);
  cloche_guest_agent_exec_async (agent, argv, NULL, 60, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &result);
  exec = cloche_test_peer_read_line (peer);
  cloche_test_peer_write (peer, "{\"return\": {\"pid\": 7}}\n");
  status = cloche_test_peer_read_line (peer);
  g_assert_nonnull (strstr (status, "guest-exec-status"));
  truncated = cloche_test_fixture_line ("ga-exec-status-truncated.json");
  cloche_test_peer_write (peer, truncated);
  cloche_test_peer_write (peer, "\n");
  g_assert_false (cloche_guest_agent_exec_finish (agent, wait_for (&result), &code, &out, &err,
                                                  &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_OUTPUT_TRUNCATED);
  g_assert_nonnull (strstr (error->message, "stdout"));
  g_assert_nonnull (strstr (error->message, "16 MiB"));
}

/* Past its deadline a command fails with ExecTimeout, and the process is
 * killed in the guest and then reaped. The peer plays qemu-ga: pid 7 never
 * ends by itself; the kill runs as pid 8. */
static void
test_exec_deadline (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheGuestAgent) agent = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/sleep", "1000", NULL };
  gboolean killed = FALSE, reaped = FALSE;
  int code = -1;

  cloche_test_stream_pair (&stream, &peer);
  agent = cloche_guest_agent_new (stream);
  cloche_guest_agent_exec_async (agent, argv, NULL, 1, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &result);
  while (!reaped)
    {
      g_autofree char *line = cloche_test_peer_read_line (peer);

      if (strstr (line, "guest-exec-status") && strstr (line, "\"pid\": 8"))
        cloche_test_peer_write (peer, "{\"return\": {\"exited\": true, \"exitcode\": 0}}\n");
      else if (strstr (line, "guest-exec-status") && killed)
        {
          cloche_test_peer_write (peer, "{\"return\": {\"exited\": true, \"signal\": 9}}\n");
          reaped = TRUE;
        }
      else if (strstr (line, "guest-exec-status"))
        cloche_test_peer_write (peer, "{\"return\": {\"exited\": false}}\n");
      else if (strstr (line, "kill -KILL"))
        {
          g_assert_nonnull (strstr (line, "\"7\""));
          g_assert_nonnull (result);
          killed = TRUE;
          cloche_test_peer_write (peer, "{\"return\": {\"pid\": 8}}\n");
        }
      else
        cloche_test_peer_write (peer, "{\"return\": {\"pid\": 7}}\n");
    }
  g_assert_false (cloche_guest_agent_exec_finish (agent, result, &code, &out, &err, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT);
  g_assert_nonnull (strstr (error->message, "1 s"));
}

/* With CLOCHE_EXEC_WAIT_FOR_STOP the call past its deadline ends only once
 * the killed command has ended, and hands out what it wrote until then.
 * The peer plays qemu-ga: pid 7 writes "before\n" and ends only once
 * killed; the kill runs as pid 8 and sends SIGTERM (cloche-guest's order to
 * kill the command's group) before SIGKILL. */
static void
test_exec_deadline_waits (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheGuestAgent) agent = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/sh", "-c", "echo before; sleep 1000", NULL };
  gboolean killed = FALSE, ended = FALSE;
  int code = -1;

  cloche_test_stream_pair (&stream, &peer);
  agent = cloche_guest_agent_new (stream);
  cloche_guest_agent_exec_async (agent, argv, NULL, 1, NULL, CLOCHE_EXEC_WAIT_FOR_STOP, NULL,
                                 on_done, &result);
  while (!ended)
    {
      g_autofree char *line = cloche_test_peer_read_line (peer);

      if (strstr (line, "guest-exec-status") && strstr (line, "\"pid\":8"))
        cloche_test_peer_write (peer, "{\"return\": {\"exited\": true, \"exitcode\": 0}}\n");
      else if (strstr (line, "guest-exec-status") && killed)
        {
          cloche_test_peer_write (peer, "{\"return\": {\"exited\": true, \"exitcode\": 137, "
                                  "\"out-data\": \"YmVmb3JlCg==\"}}\n");
          ended = TRUE;
        }
      else if (strstr (line, "guest-exec-status"))
        cloche_test_peer_write (peer, "{\"return\": {\"exited\": false}}\n");
      else if (strstr (line, "kill -TERM"))
        {
          g_assert_nonnull (strstr (line, "\"7\""));
          /* Not told yet: the command has not ended. */
          g_assert_null (result);
          killed = TRUE;
          cloche_test_peer_write (peer, "{\"return\": {\"pid\": 8}}\n");
        }
      else
        cloche_test_peer_write (peer, "{\"return\": {\"pid\": 7}}\n");
    }
  g_assert_false (cloche_guest_agent_exec_finish (agent, wait_for (&result), &code, &out, &err,
                                                  &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT);
  g_assert_cmpint (code, ==, 137);
  g_assert_nonnull (out);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), "before\n", 7);
}

/* Cancelling kills the command in the guest, not only the wait. */
static void
test_exec_cancel_kills (void)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(GIOStream) peer = NULL;
  g_autoptr(ClocheGuestAgent) agent = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/sleep", "1000", NULL };
  gboolean killed = FALSE;
  int code = -1;

  cloche_test_stream_pair (&stream, &peer);
  agent = cloche_guest_agent_new (stream);
  cloche_guest_agent_exec_async (agent, argv, NULL, 60, NULL, CLOCHE_EXEC_NONE, cancellable,
                                 on_done, &result);
  while (!killed)
    {
      g_autofree char *line = cloche_test_peer_read_line (peer);

      if (strstr (line, "kill -TERM"))
        {
          g_assert_nonnull (strstr (line, "\"7\""));
          killed = TRUE;
        }
      else if (strstr (line, "guest-exec-status"))
        {
          cloche_test_peer_write (peer, "{\"return\": {\"exited\": false}}\n");
          g_cancellable_cancel (cancellable);
        }
      else
        cloche_test_peer_write (peer, "{\"return\": {\"pid\": 7}}\n");
    }
  g_assert_false (cloche_guest_agent_exec_finish (agent, wait_for (&result), &code, &out, &err,
                                                  &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/guest-agent/parse/return", test_parse_return);
  g_test_add_func ("/guest-agent/parse/error", test_parse_error);
  g_test_add_func ("/guest-agent/parse/garbage-is-quoted", test_parse_garbage_is_quoted);
  g_test_add_func ("/guest-agent/parse/long-garbage-is-cut", test_parse_long_garbage_is_cut);
  g_test_add_func ("/guest-agent/exec-status/running", test_exec_status_running);
  g_test_add_func ("/guest-agent/exec-status/exited", test_exec_status_exited);
  g_test_add_func ("/guest-agent/exec-status/signal", test_exec_status_signal);
  g_test_add_func ("/guest-agent/exec-status/no-output", test_exec_status_no_output);
  g_test_add_func ("/guest-agent/exec-status/impossible", test_exec_status_impossible);
  g_test_add_func ("/guest-agent/parse/not-a-reply", test_parse_not_a_reply);
  g_test_add_func ("/guest-agent/parse/surrogates", test_parse_surrogates);
  g_test_add_func ("/guest-agent/parse/strict-json", test_parse_strict_json);
  g_test_add_func ("/guest-agent/sync/skips-stale-replies", test_sync_skips_stale_replies);
  g_test_add_func ("/guest-agent/sync/timeout-quotes-garbage", test_sync_timeout_quotes_garbage);
  g_test_add_func ("/guest-agent/sync/timeout-names-agent", test_sync_timeout_names_agent);
  g_test_add_func ("/guest-agent/exec-status/truncated", test_exec_status_truncated);
  g_test_add_func ("/guest-agent/command/deadline", test_command_deadline);
  g_test_add_func ("/guest-agent/exec/truncated", test_exec_truncated);
  g_test_add_func ("/guest-agent/exec/deadline", test_exec_deadline);
  g_test_add_func ("/guest-agent/exec/deadline-waits", test_exec_deadline_waits);
  g_test_add_func ("/guest-agent/exec/cancel-kills", test_exec_cancel_kills);

  return g_test_run ();
}
