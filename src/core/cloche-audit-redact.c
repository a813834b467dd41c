/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Redaction for what leaves the machine (the support report): secrets and
 * home folders. Home folders give away user names and project names;
 * secrets turn up in command lines (curl -H "Authorization: Bearer …"),
 * in URLs with a user and password, and in policy or config values. The
 * patterns err on the side of removing too much: a report with a value
 * blanked out is still useful, one with a token in it is a leak.
 */
#include "config.h"

#include "cloche-audit-redact.h"

#define REDACTED "<redacted>"

typedef struct
{
  const char *pattern;
  const char *replacement;
} Rule;

static const Rule rules[] = {
  /* Authorization: Bearer/Basic <credentials> */
  { "(?i)\\b(authorization\\s*[:=]\\s*\"?\\s*)(bearer|basic|token)?\\s*[^\\s\",}]+",
    "\\1\\2 " REDACTED },
  { "(?i)\\b(bearer)\\s+[A-Za-z0-9._~+/=-]{8,}", "\\1 " REDACTED },
  /* name=value, name: value, "name": "value" for names that hold secrets */
  { "(?i)\\b([A-Za-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|"
    "private[_-]?key|credentials?|cookie|session[_-]?key)[A-Za-z0-9_.-]*)"
    "(\"?\\s*[:=]\\s*)(\"?)[^\\s\",;}&]+",
    "\\1\\2\\3" REDACTED },
  /* --password X, --token X style options */
  { "(?i)(--?(?:password|passwd|token|secret|api-key|key))(\\s+|\",\\s*\")[^\\s\",]+",
    "\\1\\2" REDACTED },
  /* user:password@ in URLs */
  { "([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\\s:@\"]+:[^/\\s@\"]+@", "\\1" REDACTED "@" },
  /* Well-known token shapes, wherever they stand */
  { "\\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}", REDACTED },
  { "\\bgh[pousr]_[A-Za-z0-9]{20,}", REDACTED },
  { "\\bglpat-[A-Za-z0-9_-]{16,}", REDACTED },
  { "\\bxox[abprs]-[A-Za-z0-9-]{10,}", REDACTED },
  { "\\bAKIA[0-9A-Z]{16}\\b", REDACTED },
  { "\\beyJ[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}\\.[A-Za-z0-9_-]{10,}", REDACTED },
  { "-----BEGIN [A-Z ]*PRIVATE KEY-----[^-]*-----END [A-Z ]*PRIVATE KEY-----", REDACTED },
  /* Other people's home folders, and /root */
  { "/home/[^/\\s\"']+", "/home/<user>" },
};

static char *
cloche_audit_redact_replace_home (const char *text,
                                  const char *home)
{
  g_autofree char *escaped = NULL;
  g_autofree char *pattern = NULL;
  g_autoptr(GRegex) regex = NULL;

  if (home == NULL || strlen (home) < 2)
    return g_strdup (text);
  escaped = g_regex_escape_string (home, -1);
  /* The home folder itself and below it, not /home/annex when home is /home/ann. */
  pattern = g_strconcat (escaped, "(?![A-Za-z0-9_.-])", NULL);
  regex = g_regex_new (pattern, 0, 0, NULL);
  return g_regex_replace_literal (regex, text, -1, 0, "~", 0, NULL);
}

/**
 * cloche_audit_redact:
 * @home: (nullable): the home folder to write as "~"
 *
 * Returns: (transfer full): @text with secrets and home folders replaced
 */
char *
cloche_audit_redact (const char *text,
                     const char *home)
{
  char *result = cloche_audit_redact_replace_home (text, home);

  for (guint i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      g_autoptr(GRegex) regex = g_regex_new (rules[i].pattern, G_REGEX_OPTIMIZE, 0, NULL);
      char *next;

      g_assert (regex != NULL);
      next = g_regex_replace (regex, result, -1, 0, rules[i].replacement, 0, NULL);
      g_free (result);
      result = next;
    }
  return result;
}
