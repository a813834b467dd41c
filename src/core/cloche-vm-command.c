/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The QEMU command line. The figures behind each choice are in
 * docs/bundle.md and docs/ARCHITECTURE.md: q35 rather than microvm (no TCG
 * calibration hang, PCI hot-plug for folders), the kernel booted as PVH
 * from an uncompressed vmlinux, channels on inherited socketpair fds, RAM
 * in a shared memfd and empty root ports so that virtiofs folders can be
 * hot-plugged.
 */
#include "config.h"

#include "cloche-guest-agent.h"
#include "cloche-vm-command.h"

static void cloche_vm_command_add (GPtrArray  *argv,
                                   const char *first,
                                   ...) G_GNUC_NULL_TERMINATED;

static void
cloche_vm_command_add (GPtrArray  *argv,
                       const char *first,
                       ...)
{
  va_list args;

  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
}

static void
cloche_vm_command_add_machine (GPtrArray                    *argv,
                               const ClocheVmCommandOptions *options)
{
  g_autofree char *memory = g_strdup_printf ("%u", options->memory_mib);
  g_autofree char *cpus = g_strdup_printf ("%u", MAX (options->cpus, 1));
  g_autofree char *backend = NULL;
  gboolean kvm = g_strcmp0 (options->accelerator, "kvm") == 0;

  /* vhost-user devices (virtiofs) work on the guest's memory from another
   * process, so it must be shareable: a memfd, mapped shared. It is the
   * machine's RAM from launch because folders are hot-plugged later.
   * With ram_fd the memfd is the daemon's, which saves and restores it for
   * warm wake (cloche-vm-snapshot.c). */
  if (options->ram_fd)
    backend = g_strdup_printf ("memory-backend-file,id=ram0,size=%uM,share=on,"
                               "mem-path=/dev/fd/%d", options->memory_mib, CLOCHE_VM_RAM_FD);
  else
    backend = g_strdup_printf ("memory-backend-memfd,id=ram0,size=%uM,share=on",
                               options->memory_mib);
  cloche_vm_command_add (argv, "-machine", "q35,memory-backend=ram0",
                         "-object", backend, NULL);
  /* TCG's translation cache defaults to a quarter of guest RAM; 32 MiB is
   * plenty for a shell and keeps the host cost down. */
  cloche_vm_command_add (argv, "-accel", kvm ? "kvm" : "tcg,tb-size=32", NULL);
  cloche_vm_command_add (argv, "-cpu", kvm ? "host" : "max", NULL);
  cloche_vm_command_add (argv, "-smp", cpus, "-m", memory, NULL);
}

static char *
cloche_vm_command_fd_path (int fd)
{
  return g_strdup_printf ("/dev/fd/%d", fd);
}

/* With boot_fds, QEMU opens the descriptors it inherited (/dev/fd/N opens
 * the same file again): the files that were checked, whatever has been
 * renamed into the bundle folder since. */
static void
cloche_vm_command_add_boot (GPtrArray                    *argv,
                            ClocheBundle                 *bundle,
                            const ClocheVmCommandOptions *options)
{
  g_autofree char *kernel = options->boot_fds ? cloche_vm_command_fd_path (CLOCHE_VM_KERNEL_FD)
                                              : cloche_bundle_get_kernel (bundle);
  g_autofree char *initrd = options->boot_fds ? cloche_vm_command_fd_path (CLOCHE_VM_INITRD_FD)
                                              : cloche_bundle_get_initrd (bundle);

  cloche_vm_command_add (argv, "-kernel", kernel, "-initrd", initrd,
                         "-append", cloche_bundle_get_cmdline (bundle), NULL);
}

/* A disk bundle's root image, attached with virtio-blk as the guest's
 * /dev/vda. snapshot=on: QEMU opens the image read-only and puts a qcow2
 * overlay of its own over it, which takes every write of this boot and is
 * deleted when QEMU exits. QEMU makes it in $TMPDIR, which ClocheVm points
 * at its runtime folder (and sweeps after a QEMU that was killed); why this
 * rather than a qemu-img overlay is in docs/bundle.md. cache=unsafe: the
 * overlay is thrown away, so flushing it to the host disk buys nothing. */
static void
cloche_vm_command_add_root_disk (GPtrArray                    *argv,
                                 ClocheBundle                 *bundle,
                                 const ClocheVmCommandOptions *options)
{
  g_autofree char *root = cloche_bundle_get_root_image (bundle);
  g_auto(GStrv) parts = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *drive = NULL;

  if (root == NULL)
    return;
  if (options->boot_fds)
    {
      g_free (root);
      root = cloche_vm_command_fd_path (CLOCHE_VM_ROOT_FD);
    }
  /* QEMU's option syntax doubles a comma inside a value. */
  parts = g_strsplit (root, ",", -1);
  escaped = g_strjoinv (",,", parts);
  drive = g_strdup_printf ("if=none,id=root,file=%s,format=qcow2,snapshot=on,"
                           "cache=unsafe,discard=unmap", escaped);
  cloche_vm_command_add (argv, "-drive", drive, "-device", "virtio-blk-pci,drive=root,id=rootdisk",
                         NULL);
}

static void
cloche_vm_command_add_channels (GPtrArray                    *argv,
                                const ClocheVmCommandOptions *options)
{
  g_autofree char *console = g_strdup_printf ("file:%s", options->console_path);
  g_autofree char *qmp = g_strdup_printf ("socket,id=qmp,fd=%d", CLOCHE_VM_QMP_FD);
  g_autofree char *agent = g_strdup_printf ("socket,id=ga0,fd=%d", CLOCHE_VM_AGENT_FD);

  cloche_vm_command_add (argv, "-serial", console, NULL);
  cloche_vm_command_add (argv, "-chardev", qmp, "-mon", "chardev=qmp,mode=control", NULL);
  /* The bus must exist before a port is put on it. */
  cloche_vm_command_add (argv, "-device", "virtio-serial-pci,id=vser0", "-chardev", agent,
                         "-device",
                         "virtserialport,bus=vser0.0,chardev=ga0,name=" CLOCHE_GUEST_AGENT_PORT,
                         NULL);
}

/* The netdev: with restrict=on the guest reaches nothing through QEMU's
 * user network except what is forwarded explicitly, and the one thing
 * forwarded is the proxy address, to a relay QEMU starts per connection
 * (QEMU-NOTES.md, "Network"). libslirp splits the command like a shell,
 * and QEMU's option syntax doubles commas. */
static char *
cloche_vm_command_netdev_option (const ClocheVmCommandOptions *options)
{
  g_autofree char *relay = NULL, *socket = NULL, *command = NULL;
  g_auto(GStrv) parts = NULL;

  if (options->egress_relay == NULL || options->egress_socket == NULL)
    return g_strdup ("user,id=n0,restrict=on");
  relay = g_shell_quote (options->egress_relay);
  socket = g_shell_quote (options->egress_socket);
  command = g_strdup_printf ("%s %s", relay, socket);
  parts = g_strsplit (command, ",", -1);
  g_free (command);
  command = g_strjoinv (",,", parts);
  return g_strdup_printf ("user,id=n0,restrict=on,guestfwd=tcp:%s:%u-cmd:%s",
                          CLOCHE_VM_EGRESS_ADDRESS, (guint) CLOCHE_VM_EGRESS_PORT, command);
}

static void
cloche_vm_command_add_devices (GPtrArray                    *argv,
                               const ClocheVmCommandOptions *options)
{
  g_autofree char *netdev = cloche_vm_command_netdev_option (options);

  /* Free page reporting hands memory the guest frees back to the host; the
   * monitor reads the guest's memory figures from balloon0 over QMP. */
  cloche_vm_command_add (argv, "-device", "virtio-balloon-pci,id=balloon0,free-page-reporting=on",
                         NULL);
  cloche_vm_command_add (argv, "-netdev", netdev, "-device", "virtio-net-pci,netdev=n0", NULL);
}

/**
 * cloche_vm_command_folder_port_id:
 *
 * Returns: (transfer full): the id of the @index-th root port reserved for folders
 */
char *
cloche_vm_command_folder_port_id (guint index)
{
  return g_strdup_printf ("folder-port%u", index);
}

/* PCIe has no hot-plug on the root bus itself: a device can only arrive in
 * an empty root port, and QEMU cannot add root ports to a running machine.
 * So the ports are made at launch. Each costs about 40 ms of boot under TCG
 * (enumeration, ACPI, port services; docs/ARCHITECTURE.md), hence
 * CLOCHE_VM_FOLDER_PORTS and not more. io-reserve=0: virtio on PCIe needs no
 * I/O ports, and sixteen 4 KiB I/O windows would not fit in the 64 KiB I/O
 * space. */
static void
cloche_vm_command_add_folder_ports (GPtrArray                    *argv,
                                    const ClocheVmCommandOptions *options)
{
  for (guint i = 0; i < options->folder_ports; i++)
    {
      g_autofree char *id = cloche_vm_command_folder_port_id (i);
      /* chassis numbers only have to be unique. */
      g_autofree char *port = g_strdup_printf ("pcie-root-port,id=%s,chassis=%u,io-reserve=0",
                                               id, i + 1);

      cloche_vm_command_add (argv, "-device", port, NULL);
    }
}

/**
 * cloche_vm_command_build:
 *
 * Returns: (transfer full): the argv that boots @bundle
 */
GStrv
cloche_vm_command_build (ClocheBundle                 *bundle,
                         const ClocheVmCommandOptions *options)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (CLOCHE_IS_BUNDLE (bundle), NULL);

  cloche_vm_command_add (argv, options->qemu, "-nodefaults", "-no-user-config",
                         "-display", "none", "-no-reboot", NULL);
  cloche_vm_command_add_machine (argv, options);
  cloche_vm_command_add_boot (argv, bundle, options);
  cloche_vm_command_add_root_disk (argv, bundle, options);
  cloche_vm_command_add_channels (argv, options);
  cloche_vm_command_add_devices (argv, options);
  cloche_vm_command_add_folder_ports (argv, options);
  /* A restore: QEMU waits, paused, for migrate-incoming on QMP. */
  if (options->incoming)
    cloche_vm_command_add (argv, "-incoming", "defer", NULL);
  g_ptr_array_add (argv, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}
