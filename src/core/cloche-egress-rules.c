/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the guest may reach. A rule is "host", "*.domain" or "*", each with
 * an optional ":port"; IPv6 literals go in brackets. Deny rules are looked
 * at first, then allow rules, then the default: so "allow *.example.com"
 * with "deny upload.example.com" keeps that one host out, whatever the order
 * the rules were written in. Each decision names the rule that made it, so
 * that a refusal in the guest can be traced to one line of the policy.
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
rule_clear (Rule *rule)
{
  g_free (rule->text);
  g_free (rule->host);
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
  g_array_set_clear_func (self->allow, (GDestroyNotify) rule_clear);
  g_array_set_clear_func (self->deny, (GDestroyNotify) rule_clear);
}

/* Lower case, without the trailing dot of a fully qualified name and without
 * the brackets of an IPv6 literal, an address in its canonical form: the
 * form rules and requests compare in. */
static char *
normalize_host (const char *host,
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
is_valid_name (const char *name)
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

/* A name as normalize_host() left it is one cloche_http_canonical_host()
 * accepts: not what the resolver would read as an address written
 * otherwise ("16909060", "001.2.3.4"). */
static gboolean
is_canonical (const char *name)
{
  g_autofree char *canonical = cloche_http_canonical_host (name, NULL);

  return canonical != NULL;
}

static gboolean
parse_port (const char  *text,
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
find_port_colon (const char *rule)
{
  if (rule[0] == '[')
    {
      const char *close = strchr (rule, ']');

      return close != NULL && close[1] == ':' ? close + 1 : NULL;
    }
  return strrchr (rule, ':');
}

static gboolean
parse_host (Rule       *rule,
            const char *host,
            gsize       length)
{
  g_autofree char *name = normalize_host (host, length);

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
      if (!is_valid_name (name) || !is_canonical (name))
        return FALSE;
    }
  else if (!is_valid_name (name) || !is_canonical (name))
    return FALSE;
  rule->host = g_steal_pointer (&name);
  return TRUE;
}

static gboolean
parse_rule (Rule        *rule,
            const char  *text,
            GError     **error)
{
  const char *colon = find_port_colon (text);
  gsize host_length = colon != NULL ? (gsize) (colon - text) : strlen (text);

  memset (rule, 0, sizeof *rule);
  if (colon != NULL && !parse_port (colon + 1, &rule->port))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID,
                   _("“%s”: the port must be a number from 1 to 65535"), text);
      return FALSE;
    }
  if (host_length == 0 || !parse_host (rule, text, host_length))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID,
                   _("“%s” is not a rule: write a host name, “*.domain” or “*”, "
                     "optionally followed by “:port”"), text);
      return FALSE;
    }
  return TRUE;
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

  if (!parse_rule (&parsed, rule, error))
    return FALSE;
  rule_clear (&parsed);
  return TRUE;
}

static gboolean
add_rules (GArray              *rules,
           const char          *verb,
           const char * const  *texts,
           GError             **error)
{
  for (guint i = 0; texts != NULL && texts[i] != NULL; i++)
    {
      Rule rule;

      if (!parse_rule (&rule, texts[i], error))
        return FALSE;
      rule.text = g_strdup_printf ("%s %s", verb, texts[i]);
      rule.allow = g_str_equal (verb, "allow");
      g_array_append_val (rules, rule);
    }
  return TRUE;
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
  if (!add_rules (self->allow, "allow", allow, error)
      || !add_rules (self->deny, "deny", deny, error))
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
rule_matches (const Rule *rule,
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

static const Rule *
find_rule (GArray     *rules,
           const char *host,
           guint16     port)
{
  for (guint i = 0; i < rules->len; i++)
    {
      const Rule *rule = &g_array_index (rules, Rule, i);

      if (rule_matches (rule, host, port))
        return rule;
    }
  return NULL;
}

/**
 * cloche_egress_rules_decide_full:
 * @self: the rules
 * @host: the host a request asks for, as the client wrote it
 * @port: its port
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
cloche_egress_rules_decide_full (ClocheEgressRules  *self,
                                 const char         *host,
                                 guint16             port,
                                 const char        **rule,
                                 gboolean           *names_host)
{
  g_autofree char *name = NULL;
  const Rule *match;

  g_return_val_if_fail (CLOCHE_IS_EGRESS_RULES (self), FALSE);
  g_return_val_if_fail (host != NULL, FALSE);

  if (names_host != NULL)
    *names_host = FALSE;
  name = normalize_host (host, strlen (host));
  if ((match = find_rule (self->deny, name, port)) != NULL
      || (match = find_rule (self->allow, name, port)) != NULL)
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
 * cloche_egress_rules_decide:
 * @self: the rules
 * @host: the host a request asks for, as the client wrote it
 * @port: its port
 * @rule: (out) (optional) (transfer none): the rule that decided, such as
 *   "deny *.example.com:22" or "default deny"; valid as long as @self
 *
 * Returns: %TRUE to let the request through
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
add_texts (GStrvBuilder *builder,
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

  add_texts (builder, self->deny);
  add_texts (builder, self->allow);
  return g_strv_builder_end (builder);
}

static void
copy_rules (GArray       *to,
            const GArray *from)
{
  for (guint i = 0; i < from->len; i++)
    {
      Rule rule = g_array_index (from, Rule, i);

      rule.text = g_strdup (rule.text);
      rule.host = g_strdup (rule.host);
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
  copy_rules (self->allow, base->allow);
  copy_rules (self->deny, base->deny);
  if (!add_rules (self->allow, "allow", allow, error))
    return NULL;
  return g_steal_pointer (&self);
}
