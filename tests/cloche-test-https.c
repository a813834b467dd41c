/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HTTPS for the secrets tests: a certificate authority of the test's own
 * (GnuTLS, in memory; its certificate written to a file the daemon is told
 * to trust through CLOCHE_TEST_UPSTREAM_CA), and a real HTTPS server on
 * 127.0.0.1 that records what reaches it, so a test can say what a server
 * behind the proxy saw (the real key, or nothing at all).
 *
 * The server accepts on a thread and main context of its own, a thread per
 * connection with blocking TLS, HTTP/1.1 keep-alive.
 */
#include "config.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "cloche-test-https.h"

struct _ClocheTestCa
{
  gnutls_x509_crt_t     crt;
  gnutls_x509_privkey_t key;
  char                 *pem;
};

#define CHECK(call) g_assert_cmpint ((call), >=, 0)

static gnutls_x509_privkey_t
new_key (void)
{
  gnutls_x509_privkey_t key;

  CHECK (gnutls_x509_privkey_init (&key));
  CHECK (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                       GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0));
  return key;
}

static gnutls_x509_crt_t
new_certificate (gnutls_x509_privkey_t  key,
                 const char            *name)
{
  gnutls_x509_crt_t crt;
  guchar serial[8];
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  CHECK (gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial));
  serial[0] &= 0x7f;
  CHECK (gnutls_x509_crt_init (&crt));
  CHECK (gnutls_x509_crt_set_version (crt, 3));
  CHECK (gnutls_x509_crt_set_serial (crt, serial, sizeof serial));
  CHECK (gnutls_x509_crt_set_activation_time (crt, now - 3600));
  CHECK (gnutls_x509_crt_set_expiration_time (crt, now + 24 * 3600));
  CHECK (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, name,
                                        strlen (name)));
  CHECK (gnutls_x509_crt_set_key (crt, key));
  return crt;
}

static char *
export_pem (gnutls_datum_t *datum)
{
  char *pem = g_strndup ((const char *) datum->data, datum->size);

  gnutls_free (datum->data);
  return pem;
}

ClocheTestCa *
cloche_test_ca_new (const char *name)
{
  ClocheTestCa *self = g_new0 (ClocheTestCa, 1);
  gnutls_datum_t datum = { NULL, 0 };

  self->key = new_key ();
  self->crt = new_certificate (self->key, name);
  CHECK (gnutls_x509_crt_set_basic_constraints (self->crt, 1, -1));
  CHECK (gnutls_x509_crt_set_key_usage (self->crt, GNUTLS_KEY_KEY_CERT_SIGN));
  CHECK (gnutls_x509_crt_sign2 (self->crt, self->crt, self->key, GNUTLS_DIG_SHA256, 0));
  CHECK (gnutls_x509_crt_export2 (self->crt, GNUTLS_X509_FMT_PEM, &datum));
  self->pem = export_pem (&datum);
  return self;
}

/* Its certificate as DIR/ca-NAME.pem; returns the path. */
char *
cloche_test_ca_write (ClocheTestCa *self,
                      const char   *dir)
{
  g_autofree char *name = g_strdup_printf ("ca-%p.pem", (void *) self);
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, self->pem, -1, &error);
  g_assert_no_error (error);
  return path;
}

/**
 * cloche_test_ca_issue:
 * @name: (nullable): a DNS name the certificate is for
 * @address: (nullable): an IP address it is for
 *
 * Returns: (transfer full): a server certificate with its key
 */
GTlsCertificate *
cloche_test_ca_issue (ClocheTestCa *self,
                      const char   *name,
                      const char   *address)
{
  gnutls_x509_privkey_t key = new_key ();
  gnutls_x509_crt_t crt = new_certificate (key, name != NULL ? name : address);
  gnutls_datum_t datum = { NULL, 0 };
  g_autofree char *crt_pem = NULL, *key_pem = NULL, *pem = NULL;
  g_autoptr(GError) error = NULL;
  GTlsCertificate *certificate;

  if (name != NULL)
    CHECK (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, name, strlen (name),
                                                 GNUTLS_FSAN_APPEND));
  if (address != NULL)
    {
      g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

      CHECK (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS,
                                                   g_inet_address_to_bytes (inet),
                                                   g_inet_address_get_native_size (inet),
                                                   GNUTLS_FSAN_APPEND));
    }
  CHECK (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
  CHECK (gnutls_x509_crt_sign2 (crt, self->crt, self->key, GNUTLS_DIG_SHA256, 0));
  CHECK (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &datum));
  crt_pem = export_pem (&datum);
  CHECK (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN,
                                            &datum));
  key_pem = export_pem (&datum);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_privkey_deinit (key);
  pem = g_strconcat (crt_pem, key_pem, NULL);
  certificate = g_tls_certificate_new_from_pem (pem, -1, &error);
  g_assert_no_error (error);
  return certificate;
}

void
cloche_test_ca_free (ClocheTestCa *self)
{
  gnutls_x509_crt_deinit (self->crt);
  gnutls_x509_privkey_deinit (self->key);
  g_free (self->pem);
  g_free (self);
}

/* The server */

typedef struct
{
  GMutex           lock;
  GString         *record;       /* every request read: head, then body */
  guint            count;
  GTlsCertificate *certificate;
} Shared;

struct _ClocheTestHttps
{
  Shared       *shared;
  GMainContext *context;
  GThread      *thread;
  gint          port;
  gint          stopping;
};

static void
shared_clear (Shared *shared)
{
  g_mutex_clear (&shared->lock);
  g_string_free (shared->record, TRUE);
  g_object_unref (shared->certificate);
}

/* The server's and each running connection's reference; the last clears. */
static void
shared_release (gpointer data)
{
  g_atomic_rc_box_release_full (data, (GDestroyNotify) shared_clear);
}

static gboolean
read_head (GInputStream *in,
           GString      *head)
{
  char c;

  while (!g_str_has_suffix (head->str, "\r\n\r\n"))
    {
      if (g_input_stream_read (in, &c, 1, NULL, NULL) != 1)
        return FALSE;
      g_string_append_c (head, c);
    }
  return TRUE;
}

static char *
read_body (GInputStream *in,
           const char   *head)
{
  g_autofree char *lower = g_ascii_strdown (head, -1);
  const char *length = strstr (lower, "\r\ncontent-length:");
  gsize n = length != NULL ? g_ascii_strtoull (length + 17, NULL, 10) : 0;
  char *body = g_malloc0 (n + 1);
  gsize got = 0;

  if (n > 0)
    g_input_stream_read_all (in, body, n, &got, NULL, NULL);
  return body;
}

/* One request: recorded, answered; FALSE at the end of the connection. */
static gboolean
serve_one (Shared    *shared,
           GIOStream *stream)
{
  g_autoptr(GString) head = g_string_new (NULL);
  g_autofree char *body = NULL;
  g_autofree char *reply = NULL;

  if (!read_head (g_io_stream_get_input_stream (stream), head))
    return FALSE;
  body = read_body (g_io_stream_get_input_stream (stream), head->str);
  g_mutex_lock (&shared->lock);
  g_string_append_printf (shared->record, "%s%s\n", head->str, body);
  shared->count++;
  g_mutex_unlock (&shared->lock);
  reply = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           "Content-Length: %zu\r\n\r\n%s", strlen (CLOCHE_TEST_HTTPS_BODY),
                           CLOCHE_TEST_HTTPS_BODY);
  return g_output_stream_write_all (g_io_stream_get_output_stream (stream), reply, strlen (reply),
                                    NULL, NULL, NULL)
         && strstr (head->str, "Connection: close") == NULL;
}

static gboolean
on_connection (GThreadedSocketService *service,
               GSocketConnection      *connection,
               GObject                *source,
               gpointer                user_data)
{
  Shared *shared = user_data;
  g_autoptr(GIOStream) tls = g_tls_server_connection_new (G_IO_STREAM (connection),
                                                          shared->certificate, NULL);

  if (tls == NULL || !g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, NULL))
    return TRUE;
  while (serve_one (shared, tls))
    ;
  return TRUE;
}

static gpointer
server_thread (gpointer data)
{
  ClocheTestHttps *self = data;
  g_autoptr(GSocketService) service = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (self->context);
  service = g_threaded_socket_service_new (16);
  g_signal_connect_data (service, "run", G_CALLBACK (on_connection),
                         g_atomic_rc_box_acquire (self->shared),
                         (GClosureNotify) (void (*) (void)) shared_release, 0);
  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  g_atomic_int_set (&self->port,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));
  g_socket_service_start (service);
  while (!g_atomic_int_get (&self->stopping))
    g_main_context_iteration (self->context, TRUE);
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_main_context_pop_thread_default (self->context);
  return NULL;
}

/**
 * cloche_test_https_start:
 * @certificate: the server's, with its key
 *
 * Returns once the server listens.
 */
ClocheTestHttps *
cloche_test_https_start (GTlsCertificate *certificate)
{
  ClocheTestHttps *self = g_new0 (ClocheTestHttps, 1);

  self->shared = g_atomic_rc_box_new0 (Shared);
  g_mutex_init (&self->shared->lock);
  self->shared->record = g_string_new (NULL);
  self->shared->certificate = g_object_ref (certificate);
  self->context = g_main_context_new ();
  self->thread = g_thread_new ("https-server", server_thread, self);
  while (g_atomic_int_get (&self->port) == 0)
    g_usleep (1000);
  return self;
}

guint16
cloche_test_https_get_port (ClocheTestHttps *self)
{
  return (guint16) g_atomic_int_get (&self->port);
}

/* Everything that reached the server so far, each request's head and body. */
char *
cloche_test_https_dup_record (ClocheTestHttps *self)
{
  char *record;

  g_mutex_lock (&self->shared->lock);
  record = g_strdup (self->shared->record->str);
  g_mutex_unlock (&self->shared->lock);
  return record;
}

guint
cloche_test_https_get_count (ClocheTestHttps *self)
{
  guint count;

  g_mutex_lock (&self->shared->lock);
  count = self->shared->count;
  g_mutex_unlock (&self->shared->lock);
  return count;
}

void
cloche_test_https_stop (ClocheTestHttps *self)
{
  g_atomic_int_set (&self->stopping, TRUE);
  g_main_context_wakeup (self->context);
  g_thread_join (self->thread);
  g_main_context_unref (self->context);
  shared_release (self->shared);
  g_free (self);
}
