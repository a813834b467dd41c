/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A session's commands through the boot's exec server (`cloche-guest
 * serve`, ClocheExecChannel) on the real bundle and QEMU: exit status,
 * stdout and stderr, stdin, the folder and the environment, a command not
 * found (127), a deadline (ExecTimeout, with what it wrote so far), cancel
 * (the command killed in the guest), the 16 MiB cap; then the server
 * killed in the guest by its root (the next commands run through
 * guest-exec), and a root process of the guest forging frames on an exec
 * port of its own (the channel drops, says why, and fails the command it
 * ran naming the cause). Each case checks the channel was the one used.
 *
 * This drives a ClocheSandbox directly (no daemon, no bus).
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-exec-channel-private.h"
#include "cloche-sandbox-private.h"
#include "cloche-test-sandbox.h"
#include "cloche-vm-command.h"

static char *session;

typedef struct
{
  int     code;
  GBytes *out;
  GBytes *err;
  GError *error;
} Ran;

static void
ran_clear (Ran *ran)
{
  g_clear_pointer (&ran->out, g_bytes_unref);
  g_clear_pointer (&ran->err, g_bytes_unref);
  g_clear_error (&ran->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Ran, ran_clear)

static gboolean
channel_open (void)
{
  return sandbox->exec_channel != NULL && cloche_exec_channel_is_open (sandbox->exec_channel);
}

static void
run_full (const char * const *argv,
          const char * const *env,
          const char         *cwd,
          guint               timeout_s,
          GBytes             *input,
          ClocheExecFlags     flags,
          GCancellable       *cancellable,
          Ran                *ran)
{
  g_autoptr(GAsyncResult) result = NULL;
  Wait wait = { 0 };

  ran->code = -1;
  cloche_sandbox_exec_async (sandbox, session, argv, env, cwd, timeout_s, input, flags,
                             cancellable, on_done, &wait);
  result = wait_result (&wait);
  cloche_sandbox_exec_finish (sandbox, result, &ran->code, &ran->out, &ran->err, &ran->error);
}

static void
run_sh (const char *line,
        Ran        *ran)
{
  const char *argv[] = { "sh", "-c", line, NULL };

  run_full (argv, NULL, NULL, 0, NULL, CLOCHE_EXEC_NONE, NULL, ran);
}

static void
assert_bytes (GBytes     *bytes,
              const char *text)
{
  g_assert_nonnull (bytes);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), text, strlen (text));
}

/* The guest's root, through the guest agent: a shell line's status. */
static int
root_sh (const char *line,
         char      **out)
{
  const char *argv[] = { "/bin/sh", "-c", line, NULL };
  ClocheGuestAgent *agent = cloche_vm_get_guest_agent (cloche_sandbox_get_vm (sandbox));
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out_bytes = NULL, err_bytes = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };
  int status = -1;

  cloche_guest_agent_exec_async (agent, argv, NULL, 60, NULL, CLOCHE_EXEC_NONE, NULL, on_done,
                                 &wait);
  result = wait_result (&wait);
  cloche_guest_agent_exec_finish (agent, result, &status, &out_bytes, &err_bytes, &error);
  g_assert_no_error (error);
  if (out != NULL)
    *out = g_strndup (g_bytes_get_data (out_bytes, NULL), g_bytes_get_size (out_bytes));
  return status;
}

static void
test_ready (void)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  session = open_session ((const char *[]) { NULL }, NULL);
  /* The open does not wait for it: it comes a moment later. */
  while (!channel_open () && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (channel_open ());
}

static void
test_output_and_status (void)
{
  g_auto(Ran) ran = { 0 };

  run_sh ("echo out; echo err >&2; exit 3", &ran);
  g_assert_no_error (ran.error);
  g_assert_cmpint (ran.code, ==, 3);
  assert_bytes (ran.out, "out\n");
  assert_bytes (ran.err, "err\n");
  g_assert_true (channel_open ());
}

static void
test_stdin_cwd_env (void)
{
  const char *argv[] = { "sh", "-c", "pwd; echo \"$GREETING\"; wc -c", NULL };
  const char *env[] = { "GREETING=hello there", NULL };
  g_autofree guint8 *data = g_malloc (300000);
  g_autoptr(GBytes) input = NULL;
  g_auto(Ran) ran = { 0 };

  memset (data, 'x', 300000);
  input = g_bytes_new_take (g_steal_pointer (&data), 300000);
  run_full (argv, env, "/tmp", 0, input, CLOCHE_EXEC_NONE, NULL, &ran);
  g_assert_no_error (ran.error);
  g_assert_cmpint (ran.code, ==, 0);
  assert_bytes (ran.out, "/tmp\nhello there\n300000\n");
  ran_clear (&ran);
  /* No input: stdin is at its end at once. */
  run_full ((const char *[]) { "wc", "-c", NULL }, NULL, NULL, 0, NULL, CLOCHE_EXEC_NONE, NULL,
            &ran);
  g_assert_no_error (ran.error);
  assert_bytes (ran.out, "0\n");
  g_assert_true (channel_open ());
}

static void
test_not_found (void)
{
  g_auto(Ran) ran = { 0 };

  run_full ((const char *[]) { "no-such-command-here", NULL }, NULL, NULL, 0, NULL,
            CLOCHE_EXEC_NONE, NULL, &ran);
  g_assert_no_error (ran.error);
  g_assert_cmpint (ran.code, ==, 127);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (ran.err, NULL), g_bytes_get_size (ran.err),
                                  "no-such-command-here"));
  g_assert_true (channel_open ());
}

/* Whether a process whose arguments hold @marker runs in the session. */
static gboolean
session_runs (const char *marker)
{
  g_autofree char *line = g_strdup_printf ("ps -o args | grep -c '[%c]%s' || true", marker[0],
                                           marker + 1);
  g_auto(Ran) ran = { 0 };

  run_sh (line, &ran);
  g_assert_no_error (ran.error);
  return g_bytes_get_size (ran.out) > 0
         && ((const char *) g_bytes_get_data (ran.out, NULL))[0] != '0';
}

static void
assert_gone (const char *marker)
{
  for (guint i = 0; i < 50 && session_runs (marker); i++)
    g_usleep (100000);
  g_assert_false (session_runs (marker));
}

static void
test_deadline (void)
{
  const char *argv[] = { "sh", "-c", "echo before; sleep 4321", NULL };
  g_auto(Ran) ran = { 0 };

  run_full (argv, NULL, NULL, 3, NULL, CLOCHE_EXEC_WAIT_FOR_STOP, NULL, &ran);
  g_assert_error (ran.error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT);
  g_assert_cmpint (ran.code, ==, 137);
  assert_bytes (ran.out, "before\n");
  assert_gone ("sleep 4321");
  ran_clear (&ran);
  /* Without waiting: at once, no output; the kill still lands. */
  argv[2] = "sleep 4322";
  run_full (argv, NULL, NULL, 2, NULL, CLOCHE_EXEC_NONE, NULL, &ran);
  g_assert_error (ran.error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT);
  g_assert_null (ran.out);
  assert_gone ("sleep 4322");
  g_assert_true (channel_open ());
}

static gboolean
cancel_cb (gpointer cancellable)
{
  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (void)
{
  const char *argv[] = { "sleep", "4323", NULL };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_auto(Ran) ran = { 0 };

  g_timeout_add_seconds (2, cancel_cb, cancellable);
  run_full (argv, NULL, NULL, 0, NULL, CLOCHE_EXEC_WAIT_FOR_STOP, cancellable, &ran);
  g_assert_error (ran.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_gone ("sleep 4323");
  g_assert_true (channel_open ());
}

static void
test_output_cap (void)
{
  g_auto(Ran) ran = { 0 };

  run_sh ("head -c 17000000 /dev/zero | tr '\\0' x", &ran);
  g_assert_error (ran.error, CLOCHE_ERROR, CLOCHE_ERROR_OUTPUT_TRUNCATED);
  g_assert_nonnull (strstr (ran.error->message, "stdout"));
  g_assert_true (channel_open ());
}

/* The guest's root kills the server: the channel drops (the guest agent
 * reports its end), and the next commands run through guest-exec. */
static void
test_server_killed (void)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  g_auto(Ran) ran = { 0 };

  g_assert_true (channel_open ());
  g_assert_cmpint (root_sh ("kill -KILL $(pidof cloche-guest | tr ' ' '\\n' | while read p; do "
                            "grep -q serve /proc/$p/cmdline && echo $p; done)", NULL), ==, 0);
  while (sandbox->exec_channel != NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (sandbox->exec_channel);
  run_sh ("echo still here", &ran);
  g_assert_no_error (ran.error);
  assert_bytes (ran.out, "still here\n");
}

/* A root process of the guest as the "server" of a port of its own:
 * READY, then, once the daemon's START came, @frame (octal escapes). */
static void
forge (const char *name,
       const char *frame,
       const char *reason)
{
  g_autofree char *script = g_strdup_printf (
    "cat > /run/forge-%s <<'EOF'\n"
    "#!/bin/sh\n"
    "for d in /sys/class/virtio-ports/*; do\n"
    "  [ \"$(cat $d/name)\" = \"$2\" ] && port=/dev/${d##*/}\n"
    "done\n"
    "exec 3<>$port\n"
    "printf '\\015\\000\\000\\000\\004\\000\\000\\000\\000cloche-exec 1' >&3\n"
    "dd bs=1 count=9 <&3 >/dev/null 2>&1\n"
    "printf '%s' >&3\n"
    "sleep 30\n"
    "EOF\n"
    "chmod 700 /run/forge-%s", name, frame, name);
  g_autofree char *helper = g_strdup_printf ("/run/forge-%s", name);
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  g_autoptr(GAsyncResult) opened = NULL;
  g_autoptr(ClocheExecChannel) channel = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(Ran) ran = { 0 };
  g_autoptr(GAsyncResult) result = NULL;
  Wait wait = { 0 };

  g_assert_cmpint (root_sh (script, NULL), ==, 0);
  cloche_exec_channel_open_async (cloche_vm_get_qmp_client (vm), cloche_vm_get_guest_agent (vm),
                                  helper, 900 + (guint) strlen (name), on_done, &wait);
  opened = wait_result (&wait);
  channel = cloche_exec_channel_open_finish (opened, &error);
  g_assert_no_error (error);
  wait = (Wait) { 0 };
  cloche_exec_channel_exec_async (channel, session, "/tmp", (const char *[]) { "true", NULL },
                                  NULL, 60, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &wait);
  result = wait_result (&wait);
  g_assert_false (cloche_exec_channel_exec_finish (channel, result, &ran.code, &ran.out, &ran.err,
                                                   &ran.error));
  g_assert_error (ran.error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
  g_test_message ("%s: %s", name, ran.error->message);
  g_assert_nonnull (strstr (ran.error->message, reason));
  g_assert_false (cloche_exec_channel_is_open (channel));
  g_assert_nonnull (strstr (cloche_exec_channel_get_drop_reason (channel)->message, reason));
}

static void
test_forged (void)
{
  /* A length of 1 MiB; an output for a command never started; a type the
   * guest never sends. */
  forge ("big", "\\000\\000\\020\\000\\005\\001\\000\\000\\000", "over the limit");
  forge ("id", "\\001\\000\\000\\000\\005\\143\\000\\000\\000x", "not running");
  forge ("type", "\\000\\000\\000\\000\\011\\001\\000\\000\\000", "unknown type 9");
}

static void
test_next_still_works (void)
{
  g_auto(Ran) ran = { 0 };

  run_sh ("echo after", &ran);
  g_assert_no_error (ran.error);
  assert_bytes (ran.out, "after\n");
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  sandbox_home_set_up ();

  g_test_add_func ("/vm-exec-channel/start", sandbox_start);
  g_test_add_func ("/vm-exec-channel/ready", test_ready);
  g_test_add_func ("/vm-exec-channel/output-and-status", test_output_and_status);
  g_test_add_func ("/vm-exec-channel/stdin-cwd-env", test_stdin_cwd_env);
  g_test_add_func ("/vm-exec-channel/not-found", test_not_found);
  g_test_add_func ("/vm-exec-channel/deadline", test_deadline);
  g_test_add_func ("/vm-exec-channel/cancel", test_cancel);
  g_test_add_func ("/vm-exec-channel/output-cap", test_output_cap);
  g_test_add_func ("/vm-exec-channel/server-killed", test_server_killed);
  g_test_add_func ("/vm-exec-channel/forged", test_forged);
  g_test_add_func ("/vm-exec-channel/next-still-works", test_next_still_works);
  g_test_add_func ("/vm-exec-channel/stop", sandbox_stop);
  status = g_test_run ();

  sandbox_home_tear_down (status);
  return status;
}
