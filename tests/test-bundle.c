/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "cloche-bundle.h"
#include "cloche-error.h"
#include "cloche-vm-command.h"

typedef struct
{
  char *dir;
} Fixture;

static void
write_file (Fixture    *fixture,
            const char *name,
            const char *contents)
{
  g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
write_manifest (Fixture    *fixture,
                const char *initrd_entry)
{
  g_autofree char *manifest = g_strdup_printf (
    "{\"name\": \"cloche-minimal\", \"version\": \"6.1-test\", \"kernel\": \"vmlinux\",\n"
    " \"initrd\": \"initrd.img\", \"cmdline\": \"console=ttyS0 panic=-1\", \"memory_mib\": 384,\n"
    " \"files\": [{\"path\": \"vmlinux\", \"size\": 6, \"sha256\": \"x\"}%s]}\n",
    initrd_entry);

  write_file (fixture, "manifest.json", manifest);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("cloche-bundle-XXXXXX", &error);
  g_assert_no_error (error);
  write_file (fixture, "vmlinux", "kernel");
  write_file (fixture, "initrd.img", "initrd");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *names[] = { "manifest.json", "vmlinux", "initrd.img" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (fixture->dir, names[i], NULL);
      g_unlink (path);
    }
  g_rmdir (fixture->dir);
  g_free (fixture->dir);
}

static void
test_load (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(ClocheBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *kernel = NULL;

  write_manifest (fixture, ", {\"path\": \"initrd.img\", \"size\": 6, \"sha256\": \"y\"}");
  bundle = cloche_bundle_load (fixture->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cloche_bundle_get_name (bundle), ==, "cloche-minimal");
  g_assert_cmpuint (cloche_bundle_get_memory_mib (bundle), ==, 384);
  kernel = cloche_bundle_get_kernel (bundle);
  g_assert_true (g_str_has_suffix (kernel, "/vmlinux"));
  g_assert_true (g_path_is_absolute (kernel));
}

static void
test_missing (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_MISSING);
  g_assert_true (strstr (error->message, fixture->dir) != NULL);
}

/* Malformed JSON names the file and where in it. */
static void
test_malformed (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_file (fixture, "manifest.json", "{\"name\": \"cloche\",\n \"files\": [}\n");
  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
  g_assert_true (strstr (error->message, "manifest.json") != NULL);
  g_assert_true (strstr (error->message, "2:") != NULL);
}

static void
test_incomplete (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_manifest (fixture, ", {\"path\": \"rootfs.qcow2\", \"size\": 6, \"sha256\": \"y\"}");
  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
  g_assert_true (strstr (error->message, "rootfs.qcow2 is missing") != NULL);
}

static void
test_truncated_file (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_manifest (fixture, ", {\"path\": \"initrd.img\", \"size\": 600, \"sha256\": \"y\"}");
  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
  g_assert_true (strstr (error->message, "initrd.img has 6 bytes") != NULL);
}

static void
test_path_escape (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  write_manifest (fixture, ", {\"path\": \"../../etc/passwd\", \"size\": 1}");
  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
}

static gboolean
argv_has_pair (GStrv       argv,
               const char *option,
               const char *value)
{
  for (guint i = 0; argv[i] != NULL && argv[i + 1] != NULL; i++)
    if (g_str_equal (argv[i], option) && g_str_equal (argv[i + 1], value))
      return TRUE;
  return FALSE;
}

static guint
argv_index (GStrv       argv,
            const char *arg)
{
  for (guint i = 0; argv[i] != NULL; i++)
    if (g_str_has_prefix (argv[i], arg))
      return i;
  g_assert_not_reached ();
}

static void
test_command (Fixture       *fixture,
              gconstpointer  data)
{
  g_autoptr(ClocheBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  ClocheVmCommandOptions options = {
    .qemu = "/usr/bin/qemu-system-x86_64", .accelerator = "tcg",
    .console_path = "/run/console.log", .memory_mib = 384, .cpus = 1,
  };

  write_manifest (fixture, "");
  bundle = cloche_bundle_load (fixture->dir, &error);
  g_assert_no_error (error);
  argv = cloche_vm_command_build (bundle, &options);

  g_assert_cmpstr (argv[0], ==, options.qemu);
  g_assert_true (argv_has_pair (argv, "-accel", "tcg,tb-size=32"));
  g_assert_true (argv_has_pair (argv, "-m", "384"));
  g_assert_true (argv_has_pair (argv, "-append", "console=ttyS0 panic=-1"));
  g_assert_true (argv_has_pair (argv, "-serial", "file:/run/console.log"));
  g_assert_true (argv_has_pair (argv, "-netdev", "user,id=n0,restrict=on"));
  /* The virtio-serial bus must come before the port that sits on it. */
  g_assert_cmpuint (argv_index (argv, "virtio-serial-pci"), <, argv_index (argv, "virtserialport"));

  options.accelerator = "kvm";
  g_clear_pointer (&argv, g_strfreev);
  argv = cloche_vm_command_build (bundle, &options);
  g_assert_true (argv_has_pair (argv, "-accel", "kvm"));
  g_assert_true (argv_has_pair (argv, "-cpu", "host"));
}

static guint
argv_count_prefix (GStrv       argv,
                   const char *prefix)
{
  guint n = 0;

  for (guint i = 0; argv[i] != NULL; i++)
    n += g_str_has_prefix (argv[i], prefix);
  return n;
}

/* What hot-plugging folders over virtiofs needs from launch on: guest RAM
 * that virtiofsd can map (a shared memfd) and empty root ports to plug into. */
static void
test_command_folders (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(ClocheBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  ClocheVmCommandOptions options = {
    .qemu = "/usr/bin/qemu-system-x86_64", .accelerator = "tcg",
    .console_path = "/run/console.log", .memory_mib = 384, .cpus = 1,
    .folder_ports = CLOCHE_VM_FOLDER_PORTS,
  };

  write_manifest (fixture, "");
  bundle = cloche_bundle_load (fixture->dir, &error);
  g_assert_no_error (error);
  argv = cloche_vm_command_build (bundle, &options);

  g_assert_true (argv_has_pair (argv, "-machine", "q35,memory-backend=ram0"));
  g_assert_true (argv_has_pair (argv, "-object",
                                "memory-backend-memfd,id=ram0,size=384M,share=on"));
  g_assert_true (argv_has_pair (argv, "-m", "384"));
  g_assert_cmpuint (argv_count_prefix (argv, "pcie-root-port,"), ==, CLOCHE_VM_FOLDER_PORTS);
  for (guint i = 0; i < CLOCHE_VM_FOLDER_PORTS; i++)
    {
      g_autofree char *id = cloche_vm_command_folder_port_id (i);
      g_autofree char *port = g_strdup_printf ("pcie-root-port,id=%s,chassis=%u,io-reserve=0",
                                               id, i + 1);

      g_assert_true (argv_has_pair (argv, "-device", port));
    }

  options.folder_ports = 0;
  g_clear_pointer (&argv, g_strfreev);
  argv = cloche_vm_command_build (bundle, &options);
  g_assert_cmpuint (argv_count_prefix (argv, "pcie-root-port,"), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/bundle/load", test_load);
  ADD ("/bundle/missing", test_missing);
  ADD ("/bundle/malformed", test_malformed);
  ADD ("/bundle/incomplete", test_incomplete);
  ADD ("/bundle/truncated-file", test_truncated_file);
  ADD ("/bundle/path-escape", test_path_escape);
  ADD ("/bundle/qemu-command", test_command);
  ADD ("/bundle/qemu-command-folders", test_command_folders);
#undef ADD

  return g_test_run ();
}
