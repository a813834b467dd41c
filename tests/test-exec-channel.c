/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The daemon's end of the exec server (ClocheExecChannel) against frames
 * the test writes as the guest would: what a START carries, a command's
 * output and end matched by id, and every frame a hostile guest could
 * forge (an oversized length, an unknown type or id, an exit status out of
 * range, a READY that is not one) dropping the channel with the reason and
 * failing the command it ran, naming it. The guest's side is played by the
 * test because these faults are what the real server never writes; the
 * real server is tests/test-vm-exec-channel.c's. No VM.
 */
#include "config.h"

#include <sys/socket.h>

#include "cloche-error.h"
#include "cloche-exec-channel-private.h"
#include "cloche-test-util.h"

static const char NOT_READY[] = "no READY";

typedef struct
{
  GIOStream         *ours;
  GIOStream         *guest;
  ClocheExecChannel *channel;
  char              *dropped;
} Fixture;

static void
on_dropped (ClocheExecChannel *channel,
            const char        *reason,
            Fixture           *fixture)
{
  g_assert_null (fixture->dropped);
  fixture->dropped = g_strdup (reason);
}

static void
guest_write (Fixture      *fixture,
             guint8        type,
             guint32       id,
             const void   *payload,
             gsize         length,
             guint32       claimed)
{
  guint8 header[CLOCHE_EXEC_FRAME_HEADER];
  GOutputStream *out = g_io_stream_get_output_stream (fixture->guest);

  for (guint i = 0; i < 4; i++)
    header[i] = (guint8) (claimed >> (8 * i));
  header[4] = type;
  for (guint i = 0; i < 4; i++)
    header[5 + i] = (guint8) (id >> (8 * i));
  g_assert_true (g_output_stream_write_all (out, header, sizeof header, NULL, NULL, NULL));
  if (length > 0)
    g_assert_true (g_output_stream_write_all (out, payload, length, NULL, NULL, NULL));
}

static void
guest_send (Fixture    *fixture,
            guint8      type,
            guint32     id,
            const void *payload,
            gsize       length)
{
  guest_write (fixture, type, id, payload, length, (guint32) length);
}

/* One frame the channel wrote; its payload in *payload. */
static guint8
guest_read (Fixture  *fixture,
            guint32  *id,
            GBytes  **payload)
{
  GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (fixture->guest));
  guint8 header[CLOCHE_EXEC_FRAME_HEADER];
  gsize got = 0, length;
  guint8 *data;

  while (got < sizeof header)
    {
      gssize n;

      while (!(g_socket_condition_check (socket, G_IO_IN) & G_IO_IN))
        g_main_context_iteration (NULL, FALSE);
      n = g_socket_receive (socket, (char *) header + got, sizeof header - got, NULL, NULL);
      g_assert_cmpint (n, >, 0);
      got += (gsize) n;
    }
  length = header[0] | header[1] << 8 | header[2] << 16 | (gsize) header[3] << 24;
  *id = header[5] | header[6] << 8 | header[7] << 16 | (guint32) header[8] << 24;
  data = g_malloc (length + 1);
  for (got = 0; got < length;)
    {
      gssize n;

      while (!(g_socket_condition_check (socket, G_IO_IN) & G_IO_IN))
        g_main_context_iteration (NULL, FALSE);
      n = g_socket_receive (socket, (char *) data + got, length - got, NULL, NULL);
      g_assert_cmpint (n, >, 0);
      got += (gsize) n;
    }
  *payload = g_bytes_new_take (data, length);
  return header[4];
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  cloche_test_stream_pair (&fixture->ours, &fixture->guest);
  fixture->channel = cloche_exec_channel_new_for_stream (fixture->ours);
  g_signal_connect (fixture->channel, "dropped", G_CALLBACK (on_dropped), fixture);
  if (data != NOT_READY)
    {
      guest_send (fixture, CLOCHE_EXEC_FRAME_READY, 0, "cloche-exec 1", 13);
      while (!cloche_exec_channel_is_open (fixture->channel))
        g_main_context_iteration (NULL, TRUE);
    }
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_signal_handlers_disconnect_by_data (fixture->channel, fixture);
  g_io_stream_close (fixture->guest, NULL, NULL);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_object (&fixture->channel);
  g_clear_object (&fixture->ours);
  g_clear_object (&fixture->guest);
  g_free (fixture->dropped);
}

static void
start_true (Fixture       *fixture,
            GBytes        *input,
            guint          timeout_s,
            ClocheExecFlags flags,
            GCancellable  *cancellable,
            GAsyncResult **result)
{
  const char *argv[] = { "true", NULL };
  const char *env[] = { "A=1", NULL };

  cloche_exec_channel_exec_async (fixture->channel, "s1", "/sessions/s1", argv, env, timeout_s,
                                  input, flags, cancellable, cloche_test_store_result, result);
}

static guint32
read_start (Fixture *fixture)
{
  g_autoptr(GBytes) payload = NULL;
  guint32 id;

  g_assert_cmpint (guest_read (fixture, &id, &payload), ==, CLOCHE_EXEC_FRAME_START);
  g_assert_cmpuint (id, !=, 0);
  return id;
}

static void
send_exit (Fixture *fixture,
           guint32  id,
           guint32  status)
{
  guint8 bytes[4] = { status & 0xff, (status >> 8) & 0xff, (status >> 16) & 0xff, status >> 24 };

  guest_send (fixture, CLOCHE_EXEC_FRAME_EXIT, id, bytes, 4);
}

/* Within 10 s: a frame the channel took for a good one leaves the call
 * waiting, which is the failure to see. */
static GAsyncResult *
wait_result (GAsyncResult **result)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (*result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_nonnull (*result);
  return *result;
}

/* START: input flag, session, cwd, argv, "", env; input in IN frames
 * ending with an empty one; output and end matched by id. */
static void
test_round_trip (Fixture       *fixture,
                 gconstpointer  data)
{
  static const char start[] = "\1s1\0/sessions/s1\0true\0\0A=1";
  g_autoptr(GBytes) input = g_bytes_new_static ("abc", 3);
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint32 id, in_id;
  int code = -1;

  start_true (fixture, input, 10, CLOCHE_EXEC_NONE, NULL, &result);
  g_assert_cmpint (guest_read (fixture, &id, &payload), ==, CLOCHE_EXEC_FRAME_START);
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), start,
                   sizeof start);
  g_clear_pointer (&payload, g_bytes_unref);
  g_assert_cmpint (guest_read (fixture, &in_id, &payload), ==, CLOCHE_EXEC_FRAME_IN);
  g_assert_cmpuint (in_id, ==, id);
  g_assert_cmpmem (g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), "abc", 3);
  g_clear_pointer (&payload, g_bytes_unref);
  g_assert_cmpint (guest_read (fixture, &in_id, &payload), ==, CLOCHE_EXEC_FRAME_IN);
  g_assert_cmpuint (g_bytes_get_size (payload), ==, 0);
  guest_send (fixture, CLOCHE_EXEC_FRAME_OUT, id, "out", 3);
  guest_send (fixture, CLOCHE_EXEC_FRAME_ERR, id, "err", 3);
  send_exit (fixture, id, 3);
  g_assert_true (cloche_exec_channel_exec_finish (fixture->channel, wait_result (&result), &code,
                                                  &out, &err, &error));
  g_assert_no_error (error);
  g_assert_cmpint (code, ==, 3);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), "out", 3);
  g_assert_cmpmem (g_bytes_get_data (err, NULL), g_bytes_get_size (err), "err", 3);
  g_assert_true (cloche_exec_channel_is_open (fixture->channel));
}

/* Past the deadline: KILL, and with WAIT_FOR_STOP what it wrote until its end. */
static void
test_deadline (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint32 id, kill_id;
  int code = 0;

  start_true (fixture, NULL, 1, CLOCHE_EXEC_WAIT_FOR_STOP, NULL, &result);
  id = read_start (fixture);
  guest_send (fixture, CLOCHE_EXEC_FRAME_OUT, id, "so far", 6);
  g_assert_cmpint (guest_read (fixture, &kill_id, &payload), ==, CLOCHE_EXEC_FRAME_KILL);
  g_assert_cmpuint (kill_id, ==, id);
  g_assert_null (result);
  send_exit (fixture, id, 137);
  g_assert_false (cloche_exec_channel_exec_finish (fixture->channel, wait_result (&result), &code,
                                                   &out, &err, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EXEC_TIMEOUT);
  g_assert_cmpint (code, ==, 137);
  g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), "so far", 6);
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint32 id, kill_id;
  int code;

  start_true (fixture, NULL, 60, CLOCHE_EXEC_WAIT_FOR_STOP, cancellable, &result);
  id = read_start (fixture);
  g_cancellable_cancel (cancellable);
  g_assert_cmpint (guest_read (fixture, &kill_id, &payload), ==, CLOCHE_EXEC_FRAME_KILL);
  g_assert_cmpuint (kill_id, ==, id);
  send_exit (fixture, id, 137);
  g_assert_false (cloche_exec_channel_exec_finish (fixture->channel, wait_result (&result), &code,
                                                   &out, &err, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* Its end came: the id is free, and a late frame for it is forged. */
  g_assert_true (cloche_exec_channel_is_open (fixture->channel));
}

/* Each forged frame: the channel drops, says why, and fails the command
 * it ran naming the cause. */
typedef struct
{
  const char *name;
  guint8      type;
  gboolean    wrong_id;
  guint32     claimed;        /* the length the header says; 0: the payload's */
  const char *payload;
  gsize       length;
  const char *reason;
} Forgery;

static const Forgery forgeries[] = {
  { "oversized", CLOCHE_EXEC_FRAME_OUT, FALSE, 0x7fffffff, "", 0, "over the limit" },
  { "unknown-type", 42, FALSE, 0, "x", 1, "unknown type 42" },
  { "host-type", CLOCHE_EXEC_FRAME_START, FALSE, 0, "x", 1, "unknown type 1" },
  { "unknown-id", CLOCHE_EXEC_FRAME_OUT, TRUE, 0, "x", 1, "not running" },
  { "status-range", CLOCHE_EXEC_FRAME_EXIT, FALSE, 0, "\x00\x01\x00\x00", 4, "exit status" },
  { "status-short", CLOCHE_EXEC_FRAME_EXIT, FALSE, 0, "\x00", 1, "exit status" },
  { "second-ready", CLOCHE_EXEC_FRAME_READY, FALSE, 0, "cloche-exec 1", 13, "second READY" },
};

static void
test_forged (Fixture       *fixture,
             gconstpointer  data)
{
  const Forgery *forgery = data;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) refused = NULL;
  g_autoptr(GError) error = NULL;
  guint32 id;
  int code;

  start_true (fixture, NULL, 60, CLOCHE_EXEC_NONE, NULL, &result);
  id = read_start (fixture);
  guest_write (fixture, forgery->type, forgery->wrong_id ? id + 7 : id, forgery->payload,
               forgery->length, forgery->claimed != 0 ? forgery->claimed : forgery->length);
  g_assert_false (cloche_exec_channel_exec_finish (fixture->channel, wait_result (&result), &code,
                                                   &out, &err, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
  g_assert_nonnull (strstr (error->message, forgery->reason));
  g_assert_nonnull (strstr (error->message, "run it again"));
  g_assert_nonnull (fixture->dropped);
  g_assert_nonnull (strstr (fixture->dropped, forgery->reason));
  g_assert_false (cloche_exec_channel_is_open (fixture->channel));
  /* A dropped channel takes no command. */
  g_clear_error (&error);
  start_true (fixture, NULL, 60, CLOCHE_EXEC_NONE, NULL, &refused);
  g_assert_false (cloche_exec_channel_exec_finish (fixture->channel, wait_result (&refused), &code,
                                                   &out, &err, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
}

/* Before READY nothing else is taken, and a READY of another version is refused. */
static void
test_not_ready (Fixture       *fixture,
                gconstpointer  data)
{
  guest_send (fixture, CLOCHE_EXEC_FRAME_READY, 0, "cloche-exec 2", 13);
  while (fixture->dropped == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (strstr (fixture->dropped, "READY that is not"));
  g_assert_false (cloche_exec_channel_is_open (fixture->channel));
}

/* Each stream is kept up to 16 MiB; more is OutputTruncated. */
static void
test_output_cap (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *chunk = g_malloc0 (CLOCHE_EXEC_FRAME_MAX);
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  guint32 id;
  int code;

  start_true (fixture, NULL, 60, CLOCHE_EXEC_NONE, NULL, &result);
  id = read_start (fixture);
  /* 16 MiB + one frame, written while the channel reads. */
  for (guint i = 0; i < 257; i++)
    {
      guest_send (fixture, CLOCHE_EXEC_FRAME_OUT, id, chunk, CLOCHE_EXEC_FRAME_MAX);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
  send_exit (fixture, id, 0);
  g_assert_false (cloche_exec_channel_exec_finish (fixture->channel, wait_result (&result), &code,
                                                   &out, &err, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_OUTPUT_TRUNCATED);
  g_assert_nonnull (strstr (error->message, "stdout"));
  g_assert_true (cloche_exec_channel_is_open (fixture->channel));
}

/* The parser alone: short input waits, a length over the limit never does. */
static void
test_next_frame (void)
{
  static const guint8 whole[] = { 2, 0, 0, 0, 5, 9, 0, 0, 0, 'h', 'i', 0xff };
  static const guint8 big[] = { 1, 0, 1, 0, 5, 1, 0, 0, 0 };
  g_autoptr(GError) error = NULL;
  ClocheExecFrame frame;

  for (gsize size = 0; size < 11; size++)
    {
      g_assert_cmpuint (cloche_exec_channel_next_frame (whole, size, &frame, &error), ==, 0);
      g_assert_no_error (error);
    }
  g_assert_cmpuint (cloche_exec_channel_next_frame (whole, sizeof whole, &frame, &error), ==, 11);
  g_assert_cmpuint (frame.type, ==, 5);
  g_assert_cmpuint (frame.id, ==, 9);
  g_assert_cmpmem (frame.payload, frame.length, "hi", 2);
  g_assert_cmpuint (cloche_exec_channel_next_frame (big, sizeof big, &frame, &error), ==, 0);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/exec-channel/next-frame", test_next_frame);
  g_test_add ("/exec-channel/round-trip", Fixture, NULL, fixture_set_up, test_round_trip,
              fixture_tear_down);
  g_test_add ("/exec-channel/deadline", Fixture, NULL, fixture_set_up, test_deadline,
              fixture_tear_down);
  g_test_add ("/exec-channel/cancel", Fixture, NULL, fixture_set_up, test_cancel,
              fixture_tear_down);
  g_test_add ("/exec-channel/output-cap", Fixture, NULL, fixture_set_up, test_output_cap,
              fixture_tear_down);
  g_test_add ("/exec-channel/not-ready", Fixture, NOT_READY, fixture_set_up, test_not_ready,
              fixture_tear_down);
  for (guint i = 0; i < G_N_ELEMENTS (forgeries); i++)
    {
      g_autofree char *path = g_strdup_printf ("/exec-channel/forged/%s", forgeries[i].name);

      g_test_add (path, Fixture, &forgeries[i], fixture_set_up, test_forged, fixture_tear_down);
    }
  return g_test_run ();
}
