/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The whole guest agent client over a stream. The first byte picks what is
 * waiting: a guest-sync (every line is then checked against its id), or
 * three commands answered in order. Whatever the guest sends before the port
 * closes, each must finish exactly once.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-fuzz.h"
#include "cloche-guest-agent.h"

#define N_COMMANDS 3

static void
on_synced (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  guint *finished = user_data;
  g_autoptr(GError) error = NULL;

  /* The sync id is random: input cannot guess it, so the close ends it. */
  g_assert_false (cloche_guest_agent_sync_finish (CLOCHE_GUEST_AGENT (object), result, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
  (*finished)++;
}

static void
on_executed (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  guint *finished = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = NULL;

  reply = cloche_guest_agent_execute_finish (CLOCHE_GUEST_AGENT (object), result, &error);
  g_assert_true ((reply == NULL) == (error != NULL));
  g_assert_true (error == NULL || error->domain == CLOCHE_ERROR);
  (*finished)++;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(ClocheGuestAgent) agent = NULL;
  gboolean sync = size > 0 && (data[0] & 1);
  guint finished = 0;

  cloche_fuzz_init ();
  stream = cloche_fuzz_stream_new (data, size);
  agent = cloche_guest_agent_new (stream);
  if (sync)
    {
      cloche_guest_agent_sync_async (agent, 60, NULL, on_synced, &finished);
      cloche_fuzz_run_until (&finished, 1);
      return 0;
    }
  for (guint i = 0; i < N_COMMANDS; i++)
    cloche_guest_agent_execute_async (agent, "guest-info", NULL, NULL, on_executed, &finished);
  cloche_fuzz_run_until (&finished, N_COMMANDS);
  return 0;
}
