/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cloche-egress-ca.h"
#include "cloche-error.h"

typedef struct
{
  char *dir;
  char *folder;
} Fixture;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("cloche-egress-ca-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->folder = g_build_filename (fixture->dir, "state", "egress-ca", NULL);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autofree char *command = g_strdup_printf ("rm -rf '%s'", fixture->dir);

  g_assert_cmpint (system (command), ==, 0);
  g_free (fixture->dir);
  g_free (fixture->folder);
}

static void
on_loaded (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  GError **error = user_data;

  if (cloche_egress_ca_load_finish (CLOCHE_EGRESS_CA (object), result, error))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "done");
}

static ClocheEgressCa *
load (const char *folder)
{
  ClocheEgressCa *ca = cloche_egress_ca_new (folder);
  GError *error = NULL;

  cloche_egress_ca_load_async (ca, NULL, on_loaded, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_error_free (error);
  g_assert_true (cloche_egress_ca_is_ready (ca));
  return ca;
}

static char *
file_in (Fixture    *fixture,
         const char *name)
{
  return g_build_filename (fixture->folder, name, NULL);
}

static guint
mode_of (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_lstat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

/* What a client in the guest does: the chain against the CA alone. */
static GTlsCertificateFlags
verify (ClocheEgressCa *ca,
        const char     *host,
        const char     *identity_host)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) leaf = cloche_egress_ca_dup_server_certificate (ca, host, &error);
  g_autofree char *ca_path = g_build_filename (g_get_tmp_dir (), "cloche-test-ca-XXXXXX", NULL);
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GSocketConnectable) identity = g_network_address_new (identity_host, 443);
  GTlsCertificateFlags flags;
  int fd;

  g_assert_no_error (error);
  g_assert_nonnull (leaf);
  fd = g_mkstemp (ca_path);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_file_set_contents (ca_path, cloche_egress_ca_get_certificate_pem (ca), -1, &error);
  g_assert_no_error (error);
  database = g_tls_file_database_new (ca_path, &error);
  g_assert_no_error (error);
  flags = g_tls_database_verify_chain (database, leaf, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                       identity, NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
  g_assert_no_error (error);
  g_unlink (ca_path);
  return flags;
}

static void
test_made_and_kept (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(ClocheEgressCa) ca = load (fixture->folder);
  g_autoptr(ClocheEgressCa) again = NULL;
  g_autofree char *key = file_in (fixture, "ca.key");
  g_autofree char *crt = file_in (fixture, "ca.crt");
  g_autofree char *text = NULL;

  /* The key only the user can read, in a folder only the user enters. */
  g_assert_cmphex (mode_of (fixture->folder), ==, 0700);
  g_assert_cmphex (mode_of (key), ==, 0600);
  g_assert_true (g_file_get_contents (crt, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, cloche_egress_ca_get_certificate_pem (ca));
  g_assert_true (g_str_has_prefix (text, "-----BEGIN CERTIFICATE-----"));
  g_assert_null (strstr (cloche_egress_ca_get_certificate_pem (ca), "PRIVATE KEY"));

  /* A second daemon reads the same CA: the guest's trust stays valid. */
  again = load (fixture->folder);
  g_assert_cmpstr (cloche_egress_ca_get_certificate_pem (again), ==,
                   cloche_egress_ca_get_certificate_pem (ca));
}

static void
test_server_certificates (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(ClocheEgressCa) ca = load (fixture->folder);
  g_autoptr(GTlsCertificate) first = NULL;
  g_autoptr(GTlsCertificate) second = NULL;

  g_assert_cmphex (verify (ca, "api.example.com", "api.example.com"), ==, 0);
  g_assert_cmphex (verify (ca, "127.0.0.1", "127.0.0.1"), ==, 0);
  g_assert_cmphex (verify (ca, "::1", "::1"), ==, 0);
  /* For its host only. */
  g_assert_cmphex (verify (ca, "api.example.com", "other.example.com"), ==,
                   G_TLS_CERTIFICATE_BAD_IDENTITY);
  /* Kept per host. */
  first = cloche_egress_ca_dup_server_certificate (ca, "api.example.com", NULL);
  second = cloche_egress_ca_dup_server_certificate (ca, "api.example.com", NULL);
  g_assert_true (first == second);
}

/* A key others could read may have been copied: a new CA. So is a damaged
 * certificate, and a link in place of a file (never followed). */
static void
test_made_again (Fixture       *fixture,
                 gconstpointer  data)
{
  g_autoptr(ClocheEgressCa) ca = load (fixture->folder);
  g_autofree char *key = file_in (fixture, "ca.key");
  g_autofree char *crt = file_in (fixture, "ca.crt");
  g_autofree char *first = g_strdup (cloche_egress_ca_get_certificate_pem (ca));
  g_autofree char *second = NULL;
  g_autofree char *elsewhere = g_build_filename (fixture->dir, "key", NULL);

  g_assert_cmpint (g_chmod (key, 0644), ==, 0);
  g_clear_object (&ca);
  ca = load (fixture->folder);
  g_assert_cmpstr (cloche_egress_ca_get_certificate_pem (ca), !=, first);
  g_assert_cmphex (mode_of (key), ==, 0600);
  second = g_strdup (cloche_egress_ca_get_certificate_pem (ca));

  g_assert_true (g_file_set_contents (crt, "-----BEGIN CERTIFICATE-----\nAAAA\n", -1, NULL));
  g_clear_object (&ca);
  ca = load (fixture->folder);
  g_assert_cmpstr (cloche_egress_ca_get_certificate_pem (ca), !=, second);
  g_clear_pointer (&second, g_free);
  second = g_strdup (cloche_egress_ca_get_certificate_pem (ca));

  g_assert_cmpint (g_rename (key, elsewhere), ==, 0);
  g_assert_cmpint (symlink (elsewhere, key), ==, 0);
  g_clear_object (&ca);
  ca = load (fixture->folder);
  g_assert_cmpstr (cloche_egress_ca_get_certificate_pem (ca), !=, second);
  g_assert_false (g_file_test (key, G_FILE_TEST_IS_SYMLINK));
}

static void
test_not_ready (void)
{
  g_autoptr(ClocheEgressCa) ca = cloche_egress_ca_new ("/nonexistent/cloche-ca");
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) leaf = cloche_egress_ca_dup_server_certificate (ca, "a.example",
                                                                            &error);

  g_assert_null (leaf);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EGRESS_CA);
  g_assert_null (cloche_egress_ca_get_certificate_pem (ca));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    {
      g_test_skip ("No TLS backend: install glib-networking (tools/dev/setup does)");
      return g_test_run ();
    }
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/egress-ca/made-and-kept", test_made_and_kept);
  ADD ("/egress-ca/server-certificates", test_server_certificates);
  ADD ("/egress-ca/made-again", test_made_again);
#undef ADD
  g_test_add_func ("/egress-ca/not-ready", test_not_ready);
  return g_test_run ();
}
