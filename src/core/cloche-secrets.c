/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Secrets as the sandbox and the egress proxy see them: the bindings in
 * force (the policy's `secrets.NAME`), and for each session a placeholder
 * per secret, which is all the guest ever holds of it. The values stay in
 * the keyring (cloche-secret-store.c) until the proxy writes one into a
 * request.
 *
 * A placeholder is "cloche-placeholder-" and 32 random hexadecimal digits:
 * unique per session and secret, unguessable, never a credential anywhere,
 * and good only in its own session (the session the proxy knows the
 * connection serves, from what the guest cannot forge). It lives in memory
 * until the session closes; a new boot of the same session keeps it.
 *
 * cloche_secrets_check() is the proxy's one judgement on a request, pure
 * (no I/O), for a fuzzer:
 *
 *   - to a host bound to a secret, over TLS the proxy ended: each bound
 *     header must hold exactly the binding's format around this session's
 *     placeholder, which is swapped for the value; any other value there,
 *     or any other header that can carry a credential (Authorization,
 *     Cookie, *-key, *token*, *auth*, …), is a foreign credential and the
 *     request is refused: the agent cannot log in to another account on
 *     the host the secret opens (the incident of issue 20);
 *   - a placeholder anywhere else (another host, another header, the
 *     path, another session's, plain http://) is refused: nothing is
 *     written in its place, and the attempt is a decision in the log;
 *   - anything else passes untouched.
 * Messages name headers and secrets, never a value.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>
#include <sys/random.h>

#include "cloche-http-private.h"
#include "cloche-secrets.h"

#define PLACEHOLDER_BYTES 16

struct _ClocheSecrets
{
  GObject     parent_instance;
  GPtrArray  *bindings;       /* of ClocheSecretBinding, by name */
  GHashTable *sessions;       /* session → (name → placeholder) */
  GHashTable *owners;         /* placeholder → Owner */
};

typedef struct
{
  char *session;
  char *name;
} Owner;

G_DEFINE_FINAL_TYPE (ClocheSecrets, cloche_secrets, G_TYPE_OBJECT)

static void
cloche_secrets_owner_free (Owner *owner)
{
  g_free (owner->session);
  g_free (owner->name);
  g_free (owner);
}

static void
cloche_secrets_finalize (GObject *object)
{
  ClocheSecrets *self = CLOCHE_SECRETS (object);

  g_ptr_array_unref (self->bindings);
  g_hash_table_unref (self->sessions);
  g_hash_table_unref (self->owners);
  G_OBJECT_CLASS (cloche_secrets_parent_class)->finalize (object);
}

static void
cloche_secrets_class_init (ClocheSecretsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_secrets_finalize;
}

static void
cloche_secrets_init (ClocheSecrets *self)
{
  self->bindings = g_ptr_array_new_with_free_func ((GDestroyNotify) cloche_secret_binding_free);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_hash_table_unref);
  self->owners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) cloche_secrets_owner_free);
}

ClocheSecrets *
cloche_secrets_new (void)
{
  return g_object_new (CLOCHE_TYPE_SECRETS, NULL);
}

/**
 * cloche_secrets_set_bindings:
 * @bindings: (transfer none) (element-type ClocheSecretBinding): the
 *   bindings in force (cloche_policy_dup_secret_bindings()); taken over
 *   by reference, so the caller must not change them afterwards
 */
void
cloche_secrets_set_bindings (ClocheSecrets *self,
                             GPtrArray     *bindings)
{
  g_return_if_fail (CLOCHE_IS_SECRETS (self));

  g_ptr_array_unref (self->bindings);
  self->bindings = g_ptr_array_ref (bindings);
}

/**
 * cloche_secrets_get_bindings:
 *
 * Returns: (transfer none) (element-type ClocheSecretBinding): the
 *   bindings in force; valid until the next cloche_secrets_set_bindings()
 *   (a caller that keeps one across a main loop turn refs the array)
 */
GPtrArray *
cloche_secrets_get_bindings (ClocheSecrets *self)
{
  g_return_val_if_fail (CLOCHE_IS_SECRETS (self), NULL);
  return self->bindings;
}

/**
 * cloche_secrets_is_bound:
 *
 * Returns: whether a secret may go to @host on @port: the hosts whose
 *   TLS the proxy ends
 */
gboolean
cloche_secrets_is_bound (ClocheSecrets *self,
                         const char    *host,
                         guint16        port)
{
  g_return_val_if_fail (CLOCHE_IS_SECRETS (self), FALSE);

  for (guint i = 0; i < self->bindings->len; i++)
    if (cloche_secret_binding_covers (self->bindings->pdata[i], host, port))
      return TRUE;
  return FALSE;
}

/* Placeholders */

static char *
cloche_secrets_new_placeholder (void)
{
  guchar bytes[PLACEHOLDER_BYTES];
  GString *text = g_string_new (CLOCHE_SECRET_PLACEHOLDER_PREFIX);

  /* Blocks only before the kernel's pool is first ready, long before a
   * daemon runs; a short read is not possible for this size. */
  if (getrandom (bytes, sizeof bytes, 0) != sizeof bytes)
    g_error ("getrandom failed: no randomness for a placeholder");
  for (guint i = 0; i < sizeof bytes; i++)
    g_string_append_printf (text, "%02x", bytes[i]);
  return g_string_free (text, FALSE);
}

/* The session's placeholder of @name, if it has one yet. */
static const char *
cloche_secrets_lookup_placeholder (ClocheSecrets *self,
                                   const char    *session,
                                   const char    *name)
{
  GHashTable *names = g_hash_table_lookup (self->sessions, session);

  return names != NULL ? g_hash_table_lookup (names, name) : NULL;
}

static const char *
cloche_secrets_placeholder_for (ClocheSecrets *self,
                                const char    *session,
                                const char    *name)
{
  GHashTable *names = g_hash_table_lookup (self->sessions, session);
  const char *placeholder;
  Owner *owner;

  if (names == NULL)
    {
      names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (self->sessions, g_strdup (session), names);
    }
  if ((placeholder = g_hash_table_lookup (names, name)) != NULL)
    return placeholder;
  owner = g_new0 (Owner, 1);
  owner->session = g_strdup (session);
  owner->name = g_strdup (name);
  placeholder = cloche_secrets_new_placeholder ();
  g_hash_table_insert (names, g_strdup (name), (char *) placeholder);
  g_hash_table_insert (self->owners, g_strdup (placeholder), owner);
  return placeholder;
}

/**
 * cloche_secrets_dup_environment:
 * @session: an open session's id
 *
 * Returns: (transfer full): "NAME=placeholder" for each secret bound now,
 *   the session's own placeholders (made at the first call, kept until
 *   cloche_secrets_forget_session())
 */
GStrv
cloche_secrets_dup_environment (ClocheSecrets *self,
                                const char    *session)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (CLOCHE_IS_SECRETS (self), NULL);
  g_return_val_if_fail (session != NULL && *session != '\0', NULL);

  for (guint i = 0; i < self->bindings->len; i++)
    {
      const ClocheSecretBinding *binding = self->bindings->pdata[i];
      g_autofree char *entry = g_strdup_printf ("%s=%s", binding->name,
                                                cloche_secrets_placeholder_for (self, session,
                                                                                binding->name));

      g_strv_builder_add (builder, entry);
    }
  return g_strv_builder_end (builder);
}

/* The session has closed: its placeholders are good nowhere from now. */
void
cloche_secrets_forget_session (ClocheSecrets *self,
                               const char    *session)
{
  GHashTable *names;
  GHashTableIter iter;
  gpointer placeholder;

  g_return_if_fail (CLOCHE_IS_SECRETS (self));

  names = g_hash_table_lookup (self->sessions, session);
  if (names == NULL)
    return;
  g_hash_table_iter_init (&iter, names);
  while (g_hash_table_iter_next (&iter, NULL, &placeholder))
    g_hash_table_remove (self->owners, placeholder);
  g_hash_table_remove (self->sessions, session);
}

/* The check */

/* The first placeholder-shaped token in @text, as a new string; NULL if
 * none. A token of a placeholder no session has still counts: it can only
 * be a copy of one (an old boot's). */
static char *
cloche_secrets_find_token (const char *text)
{
  const char *at = strstr (text, CLOCHE_SECRET_PLACEHOLDER_PREFIX);
  gsize length;

  if (at == NULL)
    return NULL;
  length = strlen (CLOCHE_SECRET_PLACEHOLDER_PREFIX);
  length += strspn (at + length, "0123456789abcdef");
  return g_strndup (at, length);
}

/* Names that carry a credential in the APIs agents call: what a request
 * to a bound host may carry only as its secret's placeholder. */
static gboolean
cloche_secrets_is_credential_header (const char *name)
{
  static const char * const parts[] = {
    "auth", "token", "secret", "password", "passwd", "credential", "api-key", "apikey",
    "api_key", "cookie", "session", NULL
  };
  g_autofree char *lower = g_ascii_strdown (name, -1);

  for (guint i = 0; parts[i] != NULL; i++)
    if (strstr (lower, parts[i]) != NULL)
      return TRUE;
  return g_str_equal (lower, "key") || g_str_has_suffix (lower, "-key")
         || g_str_has_suffix (lower, "_key");
}

typedef struct
{
  ClocheSecrets           *self;
  const ClocheHttpRequest *request;
  const char              *session;
  gboolean                 over_tls;
  GPtrArray               *bound;       /* the bindings covering the host */
  char                    *connection;  /* the request's Connection list */
  GArray                  *swaps;
  char                    *why;
} Check;

static const ClocheSecretBinding *
cloche_secrets_find_binding (ClocheSecrets *self,
                             const char    *name)
{
  for (guint i = 0; i < self->bindings->len; i++)
    if (g_str_equal (((ClocheSecretBinding *) self->bindings->pdata[i])->name, name))
      return self->bindings->pdata[i];
  return NULL;
}

static ClocheSecretCheck
cloche_secrets_misplaced (Check      *check,
                          const char *token,
                          const char *where)
{
  Owner *owner = g_hash_table_lookup (check->self->owners, token);
  const ClocheSecretBinding *binding =
    owner != NULL ? cloche_secrets_find_binding (check->self, owner->name)
                                       : NULL;
  g_autofree char *hosts = binding != NULL ? g_strjoinv (", ", binding->hosts) : NULL;

  if (owner != NULL && !g_str_equal (owner->session, check->session))
    check->why = g_strdup_printf ("%s holds the placeholder of %s of another session, which is "
                                  "good only in its own", where, owner->name);
  else if (binding != NULL)
    check->why = g_strdup_printf ("%s holds the placeholder of %s, which goes only in the "
                                  "header “%s” of requests to %s, over https", where,
                                  owner->name, binding->header, hosts);
  else
    check->why = g_strdup_printf ("%s holds a placeholder of no secret bound in this session",
                                  where);
  return CLOCHE_SECRET_CHECK_MISPLACED;
}

/* The binding whose header is @header and whose placeholder, as its
 * format writes it, is exactly @value; NULL if none. */
static const ClocheSecretBinding *
cloche_secrets_find_swap (Check                  *check,
                          const ClocheHttpHeader *header)
{
  for (guint i = 0; i < check->bound->len && check->over_tls; i++)
    {
      const ClocheSecretBinding *binding = check->bound->pdata[i];
      const char *placeholder =
        cloche_secrets_lookup_placeholder (check->self, check->session, binding->name);
      g_autofree char *expected = NULL;

      if (placeholder == NULL || g_ascii_strcasecmp (binding->header, header->name) != 0)
        continue;
      expected = cloche_secret_binding_format (binding, placeholder);
      if (g_str_equal (expected, header->value))
        return binding;
    }
  return NULL;
}

static gboolean
cloche_secrets_is_bound_header (Check      *check,
                                const char *name)
{
  for (guint i = 0; i < check->bound->len; i++)
    if (g_ascii_strcasecmp (((ClocheSecretBinding *) check->bound->pdata[i])->header, name) == 0)
      return TRUE;
  return FALSE;
}

/* A header's name as a reason quotes it: the guest chose it, and a reason
 * reaches the decision log, so a name holding a placeholder is not quoted. */
static char *
cloche_secrets_header_shown (const char *name)
{
  g_autofree char *token = cloche_secrets_find_token (name);

  return g_strdup (token != NULL ? "(a name holding a placeholder)" : name);
}

static ClocheSecretCheck
cloche_secrets_foreign (Check      *check,
                        const char *name)
{
  const ClocheSecretBinding *binding = check->bound->pdata[0];
  g_autofree char *header = cloche_secrets_header_shown (name);

  check->why = g_strdup_printf ("the header “%s” of a request to %s carries a credential that "
                                "is not the placeholder of %s, the secret bound to that host "
                                "(write $%s in “%s” as “%s”; Cloche puts the value in)",
                                header, check->request->host, binding->name, binding->name,
                                binding->header, binding->format);
  return CLOCHE_SECRET_CHECK_FOREIGN;
}

static ClocheSecretCheck
cloche_secrets_check_header (Check *check,
                             guint  index)
{
  const ClocheHttpHeader *header = &g_array_index (check->request->headers, ClocheHttpHeader,
                                                   index);
  g_autofree char *token = cloche_secrets_find_token (header->value);
  g_autofree char *name = cloche_secrets_header_shown (header->name);
  g_autofree char *where = g_strdup_printf ("the header “%s” of a request to %s",
                                            name, check->request->host);
  const ClocheSecretBinding *binding;

  /* The proxy's own headers go no further than the proxy. */
  if (_cloche_http_is_hop_header (check->connection, header->name))
    return CLOCHE_SECRET_CHECK_PASS;
  if (check->bound->len > 0 && (binding = cloche_secrets_find_swap (check, header)) != NULL)
    {
      ClocheSecretSwap swap = { index, binding };

      g_array_append_val (check->swaps, swap);
      return CLOCHE_SECRET_CHECK_SWAP;
    }
  if (token != NULL)
    return cloche_secrets_misplaced (check, token, where);
  if (check->bound->len > 0 && (cloche_secrets_is_bound_header (check, header->name)
                                || cloche_secrets_is_credential_header (header->name)))
    return cloche_secrets_foreign (check, header->name);
  return CLOCHE_SECRET_CHECK_PASS;
}

static ClocheSecretCheck
cloche_secrets_run_check (Check *check)
{
  g_autofree char *token = cloche_secrets_find_token (check->request->target);
  ClocheSecretCheck verdict = CLOCHE_SECRET_CHECK_PASS;

  if (token != NULL)
    return cloche_secrets_misplaced (check, token, "the request's path");
  for (guint i = 0; i < check->request->headers->len; i++)
    {
      ClocheSecretCheck one = cloche_secrets_check_header (check, i);

      if (one == CLOCHE_SECRET_CHECK_FOREIGN || one == CLOCHE_SECRET_CHECK_MISPLACED)
        return one;
      if (one == CLOCHE_SECRET_CHECK_SWAP)
        verdict = one;
    }
  return verdict;
}

/**
 * cloche_secrets_check:
 * @request: a request the proxy read (not CONNECT), decided by the rules
 * @session: the session its connection serves ("" for none)
 * @over_tls: whether it came inside the TLS the proxy ended (a plain
 *   http:// request never gets a value: it would cross the network as text)
 * @swaps: (out) (transfer full) (element-type ClocheSecretSwap): for SWAP,
 *   the headers whose placeholder is to be replaced; else empty
 * @why: (out) (transfer full) (optional): for FOREIGN and MISPLACED, why,
 *   naming headers and secrets, never a value
 *
 * Returns: what to do with the request
 */
ClocheSecretCheck
cloche_secrets_check (ClocheSecrets            *self,
                      const ClocheHttpRequest  *request,
                      const char               *session,
                      gboolean                  over_tls,
                      GArray                  **swaps,
                      char                    **why)
{
  Check check = { self, request, session != NULL ? session : "", over_tls, NULL, NULL, NULL,
                  NULL };
  ClocheSecretCheck verdict;

  g_return_val_if_fail (CLOCHE_IS_SECRETS (self), CLOCHE_SECRET_CHECK_MISPLACED);
  g_return_val_if_fail (!request->connect, CLOCHE_SECRET_CHECK_MISPLACED);

  check.bound = g_ptr_array_new ();
  check.connection = _cloche_http_dup_list (request->headers, "Connection");
  check.swaps = g_array_new (FALSE, FALSE, sizeof (ClocheSecretSwap));
  for (guint i = 0; i < self->bindings->len; i++)
    if (cloche_secret_binding_covers (self->bindings->pdata[i], request->host, request->port))
      g_ptr_array_add (check.bound, self->bindings->pdata[i]);
  verdict = cloche_secrets_run_check (&check);
  if (verdict != CLOCHE_SECRET_CHECK_SWAP)
    g_array_set_size (check.swaps, 0);
  *swaps = check.swaps;
  if (why != NULL)
    *why = g_steal_pointer (&check.why);
  g_free (check.why);
  g_free (check.connection);
  g_ptr_array_unref (check.bound);
  return verdict;
}
