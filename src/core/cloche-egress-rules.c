/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the guest may reach. A rule is "host", "*.domain" or "*", each with
 * an optional ":port"; IPv6 literals go in brackets. Deny rules are looked
 * at first, then allow rules, then the default: so "allow *.example.com"
 * with "deny upload.example.com" keeps that one host out, whatever the order
 * the rules were written in. Each decision names the rule that made it, so
 * that a refusal in the guest can be traced to one line of the policy.
 *
 * A rule may also name a method and a path prefix: "POST
 * api.example.com/v1/messages". Those are seen only in a request the proxy
 * reads (a plain http:// one, or one inside the TLS it ends for a host
 * bound to a secret), so what such a rule means depends on the sight
 * (ClocheEgressSight): for a request, what it says; for a tunnel, whose
 * requests go by unseen, an allow rule of that kind allows nothing and a
 * deny rule of that kind refuses the tunnel (it would carry the request
 * the rule refuses); for a CONNECT the proxy opens, an allow rule of that
 * kind lets it in and a deny rule of that kind waits for the requests.
 * Paths compare in one form (cloche_egress_path_normalize()); a path that
 * has no such form matches every deny rule with a path and no allow rule
 * with one, so an encoding the server reads otherwise gets past no rule.
 *
 * Rules and requests are compared in one form, the one the proxy reaches
 * a host by (cloche_http_canonical_host()): an address in any spelling
 * that reaches it matches the rule that names it ("[::ffff:1.2.3.4]" is
 * 1.2.3.4), and a rule cannot name what the resolver would read as an
 * address but is not written as one ("16909060").
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <gio/gio.h>

#include "cloche-egress-rules.h"
#include "cloche-error.h"
#include "cloche-http-request.h"

typedef struct
{
  char    *text;     /* "deny *.example.com:22", what a decision reports */
  char    *host;     /* lower case, no trailing dot; "" for "*" */
  gboolean wildcard; /* "*.host": strict subdomains of host; "*": any */
  guint16  port;     /* 0: any port */
  char    *method;   /* NULL: any */
  char    *path;     /* a prefix in normal form; NULL: any */
  gboolean allow;
} Rule;

struct _ClocheEgressRules
{
  GObject  parent_instance;
  gboolean default_allow;
  GArray  *allow;
  GArray  *deny;
};

G_DEFINE_FINAL_TYPE (ClocheEgressRules, cloche_egress_rules, G_TYPE_OBJECT)

static void
cloche_egress_rules_rule_clear (Rule *rule)
{
  g_free (rule->text);
  g_free (rule->host);
  g_free (rule->method);
  g_free (rule->path);
}

static void
cloche_egress_rules_finalize (GObject *object)
{
  ClocheEgressRules *self = CLOCHE_EGRESS_RULES (object);

  g_array_unref (self->allow);
  g_array_unref (self->deny);
  G_OBJECT_CLASS (cloche_egress_rules_parent_class)->finalize (object);
}

static void
cloche_egress_rules_class_init (ClocheEgressRulesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_egress_rules_finalize;
}

static void
cloche_egress_rules_init (ClocheEgressRules *self)
{
  self->allow = g_array_new (FALSE, TRUE, sizeof (Rule));
  self->deny = g_array_new (FALSE, TRUE, sizeof (Rule));
  g_array_set_clear_func (self->allow, (GDestroyNotify) cloche_egress_rules_rule_clear);
  g_array_set_clear_func (self->deny, (GDestroyNotify) cloche_egress_rules_rule_clear);
}

/* Lower case, without the trailing dot of a fully qualified name and without
 * the brackets of an IPv6 literal, an address in its canonical form: the
 * form rules and requests compare in. */
static char *
cloche_egress_rules_normalize_host (const char *host,
                                    gsize       length)
{
  g_autofree char *name = NULL;
  char *canonical;

  if (length >= 2 && host[0] == '[' && host[length - 1] == ']')
    name = g_ascii_strdown (host + 1, length - 2);
  else if (length > 1 && host[length - 1] == '.' && host[length - 2] != '*')
    name = g_ascii_strdown (host, length - 1);
  else
    name = g_ascii_strdown (host, length);
  /* A name that is no host stays as it is, to match nothing. */
  canonical = cloche_http_canonical_host (name, NULL);
  return canonical != NULL ? canonical : g_steal_pointer (&name);
}

static gboolean
cloche_egress_rules_is_valid_name (const char *name)
{
  g_auto(GStrv) labels = NULL;

  if (*name == '\0' || strlen (name) > 253)
    return FALSE;
  labels = g_strsplit (name, ".", -1);
  for (guint i = 0; labels[i] != NULL; i++)
    {
      gsize length = strlen (labels[i]);

      if (length == 0 || length > 63 || labels[i][0] == '-' || labels[i][length - 1] == '-')
        return FALSE;
      for (const char *c = labels[i]; *c != '\0'; c++)
        if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_')
          return FALSE;
    }
  return TRUE;
}

/* A name as cloche_egress_rules_normalize_host() left it is one cloche_http_canonical_host()
 * accepts: not what the resolver would read as an address written
 * otherwise ("16909060", "001.2.3.4"). */
static gboolean
cloche_egress_rules_is_canonical (const char *name)
{
  g_autofree char *canonical = cloche_http_canonical_host (name, NULL);

  return canonical != NULL;
}

static gboolean
cloche_egress_rules_parse_port (const char  *text,
                                guint16     *port)
{
  guint64 value = 0;

  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT16, &value, NULL))
    return FALSE;
  *port = (guint16) value;
  return TRUE;
}

/* Splits "host:port", "[v6]:port", "host" and "[v6]" at the port's colon. */
static const char *
cloche_egress_rules_find_port_colon (const char *rule)
{
  if (rule[0] == '[')
    {
      const char *close = strchr (rule, ']');

      return close != NULL && close[1] == ':' ? close + 1 : NULL;
    }
  return strrchr (rule, ':');
}

static gboolean
cloche_egress_rules_parse_host (Rule       *rule,
                                const char *host,
                                gsize       length)
{
  g_autofree char *name = cloche_egress_rules_normalize_host (host, length);

  if (host[0] == '[')
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (name);

      if (address == NULL)
        return FALSE;
    }
  else if (g_str_equal (name, "*"))
    {
      rule->wildcard = TRUE;
      name[0] = '\0';
    }
  else if (g_str_has_prefix (name, "*."))
    {
      rule->wildcard = TRUE;
      memmove (name, name + 2, strlen (name + 2) + 1);
      if (!cloche_egress_rules_is_valid_name (name) || !cloche_egress_rules_is_canonical (name))
        return FALSE;
    }
  else if (!cloche_egress_rules_is_valid_name (name) || !cloche_egress_rules_is_canonical (name))
    return FALSE;
  rule->host = g_steal_pointer (&name);
  return TRUE;
}

#define MAX_METHOD 64
#define MAX_PATH 1024

/* Methods in rules are written as they are registered (RFC 9110 16.1):
 * upper case letters and "-". Methods compare case-sensitively, so a rule
 * for "post" would be a rule for nothing anyone sends. */
static gboolean
cloche_egress_rules_is_method (const char *text,
                               gsize       length)
{
  if (length == 0 || length > MAX_METHOD)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isupper (text[i]) && text[i] != '-')
      return FALSE;
  return TRUE;
}

/* Whether a segment of a path is "." or "..", which a server folds away. */
static gboolean
cloche_egress_rules_has_dot_segment (const char *path)
{
  g_auto(GStrv) segments = g_strsplit (path, "/", -1);

  for (guint i = 0; segments[i] != NULL; i++)
    if (g_str_equal (segments[i], ".") || g_str_equal (segments[i], ".."))
      return TRUE;
  return FALSE;
}

/* A path as a rule writes it: the normal form, with nothing to decode. */
static gboolean
cloche_egress_rules_is_rule_path (const char *path)
{
  gsize length = strlen (path);

  if (path[0] != '/' || length > MAX_PATH || strstr (path, "//") != NULL
      || strpbrk (path, "?#%\\") != NULL || cloche_egress_rules_has_dot_segment (path))
    return FALSE;
  for (const char *c = path; *c != '\0'; c++)
    if ((guchar) *c <= 0x20 || (guchar) *c >= 0x7f)
      return FALSE;
  return TRUE;
}

static int
cloche_egress_rules_hex_value (char c)
{
  if (g_ascii_isdigit (c))
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Appends the escape at @p ("%XX") decoded if it is an unreserved
 * character (RFC 3986 2.3: the same with or without the escape), else as
 * it is; FALSE for an escape that is not one, or one of "/" or "\\" (which
 * some servers decode into a separator and others do not). */
static gboolean
cloche_egress_rules_decode_escape (GString    *out,
                                   const char *p)
{
  int high = cloche_egress_rules_hex_value (p[1]), low =
    high >= 0 ? cloche_egress_rules_hex_value (p[2]) : -1;
  char c;

  if (high < 0 || low < 0)
    return FALSE;
  c = (char) (high * 16 + low);
  if (c == '/' || c == '\\')
    return FALSE;
  if (g_ascii_isalnum (c) || strchr ("-._~", c) != NULL)
    g_string_append_c (out, c);
  else
    g_string_append_len (out, p, 3);
  return TRUE;
}

/**
 * cloche_egress_path_normalize:
 * @target: a request's origin-form target ("/v1/messages?x=1")
 *
 * The one form a path is compared with rules in: without its query,
 * escapes of unreserved characters decoded ("/v1/%6Dessages" is
 * "/v1/messages"). A path that has no such form — a dot segment, an empty
 * segment, a backslash, an escaped "/" or "\\", a bad escape — is one two
 * servers could read as two different paths.
 *
 * Returns: (transfer full) (nullable): the path, or %NULL if it has no
 *   normal form
 */
char *
cloche_egress_path_normalize (const char *target)
{
  g_autoptr(GString) out = g_string_new (NULL);
  gsize length = strcspn (target, "?#");

  if (length == 0 || target[0] != '/' || length > MAX_PATH)
    return NULL;
  for (gsize i = 0; i < length; i++)
    {
      if (target[i] == '\\' || (guchar) target[i] <= 0x20 || (guchar) target[i] >= 0x7f)
        return NULL;
      if (target[i] != '%')
        g_string_append_c (out, target[i]);
      else if (i + 2 >= length || !cloche_egress_rules_decode_escape (out, target + i))
        return NULL;
      else
        i += 2;
    }
  if (strstr (out->str, "//") != NULL || cloche_egress_rules_has_dot_segment (out->str))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* "/v1/messages" covers itself and what is below it, not "/v1/messagesX";
 * a prefix that ends in "/" covers what starts with it. */
static gboolean
cloche_egress_rules_path_covers (const char *prefix,
                                 const char *path)
{
  gsize length = strlen (prefix);

  if (strncmp (path, prefix, length) != 0)
    return FALSE;
  return prefix[length - 1] == '/' || path[length] == '\0' || path[length] == '/';
}

static gboolean
cloche_egress_rules_rule_error (GError     **error,
                                const char  *text)
{
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID,
               _("“%s” is not a rule: write a host name, “*.domain” or “*”, optionally "
                 "followed by “:port”, optionally after a method (“POST ”) and before a "
                 "path (“/v1/messages”)"), text);
  return FALSE;
}

/* The method before the host, if there is one. */
static const char *
cloche_egress_rules_parse_method (Rule       *rule,
                                  const char *text)
{
  const char *space = strchr (text, ' ');

  if (space == NULL)
    return text;
  if (!cloche_egress_rules_is_method (text, space - text))
    return NULL;
  rule->method = g_strndup (text, space - text);
  return space + 1;
}

/* The path after the host, if there is one; the host's end. */
static gboolean
cloche_egress_rules_parse_path (Rule        *rule,
                                const char  *authority,
                                gsize       *length)
{
  const char *slash = strchr (authority, '/');

  *length = slash != NULL ? (gsize) (slash - authority) : strlen (authority);
  if (slash == NULL)
    return TRUE;
  rule->path = g_strdup (slash);
  return cloche_egress_rules_is_rule_path (rule->path);
}

static gboolean
cloche_egress_rules_parse_rule_parts (Rule        *rule,
                                      const char  *text,
                                      GError     **error)
{
  g_autofree char *authority = NULL;
  const char *rest, *colon;
  gsize length = 0, host_length;

  memset (rule, 0, sizeof *rule);
  if ((rest = cloche_egress_rules_parse_method (rule, text)) == NULL
      || !cloche_egress_rules_parse_path (rule, rest, &length))
    return cloche_egress_rules_rule_error (error, text);
  authority = g_strndup (rest, length);
  colon = cloche_egress_rules_find_port_colon (authority);
  host_length = colon != NULL ? (gsize) (colon - authority) : length;
  if (colon != NULL && !cloche_egress_rules_parse_port (colon + 1, &rule->port))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID,
                   _("“%s”: the port must be a number from 1 to 65535"), text);
      return FALSE;
    }
  if (host_length == 0 || !cloche_egress_rules_parse_host (rule, authority, host_length))
    return cloche_egress_rules_rule_error (error, text);
  return TRUE;
}

/* A rule, or nothing held: what a failed parse had taken is freed. */
static gboolean
cloche_egress_rules_parse_rule (Rule        *rule,
                                const char  *text,
                                GError     **error)
{
  if (cloche_egress_rules_parse_rule_parts (rule, text, error))
    return TRUE;
  cloche_egress_rules_rule_clear (rule);
  memset (rule, 0, sizeof *rule);
  return FALSE;
}

/**
 * cloche_egress_rule_check:
 * @rule: a rule as written in the policy
 * @error: where the reason it is not a rule goes
 *
 * Returns: whether @rule is a rule cloche_egress_rules_new() accepts
 */
gboolean
cloche_egress_rule_check (const char  *rule,
                          GError     **error)
{
  Rule parsed;

  if (!cloche_egress_rules_parse_rule (&parsed, rule, error))
    return FALSE;
  cloche_egress_rules_rule_clear (&parsed);
  return TRUE;
}

/**
 * cloche_egress_rule_check_addition:
 * @rule: a rule a session adds to the policy's (an agent profile's host)
 * @error: where the reason it cannot be one goes
 *
 * Returns: whether @rule is a rule that names hosts: a rule, and not "*"
 *   (with or without a port), which would be "allow everything" under the
 *   name of one session's addition
 */
gboolean
cloche_egress_rule_check_addition (const char  *rule,
                                   GError     **error)
{
  Rule parsed;
  gboolean any_host;

  if (!cloche_egress_rules_parse_rule (&parsed, rule, error))
    return FALSE;
  any_host = parsed.wildcard && parsed.host[0] == '\0';
  cloche_egress_rules_rule_clear (&parsed);
  if (any_host)
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID,
                   _("“%s” names no host: a session may add hosts (“api.example.com:443”, "
                     "“*.example.com”), not every host; allow that in the policy instead"),
                   rule);
      return FALSE;
    }
  return TRUE;
}

/* @verb is what a decision names the rule by ("allow", "deny", "session
 * allow"); whether it lets a request through is @allow. */
static gboolean
cloche_egress_rules_add_rules_as (GArray              *rules,
                                  const char          *verb,
                                  gboolean             allow,
                                  const char * const  *texts,
                                  GError             **error)
{
  for (guint i = 0; texts != NULL && texts[i] != NULL; i++)
    {
      Rule rule;

      if (!cloche_egress_rules_parse_rule (&rule, texts[i], error))
        return FALSE;
      rule.text = g_strdup_printf ("%s %s", verb, texts[i]);
      rule.allow = allow;
      g_array_append_val (rules, rule);
    }
  return TRUE;
}

static gboolean
cloche_egress_rules_add_rules (GArray              *rules,
                               const char          *verb,
                               const char * const  *texts,
                               GError             **error)
{
  return cloche_egress_rules_add_rules_as (rules, verb, g_str_equal (verb, "allow"), texts, error);
}

/**
 * cloche_egress_rules_new:
 * @default_allow: what happens to a request no rule matches
 * @allow: (nullable) (array zero-terminated=1): rules that let a request through
 * @deny: (nullable) (array zero-terminated=1): rules that refuse it, looked at first
 * @error: where the first rule that does not parse is named
 *
 * Returns: (transfer full) (nullable): the rules, or %NULL with
 *   %CLOCHE_ERROR_POLICY_INVALID
 */
ClocheEgressRules *
cloche_egress_rules_new (gboolean             default_allow,
                         const char * const  *allow,
                         const char * const  *deny,
                         GError             **error)
{
  g_autoptr(ClocheEgressRules) self = g_object_new (CLOCHE_TYPE_EGRESS_RULES, NULL);

  self->default_allow = default_allow;
  if (!cloche_egress_rules_add_rules (self->allow, "allow", allow, error)
      || !cloche_egress_rules_add_rules (self->deny, "deny", deny, error))
    return NULL;
  return g_steal_pointer (&self);
}

gboolean
cloche_egress_rules_get_default_allow (ClocheEgressRules *self)
{
  g_return_val_if_fail (CLOCHE_IS_EGRESS_RULES (self), FALSE);

  return self->default_allow;
}

static gboolean
cloche_egress_rules_host_matches (const Rule *rule,
                                  const char *host,
                                  guint16     port)
{
  gsize host_length, suffix_length;

  if (rule->port != 0 && rule->port != port)
    return FALSE;
  if (!rule->wildcard)
    return g_str_equal (rule->host, host);
  if (rule->host[0] == '\0')
    return TRUE;
  /* "*.example.com" is every name under example.com, not example.com
   * itself, and not "badexample.com". */
  host_length = strlen (host);
  suffix_length = strlen (rule->host);
  return host_length > suffix_length + 1
         && host[host_length - suffix_length - 1] == '.'
         && g_str_equal (host + host_length - suffix_length, rule->host);
}

/* A request as the rules see it. */
typedef struct
{
  const char        *host;     /* canonical */
  guint16            port;
  const char        *method;
  const char        *path;     /* normal form; NULL: none (then see normal) */
  gboolean           normal;   /* a request's path had a normal form */
  ClocheEgressSight  sight;
} Asked;

/* What a rule naming a method or a path makes of what it cannot see: a
 * deny rule refuses a tunnel that would carry what it refuses unseen, and
 * waits for the requests of a CONNECT the proxy opens; an allow rule lets
 * no tunnel through and lets such a CONNECT in. */
static gboolean
cloche_egress_rules_request_matches (const Rule  *rule,
                                     const Asked *asked)
{
  if (asked->sight == CLOCHE_EGRESS_SIGHT_TUNNEL)
    return !rule->allow;
  if (asked->sight == CLOCHE_EGRESS_SIGHT_OPENED)
    return rule->allow;
  if (rule->method != NULL && g_strcmp0 (rule->method, asked->method) != 0)
    return FALSE;
  if (rule->path == NULL)
    return TRUE;
  /* A path with no normal form: every deny rule's, no allow rule's. */
  if (!asked->normal)
    return !rule->allow;
  return cloche_egress_rules_path_covers (rule->path, asked->path);
}

static gboolean
cloche_egress_rules_rule_matches (const Rule  *rule,
                                  const Asked *asked)
{
  if (!cloche_egress_rules_host_matches (rule, asked->host, asked->port))
    return FALSE;
  if (rule->method == NULL && rule->path == NULL)
    return TRUE;
  return cloche_egress_rules_request_matches (rule, asked);
}

static const Rule *
cloche_egress_rules_find_rule (GArray      *rules,
                               const Asked *asked)
{
  for (guint i = 0; i < rules->len; i++)
    {
      const Rule *rule = &g_array_index (rules, Rule, i);

      if (cloche_egress_rules_rule_matches (rule, asked))
        return rule;
    }
  return NULL;
}

/**
 * cloche_egress_rules_decide_request:
 * @self: the rules
 * @method: (nullable): the request's method, for %CLOCHE_EGRESS_SIGHT_REQUEST
 * @host: the host a request asks for, as the client wrote it
 * @port: its port
 * @target: (nullable): the request's origin-form target, for
 *   %CLOCHE_EGRESS_SIGHT_REQUEST ("/v1/messages?x=1")
 * @sight: what the proxy will see of it (see the top of this file)
 * @rule: (out) (optional) (transfer none): the rule that decided, such as
 *   "deny *.example.com:22" or "default deny"; valid as long as @self
 * @names_host: (out) (optional): whether that rule is an allow rule that
 *   names @host itself (not "*", "*.domain" or the default): only such a
 *   rule lets a request reach the host's own or private addresses
 *   (cloche-egress-proxy-connection.c)
 *
 * Returns: %TRUE to let the request through
 */
gboolean
cloche_egress_rules_decide_request (ClocheEgressRules  *self,
                                    const char         *method,
                                    const char         *host,
                                    guint16             port,
                                    const char         *target,
                                    ClocheEgressSight   sight,
                                    const char        **rule,
                                    gboolean           *names_host)
{
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  const Rule *match;
  Asked asked;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_RULES (self), FALSE);
  g_return_val_if_fail (host != NULL, FALSE);

  if (names_host != NULL)
    *names_host = FALSE;
  name = cloche_egress_rules_normalize_host (host, strlen (host));
  path = target != NULL ? cloche_egress_path_normalize (target) : NULL;
  asked = (Asked) { name, port, method, path, path != NULL, sight };
  if ((match = cloche_egress_rules_find_rule (self->deny, &asked)) != NULL
      || (match = cloche_egress_rules_find_rule (self->allow, &asked)) != NULL)
    {
      if (rule != NULL)
        *rule = match->text;
      if (names_host != NULL)
        *names_host = match->allow && !match->wildcard;
      return match->allow;
    }
  if (rule != NULL)
    *rule = self->default_allow ? "default allow" : "default deny";
  return self->default_allow;
}

/**
 * cloche_egress_rules_decide_full:
 * @self: the rules
 * @host: the host a request asks for, as the client wrote it
 * @port: its port
 * @rule: (out) (optional) (transfer none): the rule that decided
 * @names_host: (out) (optional): whether that rule names @host itself
 *
 * A tunnel's decision: cloche_egress_rules_decide_request() with nothing
 * seen past the host and port.
 *
 * Returns: %TRUE to let the request through
 */
gboolean
cloche_egress_rules_decide_full (ClocheEgressRules  *self,
                                 const char         *host,
                                 guint16             port,
                                 const char        **rule,
                                 gboolean           *names_host)
{
  return cloche_egress_rules_decide_request (self, NULL, host, port, NULL,
                                             CLOCHE_EGRESS_SIGHT_TUNNEL, rule, names_host);
}

/**
 * cloche_egress_rules_decide:
 * @self: the rules
 * @host: the host a request asks for, as the client wrote it
 * @port: its port
 * @rule: (out) (optional) (transfer none): the rule that decided, such as
 *   "deny *.example.com:22" or "default deny"; valid as long as @self
 *
 * Returns: %TRUE to let a tunnel through
 */
gboolean
cloche_egress_rules_decide (ClocheEgressRules  *self,
                            const char         *host,
                            guint16             port,
                            const char        **rule)
{
  return cloche_egress_rules_decide_full (self, host, port, rule, NULL);
}

static void
cloche_egress_rules_add_texts (GStrvBuilder *builder,
                               GArray       *rules)
{
  for (guint i = 0; i < rules->len; i++)
    g_strv_builder_add (builder, g_array_index (rules, Rule, i).text);
}

/**
 * cloche_egress_rules_dup_texts:
 *
 * Returns: (transfer full): every rule as a decision names it ("deny …",
 *   "allow …"), in the order they are looked at: deny rules first
 */
GStrv
cloche_egress_rules_dup_texts (ClocheEgressRules *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (CLOCHE_IS_EGRESS_RULES (self), NULL);

  cloche_egress_rules_add_texts (builder, self->deny);
  cloche_egress_rules_add_texts (builder, self->allow);
  return g_strv_builder_end (builder);
}

static void
cloche_egress_rules_copy_rules (GArray       *to,
                                const GArray *from)
{
  for (guint i = 0; i < from->len; i++)
    {
      Rule rule = g_array_index (from, Rule, i);

      rule.text = g_strdup (rule.text);
      rule.host = g_strdup (rule.host);
      rule.method = g_strdup (rule.method);
      rule.path = g_strdup (rule.path);
      g_array_append_val (to, rule);
    }
}

/**
 * cloche_egress_rules_new_with_allowed:
 * @base: the rules to start from (the policy's)
 * @allow: (nullable) (array zero-terminated=1): more rules that let a request through
 * @error: where the first rule that does not parse is named
 *
 * Returns: (transfer full) (nullable): @base with @allow added to its allow
 *   rules (deny rules still come first)
 */
ClocheEgressRules *
cloche_egress_rules_new_with_allowed (ClocheEgressRules   *base,
                                      const char * const  *allow,
                                      GError             **error)
{
  g_autoptr(ClocheEgressRules) self = NULL;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_RULES (base), NULL);

  self = g_object_new (CLOCHE_TYPE_EGRESS_RULES, NULL);
  self->default_allow = base->default_allow;
  cloche_egress_rules_copy_rules (self->allow, base->allow);
  cloche_egress_rules_copy_rules (self->deny, base->deny);
  if (!cloche_egress_rules_add_rules (self->allow, "allow", allow, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * cloche_egress_rules_new_for_session:
 * @base: the policy's rules
 * @allow: (array zero-terminated=1): the hosts one session adds (each
 *   passes cloche_egress_rule_check_addition())
 * @error: where the first one that does not is named
 *
 * A session's effective rules: @base with @allow after its allow rules,
 * each named "session allow HOST" in a decision. The policy's deny rules
 * still come first, so a session adds hosts and never takes a denial away.
 *
 * Returns: (transfer full) (nullable): the session's rules
 */
ClocheEgressRules *
cloche_egress_rules_new_for_session (ClocheEgressRules   *base,
                                     const char * const  *allow,
                                     GError             **error)
{
  g_autoptr(ClocheEgressRules) self = NULL;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_RULES (base), NULL);

  for (guint i = 0; allow != NULL && allow[i] != NULL; i++)
    if (!cloche_egress_rule_check_addition (allow[i], error))
      return NULL;
  self = g_object_new (CLOCHE_TYPE_EGRESS_RULES, NULL);
  self->default_allow = base->default_allow;
  cloche_egress_rules_copy_rules (self->allow, base->allow);
  cloche_egress_rules_copy_rules (self->deny, base->deny);
  if (!cloche_egress_rules_add_rules_as (self->allow, "session allow", TRUE, allow, error))
    return NULL;
  return g_steal_pointer (&self);
}
