/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The TLS the egress proxy ends for a host bound to a secret, and only for
 * such a host (cloche_secrets_is_bound()): every other CONNECT stays a
 * tunnel whose bytes the proxy never reads.
 *
 *   guest ══TLS══ proxy ══TLS══ server
 *          (a certificate      (verified against the host's trust
 *           for the host,       store, for the host's name; a failure
 *           signed by the       is the decision "upstream-certificate"
 *           installation's CA)  or "upstream-tls", never a silent pass)
 *
 * The server side first: the proxy answers the CONNECT only once it has a
 * verified connection to the server, so a server it cannot trust is a
 * refusal of the CONNECT (502, with the reason), which any client shows.
 * Then "200", and the guest's handshake with the certificate the CA signs
 * for the host. Both sides speak HTTP/1.1 only (ALPN), which is what the
 * proxy reads: requests then go through the connection's HEAD, DECIDE and
 * EXCHANGE on the TLS streams (cloche-egress-proxy-connection.c), each
 * decided on its own, with its method and path.
 *
 * These are the handshakes as two async calls; the connection keeps the
 * streams and the phases.
 */
#include "config.h"

#include "cloche-egress-proxy-private.h"

static const char * const http11[] = { "http/1.1", NULL };

/* A certificate's errors as a sentence for the decision and the answer. */
static char *
cloche_egress_tls_describe_certificate_errors (GTlsCertificateFlags flags)
{
  static const struct { GTlsCertificateFlags flag; const char *text; } known[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA, "is not signed by an authority this host trusts" },
    { G_TLS_CERTIFICATE_BAD_IDENTITY, "is for another name" },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, "is not valid yet" },
    { G_TLS_CERTIFICATE_EXPIRED, "has expired" },
    { G_TLS_CERTIFICATE_REVOKED, "was revoked" },
    { G_TLS_CERTIFICATE_INSECURE, "uses an insecure algorithm" },
  };
  const char *parts[G_N_ELEMENTS (known) + 1];
  g_autoptr(GString) text = g_string_new ("its certificate ");
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    if (flags & known[i].flag)
      parts[n++] = known[i].text;
  if (n == 0)
    parts[n++] = "could not be verified";
  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%s%s", i == 0 ? "" : i + 1 == n ? " and " : ", ", parts[i]);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* The server's side */

static void
cloche_egress_tls_upstream_handshake_cb (GObject      *object,
                                         GAsyncResult *result,
                                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GTlsConnection *tls = G_TLS_CONNECTION (object);
  g_autoptr(GError) error = NULL;
  g_autofree char *why = NULL;
  GTlsCertificateFlags flags;

  if (g_tls_connection_handshake_finish (tls, result, &error))
    {
      g_task_return_pointer (task, g_object_ref (tls), g_object_unref);
      return;
    }
  flags = g_tls_connection_get_peer_certificate_errors (tls);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, g_steal_pointer (&error));
  else if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE) || flags != 0)
    {
      why = cloche_egress_tls_describe_certificate_errors (flags);
      g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, "%s", why);
    }
  else
    g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_HANDSHAKE,
                             "the TLS handshake with it failed: %s", error->message);
}

/**
 * _cloche_egress_tls_upstream_async:
 * @server: the TCP connection to the server
 * @host: the host the CONNECT named (canonical), which the certificate
 *   must name
 *
 * TLS to the server, verified against @database for @host; HTTP/1.1.
 */
void
_cloche_egress_tls_upstream_async (GSocketConnection   *server,
                                   const char          *host,
                                   guint16              port,
                                   GTlsDatabase        *database,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GSocketConnectable) identity = g_network_address_new (host, port);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) tls = g_tls_client_connection_new (G_IO_STREAM (server), identity, &error);

  g_task_set_source_tag (task, _cloche_egress_tls_upstream_async);
  if (tls == NULL)
    {
      g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_UNAVAILABLE,
                               "the proxy cannot speak TLS: %s", error->message);
      g_object_unref (task);
      return;
    }
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), database);
  g_tls_connection_set_advertised_protocols (G_TLS_CONNECTION (tls), http11);
  /* The server's certificate is what a verified connection rests on: the
   * defaults check all of it, and no handler accepts a bad one. */
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, cancellable,
                                    cloche_egress_tls_upstream_handshake_cb, task);
}

/**
 * _cloche_egress_tls_upstream_finish:
 * @rule: (out): on failure, the rule that names it: "upstream-certificate"
 *   for the server's certificate, "upstream-tls" for the rest
 *
 * Returns: (transfer full) (nullable): the TLS stream to the server, or
 *   %NULL with @error saying why in words fit for a decision
 */
GIOStream *
_cloche_egress_tls_upstream_finish (GAsyncResult  *result,
                                    const char   **rule,
                                    GError       **error)
{
  GError *local = NULL;
  GIOStream *stream = g_task_propagate_pointer (G_TASK (result), &local);

  if (stream != NULL)
    return stream;
  *rule = g_error_matches (local, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
          ? CLOCHE_EGRESS_RULE_UPSTREAM_CERTIFICATE : CLOCHE_EGRESS_RULE_UPSTREAM_TLS;
  g_propagate_error (error, local);
  return NULL;
}

/* The guest's side */

static void
cloche_egress_tls_guest_handshake_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (g_tls_connection_handshake_finish (G_TLS_CONNECTION (object), result, &error))
    g_task_return_pointer (task, g_object_ref (object), g_object_unref);
  else
    g_task_return_error (task, error);
}

/**
 * _cloche_egress_tls_guest_async:
 * @client: the guest's connection, answered "200" for its CONNECT
 * @certificate: the host's, signed by the egress CA, with its key
 *
 * TLS to the guest as the server it asked for; HTTP/1.1.
 */
void
_cloche_egress_tls_guest_async (GIOStream           *client,
                                GTlsCertificate     *certificate,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) tls = g_tls_server_connection_new (client, certificate, &error);

  g_task_set_source_tag (task, _cloche_egress_tls_guest_async);
  if (tls == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  g_tls_connection_set_advertised_protocols (G_TLS_CONNECTION (tls), http11);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, cancellable,
                                    cloche_egress_tls_guest_handshake_cb, task);
}

/**
 * _cloche_egress_tls_guest_finish:
 *
 * Returns: (transfer full) (nullable): the TLS stream to the guest
 */
GIOStream *
_cloche_egress_tls_guest_finish (GAsyncResult  *result,
                                 GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
