/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * How much memory the VM gets. Guest memory is not taken from the host up
 * front: pages are touched as the guest uses them and go back through free
 * page reporting, so the size is a ceiling, not a cost at run time. It is
 * one at boot: the guest kernel sets up its page tables for all of it,
 * which under TCG takes longer the larger it is (issue 21: 4 GiB against
 * 512 MiB was about a quarter of QEMU's CPU time to the agent's first
 * reply). A quarter of the host leaves the desktop room on a small laptop;
 * the default stops at 2 GiB, enough for an agent's shell and build tools,
 * and the policy (vm.memory_mib) gives more to whoever needs it.
 */
#include "config.h"

#include <unistd.h>

#include "cloche-memory.h"

/**
 * cloche_memory_default_mib:
 * @host_bytes: the host's physical memory
 *
 * Returns: a quarter of @host_bytes in MiB, between 1 and 2 GiB
 */
guint
cloche_memory_default_mib (guint64 host_bytes)
{
  guint64 quarter_mib = host_bytes / 4 / (1024 * 1024);

  return (guint) CLAMP (quarter_mib, CLOCHE_MEMORY_MIN_MIB, CLOCHE_MEMORY_MAX_MIB);
}

guint64
cloche_memory_host_bytes (void)
{
  long pages = sysconf (_SC_PHYS_PAGES);
  long page_size = sysconf (_SC_PAGESIZE);

  if (pages <= 0 || page_size <= 0)
    return 0;
  return (guint64) pages * (guint64) page_size;
}

/**
 * cloche_memory_choose_mib:
 * @override_mib: what the user asked for (the daemon's --memory-mib), or 0
 *
 * Returns: @override_mib if set, else the default for this host
 */
guint
cloche_memory_choose_mib (guint override_mib)
{
  if (override_mib > 0)
    return override_mib;
  return cloche_memory_default_mib (cloche_memory_host_bytes ());
}
