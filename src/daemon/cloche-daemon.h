/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What the command line sets; see main.c for what each means. */
typedef struct
{
  const char         *bundle_path;      /* NULL: where the user last put it */
  const char * const *egress_allow;     /* on top of the policy's rules */
  const char         *otlp_endpoint;
  int                 idle_timeout;     /* 0: the policy's */
  int                 agent_timeout;    /* 0: the default */
  int                 memory_mib;       /* 0: the policy's */
  int                 exit_after;       /* 0: never */
  gboolean            replace;
} ClocheDaemonOptions;

#define CLOCHE_TYPE_DAEMON (cloche_daemon_get_type ())
G_DECLARE_FINAL_TYPE (ClocheDaemon, cloche_daemon, CLOCHE, DAEMON, GObject)

ClocheDaemon *cloche_daemon_new (const ClocheDaemonOptions *options);
int           cloche_daemon_run (ClocheDaemon              *self);

G_END_DECLS
