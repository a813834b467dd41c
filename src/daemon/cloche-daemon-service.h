/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "cloche-dbus-generated.h"
#include "cloche-sandbox.h"

G_BEGIN_DECLS

#define CLOCHE_TYPE_DAEMON_SERVICE (cloche_daemon_service_get_type ())
G_DECLARE_FINAL_TYPE (ClocheDaemonService, cloche_daemon_service, CLOCHE, DAEMON_SERVICE,
                      ClocheDbusDaemonSkeleton)

ClocheDaemonService *cloche_daemon_service_new (ClocheSandbox *sandbox);

G_END_DECLS
