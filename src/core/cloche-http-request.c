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
 * Transfer-Encoding, no user name in the target's authority. It accepts a
 * bare LF as a line end, as RFC 9112 allows.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "cloche-http-private.h"

/* A session id in a Proxy-Authorization user name (cloche-session.c makes
 * them from these characters); anything else counts as no session. */
#define MAX_PROXY_USER 64

static void
header_clear (ClocheHttpHeader *header)
{
  g_free (header->name);
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
is_tchar (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static gboolean
is_token (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (; *text != '\0'; text++)
    if (!is_tchar (*text))
      return FALSE;
  return TRUE;
}

/* Printable ASCII without spaces: what a request-target is made of. */
static gboolean
is_visible (const char *text)
{
  if (*text == '\0')
    return FALSE;
  for (; *text != '\0'; text++)
    if ((guchar) *text <= 0x20 || (guchar) *text >= 0x7f)
      return FALSE;
  return TRUE;
}

static gboolean
fail (GError     **error,
      const char  *format,
      ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError     **error,
      const char  *format,
      ...)
{
  va_list args;

  if (error == NULL)
    return FALSE;
  g_return_val_if_fail (*error == NULL, FALSE);
  va_start (args, format);
  *error = g_error_new_valist (G_IO_ERROR, G_IO_ERROR_INVALID_DATA, format, args);
  va_end (args);
  return FALSE;
}

static gboolean
is_reg_name (const char *name)
{
  gsize length = strlen (name);

  if (length == 0 || length > 253)
    return FALSE;
  for (const char *c = name; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '.' && *c != '_')
      return FALSE;
  return TRUE;
}

static gboolean
parse_port (const char  *text,
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

/* "host", "host:port", "[v6]" or "[v6]:port" into request->host/port. */
static gboolean
parse_authority (ClocheHttpRequest  *request,
                 const char         *authority,
                 gboolean            need_port,
                 GError            **error)
{
  g_autofree char *host = NULL;
  const char *colon;

  if (strchr (authority, '@') != NULL)
    return fail (error, "The address “%s” has a user name in it: the proxy does not take one "
                 "there", authority);
  if (authority[0] == '[')
    {
      const char *close = strchr (authority, ']');

      if (close == NULL || (close[1] != '\0' && close[1] != ':'))
        return fail (error, "“%s” is not a host: an IPv6 address must be in brackets, "
                     "followed by nothing or “:port”", authority);
      host = g_strndup (authority + 1, close - authority - 1);
      if (!g_hostname_is_ip_address (host) || strchr (host, ':') == NULL)
        return fail (error, "“%s” is not an IPv6 address", host);
      colon = close[1] == ':' ? close + 1 : NULL;
    }
  else
    {
      colon = strrchr (authority, ':');
      host = colon != NULL ? g_strndup (authority, colon - authority) : g_strdup (authority);
      if (!is_reg_name (host))
        return fail (error, "“%s” is not a host name", host);
    }
  if (colon == NULL && need_port)
    return fail (error, "CONNECT needs “host:port”, not “%s”", authority);
  request->port = 80;
  if (colon != NULL && !parse_port (colon + 1, &request->port))
    return fail (error, "“%s” is not a port: it must be a number from 1 to 65535", colon + 1);
  request->host = g_ascii_strdown (host, -1);
  return TRUE;
}

/* An absolute "http://authority/path" target: what a client sends to a
 * proxy for plain HTTP. */
static gboolean
parse_absolute_target (ClocheHttpRequest  *request,
                       GError            **error)
{
  const char *target = request->target;
  const char *authority, *end;
  g_autofree char *host_part = NULL;

  if (target[0] == '/' || target[0] == '*')
    return fail (error, "“%s %s” is a request for this proxy itself: send the full URL "
                 "(“http://host/path”), or CONNECT for HTTPS", request->method, target);
  if (g_ascii_strncasecmp (target, "https://", 8) == 0)
    return fail (error, "“%s” must go through CONNECT: the proxy does not speak TLS for the "
                 "client", target);
  if (g_ascii_strncasecmp (target, "http://", 7) != 0)
    return fail (error, "“%s” is not an http:// URL: the proxy forwards only those, and "
                 "CONNECT tunnels", target);
  authority = target + 7;
  end = authority + strcspn (authority, "/?#");
  host_part = g_strndup (authority, end - authority);
  if (!parse_authority (request, host_part, FALSE, error))
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
parse_request_line (ClocheHttpRequest  *request,
                    const char         *line,
                    GError            **error)
{
  g_auto(GStrv) parts = g_strsplit (line, " ", -1);

  if (g_strv_length (parts) != 3 || !is_token (parts[0]) || !is_visible (parts[1]))
    return fail (error, "The request line is not “METHOD target HTTP/1.1”");
  if (!g_str_equal (parts[2], "HTTP/1.1") && !g_str_equal (parts[2], "HTTP/1.0"))
    return fail (error, "“%s” is not HTTP/1.1 or HTTP/1.0", parts[2]);
  request->method = g_strdup (parts[0]);
  request->target = g_strdup (parts[1]);
  request->version = g_strdup (parts[2]);
  request->connect = g_str_equal (request->method, "CONNECT");
  if (request->connect)
    return parse_authority (request, request->target, TRUE, error);
  return parse_absolute_target (request, error);
}

/* Control characters other than tab make a value mean different things to
 * different readers; bytes above 0x7f (obs-text) are allowed. */
static gboolean
is_field_value (const char *value)
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
    return fail (error, "A header line starts with white space (folded headers are not "
                 "accepted)");
  if (colon == NULL)
    return fail (error, "A header line has no colon");
  header.name = g_strndup (line, colon - line);
  header.value = g_strstrip (g_strdup (colon + 1));
  if (!is_token (header.name) || !is_field_value (header.value))
    {
      g_autofree char *name = g_strescape (header.name, NULL);

      header_clear (&header);
      return fail (error, "The header “%s” has a bad name or value", name);
    }
  g_array_append_val (headers, header);
  return TRUE;
}

const char *
_cloche_http_find_header (GArray     *headers,
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
ends_in_chunked (const char *value)
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
  const char *length = NULL, *coding = _cloche_http_find_header (headers, "Transfer-Encoding");

  for (guint i = 0; i < headers->len; i++)
    {
      ClocheHttpHeader *header = &g_array_index (headers, ClocheHttpHeader, i);

      if (g_ascii_strcasecmp (header->name, "Content-Length") != 0)
        continue;
      if (*header->value == '\0' || strspn (header->value, "0123456789") != strlen (header->value)
          || !g_ascii_string_to_unsigned (header->value, 10, 0, G_MAXINT64, body_length, NULL))
        return fail (error, "Content-Length “%s” is not a number", header->value);
      if (length != NULL && !g_str_equal (length, header->value))
        return fail (error, "Two different Content-Length headers");
      length = header->value;
    }
  if (length != NULL && coding != NULL)
    return fail (error, "Content-Length and Transfer-Encoding together");
  if (coding != NULL && ends_in_chunked (coding))
    *body = CLOCHE_HTTP_BODY_CHUNKED;
  else if (coding != NULL && is_request)
    return fail (error, "Transfer-Encoding “%s” does not end in chunked, so the end of the "
                 "request cannot be found", coding);
  else if (coding != NULL)
    *body = CLOCHE_HTTP_BODY_CLOSE;
  else if (length != NULL)
    *body = CLOCHE_HTTP_BODY_LENGTH;
  return TRUE;
}

static gboolean
check_framing (ClocheHttpRequest  *request,
               GError            **error)
{
  const char *connection = cloche_http_request_get_header (request, "Connection");
  const char *proxy_connection = cloche_http_request_get_header (request, "Proxy-Connection");

  request->body = CLOCHE_HTTP_BODY_NONE;
  if (!_cloche_http_parse_framing (request->headers, TRUE, &request->body,
                                   &request->body_length, error))
    return FALSE;
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
parse_proxy_user (const char *credentials)
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
parse_lines (ClocheHttpRequest  *request,
             GStrv               lines,
             GError            **error)
{
  guint count = 0;

  if (lines[0] == NULL || lines[0][0] == '\0')
    return fail (error, "The request is empty");
  if (!parse_request_line (request, lines[0], error))
    return FALSE;
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      if (++count > CLOCHE_HTTP_MAX_HEADERS)
        return fail (error, "More than %d header lines", CLOCHE_HTTP_MAX_HEADERS);
      if (!_cloche_http_parse_header (request->headers, lines[i], error))
        return FALSE;
    }
  return check_framing (request, error);
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
      fail (error, "The head has a NUL byte in it");
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
  g_autoptr(ClocheHttpRequest) request = g_new0 (ClocheHttpRequest, 1);
  g_auto(GStrv) lines = NULL;

  if (length == 0)
    {
      fail (error, "The request is empty");
      return NULL;
    }
  lines = _cloche_http_split_lines (head, length, error);
  if (lines == NULL)
    return NULL;
  request->headers = g_array_new (FALSE, TRUE, sizeof (ClocheHttpHeader));
  g_array_set_clear_func (request->headers, (GDestroyNotify) header_clear);
  if (!parse_lines (request, lines, error))
    return NULL;
  request->proxy_user =
    parse_proxy_user (cloche_http_request_get_header (request, "Proxy-Authorization"));
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
  return _cloche_http_find_header (request->headers, name);
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
 * own, and any the message's Connection header names. */
gboolean
_cloche_http_is_hop_header (GArray     *headers,
                            const char *name)
{
  static const char * const hop[] = {
    "Host", "Proxy-Authorization", "Proxy-Connection", "Connection", "Keep-Alive",
    "Proxy-Authenticate", "Upgrade", "TE", NULL
  };

  for (guint i = 0; hop[i] != NULL; i++)
    if (g_ascii_strcasecmp (name, hop[i]) == 0)
      return TRUE;
  return cloche_http_has_token (_cloche_http_find_header (headers, "Connection"), name);
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

  g_return_val_if_fail (!request->connect, NULL);

  if (request->port == 80)
    authority[strlen (authority) - 3] = '\0';
  g_string_append_printf (head, "%s %s %s\r\nHost: %s\r\n",
                          request->method, request->path, request->version, authority);
  for (guint i = 0; i < request->headers->len; i++)
    {
      ClocheHttpHeader *header = &g_array_index (request->headers, ClocheHttpHeader, i);

      if (!_cloche_http_is_hop_header (request->headers, header->name))
        g_string_append_printf (head, "%s: %s\r\n", header->name, header->value);
    }
  if (!keep || !g_str_equal (request->version, "HTTP/1.1"))
    g_string_append (head, "Connection: close\r\n");
  g_string_append (head, "\r\n");
  *length = head->len;
  return g_string_free (g_steal_pointer (&head), FALSE);
}
