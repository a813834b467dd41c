/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-terminal-port.h"

G_BEGIN_DECLS

/* What a terminal runs, and how (cloche_sandbox_open_terminal_async). */
typedef struct
{
  const char * const *argv;     /* NULL or empty: the session user's login shell */
  const char * const *env;      /* NAME=value entries over the session's */
  const char         *cwd;      /* NULL: the session folder */
  guint               rows;     /* 1..CLOCHE_TERMINAL_MAX_SIZE */
  guint               cols;
  gboolean            pipe;     /* the client's input is not a terminal */
} ClocheTerminalRequest;

#define CLOCHE_TERMINAL_MAX_SIZE 9999

#define CLOCHE_TYPE_TERMINAL (cloche_terminal_get_type ())
G_DECLARE_FINAL_TYPE (ClocheTerminal, cloche_terminal, CLOCHE, TERMINAL, GObject)

ClocheTerminal     *cloche_terminal_new          (const char         *id,
                                                  const char         *session,
                                                  const char * const *command,
                                                  const char         *cwd,
                                                  ClocheTerminalPort *port);
const char         *cloche_terminal_get_id       (ClocheTerminal     *self);
const char         *cloche_terminal_get_session  (ClocheTerminal     *self);
const char * const *cloche_terminal_get_command  (ClocheTerminal     *self);
const char         *cloche_terminal_get_cwd      (ClocheTerminal     *self);
gint64              cloche_terminal_get_started  (ClocheTerminal     *self);
ClocheTerminalPort *cloche_terminal_get_port     (ClocheTerminal     *self);
int                 cloche_terminal_steal_fd     (ClocheTerminal     *self);
gboolean            cloche_terminal_get_ended    (ClocheTerminal     *self,
                                                  int                *status,
                                                  const char        **message);
void                cloche_terminal_end          (ClocheTerminal     *self,
                                                  int                 status,
                                                  const char         *message);

G_END_DECLS
