/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-bundle.h"
#include "cloche-bundle-manager.h"
#include "cloche-bundle-private.h"
#include "cloche-bundle-stamps.h"
#include "cloche-error.h"
#include "cloche-vm-command.h"

typedef struct
{
  char *dir;
  char *stamps;
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

static char *
sha256_of (const char *text)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}

/* A manifest as tools/build-bundle writes it, for the files the fixture
 * made, with @members replacing or adding top-level members and @extra
 * file entries after the two real ones. */
static char *
manifest_text (const char *members,
               const char *extra)
{
  g_autofree char *kernel = sha256_of ("kernel");
  g_autofree char *initrd = sha256_of ("initrd");

  return g_strdup_printf (
    "{%s\"name\": \"cloche-minimal\", \"version\": \"6.1-test\",\n"
    " \"cmdline\": \"console=ttyS0 panic=-1\", \"memory_mib\": 384,\n"
    " \"files\": [{\"path\": \"vmlinux\", \"size\": 6, \"sha256\": \"%s\"},\n"
    "           {\"path\": \"initrd.img\", \"size\": 6, \"sha256\": \"%s\"}%s]}\n",
    members, kernel, initrd, extra);
}

static void
write_manifest_with (Fixture    *fixture,
                     const char *members,
                     const char *extra)
{
  g_autofree char *text = manifest_text (members, extra);

  write_file (fixture, "manifest.json", text);
}

static void
write_manifest (Fixture    *fixture,
                const char *extra)
{
  write_manifest_with (fixture, "\"kernel\": \"vmlinux\", \"initrd\": \"initrd.img\",\n", extra);
}

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("cloche-bundle-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->stamps = g_build_filename (fixture->dir, "cache", "bundle-stamps", NULL);
  write_file (fixture, "vmlinux", "kernel");
  write_file (fixture, "initrd.img", "initrd");
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  const char *argv[] = { "rm", "-rf", fixture->dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
  g_free (fixture->dir);
  g_free (fixture->stamps);
}

static void
test_load (Fixture       *fixture,
           gconstpointer  data)
{
  g_autoptr(ClocheBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *kernel = NULL;

  write_manifest (fixture, "");
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
  g_autofree char *extra = g_strdup_printf (", {\"path\": \"rootfs.qcow2\", \"size\": 6, "
                                            "\"sha256\": \"%064d\"}", 0);

  write_manifest (fixture, extra);
  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
  g_assert_true (strstr (error->message, "rootfs.qcow2 is missing") != NULL);
}

static void
test_truncated_file (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *sum = sha256_of ("initrd");
  g_autofree char *text = g_strdup_printf (
    "{\"name\": \"n\", \"version\": \"1\", \"kernel\": \"vmlinux\", \"initrd\": \"initrd.img\",\n"
    " \"cmdline\": \"x\", \"files\": [{\"path\": \"vmlinux\", \"size\": 6, \"sha256\": \"%s\"},\n"
    " {\"path\": \"initrd.img\", \"size\": 600, \"sha256\": \"%s\"}]}", sum, sum);

  write_file (fixture, "manifest.json", text);
  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
  g_assert_true (strstr (error->message, "initrd.img has 6 bytes") != NULL);
}

static void
test_path_escape (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *extra = g_strdup_printf (", {\"path\": \"../../etc/passwd\", \"size\": 1, "
                                            "\"sha256\": \"%064d\"}", 0);

  write_manifest (fixture, extra);
  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
}

/* The manifest's kernel, initrd and root name files of the bundle, listed
 * in "files" (so verify and install hash them): "../../tmp/evil/initrd.img"
 * was installed as verified and booted. Every spelling an attacker would
 * try is refused at load, naming the member. */
static void
test_boot_file_outside (Fixture       *fixture,
                        gconstpointer  data)
{
  const char *spellings[] = {
    "../../tmp/evil/initrd.img", "/tmp/evil/initrd.img", "./initrd.img", "sub/initrd.img",
    "initrd.img/", "..", ".", "", "other.img", "manifest.json", ".hidden", "initrd\\u001b.img",
  };

  for (guint i = 0; i < G_N_ELEMENTS (spellings); i++)
    for (guint member = 0; member < 3; member++)
      {
        g_autoptr(GError) error = NULL;
        g_autofree char *root = g_strdup_printf ("\"kind\": \"disk\", \"root\": \"%s\", ",
                                                 spellings[i]);
        g_autofree char *members = g_strdup_printf (
          "%s\"kernel\": \"%s\", \"initrd\": \"%s\",\n", member == 2 ? root : "",
          member == 0 ? spellings[i] : "vmlinux", member == 1 ? spellings[i] : "initrd.img");
        const char *names[] = { "kernel", "initrd", "root" };
        g_autofree char *named = g_strdup_printf ("\"%s\"", names[member]);

        write_manifest_with (fixture, members, "");
        g_assert_null (cloche_bundle_load (fixture->dir, &error));
        g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
        g_assert_true (strstr (error->message, names[member]) != NULL
                       || strstr (error->message, named) != NULL);
      }
}

/* A boot file that is a link, even to a file of the right size, is not a
 * file of the bundle. */
static void
test_boot_file_link (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *initrd = g_build_filename (fixture->dir, "initrd.img", NULL);
  g_autofree char *outside = g_build_filename (fixture->dir, "cache", NULL);
  g_autofree char *evil = g_build_filename (outside, "evil.img", NULL);
  g_autoptr(GError) error = NULL;

  write_manifest (fixture, "");
  g_assert_cmpint (g_mkdir_with_parents (outside, 0700), ==, 0);
  g_assert_true (g_file_set_contents (evil, "initrd", -1, NULL));
  g_assert_cmpint (g_unlink (initrd), ==, 0);
  g_assert_cmpint (symlink (evil, initrd), ==, 0);
  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
  g_assert_true (strstr (error->message, "initrd.img is not a regular file") != NULL);
}

/* Members of the wrong type, numbers out of range, names given twice, deep
 * nesting: each refused with what is wrong, none logging a critical. */
/* The fixture's manifest with the member @replaced left out and @members
 * added first. */
static char *
manifest_replacing (const char *replaced,
                    const char *members)
{
  g_autofree char *kernel = sha256_of ("kernel");
  g_autofree char *initrd = sha256_of ("initrd");
  g_autofree char *files = g_strdup_printf (
    "\"files\": [{\"path\": \"vmlinux\", \"size\": 6, \"sha256\": \"%s\"},"
    " {\"path\": \"initrd.img\", \"size\": 6, \"sha256\": \"%s\"}]", kernel, initrd);
  const char *all[][2] = {
    { "name", "\"name\": \"n\"" }, { "version", "\"version\": \"1\"" },
    { "cmdline", "\"cmdline\": \"x\"" }, { "memory_mib", "\"memory_mib\": 384" },
    { "kernel", "\"kernel\": \"vmlinux\"" }, { "initrd", "\"initrd\": \"initrd.img\"" },
    { "files", files },
  };
  g_autoptr(GString) text = g_string_new ("{");

  g_string_append (text, members);
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    if (g_strcmp0 (all[i][0], replaced) != 0)
      g_string_append_printf (text, ", %s", all[i][1]);
  g_string_append (text, "}\n");
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* Members of the wrong type, numbers out of range, names given twice, deep
 * nesting: each refused with what is wrong, none logging a critical. */
static void
test_manifest_types (Fixture       *fixture,
                     gconstpointer  data)
{
  const struct { const char *replaced, *members, *expected; } cases[] = {
    { "name", "\"name\": 5", "\"name\" that is not a text" },
    { "memory_mib", "\"memory_mib\": \"512\"", "\"memory_mib\"" },
    { "memory_mib", "\"memory_mib\": 99999999999", "not a whole number from 128" },
    { "memory_mib", "\"memory_mib\": 99999999999999999999999",
      "99999999999999999999999 is out of range" },
    { "cmdline", "\"cmdline\": [\"x\"]", "\"cmdline\" that is not a text" },
    { "kernel", "\"kernel\": {}", "\"kernel\" that is not a text" },
    { NULL, "\"kind\": 1", "is of kind \"?\"" },
    { NULL, "\"kind\": \"squashfs\"", "is of kind \"squashfs\"" },
    { NULL, "\"initrd\": \"initrd.img\"", "“initrd” is given twice" },
    { "version", "\"version\": \"1\\u001b[2J\"", "\"version\" with control characters" },
    { "files", "\"files\": {}", "has no \"files\" list" },
    { "files", "\"files\": [{\"path\": \"vmlinux\", \"size\": \"6\", \"sha256\": \"\"}]",
      "gives vmlinux no size or no sha256" },
  };
  g_autofree char *brackets = g_strnfill (1000, '[');
  g_autofree char *deep = g_strdup_printf ("{\"x\": %s", brackets);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = manifest_replacing (cases[i].replaced, cases[i].members);

      write_file (fixture, "manifest.json", text);
      g_assert_null (cloche_bundle_load (fixture->dir, &error));
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
      if (strstr (error->message, cases[i].expected) == NULL)
        g_error ("%s: %s", cases[i].members, error->message);
    }
  {
    g_autoptr(GError) error = NULL;

    write_file (fixture, "manifest.json", deep);
    g_assert_null (cloche_bundle_load (fixture->dir, &error));
    g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
    g_assert_true (strstr (error->message, "nested deeper than") != NULL);
  }
}

/* manifest.json that is a FIFO (a read would block for ever) or a link. */
static void
test_manifest_not_a_file (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autofree char *manifest = g_build_filename (fixture->dir, "manifest.json", NULL);
  g_autofree char *real = g_build_filename (fixture->dir, "real.json", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) link_error = NULL;

  g_assert_cmpint (mkfifo (manifest, 0600), ==, 0);
  g_assert_null (cloche_bundle_load (fixture->dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
  g_assert_true (strstr (error->message, "FIFO") != NULL);

  g_assert_cmpint (g_unlink (manifest), ==, 0);
  write_manifest (fixture, "");
  g_assert_cmpint (g_rename (manifest, real), ==, 0);
  g_assert_cmpint (symlink (real, manifest), ==, 0);
  g_assert_null (cloche_bundle_load (fixture->dir, &link_error));
  g_assert_error (link_error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
  g_assert_true (strstr (link_error->message, "symbolic link") != NULL);
}

static char *
read_fd (int fd)
{
  char buffer[64] = { 0 };
  ssize_t n = read (fd, buffer, sizeof buffer - 1);

  g_assert_cmpint (n, >=, 0);
  return g_strndup (buffer, n);
}

static ClocheBundle *
open_boot (Fixture  *fixture,
           gint64    now_ns,
           guint    *n_hashed,
           GError  **error)
{
  g_autoptr(ClocheBundle) bundle = cloche_bundle_load (fixture->dir, error);

  if (bundle == NULL
      || !_cloche_bundle_open_boot_files_at (bundle, fixture->stamps, now_ns, NULL, n_hashed,
                                             error))
    return NULL;
  return g_steal_pointer (&bundle);
}

/* Before each boot the files QEMU gets are checked against their sha256:
 * hashed when they changed since they last matched (or were never seen),
 * taken as they are when their stamp says they did not. A file swapped
 * after verify is refused by name. (Times are passed in: a stamp younger
 * than 2 s is not kept, and this test does not wait.) */
static void
test_boot_check (Fixture       *fixture,
                 gconstpointer  data)
{
  gint64 later = (g_get_real_time () + 60 * G_USEC_PER_SEC) * 1000;
  g_autoptr(ClocheBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *initrd = g_build_filename (fixture->dir, "initrd.img", NULL);
  g_autofree char *copy = g_build_filename (fixture->dir, "copy.img", NULL);
  g_autofree char *contents = NULL;
  guint n_hashed = 99;
  int fd;

  write_manifest (fixture, "");
  bundle = open_boot (fixture, later, &n_hashed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_hashed, ==, 2);
  fd = cloche_bundle_steal_boot_fd (bundle, CLOCHE_BUNDLE_INITRD);
  contents = read_fd (fd);
  close (fd);
  g_assert_cmpstr (contents, ==, "initrd");
  g_assert_cmpint (cloche_bundle_steal_boot_fd (bundle, CLOCHE_BUNDLE_ROOT), ==, -1);
  g_clear_object (&bundle);

  /* Unchanged: nothing hashed. */
  bundle = open_boot (fixture, later, &n_hashed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_hashed, ==, 0);
  g_clear_object (&bundle);

  /* Swapped after verify, same size: refused, naming the file. */
  write_file (fixture, "initrd.img", "evil!!");
  g_assert_null (open_boot (fixture, later, &n_hashed, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_CORRUPT);
  g_assert_true (strstr (error->message, "initrd.img is damaged: its sha256 is") != NULL);
  g_clear_error (&error);

  /* Put back by a rename: a new inode, hashed again, and fine. */
  g_assert_true (g_file_set_contents (copy, "initrd", -1, NULL));
  g_assert_cmpint (g_rename (copy, initrd), ==, 0);
  bundle = open_boot (fixture, later, &n_hashed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_hashed, ==, 1);
  g_clear_object (&bundle);

  /* A stamp younger than 2 s proves nothing: not kept. Both files were
   * written moments ago, so, at the real time, the next check hashes both. */
  write_file (fixture, "initrd.img", "initrd");
  bundle = open_boot (fixture, g_get_real_time () * 1000, &n_hashed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_hashed, ==, 1);
  g_clear_object (&bundle);
  bundle = open_boot (fixture, g_get_real_time () * 1000, &n_hashed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_hashed, ==, 2);
}

/* The stamps file is a hint read as untrusted: anything but a file of the
 * exact format counts as empty (the files are then hashed), a FIFO in its
 * place does not hang the check. */
static void
test_stamps_file (Fixture       *fixture,
                  gconstpointer  data)
{
  /* "%s" stands for a sha256. */
  const char *bad[] = {
    "", "\n", "cloche-bundle-stamps 2\n", "cloche-bundle-stamps 1",
    "cloche-bundle-stamps 1\nxyz 1 2 3 4 5\n",
    "cloche-bundle-stamps 1\n%s 1 2 3 4\n", "cloche-bundle-stamps 1\n%s 1 2 3 4 -5\n",
    "cloche-bundle-stamps 1\n%s 1 2 3 4 99999999999999999999\n",
    "cloche-bundle-stamps 1\n%s 1 2 3 4 5\nx\n", "cloche-bundle-stamps 1\n%s +1 2 3 4 5\n",
  };
  g_autofree char *sum = sha256_of ("x");
  g_autoptr(GArray) good = NULL;
  g_autofree char *formatted = NULL;
  g_autofree char *dir = g_path_get_dirname (fixture->stamps);
  g_autoptr(ClocheBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  guint n_hashed = 0;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GString) text = g_string_new (bad[i]);
      g_autoptr(GArray) stamps = NULL;

      g_string_replace (text, "%s", sum, 0);
      stamps = cloche_bundle_stamps_parse (text->str, text->len);
      g_assert_cmpuint (stamps->len, ==, 0);
    }
  formatted = g_strdup_printf ("cloche-bundle-stamps 1\n%s 1 2 3 4 5\n", sum);
  good = cloche_bundle_stamps_parse (formatted, strlen (formatted));
  g_assert_cmpuint (good->len, ==, 1);
  g_assert_cmpint (g_array_index (good, ClocheBundleStamp, 0).ctime_ns, ==, 5);
  g_free (formatted);
  formatted = cloche_bundle_stamps_format (good);
  g_assert_true (g_str_has_suffix (formatted, " 1 2 3 4 5\n"));

  write_manifest (fixture, "");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (mkfifo (fixture->stamps, 0600), ==, 0);
  bundle = open_boot (fixture, g_get_real_time () * 1000, &n_hashed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_hashed, ==, 2);
}

/* A root image of its own, made by qemu-img with @options; its entry for
 * the manifest. */
static char *
make_root_image (Fixture    *fixture,
                 const char *options)
{
  g_autofree char *path = g_build_filename (fixture->dir, "root.qcow2", NULL);
  g_autofree char *command = g_strdup_printf ("qemu-img create -q -f qcow2 %s '%s' 1M",
                                              options, path);
  g_autofree char *contents = NULL;
  g_autofree char *sum = NULL;
  gsize length = 0;
  int status = -1;

  g_unlink (path);
  g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, &status, NULL));
  g_assert_cmpint (status, ==, 0);
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, length);
  return g_strdup_printf (", {\"path\": \"root.qcow2\", \"size\": %" G_GSIZE_FORMAT ", "
                          "\"sha256\": \"%s\"}", length, sum);
}

/* A qcow2 root image can name other files, which QEMU opens wherever they
 * are: a backing file, an external data file. The guest would read them
 * as its disk (a bundle from the web naming ~/.ssh/id_rsa). Refused; a
 * self-contained image boots. */
static void
test_root_image_names_a_file (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autofree char *data_file = g_build_filename (fixture->dir, "data.raw", NULL);
  g_autofree char *data_option = g_strdup_printf ("-o data_file='%s'", data_file);
  const char *options[] = { "-b /etc/hostname -F raw", data_option };
  const char *members = "\"kind\": \"disk\", \"root\": \"root.qcow2\", \"kernel\": \"vmlinux\", "
                        "\"initrd\": \"initrd.img\",\n";

  for (guint i = 0; i < G_N_ELEMENTS (options); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *entry = make_root_image (fixture, options[i]);

      write_manifest_with (fixture, members, entry);
      g_assert_null (cloche_bundle_load (fixture->dir, &error));
      g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_BUNDLE_INVALID);
      g_assert_nonnull (strstr (error->message, i == 0 ? "names another file (a backing file)"
                                                       : "(an external data file)"));
    }
  {
    g_autoptr(ClocheBundle) bundle = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *entry = make_root_image (fixture, "");

    write_manifest_with (fixture, members, entry);
    bundle = cloche_bundle_load (fixture->dir, &error);
    g_assert_no_error (error);
  }
}

/* bundle.json, the manager's state, is read at every daemon start: nothing
 * in it may hang the start (a FIFO), crash it (deep nesting), log a
 * critical (a member of another type) or set a time out of range; the
 * defaults hold, and a refused file is said once. */
static void
test_state_file (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (g_get_user_state_dir (), "cloche", NULL);
  g_autofree char *path = g_build_filename (dir, "bundle.json", NULL);
  g_autofree char *brackets = g_strnfill (100000, '[');
  g_autofree char *deflt = cloche_bundle_default_path ();
  const struct { const char *text; const char *location; gboolean warns; } cases[] = {
    { "{\"location\": {}, \"last-verified\": \"x\", \"source\": []}", NULL, FALSE },
    { brackets, NULL, TRUE },
    { "{\"location\": \"/x/y\", \"last-verified\": 99999999999999999999}", NULL, TRUE },
    { "{\"location\": \"/x/y\", \"last-verified\": -5}", "/x/y", FALSE },
    { "{\"location\": \"/x/y\", \"last-verified\": 9000000000000}", "/x/y", FALSE },
    { "{\"location\": \"/x/y\", \"location\": \"/z\"}", NULL, TRUE },
  };

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(ClocheBundleManager) manager = NULL;

      g_assert_true (g_file_set_contents (path, cases[i].text, -1, NULL));
      if (cases[i].warns)
        g_test_expect_message ("Cloche", G_LOG_LEVEL_WARNING, "Ignoring the bundle state*");
      manager = cloche_bundle_manager_new (NULL);
      g_test_assert_expected_messages ();
      g_assert_cmpstr (cloche_bundle_manager_get_location (manager), ==,
                       cases[i].location != NULL ? cases[i].location : deflt);
      g_assert_cmpint (cloche_bundle_manager_get_last_verified (manager), ==, 0);
    }

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  g_test_expect_message ("Cloche", G_LOG_LEVEL_WARNING, "Ignoring the bundle state*FIFO*");
  {
    g_autoptr(ClocheBundleManager) manager = cloche_bundle_manager_new (NULL);

    g_test_assert_expected_messages ();
    g_assert_cmpstr (cloche_bundle_manager_get_location (manager), ==, deflt);
  }
  g_assert_cmpint (g_unlink (path), ==, 0);
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

  /* The files checked before the boot, as the descriptors QEMU inherits. */
  options.boot_fds = TRUE;
  g_clear_pointer (&argv, g_strfreev);
  argv = cloche_vm_command_build (bundle, &options);
  g_assert_true (argv_has_pair (argv, "-kernel", "/dev/fd/5"));
  g_assert_true (argv_has_pair (argv, "-initrd", "/dev/fd/6"));
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
  g_autofree char *home = g_dir_make_tmp ("cloche-bundle-home-XXXXXX", NULL);
  g_autofree char *state = g_build_filename (home, "state", NULL);
  g_autofree char *data = g_build_filename (home, "data", NULL);
  int status;

  /* The manager's state and default location in folders of this test's
   * own, set before GLib reads them. */
  g_setenv ("XDG_STATE_HOME", state, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/bundle/load", test_load);
  ADD ("/bundle/missing", test_missing);
  ADD ("/bundle/malformed", test_malformed);
  ADD ("/bundle/incomplete", test_incomplete);
  ADD ("/bundle/truncated-file", test_truncated_file);
  ADD ("/bundle/path-escape", test_path_escape);
  ADD ("/bundle/boot-file-outside", test_boot_file_outside);
  ADD ("/bundle/boot-file-link", test_boot_file_link);
  ADD ("/bundle/manifest-types", test_manifest_types);
  ADD ("/bundle/manifest-not-a-file", test_manifest_not_a_file);
  ADD ("/bundle/boot-check", test_boot_check);
  ADD ("/bundle/stamps-file", test_stamps_file);
  ADD ("/bundle/state-file", test_state_file);
  ADD ("/bundle/root-image-names-a-file", test_root_image_names_a_file);
  ADD ("/bundle/qemu-command", test_command);
  ADD ("/bundle/qemu-command-folders", test_command_folders);
#undef ADD

  status = g_test_run ();
  g_spawn_sync (NULL, (char *[]) { (char *) "rm", (char *) "-rf", home, NULL }, NULL,
                G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  return status;
}
