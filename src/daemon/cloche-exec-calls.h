/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-sandbox.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_EXEC_CALLS (cloche_exec_calls_get_type ())
G_DECLARE_FINAL_TYPE (ClocheExecCalls, cloche_exec_calls, CLOCHE, EXEC_CALLS, GObject)

ClocheExecCalls *cloche_exec_calls_new    (ClocheSandbox         *sandbox);
void             cloche_exec_calls_start  (ClocheExecCalls       *self,
                                           GDBusMethodInvocation *invocation,
                                           const char            *id,
                                           const char * const    *argv,
                                           const char * const    *env,
                                           const char            *cwd,
                                           GVariant              *options);
void             cloche_exec_calls_cancel (ClocheExecCalls       *self,
                                           GDBusMethodInvocation *invocation,
                                           const char            *tag);

G_END_DECLS
