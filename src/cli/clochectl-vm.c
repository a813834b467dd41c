/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <stdlib.h>

#include "clochectl.h"

int
clochectl_vm (ClocheDbusDaemon  *daemon,
        int                argc,
        char             **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc != 2 || !g_str_equal (argv[1], "stop"))
    return clochectl_usage ();
  if (!cloche_dbus_daemon_call_stop_vm_sync (daemon, NULL, &error))
    return clochectl_fail (_("cannot stop the VM"), error);
  return EXIT_SUCCESS;
}

