/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-guest-agent.h"

G_BEGIN_DECLS

/* The state of a guest-exec process, from one guest-exec-status reply. */
typedef struct
{
  gboolean  exited;
  int       exit_code;    /* 128 + signal when a signal ended it */
  GBytes   *stdout_bytes;
  GBytes   *stderr_bytes;
  gboolean  stdout_truncated;   /* qemu-ga kept only its first 16 MiB */
  gboolean  stderr_truncated;
} ClocheExecStatus;

JsonNode *cloche_guest_agent_parse_reply       (const char        *line,
                                                GError           **error);
gboolean  cloche_guest_agent_parse_exec_status (JsonNode          *reply,
                                                ClocheExecStatus  *status,
                                                GError           **error);
void      cloche_exec_status_clear             (ClocheExecStatus  *status);
GError   *cloche_exec_status_truncated_error   (const ClocheExecStatus *status);
gboolean  cloche_exec_status_finish            (GTask             *task,
                                                ClocheExecStatus  *stopped,
                                                int               *exit_code,
                                                GBytes           **stdout_bytes,
                                                GBytes           **stderr_bytes,
                                                GError           **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClocheExecStatus, cloche_exec_status_clear)

G_END_DECLS
