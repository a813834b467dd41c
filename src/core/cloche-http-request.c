/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The head of a request the guest sends to the egress proxy, from bytes to
 * a parsed request or an error that says what is wrong with it. Nothing
 * here does I/O or keeps state, so a fuzzer can be put on
 * cloche_http_request_parse() as it is.
 *
 * The parser is strict where leniency would let a request mean two things
 * (to us and to the server behind us): one space between the parts of the
 * request line, no folded header lines, no Content-Length beside a
 * Transfer-Encoding, no Transfer-Encoding in HTTP/1.0, no user name in the
 * target's authority, a host in the one form it is reached by. A field sent
 * on several lines is read as one list, as the server reads it, and the
 * framing headers never count as hop-by-hop, whatever Connection names:
 * the proxy forwards a body as it framed it, so the server must frame it
 * the same way. The head itself is forwarded rewritten (one line end, one
 * space), so a bare LF is taken as a line end, as RFC 9112 allows.
 *
 * Inside the TLS the proxy ends for a host bound to a secret, requests
 * come in origin-form ("POST /v1/messages HTTP/1.1") to the host the
 * CONNECT named: cloche_http_request_parse_origin() takes that host from
 * the tunnel and refuses a Host header that names another (the request
 * would reach a name the rules never decided).
 *
 * Error messages quote what the client sent; they are made printable,
 * valid UTF-8 and short, since they go to the decision log, the audit log
 * and D-Bus.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "cloche-http-private.h"

/* A session id in a Proxy-Authorization user name (cloche-session.c makes
 * them from these characters); anything else counts as no session. */
#define MAX_PROXY_USER 64
/* Longer than any method in use; a longer one would only fill the log. */
#define MAX_METHOD 64
/* Of an error message, in bytes (before a closing ellipsis). */
#define MAX_MESSAGE 300

/* Wiped: a header may hold a secret's value the proxy wrote in. */
static void
cloche_http_request_header_clear (ClocheHttpHeader *header)
{
  g_free (header->name);
  if (header->value != NULL)
    explicit_bzero (header->value, strlen (header->value));
  g_free (header->value);
}

void
cloche_http_request_free (ClocheHttpRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->method);
  g_free (request->target);
  g_free (request->version);
  g_free (request->host);
  g_free (request->path);
  g_clear_pointer (&request->headers, g_array_unref);
  g_free (request->proxy_user);
  g_free (request);
}

/**
 * cloche_http_request_head_length:
 * @data: what the client has sent so far
 * @length: its length
 *
 * Returns: the length of the head up to and including its blank line, or
 *   -1 if the blank line has not arrived yet
 */
gssize
cloche_http_request_head_length (const char *data,
                                 gsize       length)
{
  for (gsize i = 0; i + 1 < length; i++)
    {
      if (data[i] != '\n')
        continue;
      if (data[i + 1] == '\n')
        return (gssize) (i + 2);
      if (data[i + 1] == '\r' && i + 2 < length && data[i + 2] == '\n')
        return (gssize) (i + 3);
    }
  return -1;
}

static gboolean
cloche_http_request_is_tchar (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static gboolean
cloche_http_request_is_token (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (; *text != '\0'; text++)
    if (!cloche_http_request_is_tchar (*text))
      return FALSE;
  return TRUE;
}

/* Printable ASCII without spaces: what a request-target is made of. */
static gboolean
cloche_http_request_is_visible (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (; *text != '\0'; text++)
    if ((guchar) *text <= 0x20 || (guchar) *text >= 0x7f)
      return FALSE;
  return TRUE;
}

static gboolean
cloche_http_request_fail (GError     **error,
                          const char  *format,
                          ...) G_GNUC_PRINTF (2, 3);

/* @text as valid UTF-8 without control characters, cut short. */
static char *
cloche_http_request_printable (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *out = g_string_new (NULL);
  const char *c = valid;

  for (; *c != '\0' && out->len < MAX_MESSAGE; c = g_utf8_next_char (c))
    {
      gunichar u = g_utf8_get_char (c);

      if (g_unichar_iscntrl (u))
        g_string_append_c (out, '?');
      else
        g_string_append_unichar (out, u);
    }
  if (*c != '\0')
    g_string_append (out, "…");
  return g_string_free (out, FALSE);
}

static gboolean
cloche_http_request_fail (GError     **error,
                          const char  *format,
                          ...)
{
  g_autofree char *message = NULL;
  va_list args;

  if (error == NULL)
    return FALSE;
  g_return_val_if_fail (*error == NULL, FALSE);
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
  g_free ((*error)->message);
  (*error)->message = cloche_http_request_printable (message);
  return FALSE;
}

/* A label as the resolver would read a number: digits, or 0x and hex
 * digits (inet_aton(3) reads "1.2.3.4", "16909060", "0x01020304",
 * "001.2.3.4"). No top-level domain looks like one. */
static gboolean
cloche_http_request_is_numeric_label (const char *label)
{
  if (label[0] == '0' && (label[1] == 'x' || label[1] == 'X'))
    return strspn (label + 2, "0123456789abcdefABCDEF") == strlen (label + 2);
  return *label != '\0' && strspn (label, "0123456789") == strlen (label);
}

/* cloche_http_request_fail () for a function that returns a string. */
#define FAIL_NULL(...) (cloche_http_request_fail (__VA_ARGS__), NULL)

/* A name of non-empty labels, without the trailing dot of a fully
 * qualified one; NULL if it is not a name. */
static char *
cloche_http_request_canonical_name (const char  *host,
                                    GError     **error)
{
  g_autofree char *name = g_ascii_strdown (host, -1);
  gsize length = strlen (name);
  g_auto(GStrv) labels = NULL;
  guint n;

  if (length > 1 && name[length - 1] == '.')
    name[--length] = '\0';
  if (length == 0 || length > 253
      || strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789-._") != length)
    return FAIL_NULL (error, "“%s” is not a host name", host);
  labels = g_strsplit (name, ".", -1);
  n = g_strv_length (labels);
  for (guint i = 0; i < n; i++)
    if (labels[i][0] == '\0' || strlen (labels[i]) > 63)
      return FAIL_NULL (error, "“%s” is not a host name: it has an empty or too long part",
                        host);
  if (cloche_http_request_is_numeric_label (labels[n - 1]))
    return FAIL_NULL (error, "“%s” is not a host name, and not an IPv4 address written the "
                      "usual way (four decimal numbers without leading zeros)", host);
  return g_steal_pointer (&name);
}

/**
 * cloche_http_canonical_host:
 * @host: a host as a client or a rule wrote it, an IPv6 address without
 *   its brackets
 * @error: what is wrong with it (%G_IO_ERROR_INVALID_DATA)
 *
 * The one form a host is decided, logged and reached by: an address in
 * its canonical text (an IPv4 address written inside IPv6, ::ffff:a.b.c.d,
 * as the IPv4 address it reaches), a name in lower case without its
 * trailing dot. What the resolver would read as an address but is not one
 * in the usual form ("16909060", "0x7f.1", "001.2.3.4") is refused: a rule
 * naming 1.2.3.4 would not match it, and the connection would reach it.
 *
 * Returns: (transfer full) (nullable): the canonical host, or %NULL
 */
char *
cloche_http_canonical_host (const char  *host,
                            GError     **error)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (host);
  const guint8 *bytes;

  if (address == NULL && strchr (host, ':') != NULL)
    return FAIL_NULL (error, "“%s” is not an IPv6 address", host);
  if (address == NULL)
    return cloche_http_request_canonical_name (host, error);
  bytes = g_inet_address_to_bytes (address);
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
      && memcmp (bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
    return g_strdup_printf ("%u.%u.%u.%u", bytes[12], bytes[13], bytes[14], bytes[15]);
  return g_inet_address_to_string (address);
}

static gboolean
cloche_http_request_parse_port (const char  *text,
                                guint16     *port)
{
  guint64 value = 0;

  /* Digits only: g_ascii_string_to_unsigned would take a leading "+". */
  for (const char *c = text; *c != '\0'; c++)
    if (!g_ascii_isdigit (*c))
      return FALSE;
  if (!g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT16, &value, NULL))
    return FALSE;
  *port = (guint16) value;
  return TRUE;
}

/* "host", "host:port", "[v6]" or "[v6]:port" into request->host/port;
 * @default_port without a port, or 0 if one is needed. */
static gboolean
cloche_http_request_parse_authority (ClocheHttpRequest  *request,
                                     const char         *authority,
                                     guint16             default_port,
                                     GError            **error)
{
  g_autofree char *host = NULL;
  const char *colon;

  if (strchr (authority, '@') != NULL)
    return cloche_http_request_fail (error,
                                     "The address “%s” has a user name in it: the proxy does not "
                                     "take one there", authority);
  if (authority[0] == '[')
    {
      const char *close = strchr (authority, ']');

      if (close == NULL || (close[1] != '\0' && close[1] != ':'))
        return cloche_http_request_fail (error,
                                         "“%s” is not a host: an IPv6 address must be in brackets, "
                                         "followed by nothing or “:port”", authority);
      host = g_strndup (authority + 1, close - authority - 1);
      if (strchr (host, ':') == NULL)
        return cloche_http_request_fail (error, "“%s” is not an IPv6 address", host);
      colon = close[1] == ':' ? close + 1 : NULL;
    }
  else
    {
      colon = strrchr (authority, ':');
      host = colon != NULL ? g_strndup (authority, colon - authority) : g_strdup (authority);
      if (strchr (host, ':') != NULL)
        return cloche_http_request_fail (error, "“%s” is not a host name", host);
    }
  if (colon == NULL && default_port == 0)
    return cloche_http_request_fail (error, "CONNECT needs “host:port”, not “%s”", authority);
  request->port = default_port;
  if (colon != NULL && !cloche_http_request_parse_port (colon + 1, &request->port))
    return cloche_http_request_fail (error,
                                     "“%s” is not a port: it must be a number from 1 to 65535",
                                     colon + 1);
  request->host = cloche_http_canonical_host (host, error);
  return request->host != NULL;
}

/* Where the authority of an absolute target starts (@authority), and the
 * default port of its scheme: 80 for http://, 443 for https://, 0 for any
 * other. */
static guint16
cloche_http_request_absolute_scheme (const char  *target,
                                     const char **authority)
{
  if (g_ascii_strncasecmp (target, "http://", 7) == 0)
    {
      *authority = target + 7;
      return 80;
    }
  if (g_ascii_strncasecmp (target, "https://", 8) == 0)
    {
      *authority = target + 8;
      return 443;
    }
  return 0;
}

/* An absolute "http://authority/path" target: what a client sends to a
 * proxy for plain HTTP. */
static gboolean
cloche_http_request_parse_absolute_target (ClocheHttpRequest  *request,
                                           GError            **error)
{
  const char *target = request->target;
  const char *authority = NULL, *end;
  g_autofree char *host_part = NULL;
  guint16 default_port = cloche_http_request_absolute_scheme (target, &authority);

  if (target[0] == '/' || target[0] == '*')
    return cloche_http_request_fail (error,
                                     "“%s %s” is a request for this proxy itself: send the full "
                                     "URL (“http://host/path”), or CONNECT for HTTPS",
                                     request->method, target);
  if (default_port == 443)
    return cloche_http_request_fail (error,
                                     "“%s” must go through CONNECT: the proxy does not speak TLS "
                                     "for the client", target);
  if (default_port == 0)
    return cloche_http_request_fail (error,
                                     "“%s” is not an http:// URL: the proxy forwards only those, "
                                     "and CONNECT tunnels", target);
  end = authority + strcspn (authority, "/?#");
  host_part = g_strndup (authority, end - authority);
  request->default_port = default_port;
  if (!cloche_http_request_parse_authority (request, host_part, default_port, error))
    return FALSE;
  /* The fragment is the client's business and never goes on the wire. */
  request->path = g_strndup (end, strcspn (end, "#"));
  if (request->path[0] != '/')
    {
      char *path = g_strconcat ("/", request->path, NULL);

      g_free (request->path);
      request->path = path;
    }
  return TRUE;
}

static gboolean
cloche_http_request_is_method (const char *text)
{
  return cloche_http_request_is_token (text) && strlen (text) <= MAX_METHOD;
}

static gboolean cloche_http_request_parse_origin_target (ClocheHttpRequest  *request,
                                                         GError            **error);

/* @origin: inside a tunnel the proxy opened, where targets are origin-form. */
static gboolean
cloche_http_request_parse_request_line (ClocheHttpRequest  *request,
                                        const char         *line,
                                        gboolean            origin,
                                        GError            **error)
{
  g_auto(GStrv) parts = g_strsplit (line, " ", -1);

  if (g_strv_length (parts) != 3 || !cloche_http_request_is_method (parts[0])
      || !cloche_http_request_is_visible (parts[1]))
    return cloche_http_request_fail (error, "The request line is not “METHOD target HTTP/1.1”");
  if (!g_str_equal (parts[2], "HTTP/1.1") && !g_str_equal (parts[2], "HTTP/1.0"))
    return cloche_http_request_fail (error, "“%s” is not HTTP/1.1 or HTTP/1.0", parts[2]);
  request->method = g_strdup (parts[0]);
  request->target = g_strdup (parts[1]);
  request->version = g_strdup (parts[2]);
  request->connect = g_str_equal (request->method, "CONNECT");
  if (origin)
    return cloche_http_request_parse_origin_target (request, error);
  if (request->connect)
    return cloche_http_request_parse_authority (request, request->target, 0, error);
  return cloche_http_request_parse_absolute_target (request, error);
}

/* Control characters other than tab make a value mean different things to
 * different readers; bytes above 0x7f (obs-text) are allowed. */
static gboolean
cloche_http_request_is_field_value (const char *value)
{
  for (; *value != '\0'; value++)
    if (((guchar) *value < 0x20 && *value != '\t') || (guchar) *value == 0x7f)
      return FALSE;
  return TRUE;
}

gboolean
_cloche_http_parse_header (GArray      *headers,
                           const char  *line,
                           GError     **error)
{
  const char *colon = strchr (line, ':');
  ClocheHttpHeader header;

  if (line[0] == ' ' || line[0] == '\t')
    return cloche_http_request_fail (error,
                                     "A header line starts with white space (folded headers are "
                                     "not accepted)");
  if (colon == NULL)
    return cloche_http_request_fail (error, "A header line has no colon");
  header.name = g_strndup (line, colon - line);
  header.value = g_strstrip (g_strdup (colon + 1));
  if (!cloche_http_request_is_token (header.name)
      || !cloche_http_request_is_field_value (header.value))
    {
      g_autofree char *name = g_strescape (header.name, NULL);

      cloche_http_request_header_clear (&header);
      return cloche_http_request_fail (error, "The header “%s” has a bad name or value", name);
    }
  g_array_append_val (headers, header);
  return TRUE;
}

static const char *
cloche_http_request_find_header (GArray     *headers,
                                 const char *name)
{
  for (guint i = 0; i < headers->len; i++)
    {
      ClocheHttpHeader *header = &g_array_index (headers, ClocheHttpHeader, i);

      if (g_ascii_strcasecmp (header->name, name) == 0)
        return header->value;
    }
  return NULL;
}

/* Every line of the field @name as one list (RFC 9110 5.3), as a server
 * reads them; NULL if there is none. */
char *
_cloche_http_dup_list (GArray     *headers,
                       const char *name)
{
  GString *list = NULL;

  for (guint i = 0; i < headers->len; i++)
    {
      ClocheHttpHeader *header = &g_array_index (headers, ClocheHttpHeader, i);

      if (g_ascii_strcasecmp (header->name, name) != 0)
        continue;
      if (list == NULL)
        list = g_string_new (header->value);
      else
        g_string_append_printf (list, ", %s", header->value);
    }
  return list != NULL ? g_string_free (list, FALSE) : NULL;
}

/**
 * cloche_http_has_token:
 * @list: (nullable): a header value that is a comma-separated list
 *
 * Returns: whether @token is one of its elements (in any case)
 */
gboolean
cloche_http_has_token (const char *list,
                       const char *token)
{
  g_auto(GStrv) items = NULL;

  if (list == NULL)
    return FALSE;
  items = g_strsplit (list, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    if (g_ascii_strcasecmp (g_strstrip (items[i]), token) == 0)
      return TRUE;
  return FALSE;
}

/* The last coding of a Transfer-Encoding list. */
static gboolean
cloche_http_request_ends_in_chunked (const char *value)
{
  const char *last = strrchr (value, ',');
  g_autofree char *coding = g_strstrip (g_strdup (last != NULL ? last + 1 : value));

  return g_ascii_strcasecmp (coding, "chunked") == 0;
}

/* A body the proxy and the server (or the client) would measure
 * differently is how one message smuggles another past a proxy; so is a
 * request whose end the proxy cannot find. @body is LENGTH or CHUNKED if
 * the headers say so, else left as it is. */
gboolean
_cloche_http_parse_framing (GArray          *headers,
                            gboolean         is_request,
                            ClocheHttpBody  *body,
                            guint64         *body_length,
                            GError         **error)
{
  g_autofree char *coding = _cloche_http_dup_list (headers, "Transfer-Encoding");
  const char *length = NULL;

  for (guint i = 0; i < headers->len; i++)
    {
      ClocheHttpHeader *header = &g_array_index (headers, ClocheHttpHeader, i);

      if (g_ascii_strcasecmp (header->name, "Content-Length") != 0)
        continue;
      if (*header->value == '\0' || strspn (header->value, "0123456789") != strlen (header->value)
          || !g_ascii_string_to_unsigned (header->value, 10, 0, G_MAXINT64, body_length, NULL))
        return cloche_http_request_fail (error, "Content-Length “%s” is not a number",
                                         header->value);
      if (length != NULL && !g_str_equal (length, header->value))
        return cloche_http_request_fail (error, "Two different Content-Length headers");
      length = header->value;
    }
  if (length != NULL && coding != NULL)
    return cloche_http_request_fail (error, "Content-Length and Transfer-Encoding together");
  if (coding != NULL && cloche_http_request_ends_in_chunked (coding))
    *body = CLOCHE_HTTP_BODY_CHUNKED;
  else if (coding != NULL && is_request)
    return cloche_http_request_fail (error,
                                     "Transfer-Encoding “%s” does not end in chunked, so the end "
                                     "of the request cannot be found", coding);
  else if (coding != NULL)
    *body = CLOCHE_HTTP_BODY_CLOSE;
  else if (length != NULL)
    *body = CLOCHE_HTTP_BODY_LENGTH;
  return TRUE;
}

static gboolean
cloche_http_request_check_framing (ClocheHttpRequest  *request,
                                   GError            **error)
{
  g_autofree char *connection = _cloche_http_dup_list (request->headers, "Connection");
  g_autofree char *proxy_connection = _cloche_http_dup_list (request->headers,
                                                             "Proxy-Connection");

  request->body = CLOCHE_HTTP_BODY_NONE;
  if (!_cloche_http_parse_framing (request->headers, TRUE, &request->body,
                                   &request->body_length, error))
    return FALSE;
  if (request->body == CLOCHE_HTTP_BODY_CHUNKED && g_str_equal (request->version, "HTTP/1.0"))
    return cloche_http_request_fail (error,
                                     "Transfer-Encoding in an HTTP/1.0 request: HTTP/1.0 has no "
                                     "chunked coding, so a server may read the body otherwise");
  if (request->body == CLOCHE_HTTP_BODY_LENGTH && request->body_length == 0)
    request->body = CLOCHE_HTTP_BODY_NONE;
  /* HTTP/1.0's "keep-alive" is left out: such a client gets one answer. */
  request->keep_alive = g_str_equal (request->version, "HTTP/1.1")
                        && !cloche_http_has_token (connection, "close")
                        && !cloche_http_has_token (proxy_connection, "close");
  return TRUE;
}

/* "Basic base64(user[:password])" → user, when it looks like a session id. */
static char *
cloche_http_request_parse_proxy_user (const char *credentials)
{
  g_autofree guchar *decoded = NULL;
  g_autofree char *user = NULL;
  gsize length = 0;

  if (credentials == NULL || g_ascii_strncasecmp (credentials, "Basic ", 6) != 0)
    return NULL;
  decoded = g_base64_decode (credentials + 6, &length);
  user = g_strndup ((const char *) decoded, length);
  user[strcspn (user, ":")] = '\0';
  if (*user == '\0' || strlen (user) > MAX_PROXY_USER
      || strspn (user, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
         != strlen (user))
    return NULL;
  return g_steal_pointer (&user);
}

static gboolean
cloche_http_request_parse_lines (ClocheHttpRequest  *request,
                                 GStrv               lines,
                                 gboolean            origin,
                                 GError            **error)
{
  guint count = 0;

  if (lines[0] == NULL || lines[0][0] == '\0')
    return cloche_http_request_fail (error, "The request is empty");
  if (!cloche_http_request_parse_request_line (request, lines[0], origin, error))
    return FALSE;
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      if (++count > CLOCHE_HTTP_MAX_HEADERS)
        return cloche_http_request_fail (error, "More than %d header lines",
                                         CLOCHE_HTTP_MAX_HEADERS);
      if (!_cloche_http_parse_header (request->headers, lines[i], error))
        return FALSE;
    }
  return cloche_http_request_check_framing (request, error);
}

/* The lines of a head, without their line ends; NULL for a NUL byte. */
GStrv
_cloche_http_split_lines (const char  *head,
                          gsize        length,
                          GError     **error)
{
  g_autofree char *text = NULL;
  GStrv lines;

  if (memchr (head, '\0', length) != NULL)
    {
      cloche_http_request_fail (error, "The head has a NUL byte in it");
      return NULL;
    }
  text = g_strndup (head, length);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gsize line_length = strlen (lines[i]);

      if (line_length > 0 && lines[i][line_length - 1] == '\r')
        lines[i][line_length - 1] = '\0';
    }
  return lines;
}

static ClocheHttpRequest *
cloche_http_request_new (void)
{
  ClocheHttpRequest *request = g_new0 (ClocheHttpRequest, 1);

  request->headers = g_array_new (FALSE, TRUE, sizeof (ClocheHttpHeader));
  g_array_set_clear_func (request->headers, (GDestroyNotify) cloche_http_request_header_clear);
  return request;
}

/**
 * cloche_http_request_parse:
 * @head: a request head: the bytes cloche_http_request_head_length() measured
 * @length: its length
 * @error: where what is wrong with it goes (%G_IO_ERROR_INVALID_DATA)
 *
 * Returns: (transfer full) (nullable): the request, or %NULL
 */
ClocheHttpRequest *
cloche_http_request_parse (const char  *head,
                           gsize        length,
                           GError     **error)
{
  g_autoptr(ClocheHttpRequest) request = cloche_http_request_new ();
  g_auto(GStrv) lines = NULL;

  if (length == 0)
    {
      cloche_http_request_fail (error, "The request is empty");
      return NULL;
    }
  lines = _cloche_http_split_lines (head, length, error);
  if (lines == NULL)
    return NULL;
  if (!cloche_http_request_parse_lines (request, lines, FALSE, error))
    return NULL;
  request->proxy_user =
    cloche_http_request_parse_proxy_user (cloche_http_request_get_header (request,
                                                                          "Proxy-Authorization"));
  return g_steal_pointer (&request);
}

/* "/path…" inside a tunnel the proxy opened: the host is the tunnel's
 * (set by the caller afterwards). "*" (OPTIONS for the server as a whole)
 * is not forwarded. */
static gboolean
cloche_http_request_parse_origin_target (ClocheHttpRequest  *request,
                                         GError            **error)
{
  if (request->connect)
    return cloche_http_request_fail (error,
                                     "CONNECT inside a tunnel: the proxy opened this one for its "
                                     "host only");
  if (request->target[0] != '/')
    return cloche_http_request_fail (error,
                                     "“%s %s” is not a request for a path on this host (“%s "
                                     "/path”): inside this tunnel the proxy takes only those",
                                     request->method, request->target,
                                     request->method);
  /* The fragment is the client's business and never goes on the wire. */
  request->path = g_strndup (request->target, strcspn (request->target, "#"));
  return TRUE;
}

/* The one Host header an origin-form request must have (RFC 9112 3.2),
 * naming the tunnel's host and port. */
static gboolean
cloche_http_request_check_host_header (ClocheHttpRequest  *request,
                                       GError            **error)
{
  g_autoptr(ClocheHttpRequest) named = cloche_http_request_new ();
  const char *value = NULL;
  guint count = 0;

  for (guint i = 0; i < request->headers->len; i++)
    {
      ClocheHttpHeader *header = &g_array_index (request->headers, ClocheHttpHeader, i);

      if (g_ascii_strcasecmp (header->name, "Host") == 0 && count++ == 0)
        value = header->value;
    }
  if (count != 1)
    return cloche_http_request_fail (error,
                                     "A request inside the tunnel needs one Host header, not %u",
                                     count);
  if (!cloche_http_request_parse_authority (named, value, request->default_port, error))
    return FALSE;
  if (!g_str_equal (named->host, request->host) || named->port != request->port)
    return cloche_http_request_fail (error,
                                     "The Host header names “%s”, not the tunnel's host: a "
                                     "request inside it goes to the host the CONNECT named", value);
  return TRUE;
}

/**
 * cloche_http_request_parse_origin:
 * @head: a request head read inside a tunnel the proxy opened
 * @length: its length
 * @host: the tunnel's host, canonical (the CONNECT's)
 * @port: the tunnel's port
 * @error: where what is wrong with it goes (%G_IO_ERROR_INVALID_DATA)
 *
 * A request in origin-form ("GET /path HTTP/1.1"), whose Host header
 * must name @host and @port. Its @default_port is 443 (TLS).
 *
 * Returns: (transfer full) (nullable): the request, or %NULL
 */
ClocheHttpRequest *
cloche_http_request_parse_origin (const char  *head,
                                  gsize        length,
                                  const char  *host,
                                  guint16      port,
                                  GError     **error)
{
  g_autoptr(ClocheHttpRequest) request = cloche_http_request_new ();
  g_auto(GStrv) lines = NULL;

  if (length == 0)
    {
      cloche_http_request_fail (error, "The request is empty");
      return NULL;
    }
  lines = _cloche_http_split_lines (head, length, error);
  if (lines == NULL)
    return NULL;
  request->host = g_strdup (host);
  request->port = port;
  request->default_port = 443;
  if (!cloche_http_request_parse_lines (request, lines, TRUE, error)
      || !cloche_http_request_check_host_header (request, error))
    return NULL;
  return g_steal_pointer (&request);
}

/* The host and port of a CONNECT authority or an absolute target, or
 * none: nothing else is taken from a head that did not parse. */
static void
cloche_http_request_peek_target (ClocheHttpRequest *request,
                                 const char        *target)
{
  g_autofree char *authority = NULL;
  const char *start = target;
  guint16 default_port = 0;

  if (!g_str_equal (request->method, "CONNECT")
      && (default_port = cloche_http_request_absolute_scheme (target, &start)) == 0)
    return;
  authority = g_strndup (start, strcspn (start, "/?#"));
  if (!cloche_http_request_is_visible (authority)
      || !cloche_http_request_parse_authority (request, authority, default_port, NULL))
    {
      g_clear_pointer (&request->host, g_free);
      request->port = 0;
    }
}

/**
 * cloche_http_request_peek:
 * @head: a head cloche_http_request_parse() refused, or any bytes
 * @length: its length
 *
 * What a request asked for as far as its request line tells, for the log
 * of its refusal: a decision names a method and a host even when the rest
 * could not be read (busybox wget sends "GET https://…" to a proxy).
 *
 * Returns: (transfer full): a request with only @method ("" unless the
 *   line starts with a method), @host (%NULL unless the target names one,
 *   in its canonical form), @port (0 without a host), the header lines
 *   that parse and @proxy_user
 */
ClocheHttpRequest *
cloche_http_request_peek (const char *head,
                          gsize       length)
{
  g_autoptr(ClocheHttpRequest) request = cloche_http_request_new ();
  g_autofree char *text = g_strndup (head, length);
  g_auto(GStrv) lines = g_strsplit (text, "\n", CLOCHE_HTTP_MAX_HEADERS + 2);
  g_auto(GStrv) parts = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    lines[i][strcspn (lines[i], "\r")] = '\0';
  parts = g_strsplit (lines[0] != NULL ? lines[0] : "", " ", 3);
  request->method =
    g_strdup (parts[0] != NULL && cloche_http_request_is_method (parts[0]) ? parts[0] : "");
  if (parts[0] != NULL && parts[1] != NULL)
    cloche_http_request_peek_target (request, parts[1]);
  /* The headers that parse, for the session the request names. */
  for (guint i = 1; lines[0] != NULL && lines[i] != NULL && lines[i][0] != '\0'; i++)
    if (i <= CLOCHE_HTTP_MAX_HEADERS)
      _cloche_http_parse_header (request->headers, lines[i], NULL);
  request->proxy_user =
    cloche_http_request_parse_proxy_user (cloche_http_request_find_header (request->headers,
                                                                           "Proxy-Authorization"));
  return g_steal_pointer (&request);
}

/**
 * cloche_http_request_get_header:
 *
 * Returns: (nullable): the value of the first header called @name (in any case)
 */
const char *
cloche_http_request_get_header (const ClocheHttpRequest *request,
                                const char              *name)
{
  return cloche_http_request_find_header (request->headers, name);
}

/**
 * cloche_http_request_set_header:
 * @index: of the header in @request's headers
 * @value: its new value (a field value: checked by the caller)
 */
void
cloche_http_request_set_header (ClocheHttpRequest *request,
                                guint              index,
                                const char        *value)
{
  ClocheHttpHeader *header;

  g_return_if_fail (index < request->headers->len);

  header = &g_array_index (request->headers, ClocheHttpHeader, index);
  explicit_bzero (header->value, strlen (header->value));
  g_free (header->value);
  header->value = g_strdup (value);
}

/**
 * cloche_http_request_dup_authority:
 *
 * Returns: (transfer full): "host:port", with an IPv6 host in brackets
 */
char *
cloche_http_request_dup_authority (const ClocheHttpRequest *request)
{
  if (strchr (request->host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", request->host, request->port);
  return g_strdup_printf ("%s:%u", request->host, request->port);
}

/* Meant for this hop only (RFC 9110 7.6.1): the fixed ones, the proxy's
 * own, and any @connection (the message's Connection list) names, except
 * the framing headers: the proxy passes a body on as they frame it, so
 * they must reach the other side, whatever Connection says (else the body
 * is, to the other side, something else: a second request nobody decided). */
gboolean
_cloche_http_is_hop_header (const char *connection,
                            const char *name)
{
  static const char * const hop[] = {
    "Host", "Proxy-Authorization", "Proxy-Connection", "Connection", "Keep-Alive",
    "Proxy-Authenticate", "Upgrade", "TE", NULL
  };

  if (g_ascii_strcasecmp (name, "Content-Length") == 0
      || g_ascii_strcasecmp (name, "Transfer-Encoding") == 0)
    return FALSE;
  for (guint i = 0; hop[i] != NULL; i++)
    if (g_ascii_strcasecmp (name, hop[i]) == 0)
      return TRUE;
  return cloche_http_has_token (connection, name);
}

/**
 * cloche_http_request_dup_forward_head:
 * @request: a request that is not CONNECT
 * @keep: whether the proxy means to keep the connection to the server
 *   for a later request (then an HTTP/1.1 request says nothing, which
 *   means "keep"; an HTTP/1.0 one is never kept)
 * @length: (out): the length of the result
 *
 * The head to send to the server: origin-form target, Host from the
 * target (RFC 9112 3.2.2: a proxy replaces the client's), the headers
 * meant for this hop removed, and "Connection: close" unless kept.
 *
 * Returns: (transfer full): the head, ending in its blank line
 */
char *
cloche_http_request_dup_forward_head (const ClocheHttpRequest *request,
                                      gboolean                 keep,
                                      gsize                   *length)
{
  g_autoptr(GString) head = g_string_new (NULL);
  g_autofree char *authority = cloche_http_request_dup_authority (request);
  g_autofree char *connection = _cloche_http_dup_list (request->headers, "Connection");

  g_return_val_if_fail (!request->connect, NULL);

  /* The scheme's own port goes unsaid: some servers compare Host as text. */
  if (request->port == request->default_port)
    authority[strrchr (authority, ':') - authority] = '\0';
  g_string_append_printf (head, "%s %s %s\r\nHost: %s\r\n",
                          request->method, request->path, request->version, authority);
  for (guint i = 0; i < request->headers->len; i++)
    {
      ClocheHttpHeader *header = &g_array_index (request->headers, ClocheHttpHeader, i);

      if (!_cloche_http_is_hop_header (connection, header->name))
        g_string_append_printf (head, "%s: %s\r\n", header->name, header->value);
    }
  if (!keep || !g_str_equal (request->version, "HTTP/1.1"))
    g_string_append (head, "Connection: close\r\n");
  g_string_append (head, "\r\n");
  *length = head->len;
  return g_string_free (g_steal_pointer (&head), FALSE);
}
