/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A secret's binding: its name, the hosts its value may go to, the header
 * it goes in and how it is written there. The binding is policy (docs/policy.md,
 * `secrets.NAME`), so an administrator can define one and lock it; the
 * value is not, and never passes here: it stays in the user's keyring
 * (cloche-secret-store.c) until the egress proxy writes it into a request.
 *
 * Every part is checked where it is read (the policy file, D-Bus) by the
 * functions below, for what it becomes: the name an environment variable
 * of the guest (and none the sandbox itself sets), the hosts egress rules
 * without a method or a path (a binding to every host, "*", would be no
 * binding), the header a field name that is not one of the proxy's own or
 * of the message's framing, the format a field value with one "{}".
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "cloche-error.h"
#include "cloche-secret-binding.h"

#define MAX_NAME 64
#define MAX_HEADER 64
#define MAX_FORMAT 256
#define MAX_VALUE 8192

/* Variables the sandbox sets itself, or that change what runs. */
static const char * const reserved_names[] = {
  "PATH", "HOME", "LANG", "USER", "LOGNAME", "SHELL", "TERM", "PWD", "TMPDIR", "IFS",
  "SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE",
  "GIT_SSL_CAINFO", "CURL_CA_BUNDLE", NULL
};
static const char * const reserved_prefixes[] = { "LD_", "LC_", "CLOCHE_", NULL };

/* Headers a binding cannot name: the proxy's, the connection's and the
 * framing's, which it sets or reads itself. */
static const char * const reserved_headers[] = {
  "Host", "Connection", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate",
  "Keep-Alive", "Upgrade", "TE", "Trailer", "Transfer-Encoding", "Content-Length",
  "Expect", NULL
};

static gboolean
cloche_secret_binding_invalid (GError     **error,
                               const char  *format,
                               ...) G_GNUC_PRINTF (2, 3);

static gboolean
cloche_secret_binding_invalid (GError     **error,
                               const char  *format,
                               ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (CLOCHE_ERROR, CLOCHE_ERROR_POLICY_INVALID, format, args);
  va_end (args);
  return FALSE;
}

static gboolean
cloche_secret_binding_is_reserved_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  if (g_strv_contains (reserved_names, name) || g_str_has_suffix (lower, "_proxy"))
    return TRUE;
  for (guint i = 0; reserved_prefixes[i] != NULL; i++)
    if (g_str_has_prefix (name, reserved_prefixes[i]))
      return TRUE;
  return FALSE;
}

/**
 * cloche_secret_name_check:
 *
 * Returns: whether @name can name a secret: an environment variable name
 *   (letters, digits and "_", not first a digit) the sandbox does not set
 */
gboolean
cloche_secret_name_check (const char  *name,
                          GError     **error)
{
  gsize length = strlen (name);

  if (length == 0 || length > MAX_NAME || g_ascii_isdigit (name[0])
      || strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
         != length)
    return cloche_secret_binding_invalid (error,
                                          _("“%s” cannot name a secret: the name is the "
                                            "environment variable the guest sees, so use letters, "
                                            "digits and “_” (not first a digit), at most %d, such "
                                            "as “ANTHROPIC_API_KEY”"),
                                          name, MAX_NAME);
  if (cloche_secret_binding_is_reserved_name (name))
    return cloche_secret_binding_invalid (error,
                                          _("“%s” cannot name a secret: the sandbox sets that "
                                            "environment variable itself; choose another name"),
                                          name);
  return TRUE;
}

/**
 * cloche_secret_host_check:
 *
 * Returns: whether @host can be a host of a binding: an egress rule
 *   without a method or a path, and not "*"
 */
gboolean
cloche_secret_host_check (const char  *host,
                          GError     **error)
{
  if (strpbrk (host, " /") != NULL || (host[0] == '*' && host[1] != '.'))
    return cloche_secret_binding_invalid (error,
                                          _("“%s” cannot be a secret's host: write a host name, "
                                            "“*.domain”, optionally followed by “:port”"), host);
  return cloche_egress_rule_check (host, error);
}

static gboolean
cloche_secret_binding_is_token (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (; *text != '\0'; text++)
    if (!g_ascii_isalnum (*text) && strchr ("!#$%&'*+-.^_`|~", *text) == NULL)
      return FALSE;
  return TRUE;
}

/**
 * cloche_secret_header_check:
 *
 * Returns: whether @header can carry a secret: a field name of at most
 *   64 characters that is not one the proxy or the framing uses
 */
gboolean
cloche_secret_header_check (const char  *header,
                            GError     **error)
{
  if (!cloche_secret_binding_is_token (header) || strlen (header) > MAX_HEADER)
    return cloche_secret_binding_invalid (error,
                                          _("“%s” is not a header name: use letters, digits and "
                                            "“-”, such as “Authorization” or “x-api-key”"), header);
  for (guint i = 0; reserved_headers[i] != NULL; i++)
    if (g_ascii_strcasecmp (header, reserved_headers[i]) == 0)
      return cloche_secret_binding_invalid (error,
                                            _("“%s” cannot carry a secret: the proxy sets or "
                                              "reads that header itself"), header);
  return TRUE;
}

/* Visible ASCII and spaces, none at either end: what goes into a header
 * value the same way for every reader. */
static gboolean
cloche_secret_binding_is_plain_text (const char *text,
                                     gsize       length)
{
  if (length == 0 || text[0] == ' ' || text[length - 1] == ' ')
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if ((guchar) text[i] < 0x20 || (guchar) text[i] > 0x7e)
      return FALSE;
  return TRUE;
}

/**
 * cloche_secret_format_check:
 *
 * Returns: whether @format can write a secret into a header: plain text
 *   of at most 256 characters with "{}" (the value) exactly once
 */
gboolean
cloche_secret_format_check (const char  *format,
                            GError     **error)
{
  const char *at = strstr (format, "{}");

  if (!cloche_secret_binding_is_plain_text (format, strlen (format)) || strlen (format) > MAX_FORMAT
      || at == NULL || strstr (at + 2, "{}") != NULL)
    return cloche_secret_binding_invalid (error,
                                          _("“%s” is not a format: write the header's value with "
                                            "“{}” once where the secret goes, such as “Bearer {}” "
                                            "or “{}”"), format);
  return TRUE;
}

/**
 * cloche_secret_value_check:
 *
 * Returns: whether @value can be a secret's value: what a header carries
 *   (visible ASCII and spaces inside, at most 8 KiB). The error never
 *   quotes it.
 */
gboolean
cloche_secret_value_check (const char  *value,
                           gsize        length,
                           GError     **error)
{
  if (length == 0)
    return cloche_secret_binding_invalid (error, _("The secret's value is empty"));
  if (length > MAX_VALUE)
    return cloche_secret_binding_invalid (error, _("The secret's value is longer than %d bytes"),
                                          MAX_VALUE);
  if (!cloche_secret_binding_is_plain_text (value, length))
    return cloche_secret_binding_invalid (error,
                                          _("The secret's value has a character a header cannot "
                                            "carry (a control character, a line end, a byte "
                                            "outside ASCII) or starts or ends with a space"));
  return TRUE;
}

void
cloche_secret_binding_free (ClocheSecretBinding *self)
{
  if (self == NULL)
    return;
  g_free (self->name);
  g_strfreev (self->hosts);
  g_free (self->header);
  g_free (self->format);
  g_clear_object (&self->match);
  g_free (self);
}

static gboolean
cloche_secret_binding_check_hosts (const char * const  *hosts,
                                   GError             **error)
{
  guint n = hosts != NULL ? g_strv_length ((char **) hosts) : 0;

  if (n == 0)
    return cloche_secret_binding_invalid (error, _("A secret needs at least one host to go to"));
  if (n > CLOCHE_SECRET_MAX_HOSTS)
    return cloche_secret_binding_invalid (error, _("A secret may go to at most %d hosts"),
                                          CLOCHE_SECRET_MAX_HOSTS);
  for (guint i = 0; i < n; i++)
    if (!cloche_secret_host_check (hosts[i], error))
      return FALSE;
  return TRUE;
}

/**
 * cloche_secret_binding_new:
 * @header: (nullable): %NULL for "Authorization"
 * @format: (nullable): %NULL for "Bearer {}"
 *
 * Returns: (transfer full) (nullable): the binding, or %NULL with
 *   %CLOCHE_ERROR_POLICY_INVALID naming the part that is wrong
 */
ClocheSecretBinding *
cloche_secret_binding_new (const char          *name,
                           const char * const  *hosts,
                           const char          *header,
                           const char          *format,
                           GError             **error)
{
  g_autoptr(ClocheSecretBinding) self = NULL;

  header = header != NULL ? header : CLOCHE_SECRET_DEFAULT_HEADER;
  format = format != NULL ? format : CLOCHE_SECRET_DEFAULT_FORMAT;
  if (!cloche_secret_name_check (name, error) || !cloche_secret_binding_check_hosts (hosts, error)
      || !cloche_secret_header_check (header, error) || !cloche_secret_format_check (format, error))
    return NULL;
  self = g_new0 (ClocheSecretBinding, 1);
  self->name = g_strdup (name);
  self->hosts = g_strdupv ((char **) hosts);
  self->header = g_strdup (header);
  self->format = g_strdup (format);
  self->match = cloche_egress_rules_new (FALSE, hosts, NULL, error);
  return self->match != NULL ? g_steal_pointer (&self) : NULL;
}

/**
 * cloche_secret_binding_new_from_variant:
 * @value: an a{sv} with "hosts" (as), "header" (s) and "format" (s), as
 *   cloche_secret_binding_to_variant() and the policy make it
 *
 * Returns: (transfer full) (nullable): the binding, checked again
 */
ClocheSecretBinding *
cloche_secret_binding_new_from_variant (const char  *name,
                                        GVariant    *value,
                                        GError     **error)
{
  g_auto(GVariantDict) dict = G_VARIANT_DICT_INIT (NULL);
  g_autofree const char **hosts = NULL;
  const char *header = NULL, *format = NULL;

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_VARDICT))
    {
      cloche_secret_binding_invalid (error, _("The binding of “%s” is not a dictionary"), name);
      return NULL;
    }
  g_variant_dict_init (&dict, value);
  g_variant_dict_lookup (&dict, "hosts", "^a&s", &hosts);
  g_variant_dict_lookup (&dict, "header", "&s", &header);
  g_variant_dict_lookup (&dict, "format", "&s", &format);
  return cloche_secret_binding_new (name, hosts, header, format, error);
}

/**
 * cloche_secret_binding_to_variant:
 *
 * Returns: (transfer floating): "hosts" as, "header" s, "format" s, in
 *   that order (a dictionary would print in the order of its hash)
 */
GVariant *
cloche_secret_binding_to_variant (const ClocheSecretBinding *self)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "hosts",
                         g_variant_new_strv ((const char * const *) self->hosts, -1));
  g_variant_builder_add (&builder, "{sv}", "header", g_variant_new_string (self->header));
  g_variant_builder_add (&builder, "{sv}", "format", g_variant_new_string (self->format));
  return g_variant_builder_end (&builder);
}

/**
 * cloche_secret_binding_covers:
 * @host: a host as the guest asked for it
 *
 * Returns: whether the secret may go to @host on @port
 */
gboolean
cloche_secret_binding_covers (const ClocheSecretBinding *self,
                              const char                *host,
                              guint16                    port)
{
  return cloche_egress_rules_decide (self->match, host, port, NULL);
}

/**
 * cloche_secret_binding_format:
 *
 * Returns: (transfer full): the header value with @value (a value or a
 *   placeholder) in place of "{}"
 */
char *
cloche_secret_binding_format (const ClocheSecretBinding *self,
                              const char                *value)
{
  const char *at = strstr (self->format, "{}");

  return g_strdup_printf ("%.*s%s%s", (int) (at - self->format), self->format, value, at + 2);
}
