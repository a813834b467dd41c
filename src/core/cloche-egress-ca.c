/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The certificate authority the egress proxy signs with when it ends the
 * TLS of a host bound to a secret (cloche-egress-proxy-intercept.c), one
 * per installation, made with GnuTLS the first time it is needed:
 *
 *   $XDG_STATE_HOME/cloche/egress-ca/ca.key   the key, 0600, in a 0700 folder
 *   $XDG_STATE_HOME/cloche/egress-ca/ca.crt   its certificate, which every
 *                                             boot installs in the guest
 *
 * The state folder is one of Cloche's own (cloche-own-folders.c), so it is
 * never shared with a session: the guest gets the certificate and never
 * the key. The CA lives a year and is made again 30 days before its end,
 * or when its files are missing, damaged, do not match, or the key can be
 * read by anyone but the user (it may have been copied: a new one costs
 * nothing, the next boot installs it). Its certificate may sign only
 * server certificates (path length 0).
 *
 * A server certificate is made per host when first asked, signed by the
 * CA, for that name (or address) only, for a week, with one key per load
 * that lives only in memory; it is kept until a day before its end.
 *
 * Reading or making the CA touches the disk, so it runs in a worker
 * thread (load_async); signing is a few milliseconds of CPU and runs
 * where it is asked.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-egress-ca.h"
#include "cloche-error.h"
#include "cloche-file.h"

#define DAY_S             (24 * 60 * 60)
#define CA_LIFE_S         (365 * DAY_S)
#define CA_RENEW_S        (30 * DAY_S)
#define LEAF_LIFE_S       (7 * DAY_S)
#define LEAF_RENEW_S      DAY_S
#define BACKDATE_S        (60 * 60)  /* a guest clock a little behind still accepts it */
#define MAX_PEM           (64 * 1024)
#define MAX_CACHED_HOSTS  256

/* What the worker reads or makes, handed to the main thread whole. */
typedef struct
{
  gnutls_x509_crt_t      crt;
  gnutls_x509_privkey_t  key;
  gnutls_x509_privkey_t  leaf_key;
  char                  *crt_pem;
  char                  *leaf_key_pem;
  gboolean               made;       /* new, not read */
} Loaded;

typedef struct
{
  GTlsCertificate *certificate;
  gint64           expires;          /* seconds */
} Leaf;

struct _ClocheEgressCa
{
  GObject     parent_instance;
  char       *folder;
  Loaded     *loaded;                /* NULL until the first load ends */
  GPtrArray  *waiting;               /* of GTask, while a load runs */
  GHashTable *leaves;                /* host → Leaf */
};

G_DEFINE_FINAL_TYPE (ClocheEgressCa, cloche_egress_ca, G_TYPE_OBJECT)

static void
cloche_egress_ca_loaded_free (Loaded *loaded)
{
  if (loaded == NULL)
    return;
  if (loaded->crt != NULL)
    gnutls_x509_crt_deinit (loaded->crt);
  if (loaded->key != NULL)
    gnutls_x509_privkey_deinit (loaded->key);
  if (loaded->leaf_key != NULL)
    gnutls_x509_privkey_deinit (loaded->leaf_key);
  g_free (loaded->crt_pem);
  if (loaded->leaf_key_pem != NULL)
    explicit_bzero (loaded->leaf_key_pem, strlen (loaded->leaf_key_pem));
  g_free (loaded->leaf_key_pem);
  g_free (loaded);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Loaded, cloche_egress_ca_loaded_free)

static void
cloche_egress_ca_leaf_free (Leaf *leaf)
{
  g_clear_object (&leaf->certificate);
  g_free (leaf);
}

static void
cloche_egress_ca_finalize (GObject *object)
{
  ClocheEgressCa *self = CLOCHE_EGRESS_CA (object);

  g_free (self->folder);
  cloche_egress_ca_loaded_free (self->loaded);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);
  g_hash_table_unref (self->leaves);
  G_OBJECT_CLASS (cloche_egress_ca_parent_class)->finalize (object);
}

static void
cloche_egress_ca_class_init (ClocheEgressCaClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_egress_ca_finalize;
}

static void
cloche_egress_ca_init (ClocheEgressCa *self)
{
  self->leaves = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) cloche_egress_ca_leaf_free);
}

/**
 * cloche_egress_ca_default_folder:
 *
 * Returns: (transfer full): `$XDG_STATE_HOME/cloche/egress-ca`
 */
char *
cloche_egress_ca_default_folder (void)
{
  return g_build_filename (g_get_user_state_dir (), "cloche", "egress-ca", NULL);
}

/**
 * cloche_egress_ca_new:
 * @folder: (nullable): where the CA's files are; %NULL for the default
 *
 * Returns: (transfer full): the CA, read or made by the first load
 */
ClocheEgressCa *
cloche_egress_ca_new (const char *folder)
{
  ClocheEgressCa *self = g_object_new (CLOCHE_TYPE_EGRESS_CA, NULL);

  self->folder = folder != NULL ? g_strdup (folder) : cloche_egress_ca_default_folder ();
  return self;
}

const char *
cloche_egress_ca_get_folder (ClocheEgressCa *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_CA (self), NULL);
  return self->folder;
}

/* GnuTLS */

static gboolean
cloche_egress_ca_failed (int          status,
               const char  *what,
               GError     **error)
{
  if (status >= 0)
    return FALSE;
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EGRESS_CA,
               _("Cannot make the egress proxy's certificates (%s): %s"), what,
               gnutls_strerror (status));
  return TRUE;
}

static char *
cloche_egress_ca_export_pem (gnutls_datum_t *datum)
{
  char *pem = g_strndup ((const char *) datum->data, datum->size);

  gnutls_free (datum->data);
  return pem;
}

static gboolean
cloche_egress_ca_new_key (gnutls_x509_privkey_t  *key,
                          GError                **error)
{
  unsigned int bits = GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1);

  return !cloche_egress_ca_failed (gnutls_x509_privkey_init (key), "key", error)
         && !cloche_egress_ca_failed (gnutls_x509_privkey_generate (*key, GNUTLS_PK_ECDSA, bits, 0),
                                      "key", error);
}

/* The parts every certificate here has: version, a random serial, when
 * it is valid, its key and the key's id. */
static gboolean
cloche_egress_ca_set_common (gnutls_x509_crt_t       crt,
                             gnutls_x509_privkey_t   key,
                             gint64                  not_after,
                             GError                **error)
{
  guchar serial[16], id[64];
  size_t id_size = sizeof id;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (cloche_egress_ca_failed (gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial), "serial",
                               error))
    return FALSE;
  serial[0] &= 0x7f;  /* a positive number */
  return !cloche_egress_ca_failed (gnutls_x509_crt_set_version (crt, 3), "version", error)
         && !cloche_egress_ca_failed (gnutls_x509_crt_set_serial (crt, serial, sizeof serial),
                                      "serial", error)
         && !cloche_egress_ca_failed (gnutls_x509_crt_set_activation_time (crt, now - BACKDATE_S),
                                      "validity", error)
         && !cloche_egress_ca_failed (gnutls_x509_crt_set_expiration_time (crt, not_after),
                                      "validity", error)
         && !cloche_egress_ca_failed (gnutls_x509_crt_set_key (crt, key), "key", error)
         && !cloche_egress_ca_failed (gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA1,
                                                                      id, &id_size),
                                      "key id", error)
         && !cloche_egress_ca_failed (gnutls_x509_crt_set_subject_key_id (crt, id, id_size),
                                      "key id", error);
}

static gboolean
cloche_egress_ca_make_ca_certificate (Loaded  *loaded,
                                      GError **error)
{
  g_autofree char *name = g_strdup_printf ("Cloche egress proxy CA (%s)", g_get_host_name ());
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gnutls_datum_t datum = { NULL, 0 };

  if (cloche_egress_ca_failed (gnutls_x509_crt_init (&loaded->crt), "CA", error)
      || !cloche_egress_ca_set_common (loaded->crt, loaded->key, now + CA_LIFE_S, error)
      || cloche_egress_ca_failed (gnutls_x509_crt_set_dn_by_oid (loaded->crt,
                                                                 GNUTLS_OID_X520_COMMON_NAME,
                                                                 0, name, strlen (name)),
                                  "CA name", error)
      || cloche_egress_ca_failed (gnutls_x509_crt_set_dn_by_oid (loaded->crt,
                                                                 GNUTLS_OID_X520_ORGANIZATION_NAME,
                                                                 0, "Cloche", 6),
                                  "CA name", error)
      /* A CA that signs server certificates, and no other CA. */
      || cloche_egress_ca_failed (gnutls_x509_crt_set_basic_constraints (loaded->crt, 1, 0),
                                  "CA", error)
      || cloche_egress_ca_failed (gnutls_x509_crt_set_key_usage (loaded->crt,
                                                                 GNUTLS_KEY_KEY_CERT_SIGN
                                                                 | GNUTLS_KEY_CRL_SIGN),
                                  "CA usage", error)
      || cloche_egress_ca_failed (gnutls_x509_crt_sign2 (loaded->crt, loaded->crt, loaded->key,
                                                         GNUTLS_DIG_SHA256, 0),
                                  "CA signature", error)
      || cloche_egress_ca_failed (gnutls_x509_crt_export2 (loaded->crt, GNUTLS_X509_FMT_PEM,
                                                           &datum),
                                  "CA", error))
    return FALSE;
  loaded->crt_pem = cloche_egress_ca_export_pem (&datum);
  return TRUE;
}

/* Files */

/* Written whole (a temporary file of @mode renamed into place) in the
 * CA's private folder. */
static gboolean
cloche_egress_ca_write_private (const char  *path,
                                const char  *text,
                                int          mode,
                                GError     **error)
{
  g_autoptr(GError) local = NULL;

  if (g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, &local))
    return TRUE;
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EGRESS_CA,
               _("Cannot keep the egress proxy's CA: %s"), local->message);
  return FALSE;
}

static Loaded *
cloche_egress_ca_make_ca (const char  *folder,
                          GError     **error)
{
  g_autoptr(Loaded) loaded = g_new0 (Loaded, 1);
  g_autofree char *key_path = g_build_filename (folder, "ca.key", NULL);
  g_autofree char *crt_path = g_build_filename (folder, "ca.crt", NULL);
  gnutls_datum_t datum = { NULL, 0 };
  g_autofree char *key_pem = NULL;
  gboolean written;

  loaded->made = TRUE;
  if (!cloche_egress_ca_new_key (&loaded->key, error)
      || !cloche_egress_ca_make_ca_certificate (loaded, error)
      || cloche_egress_ca_failed (gnutls_x509_privkey_export2_pkcs8 (loaded->key,
                                                                     GNUTLS_X509_FMT_PEM, NULL,
                                                                     GNUTLS_PKCS_PLAIN, &datum),
                                  "CA key", error))
    return NULL;
  key_pem = cloche_egress_ca_export_pem (&datum);
  /* The certificate last: a key without it is made again next time. */
  written = cloche_egress_ca_write_private (key_path, key_pem, 0600, error)
            && cloche_egress_ca_write_private (crt_path, loaded->crt_pem, 0644, error);
  explicit_bzero (key_pem, strlen (key_pem));
  return written ? g_steal_pointer (&loaded) : NULL;
}

/* The key file, if only its owner (this user) can read it. */
static GBytes *
cloche_egress_ca_read_key (const char *path)
{
  g_autoptr(GError) error = NULL;
  int fd = cloche_file_open_regular (AT_FDCWD, path, CLOCHE_FILE_NO_FOLLOW, &error);
  GStatBuf st;
  GBytes *bytes;

  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) != 0 || st.st_uid != geteuid () || (st.st_mode & 077) != 0)
    {
      g_message ("Egress CA: %s can be read by others than its owner; making a new CA", path);
      close (fd);
      return NULL;
    }
  bytes = cloche_file_read_fd (fd, path, MAX_PEM, "key", NULL);
  close (fd);
  return bytes;
}

static gboolean
cloche_egress_ca_import_pem (GBytes            *key_bytes,
                             GBytes            *crt_bytes,
                             Loaded            *loaded)
{
  gnutls_datum_t key = { (guchar *) g_bytes_get_data (key_bytes, NULL),
                         g_bytes_get_size (key_bytes) };
  gnutls_datum_t crt = { (guchar *) g_bytes_get_data (crt_bytes, NULL),
                         g_bytes_get_size (crt_bytes) };

  return gnutls_x509_privkey_init (&loaded->key) >= 0
         && gnutls_x509_privkey_import2 (loaded->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0) >= 0
         && gnutls_x509_crt_init (&loaded->crt) >= 0
         && gnutls_x509_crt_import (loaded->crt, &crt, GNUTLS_X509_FMT_PEM) >= 0;
}

/* A CA of ours still good for a while, whose key is the certificate's. */
static gboolean
cloche_egress_ca_is_usable (Loaded *loaded)
{
  guchar crt_id[64], key_id[64];
  size_t crt_size = sizeof crt_id, key_size = sizeof key_id;
  unsigned int critical = 0, is_ca = 0;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (gnutls_x509_crt_get_basic_constraints (loaded->crt, &critical, &is_ca, NULL) < 0
      || !is_ca || gnutls_x509_crt_get_expiration_time (loaded->crt) < now + CA_RENEW_S
      || gnutls_x509_crt_get_activation_time (loaded->crt) > now + BACKDATE_S
      || gnutls_x509_crt_get_key_id (loaded->crt, GNUTLS_KEYID_USE_SHA256, crt_id,
                                     &crt_size) < 0
      || gnutls_x509_privkey_get_key_id (loaded->key, GNUTLS_KEYID_USE_SHA256, key_id,
                                         &key_size) < 0)
    return FALSE;
  return crt_size == key_size && memcmp (crt_id, key_id, key_size) == 0;
}

/* The CA on disk, if it is whole and usable; NULL (say why in the log)
 * for a new one. */
static Loaded *
cloche_egress_ca_read_ca (const char *folder)
{
  g_autofree char *key_path = g_build_filename (folder, "ca.key", NULL);
  g_autofree char *crt_path = g_build_filename (folder, "ca.crt", NULL);
  g_autoptr(GBytes) key = cloche_egress_ca_read_key (key_path);
  g_autoptr(GBytes) crt = NULL;
  g_autoptr(Loaded) loaded = g_new0 (Loaded, 1);

  if (key == NULL)
    return NULL;
  crt = cloche_file_read (AT_FDCWD, crt_path, MAX_PEM, "certificate", CLOCHE_FILE_NO_FOLLOW, NULL);
  if (crt == NULL)
    return NULL;
  if (!cloche_egress_ca_import_pem (key, crt, loaded) || !cloche_egress_ca_is_usable (loaded))
    {
      g_message ("Egress CA: the one in %s is damaged, does not match or ends soon; making "
                 "a new one", folder);
      return NULL;
    }
  loaded->crt_pem = g_strndup (g_bytes_get_data (crt, NULL), g_bytes_get_size (crt));
  return g_steal_pointer (&loaded);
}

static gboolean
cloche_egress_ca_make_leaf_key (Loaded  *loaded,
                                GError **error)
{
  gnutls_datum_t datum = { NULL, 0 };

  if (!cloche_egress_ca_new_key (&loaded->leaf_key, error)
      || cloche_egress_ca_failed (gnutls_x509_privkey_export2_pkcs8 (loaded->leaf_key,
                                                                     GNUTLS_X509_FMT_PEM, NULL,
                                                                     GNUTLS_PKCS_PLAIN, &datum),
                                  "server key", error))
    return FALSE;
  loaded->leaf_key_pem = cloche_egress_ca_export_pem (&datum);
  return TRUE;
}

static void
cloche_egress_ca_load_in_thread (GTask        *task,
                                 gpointer      source,
                                 gpointer      data,
                                 GCancellable *cancellable)
{
  const char *folder = data;
  g_autoptr(Loaded) loaded = NULL;
  GError *error = NULL;

  if (!cloche_file_make_private_dir (folder, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  loaded = cloche_egress_ca_read_ca (folder);
  if (loaded == NULL && (loaded = cloche_egress_ca_make_ca (folder, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (!cloche_egress_ca_make_leaf_key (loaded, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&loaded),
                         (GDestroyNotify) cloche_egress_ca_loaded_free);
}

static void
cloche_egress_ca_loaded_cb (GObject      *object,
                            GAsyncResult *result,
                            gpointer      user_data)
{
  ClocheEgressCa *self = CLOCHE_EGRESS_CA (object);
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->waiting);
  g_autoptr(GError) error = NULL;
  Loaded *loaded = g_task_propagate_pointer (G_TASK (result), &error);

  if (loaded != NULL)
    {
      if (loaded->made)
        g_message ("Egress CA: made a new one in %s", self->folder);
      cloche_egress_ca_loaded_free (self->loaded);
      self->loaded = loaded;
      g_hash_table_remove_all (self->leaves);
    }
  for (guint i = 0; i < waiting->len; i++)
    if (error != NULL)
      g_task_return_error (waiting->pdata[i], g_error_copy (error));
    else
      g_task_return_boolean (waiting->pdata[i], TRUE);
}

static gboolean
cloche_egress_ca_expires_soon (Loaded *loaded)
{
  return gnutls_x509_crt_get_expiration_time (loaded->crt)
         < g_get_real_time () / G_USEC_PER_SEC + CA_RENEW_S;
}

/**
 * cloche_egress_ca_load_async:
 *
 * Reads the CA, or makes it (in a worker thread); at once when it is
 * read already and not near its end. Loads asked while one runs share it.
 */
void
cloche_egress_ca_load_async (ClocheEgressCa      *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GTask) worker = NULL;

  g_task_set_source_tag (task, cloche_egress_ca_load_async);
  if (self->loaded != NULL && !cloche_egress_ca_expires_soon (self->loaded))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (self->waiting != NULL)
    {
      g_ptr_array_add (self->waiting, g_steal_pointer (&task));
      return;
    }
  self->waiting = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (self->waiting, g_steal_pointer (&task));
  worker = g_task_new (self, NULL, cloche_egress_ca_loaded_cb, NULL);
  g_task_set_task_data (worker, g_strdup (self->folder), g_free);
  g_task_run_in_thread (worker, cloche_egress_ca_load_in_thread);
}

gboolean
cloche_egress_ca_load_finish (ClocheEgressCa  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Whether a load has ended well: the certificate and server certificates
 * can be had at once. */
gboolean
cloche_egress_ca_is_ready (ClocheEgressCa *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_CA (self), FALSE);
  return self->loaded != NULL;
}

/**
 * cloche_egress_ca_get_certificate_pem:
 *
 * Returns: (transfer none) (nullable): the CA's certificate, what the
 *   guest trusts; %NULL before a load ended well
 */
const char *
cloche_egress_ca_get_certificate_pem (ClocheEgressCa *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_CA (self), NULL);
  return self->loaded != NULL ? self->loaded->crt_pem : NULL;
}

/* Server certificates */

static gboolean
cloche_egress_ca_set_subject (gnutls_x509_crt_t   crt,
                              const char         *host,
                              GError            **error)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);

  if (cloche_egress_ca_failed (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME,
                                                              0, host, strlen (host)),
                               "name", error))
    return FALSE;
  if (address != NULL)
    return !cloche_egress_ca_failed (gnutls_x509_crt_set_subject_alt_name (
                                       crt, GNUTLS_SAN_IPADDRESS,
                                       g_inet_address_to_bytes (address),
                                       g_inet_address_get_native_size (address),
                                       GNUTLS_FSAN_SET),
                                     "address", error);
  return !cloche_egress_ca_failed (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME,
                                                                         host, strlen (host),
                                                                         GNUTLS_FSAN_SET),
                                   "name", error);
}

static char *
cloche_egress_ca_sign_leaf (Loaded      *loaded,
                            const char  *host,
                            gint64       not_after,
                            GError     **error)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t datum = { NULL, 0 };
  guchar ca_id[64];
  size_t ca_id_size = sizeof ca_id;
  gboolean ok;

  ok = !cloche_egress_ca_failed (gnutls_x509_crt_init (&crt), "server certificate", error)
       && cloche_egress_ca_set_common (crt, loaded->leaf_key, not_after, error)
       && cloche_egress_ca_set_subject (crt, host, error)
       && !cloche_egress_ca_failed (gnutls_x509_crt_set_basic_constraints (crt, 0, -1),
                                    "usage", error)
       && !cloche_egress_ca_failed (gnutls_x509_crt_set_key_usage (crt,
                                                                   GNUTLS_KEY_DIGITAL_SIGNATURE),
                                    "usage", error)
       && !cloche_egress_ca_failed (gnutls_x509_crt_set_key_purpose_oid (crt,
                                                                         GNUTLS_KP_TLS_WWW_SERVER,
                                                                         0),
                                    "usage", error)
       && !cloche_egress_ca_failed (gnutls_x509_crt_get_subject_key_id (loaded->crt, ca_id,
                                                                        &ca_id_size, NULL),
                                    "CA key id", error)
       && !cloche_egress_ca_failed (gnutls_x509_crt_set_authority_key_id (crt, ca_id, ca_id_size),
                                    "CA key id", error)
       && !cloche_egress_ca_failed (gnutls_x509_crt_sign2 (crt, loaded->crt, loaded->key,
                                                           GNUTLS_DIG_SHA256, 0),
                                    "signature", error)
       && !cloche_egress_ca_failed (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &datum),
                                    "server certificate", error);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  return ok ? cloche_egress_ca_export_pem (&datum) : NULL;
}

static GTlsCertificate *
cloche_egress_ca_make_leaf (Loaded      *loaded,
                            const char  *host,
                            gint64       not_after,
                            GError     **error)
{
  g_autofree char *leaf_pem = cloche_egress_ca_sign_leaf (loaded, host, not_after, error);
  g_autofree char *pem = NULL;
  GTlsCertificate *certificate;

  if (leaf_pem == NULL)
    return NULL;
  /* The chain (the server's, then the CA's) and the key, as GIO reads them. */
  pem = g_strconcat (leaf_pem, loaded->crt_pem, loaded->leaf_key_pem, NULL);
  certificate = g_tls_certificate_new_from_pem (pem, -1, error);
  explicit_bzero (pem, strlen (pem));
  if (certificate == NULL)
    g_prefix_error (error, _("Cannot use the egress proxy's certificate for %s: "), host);
  return certificate;
}

/**
 * cloche_egress_ca_dup_server_certificate:
 * @host: a host as the proxy decided it (cloche_http_canonical_host())
 *
 * A certificate for @host signed by the CA, with its key: what the proxy
 * shows the guest when it ends the TLS of a host bound to a secret.
 *
 * Returns: (transfer full) (nullable): the certificate, or %NULL with
 *   %CLOCHE_ERROR_EGRESS_CA (or before a load ended well)
 */
GTlsCertificate *
cloche_egress_ca_dup_server_certificate (ClocheEgressCa  *self,
                                         const char      *host,
                                         GError         **error)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 not_after;
  Leaf *leaf;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_CA (self), NULL);

  if (self->loaded == NULL)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_EGRESS_CA,
                   _("The egress proxy's CA is not ready"));
      return NULL;
    }
  leaf = g_hash_table_lookup (self->leaves, host);
  if (leaf != NULL && leaf->expires > now + LEAF_RENEW_S)
    return g_object_ref (leaf->certificate);
  not_after = MIN (now + LEAF_LIFE_S, (gint64) gnutls_x509_crt_get_expiration_time (self->loaded->crt));
  leaf = g_new0 (Leaf, 1);
  leaf->expires = not_after;
  if ((leaf->certificate = cloche_egress_ca_make_leaf (self->loaded, host, not_after,
                                                       error)) == NULL)
    {
      cloche_egress_ca_leaf_free (leaf);
      return NULL;
    }
  if (g_hash_table_size (self->leaves) >= MAX_CACHED_HOSTS)
    g_hash_table_remove_all (self->leaves);
  g_hash_table_replace (self->leaves, g_strdup (host), leaf);
  return g_object_ref (leaf->certificate);
}
