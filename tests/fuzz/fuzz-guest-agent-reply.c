/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The guest agent's replies, one line at a time; every reply is also read as
 * a guest-exec-status answer. The agent runs inside the guest, so whatever
 * the agent's user can make it print lands here.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-fuzz.h"
#include "cloche-guest-agent-private.h"

static void
check_reply (const char *line)
{
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ClocheExecStatus) status = { 0 };

  reply = cloche_guest_agent_parse_reply (line, &error);
  if (reply == NULL)
    {
      g_assert_true (error != NULL && error->domain == CLOCHE_ERROR);
      return;
    }
  g_assert_no_error (error);

  if (!cloche_guest_agent_parse_exec_status (reply, &status, &error))
    {
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_AGENT_PROTOCOL);
      return;
    }
  /* An exited process always hands its output over, empty or not. */
  if (status.exited)
    g_assert_true (status.stdout_bytes != NULL && status.stderr_bytes != NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GPtrArray) lines = NULL;

  cloche_fuzz_init ();
  lines = cloche_fuzz_lines (data, size);
  for (guint i = 0; i < lines->len; i++)
    check_reply (g_ptr_array_index (lines, i));
  return 0;
}
