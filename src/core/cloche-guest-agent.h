/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CLOCHE_GUEST_AGENT_PORT "org.qemu.guest_agent.0"
/* How long one command may wait for the agent's answer. */
#define CLOCHE_GUEST_AGENT_COMMAND_TIMEOUT_S 30

/* How an exec ends when it is stopped (its deadline, or cancelled):
 * CLOCHE_EXEC_NONE: at once, the kill on its way in the guest;
 * CLOCHE_EXEC_WAIT_FOR_STOP: once the guest saw the command end, and past
 * its deadline with what it wrote until then (see _exec_finish).
 * CLOCHE_EXEC_NO_DEADLINE: no deadline (timeout_s 0): it runs until it
 * ends or is cancelled (a terminal's relay, which ends with its client). */
typedef enum
{
  CLOCHE_EXEC_NONE          = 0,
  CLOCHE_EXEC_WAIT_FOR_STOP = 1 << 0,
  CLOCHE_EXEC_NO_DEADLINE   = 1 << 1,
} ClocheExecFlags;

#define CLOCHE_TYPE_GUEST_AGENT (cloche_guest_agent_get_type ())
G_DECLARE_FINAL_TYPE (ClocheGuestAgent, cloche_guest_agent, CLOCHE, GUEST_AGENT, GObject)

ClocheGuestAgent *cloche_guest_agent_new            (GIOStream            *stream);
void              cloche_guest_agent_sync_async     (ClocheGuestAgent     *self,
                                                     guint                 timeout_s,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean          cloche_guest_agent_sync_finish    (ClocheGuestAgent     *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void              cloche_guest_agent_execute_async  (ClocheGuestAgent     *self,
                                                     const char           *command,
                                                     JsonObject           *arguments,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
JsonNode         *cloche_guest_agent_execute_finish (ClocheGuestAgent     *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void              cloche_guest_agent_exec_async     (ClocheGuestAgent     *self,
                                                     const char * const   *argv,
                                                     const char * const   *env,
                                                     guint                 timeout_s,
                                                     GBytes               *input,
                                                     ClocheExecFlags       flags,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean          cloche_guest_agent_exec_finish    (ClocheGuestAgent     *self,
                                                     GAsyncResult         *result,
                                                     int                  *exit_code,
                                                     GBytes              **stdout_bytes,
                                                     GBytes              **stderr_bytes,
                                                     GError              **error);
void              cloche_guest_agent_set_command_timeout (ClocheGuestAgent *self,
                                                          guint             seconds);
void              cloche_guest_agent_hold           (ClocheGuestAgent     *self);
void              cloche_guest_agent_release        (ClocheGuestAgent     *self);
void              cloche_guest_agent_shutdown       (ClocheGuestAgent     *self);
void              cloche_guest_agent_close          (ClocheGuestAgent     *self);

G_END_DECLS
