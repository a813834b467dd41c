/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The egress proxy: the only way out of the guest. QEMU forwards the
 * guest's 10.0.2.100:3128 to a relay process per connection
 * (cloche-egress-relay), which connects here, to a Unix socket only this
 * user can open. Each connection carries one HTTP request — CONNECT for a
 * tunnel, or a plain http:// request — that is checked against the current
 * rules, answered 403 with the rule that refused it, or carried through to
 * a server the host resolves and connects to.
 *
 * This object owns the socket, the rules, the decisions and the byte
 * counters; cloche-egress-proxy-connection.c handles one connection. All of
 * it runs on the daemon's main loop, asynchronously.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "cloche-egress-proxy-private.h"

/* Defaults, each a limit no well-behaved client comes near:
 * 16 KiB of head is more than browsers send (8 KiB is common), a client
 * sends its head at once, and a tunnel silent for ten minutes is dead. */
static const ClocheEgressLimits default_limits = {
  .max_header_size = 16 * 1024,
  .header_timeout_ms = 10 * 1000,
  .idle_timeout_ms = 10 * 60 * 1000,
  .connect_timeout_ms = 30 * 1000,
  .max_connections = 256,
};

struct _ClocheEgressProxy
{
  GObject              parent_instance;

  ClocheEgressRules   *rules;
  ClocheEgressLimits   limits;
  GSocketService      *service;
  GSocketClient       *client;
  char                *socket_path;

  guint                connections;
  guint64              next_id;
  GQueue               decisions;     /* of ClocheEgressDecision, oldest first */
  ClocheEgressCounters totals;
  GHashTable          *sessions;      /* session → ClocheEgressCounters */
  /* Per-session egress additions (issue 17): session → the hosts it adds
   * (GStrv), and session → its effective rules (the policy's + those). A
   * session not in them is decided by the policy's rules alone, and so is
   * a connection that names no session. */
  GHashTable          *session_allow;
  GHashTable          *session_rules;

  /* Secrets (issue 20): NULL until set, then the hosts they are bound to
   * are intercepted (cloche-egress-proxy-intercept.c). */
  ClocheSecrets       *secrets;
  ClocheSecretStore   *secret_store;
  ClocheEgressCa      *ca;
  GTlsDatabase        *upstream_database;  /* NULL: the host's trust store */
};

enum {
  PROP_0,
  PROP_RULES,
  PROP_CONNECTIONS,
  N_PROPS
};

enum {
  DECISION,
  DECISION_ENDED,
  TRAFFIC,
  SESSION_ALLOW_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_BOXED_TYPE (ClocheEgressDecision, cloche_egress_decision,
                     cloche_egress_decision_ref, cloche_egress_decision_unref)
G_DEFINE_FINAL_TYPE (ClocheEgressProxy, cloche_egress_proxy, G_TYPE_OBJECT)

ClocheEgressDecision *
cloche_egress_decision_ref (ClocheEgressDecision *decision)
{
  return g_rc_box_acquire (decision);
}

static void
cloche_egress_proxy_decision_clear (ClocheEgressDecision *decision)
{
  g_free (decision->session);
  g_free (decision->method);
  g_free (decision->host);
  g_free (decision->path);
  g_free (decision->rule);
  g_free (decision->error);
}

void
cloche_egress_decision_unref (ClocheEgressDecision *decision)
{
  g_rc_box_release_full (decision, (GDestroyNotify) cloche_egress_proxy_decision_clear);
}

/**
 * cloche_egress_proxy_default_socket_path:
 *
 * Per daemon process, like the VM's run folder, so that a daemon started
 * with --replace never takes the socket of the one it replaces.
 *
 * Returns: (transfer full): `$XDG_RUNTIME_DIR/cloche/egress-PID.sock`
 */
char *
cloche_egress_proxy_default_socket_path (void)
{
  g_autofree char *name = g_strdup_printf ("egress-%d.sock", (int) getpid ());

  return g_build_filename (g_get_user_runtime_dir (), "cloche", name, NULL);
}

static gboolean
cloche_egress_proxy_incoming_cb (GSocketService    *service,
                                 GSocketConnection *connection,
                                 GObject           *source,
                                 gpointer           user_data)
{
  ClocheEgressProxy *self = user_data;

  if (self->connections >= self->limits.max_connections)
    {
      g_autofree char *why = g_strdup_printf ("%u connections are open, the proxy's limit",
                                              self->connections);
      ClocheEgressAsked nothing = { "", "", "", 0, NULL, FALSE };
      g_autoptr(ClocheEgressDecision) decision =
        _cloche_egress_proxy_refuse (self, &nothing, CLOCHE_EGRESS_RULE_CONNECTION_LIMIT, why);

      g_message ("Egress: refused a connection: %s", why);
      _cloche_egress_answer_over_limit (connection, decision);
      _cloche_egress_proxy_end (self, decision);
      return TRUE;
    }
  self->connections++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTIONS]);
  _cloche_egress_connection_start (self, connection);
  return TRUE;
}

static gboolean
cloche_egress_proxy_bind_socket (ClocheEgressProxy  *self,
                                 const char         *path,
                                 GError            **error)
{
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot create %s for the egress proxy's socket: %s"), dir,
                   g_strerror (errno));
      return FALSE;
    }
  /* A socket file left by a daemon that died is in the way of bind(). */
  g_unlink (path);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                      NULL, NULL, error))
    {
      g_prefix_error (error, _("Cannot listen on %s for the egress proxy: "), path);
      return FALSE;
    }
  /* Only this user's processes (QEMU's relays) may send traffic out. */
  if (g_chmod (path, 0600) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot make %s private: %s"), path, g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/**
 * cloche_egress_proxy_listen:
 * @socket_path: where to make the Unix socket the relays connect to
 *
 * Returns: whether the proxy now accepts connections
 */
gboolean
cloche_egress_proxy_listen (ClocheEgressProxy  *self,
                            const char         *socket_path,
                            GError            **error)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_PROXY (self), FALSE);
  g_return_val_if_fail (self->socket_path == NULL, FALSE);

  if (!cloche_egress_proxy_bind_socket (self, socket_path, error))
    return FALSE;
  self->socket_path = g_strdup (socket_path);
  g_signal_connect (self->service, "incoming", G_CALLBACK (cloche_egress_proxy_incoming_cb), self);
  g_socket_service_start (self->service);
  return TRUE;
}

const char *
cloche_egress_proxy_get_socket_path (ClocheEgressProxy *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_PROXY (self), NULL);

  return self->socket_path;
}

ClocheEgressRules *
cloche_egress_proxy_get_rules (ClocheEgressProxy *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_PROXY (self), NULL);

  return self->rules;
}

/* The policy changed: each session's additions go on top of the new
 * rules. They were checked when added, so they parse again. */
static void
cloche_egress_proxy_rebuild_session_rules (ClocheEgressProxy *self)
{
  GHashTableIter iter;
  gpointer session, hosts;

  g_hash_table_iter_init (&iter, self->session_allow);
  while (g_hash_table_iter_next (&iter, &session, &hosts))
    {
      ClocheEgressRules *rules = cloche_egress_rules_new_for_session (self->rules, hosts, NULL);

      if (rules != NULL)
        g_hash_table_replace (self->session_rules, g_strdup (session), rules);
    }
}

/**
 * cloche_egress_proxy_set_rules:
 *
 * The new rules decide every request that arrives from now on; tunnels
 * already open stay open.
 */
void
cloche_egress_proxy_set_rules (ClocheEgressProxy *self,
                               ClocheEgressRules *rules)
{
  g_return_if_fail (CLOCHE_IS_EGRESS_PROXY (self));
  g_return_if_fail (CLOCHE_IS_EGRESS_RULES (rules));

  if (!g_set_object (&self->rules, rules))
    return;
  cloche_egress_proxy_rebuild_session_rules (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RULES]);
}

/**
 * cloche_egress_proxy_set_session_allow:
 * @session: a session's id
 * @hosts: (nullable) (array zero-terminated=1): the hosts it adds to the
 *   policy's rules (cloche_egress_rule_check_addition()); %NULL or empty:
 *   none (what a closed session gets)
 *
 * From the next request on, @session's requests are decided by the
 * policy's rules plus @hosts ("session allow HOST"); every other session's
 * and a connection without a session by the policy's alone. The additions
 * follow the policy: a new policy keeps them on top of its rules.
 *
 * Returns: %FALSE with @error (naming the host) if one of @hosts cannot be
 *   added; then nothing changed
 */
gboolean
cloche_egress_proxy_set_session_allow (ClocheEgressProxy   *self,
                                       const char          *session,
                                       const char * const  *hosts,
                                       GError             **error)
{
  ClocheEgressRules *rules;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_PROXY (self), FALSE);
  g_return_val_if_fail (session != NULL && session[0] != '\0', FALSE);

  if (hosts == NULL || hosts[0] == NULL)
    {
      g_hash_table_remove (self->session_rules, session);
      if (g_hash_table_remove (self->session_allow, session))
        g_signal_emit (self, signals[SESSION_ALLOW_CHANGED], 0, session, NULL);
      return TRUE;
    }
  rules = cloche_egress_rules_new_for_session (self->rules, hosts, error);
  if (rules == NULL)
    return FALSE;
  g_hash_table_replace (self->session_rules, g_strdup (session), rules);
  g_hash_table_replace (self->session_allow, g_strdup (session), g_strdupv ((GStrv) hosts));
  g_signal_emit (self, signals[SESSION_ALLOW_CHANGED], 0, session, hosts);
  return TRUE;
}

/**
 * cloche_egress_proxy_get_session_allow:
 *
 * Returns: (transfer none) (element-type utf8 GStrv): session → the hosts
 *   it adds, for the sessions that add any
 */
GHashTable *
cloche_egress_proxy_get_session_allow (ClocheEgressProxy *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_PROXY (self), NULL);

  return self->session_allow;
}

/**
 * cloche_egress_proxy_clear_session_allow:
 *
 * Drops every session's additions (an admin lock on egress came into
 * force): from the next request on, every session has the policy's rules.
 */
void
cloche_egress_proxy_clear_session_allow (ClocheEgressProxy *self)
{
  g_autofree gpointer *sessions = NULL;
  guint count = 0;

  g_return_if_fail (CLOCHE_IS_EGRESS_PROXY (self));

  sessions = g_hash_table_get_keys_as_array (self->session_allow, &count);
  for (guint i = 0; i < count; i++)
    {
      g_autofree char *session = g_strdup (sessions[i]);

      cloche_egress_proxy_set_session_allow (self, session, NULL, NULL);
    }
}

void
cloche_egress_proxy_get_limits (ClocheEgressProxy  *self,
                                ClocheEgressLimits *limits)
{
  g_return_if_fail (CLOCHE_IS_EGRESS_PROXY (self));

  *limits = self->limits;
}

/**
 * cloche_egress_proxy_set_limits:
 *
 * New limits apply to connections that arrive from now on.
 */
void
cloche_egress_proxy_set_limits (ClocheEgressProxy        *self,
                                const ClocheEgressLimits *limits)
{
  g_return_if_fail (CLOCHE_IS_EGRESS_PROXY (self));
  g_return_if_fail (limits->max_header_size > 0 && limits->max_connections > 0);

  self->limits = *limits;
}

guint
cloche_egress_proxy_get_connections (ClocheEgressProxy *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_PROXY (self), 0);

  return self->connections;
}

void
cloche_egress_proxy_get_totals (ClocheEgressProxy    *self,
                                ClocheEgressCounters *totals)
{
  g_return_if_fail (CLOCHE_IS_EGRESS_PROXY (self));

  *totals = self->totals;
}

/**
 * cloche_egress_proxy_dup_session_counters:
 *
 * Returns: (transfer full) (element-type utf8 ClocheEgressCounters): bytes
 *   per session since the proxy started; "" is traffic that named no session
 */
GHashTable *
cloche_egress_proxy_dup_session_counters (ClocheEgressProxy *self)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_PROXY (self), copy);

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy, g_strdup (key), g_memdup2 (value, sizeof (ClocheEgressCounters)));
  return copy;
}

/**
 * cloche_egress_proxy_dup_decisions:
 * @since: the id of the last decision the caller has; 0 for all
 *
 * Returns: (transfer full) (element-type ClocheEgressDecision): the kept
 *   decisions newer than @since, oldest first
 */
GPtrArray *
cloche_egress_proxy_dup_decisions (ClocheEgressProxy *self,
                                   guint64            since)
{
  GPtrArray *decisions =
    g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_egress_decision_unref);

  g_return_val_if_fail (CLOCHE_IS_EGRESS_PROXY (self), decisions);

  for (GList *l = self->decisions.head; l != NULL; l = l->next)
    {
      ClocheEgressDecision *decision = l->data;

      if (decision->id > since)
        g_ptr_array_add (decisions, cloche_egress_decision_ref (decision));
    }
  return decisions;
}

static void
cloche_egress_proxy_remember (ClocheEgressProxy    *self,
                              ClocheEgressDecision *decision)
{
  g_queue_push_tail (&self->decisions, cloche_egress_decision_ref (decision));
  while (self->decisions.length > CLOCHE_EGRESS_DECISION_HISTORY)
    cloche_egress_decision_unref (g_queue_pop_head (&self->decisions));
}

/* What the rules in force make of a request: whether it may go, the rule
 * that said so (@rule, a copy: the rules may change before the decision is
 * made), and whether that rule names the host itself; @session's rules
 * when it adds hosts, else the policy's. A request the proxy
 * reads is decided with its method and path too; a CONNECT by its host
 * and port, and by what the proxy will see of it (@sight). */
gboolean
_cloche_egress_proxy_check (ClocheEgressProxy       *self,
                            const char              *session,
                            const ClocheHttpRequest *request,
                            ClocheEgressSight        sight,
                            char                   **rule,
                            gboolean                *names_host)
{
  ClocheEgressRules *rules = g_hash_table_lookup (self->session_rules, session);
  const char *text = NULL;
  gboolean allowed;

  allowed = cloche_egress_rules_decide_request (rules != NULL ? rules : self->rules,
                                                request->method, request->host,
                                                request->port, request->path, sight, &text,
                                                names_host);
  *rule = g_strdup (text);
  return allowed;
}

/* A path as a decision logs it: without its query (which may hold what
 * is nobody's business, a key in a URL), and not longer than a line. */
static char *
cloche_egress_proxy_logged_path (const char *path)
{
  gsize length;

  if (path == NULL)
    return NULL;
  length = strcspn (path, "?#");
  if (length <= 512)
    return g_strndup (path, length);
  return g_strdup_printf ("%.512s…", path);
}

static ClocheEgressDecision *
cloche_egress_proxy_decision_new (ClocheEgressProxy       *self,
                                  const ClocheEgressAsked *asked,
                                  gboolean                 allowed,
                                  const char              *rule)
{
  ClocheEgressDecision *decision = g_rc_box_new0 (ClocheEgressDecision);

  decision->id = ++self->next_id;
  decision->time = g_get_real_time ();
  decision->session = g_strdup (asked->session != NULL ? asked->session : "");
  decision->method = g_strdup (asked->method);
  decision->host = g_strdup (asked->host);
  decision->port = asked->port;
  decision->path = cloche_egress_proxy_logged_path (asked->path);
  decision->intercepted = asked->intercepted;
  decision->allowed = allowed;
  decision->rule = g_strdup (rule);
  return decision;
}

/* A verdict on one request, remembered and announced. */
ClocheEgressDecision *
_cloche_egress_proxy_decide (ClocheEgressProxy       *self,
                             const ClocheEgressAsked *asked,
                             gboolean                 allowed,
                             const char              *rule)
{
  ClocheEgressDecision *decision = cloche_egress_proxy_decision_new (self, asked, allowed, rule);

  cloche_egress_proxy_remember (self, decision);
  g_signal_emit (self, signals[DECISION], 0, decision);
  return decision;
}

/* A refusal no rule of the policy made (@rule is the proxy's own), with
 * what the request asked for as far as it could be read ("" and 0 where
 * nothing could) and @why. Ended by _cloche_egress_proxy_end() like any. */
ClocheEgressDecision *
_cloche_egress_proxy_refuse (ClocheEgressProxy       *self,
                             const ClocheEgressAsked *asked,
                             const char              *rule,
                             const char              *why)
{
  ClocheEgressDecision *decision = cloche_egress_proxy_decision_new (self, asked, FALSE, rule);

  decision->error = g_strdup (why);
  cloche_egress_proxy_remember (self, decision);
  g_signal_emit (self, signals[DECISION], 0, decision);
  return decision;
}

static ClocheEgressCounters *
cloche_egress_proxy_session_counters (ClocheEgressProxy *self,
                                      const char        *session)
{
  ClocheEgressCounters *counters = g_hash_table_lookup (self->sessions, session);

  if (counters == NULL)
    {
      counters = g_new0 (ClocheEgressCounters, 1);
      g_hash_table_insert (self->sessions, g_strdup (session), counters);
    }
  return counters;
}

/* Bytes that crossed the proxy, counted as they go so that a long
 * download shows in the monitor while it runs, not when it ends. */
void
_cloche_egress_proxy_count (ClocheEgressProxy    *self,
                            ClocheEgressDecision *decision,
                            gsize                 bytes,
                            gboolean              inbound)
{
  ClocheEgressCounters *session = cloche_egress_proxy_session_counters (self, decision->session);

  if (inbound)
    {
      decision->bytes_in += bytes;
      session->bytes_in += bytes;
      self->totals.bytes_in += bytes;
    }
  else
    {
      decision->bytes_out += bytes;
      session->bytes_out += bytes;
      self->totals.bytes_out += bytes;
    }
  g_signal_emit (self, signals[TRAFFIC], 0);
}

void
_cloche_egress_proxy_end (ClocheEgressProxy    *self,
                          ClocheEgressDecision *decision)
{
  decision->ended = TRUE;
  g_signal_emit (self, signals[DECISION_ENDED], 0, decision);
}

void
_cloche_egress_proxy_connection_done (ClocheEgressProxy *self)
{
  g_assert (self->connections > 0);
  self->connections--;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTIONS]);
}

GSocketClient *
_cloche_egress_proxy_get_client (ClocheEgressProxy *self)
{
  return self->client;
}

const ClocheEgressLimits *
_cloche_egress_proxy_limits (ClocheEgressProxy *self)
{
  return &self->limits;
}

/**
 * cloche_egress_proxy_set_secrets:
 * @secrets: (nullable): the bindings and the sessions' placeholders
 * @store: (nullable): where the values are
 * @ca: (nullable): what the proxy signs the hosts it intercepts with
 *
 * From now on, a CONNECT to a host bound to a secret has its TLS ended
 * here: its requests are read, decided one by one, and carry the value in
 * place of the placeholder (docs/ARCHITECTURE.md, "Secrets"). All three,
 * or none (no host is intercepted, and placeholders are still refused
 * where they are seen).
 */
void
cloche_egress_proxy_set_secrets (ClocheEgressProxy *self,
                                 ClocheSecrets     *secrets,
                                 ClocheSecretStore *store,
                                 ClocheEgressCa    *ca)
{
  g_return_if_fail (CLOCHE_IS_EGRESS_PROXY (self));
  g_return_if_fail ((secrets == NULL) == (store == NULL) && (store == NULL) == (ca == NULL));

  g_set_object (&self->secrets, secrets);
  g_set_object (&self->secret_store, store);
  g_set_object (&self->ca, ca);
}

/**
 * cloche_egress_proxy_set_upstream_database:
 * @database: (nullable): what the certificates of intercepted hosts are
 *   verified against; %NULL for the host's trust store
 *
 * Only tests set another (CLOCHE_TEST_UPSTREAM_CA_ENV).
 */
void
cloche_egress_proxy_set_upstream_database (ClocheEgressProxy *self,
                                           GTlsDatabase      *database)
{
  g_return_if_fail (CLOCHE_IS_EGRESS_PROXY (self));
  g_set_object (&self->upstream_database, database);
}

ClocheSecrets *
_cloche_egress_proxy_get_secrets (ClocheEgressProxy *self)
{
  return self->secrets;
}

ClocheSecretStore *
_cloche_egress_proxy_get_secret_store (ClocheEgressProxy *self)
{
  return self->secret_store;
}

ClocheEgressCa *
_cloche_egress_proxy_get_ca (ClocheEgressProxy *self)
{
  return self->ca;
}

/* Never NULL: the host's trust store unless a test set another. */
GTlsDatabase *
_cloche_egress_proxy_get_upstream_database (ClocheEgressProxy *self)
{
  if (self->upstream_database == NULL)
    self->upstream_database = g_tls_backend_get_default_database (g_tls_backend_get_default ());
  return self->upstream_database;
}

static void
cloche_egress_proxy_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  ClocheEgressProxy *self = CLOCHE_EGRESS_PROXY (object);

  switch (prop_id)
    {
    case PROP_RULES:
      g_value_set_object (value, self->rules);
      break;
    case PROP_CONNECTIONS:
      g_value_set_uint (value, self->connections);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_egress_proxy_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  ClocheEgressProxy *self = CLOCHE_EGRESS_PROXY (object);

  switch (prop_id)
    {
    case PROP_RULES:
      cloche_egress_proxy_set_rules (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_egress_proxy_dispose (GObject *object)
{
  ClocheEgressProxy *self = CLOCHE_EGRESS_PROXY (object);

  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
  if (self->socket_path != NULL)
    g_unlink (self->socket_path);
  g_clear_object (&self->client);
  g_clear_object (&self->rules);
  g_hash_table_remove_all (self->session_rules);
  g_clear_object (&self->secrets);
  g_clear_object (&self->secret_store);
  g_clear_object (&self->ca);
  g_clear_object (&self->upstream_database);
  g_queue_clear_full (&self->decisions, (GDestroyNotify) cloche_egress_decision_unref);

  G_OBJECT_CLASS (cloche_egress_proxy_parent_class)->dispose (object);
}

static void
cloche_egress_proxy_finalize (GObject *object)
{
  ClocheEgressProxy *self = CLOCHE_EGRESS_PROXY (object);

  g_free (self->socket_path);
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->session_allow);
  g_hash_table_unref (self->session_rules);

  G_OBJECT_CLASS (cloche_egress_proxy_parent_class)->finalize (object);
}

static void
cloche_egress_proxy_class_init (ClocheEgressProxyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = cloche_egress_proxy_get_property;
  object_class->set_property = cloche_egress_proxy_set_property;
  object_class->dispose = cloche_egress_proxy_dispose;
  object_class->finalize = cloche_egress_proxy_finalize;

  properties[PROP_RULES] =
    g_param_spec_object ("rules", NULL, NULL, CLOCHE_TYPE_EGRESS_RULES,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONNECTIONS] =
    g_param_spec_uint ("connections", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ClocheEgressProxy::decision:
   * @decision: what the rules made of a request, at the moment they did
   */
  signals[DECISION] =
    g_signal_new ("decision", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  CLOCHE_TYPE_EGRESS_DECISION | G_SIGNAL_TYPE_STATIC_SCOPE);
  /**
   * ClocheEgressProxy::decision-ended:
   * @decision: the same decision, with its final byte counts
   *
   * Emitted exactly once per decision: at once for a refusal, when the
   * connection closes for an allowed request. What an audit log records.
   */
  signals[DECISION_ENDED] =
    g_signal_new ("decision-ended", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1,
                  CLOCHE_TYPE_EGRESS_DECISION | G_SIGNAL_TYPE_STATIC_SCOPE);
  /**
   * ClocheEgressProxy::traffic:
   *
   * Bytes were counted; emitted for every read, so listeners throttle.
   */
  signals[TRAFFIC] =
    g_signal_new ("traffic", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * ClocheEgressProxy::session-allow-changed:
   * @session: the session
   * @hosts: (nullable): the hosts it adds now; %NULL: none any more
   *
   * A session's egress additions were set or dropped.
   */
  signals[SESSION_ALLOW_CHANGED] =
    g_signal_new ("session-allow-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRV);
}

static void
cloche_egress_proxy_init (ClocheEgressProxy *self)
{
  self->limits = default_limits;
  self->service = g_socket_service_new ();
  self->client = g_socket_client_new ();
  /* The host's own proxy settings (http_proxy, GNOME's) are not ours to
   * follow: the proxy connects to the server the rules allowed, directly.
   * Timeouts are per connection (a socket timeout would also cut idle
   * tunnels short). */
  g_socket_client_set_enable_proxy (self->client, FALSE);
  g_queue_init (&self->decisions);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->session_allow = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) g_strfreev);
  self->session_rules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/**
 * cloche_egress_proxy_new:
 * @rules: what the guest may reach, until cloche_egress_proxy_set_rules()
 *
 * Returns: (transfer full): a proxy, not yet listening
 */
ClocheEgressProxy *
cloche_egress_proxy_new (ClocheEgressRules *rules)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_RULES (rules), NULL);

  return g_object_new (CLOCHE_TYPE_EGRESS_PROXY, "rules", rules, NULL);
}
