/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-dbus-generated.h"
#include "cloche-sandbox.h"

G_BEGIN_DECLS

void cloche_sessions_terminals_serve (ClocheDbusSessions *skeleton,
                                      ClocheSandbox      *sandbox);

G_END_DECLS
