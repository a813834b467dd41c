/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The QMP parser, one line at a time, as QEMU's monitor would send them. A
 * reply is also read as balloon guest-stats, which arrive as a qom-get reply
 * and are written by the guest's driver: the least trusted QMP payload.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-fuzz.h"
#include "cloche-monitor-private.h"
#include "cloche-qmp-client-private.h"

static void
check_message (const char *line)
{
  g_auto(ClocheQmpMessage) message = { 0 };
  g_autoptr(GError) error = NULL;
  ClocheGuestMemory memory;

  if (!cloche_qmp_message_parse (line, &message, &error))
    {
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL);
      return;
    }
  g_assert_no_error (error);

  switch (message.kind)
    {
    case CLOCHE_QMP_MESSAGE_EVENT:
      /* The client emits it as the signal's name argument. */
      g_assert_nonnull (message.event);
      break;
    case CLOCHE_QMP_MESSAGE_ERROR:
      g_assert_nonnull (message.error_class);
      g_assert_nonnull (message.error_desc);
      break;
    case CLOCHE_QMP_MESSAGE_RETURN:
      if (cloche_monitor_parse_guest_stats (message.payload, &memory, &error))
        g_assert_true (!memory.known || memory.used <= memory.total);
      else
        g_assert_nonnull (error);
      break;
    case CLOCHE_QMP_MESSAGE_GREETING:
    default:
      break;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GPtrArray) lines = NULL;

  cloche_fuzz_init ();
  lines = cloche_fuzz_lines (data, size);
  for (guint i = 0; i < lines->len; i++)
    check_message (g_ptr_array_index (lines, i));
  return 0;
}
