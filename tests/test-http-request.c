/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "cloche-http-request.h"
#include "cloche-http-response.h"

static GBytes *
fixture (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "http", name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize length = 0;

  g_file_get_contents (path, &contents, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, length);
}

/* The whole fixture must be one head, ended by its blank line. */
static ClocheHttpRequest *
parse_fixture (const char  *name,
               GError     **error)
{
  g_autoptr(GBytes) bytes = fixture (name);
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);

  g_assert_cmpint (cloche_http_request_head_length (data, length), ==, (gssize) length);
  return cloche_http_request_parse (data, length, error);
}

static void
test_head_length (void)
{
  g_assert_cmpint (cloche_http_request_head_length ("", 0), ==, -1);
  g_assert_cmpint (cloche_http_request_head_length ("GET x HTTP/1.1\r\n", 16), ==, -1);
  g_assert_cmpint (cloche_http_request_head_length ("GET x HTTP/1.1\r\n\r", 17), ==, -1);
  g_assert_cmpint (cloche_http_request_head_length ("GET x HTTP/1.1\r\n\r\nBODY", 22), ==, 18);
  g_assert_cmpint (cloche_http_request_head_length ("GET x HTTP/1.1\n\nBODY", 20), ==, 16);
  g_assert_cmpint (cloche_http_request_head_length ("A\nB\r\n\n", 6), ==, 6);
}

static void
test_connect (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheHttpRequest) request = parse_fixture ("connect.txt", &error);
  g_autofree char *authority = NULL;

  g_assert_no_error (error);
  g_assert_true (request->connect);
  g_assert_cmpstr (request->method, ==, "CONNECT");
  g_assert_cmpstr (request->host, ==, "example.com");
  g_assert_cmpuint (request->port, ==, 443);
  g_assert_null (request->path);
  /* curl writes "user:" */
  g_assert_cmpstr (request->proxy_user, ==, "a1b2c3");
  g_assert_cmpstr (cloche_http_request_get_header (request, "user-agent"), ==, "curl/7.88");
  authority = cloche_http_request_dup_authority (request);
  g_assert_cmpstr (authority, ==, "example.com:443");
}

static void
test_connect_ipv6 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheHttpRequest) request = parse_fixture ("connect-ipv6.txt", &error);
  g_autofree char *authority = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (request->host, ==, "::1");
  g_assert_cmpuint (request->port, ==, 8443);
  g_assert_null (request->proxy_user);
  authority = cloche_http_request_dup_authority (request);
  g_assert_cmpstr (authority, ==, "[::1]:8443");
}

static void
test_absolute (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheHttpRequest) request = parse_fixture ("get-absolute.txt", &error);
  g_autoptr(GBytes) expected = fixture ("get-absolute.forward.txt");
  g_autofree char *head = NULL;
  gsize length = 0;

  g_assert_no_error (error);
  g_assert_false (request->connect);
  g_assert_cmpstr (request->host, ==, "example.com");
  g_assert_cmpuint (request->port, ==, 8080);
  g_assert_cmpstr (request->path, ==, "/a/b?c=1");
  /* busybox wget writes the user alone, without a colon */
  g_assert_cmpstr (request->proxy_user, ==, "session-1");
  head = cloche_http_request_dup_forward_head (request, FALSE, &length);
  g_assert_cmpmem (head, length, g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
}

static void
test_bare_lf (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheHttpRequest) request = parse_fixture ("get-bare-lf.txt", &error);
  g_autofree char *head = NULL;
  gsize length = 0;

  g_assert_no_error (error);
  g_assert_cmpstr (request->version, ==, "HTTP/1.0");
  g_assert_cmpuint (request->port, ==, 80);
  g_assert_cmpstr (request->path, ==, "/");
  head = cloche_http_request_dup_forward_head (request, FALSE, &length);
  g_assert_cmpstr (head, ==, "GET / HTTP/1.0\r\nHost: example.com\r\nConnection: close\r\n\r\n");
}

/* A user name that is not a session id is no session, not an error. */
static void
test_odd_proxy_user (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheHttpRequest) request = parse_fixture ("post-odd-user.txt", &error);

  g_assert_no_error (error);
  g_assert_null (request->proxy_user);
  g_assert_cmpstr (cloche_http_request_get_header (request, "content-length"), ==, "5");
}

typedef struct
{
  const char *fixture;
  const char *message;   /* a part of the error's message */
} BadCase;

static const BadCase bad_cases[] = {
  { "bad-origin-form.txt", "request for this proxy itself" },
  { "bad-https-absolute.txt", "must go through CONNECT" },
  { "bad-ftp.txt", "not an http:// URL" },
  { "bad-version.txt", "“HTTP/2.0” is not HTTP/1.1" },
  { "bad-double-space.txt", "request line" },
  { "bad-folded.txt", "folded" },
  { "bad-smuggle.txt", "Content-Length and Transfer-Encoding" },
  { "bad-two-lengths.txt", "Two different Content-Length" },
  { "bad-userinfo.txt", "user name" },
  { "bad-connect-no-port.txt", "CONNECT needs" },
  { "bad-port.txt", "“99999” is not a port" },
  { "bad-host.txt", "not a host name" },
  { "bad-ipv6.txt", "not an IPv6 address" },
  { "bad-header-name.txt", "bad name or value" },
  { "bad-header-value.txt", "bad name or value" },
  { "bad-nul.txt", "NUL" },
  { "bad-tls-hello.bin", "request line" },
  { "bad-ssh-banner.txt", "request line" },
  { "bad-empty.txt", "empty" },
  { "bad-too-many-headers.txt", "More than 100 header lines" },
};

static void
test_bad (gconstpointer data)
{
  const BadCase *bad = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheHttpRequest) request = parse_fixture (bad->fixture, &error);

  g_assert_null (request);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  if (strstr (error->message, bad->message) == NULL)
    g_error ("%s: “%s” does not say “%s”", bad->fixture, error->message, bad->message);
}

/* Every prefix of a good head, and every head cut short, is refused or
 * parsed without reading past its end (valgrind/ASan see the rest). */
static void
test_truncated (void)
{
  g_autoptr(GBytes) bytes = fixture ("get-absolute.txt");
  gsize length = 0;
  const char *data = g_bytes_get_data (bytes, &length);

  for (gsize cut = 0; cut < length; cut++)
    {
      g_autofree char *copy = g_memdup2 (data, cut);
      g_autoptr(ClocheHttpRequest) request = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (cloche_http_request_head_length (copy, cut), ==, -1);
      request = cloche_http_request_parse (copy, cut, &error);
      g_assert_true ((request == NULL) != (error == NULL));
    }
}

/* Framing: where a request's body ends, and whether the client keeps its
 * connection. */
static void
test_request_framing (void)
{
  static const struct
  {
    const char     *head;
    ClocheHttpBody  body;
    guint64         length;
    gboolean        keep_alive;
  } cases[] = {
    { "GET http://a/ HTTP/1.1\r\n\r\n", CLOCHE_HTTP_BODY_NONE, 0, TRUE },
    { "GET http://a/ HTTP/1.1\r\nConnection: Keep-Alive, Close\r\n\r\n", CLOCHE_HTTP_BODY_NONE, 0, FALSE },
    { "GET http://a/ HTTP/1.1\r\nProxy-Connection: close\r\n\r\n", CLOCHE_HTTP_BODY_NONE, 0, FALSE },
    { "GET http://a/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", CLOCHE_HTTP_BODY_NONE, 0, FALSE },
    { "POST http://a/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n", CLOCHE_HTTP_BODY_NONE, 0, TRUE },
    { "POST http://a/ HTTP/1.1\r\nContent-Length: 12\r\n\r\n", CLOCHE_HTTP_BODY_LENGTH, 12, TRUE },
    { "POST http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", CLOCHE_HTTP_BODY_CHUNKED, 0, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ClocheHttpRequest) request =
        cloche_http_request_parse (cases[i].head, strlen (cases[i].head), &error);

      g_assert_no_error (error);
      g_assert_cmpint (request->body, ==, cases[i].body);
      if (cases[i].body == CLOCHE_HTTP_BODY_LENGTH)
        g_assert_cmpuint (request->body_length, ==, cases[i].length);
      g_assert_cmpint (request->keep_alive, ==, cases[i].keep_alive);
    }
}

/* A request whose end cannot be found is refused. */
static void
test_request_framing_bad (void)
{
  static const char * const heads[] = {
    "POST http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    "POST http://a/ HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (heads); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ClocheHttpRequest) request =
        cloche_http_request_parse (heads[i], strlen (heads[i]), &error);

      g_assert_null (request);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }
}

/* The head forwarded for @text (a request that must parse). */
static char *
forward_head (const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheHttpRequest) request = cloche_http_request_parse (text, strlen (text), &error);
  gsize length = 0;

  g_assert_no_error (error);
  return cloche_http_request_dup_forward_head (request, TRUE, &length);
}

/* A Connection header may name headers meant for this hop only, but never
 * the ones that frame the body: the proxy frames the body by them, so the
 * server must too (else what the proxy forwards as body is, to the server,
 * a second request nobody decided). Every spelling of the list. */
static void
test_connection_keeps_framing (void)
{
  static const char * const connections[] = {
    "Connection: Content-Length\r\n",
    "connection: content-length\r\n",
    "CONNECTION:CONTENT-LENGTH\r\n",
    "Connection:\tContent-Length \t\r\n",
    "Connection: keep-alive, content-length\r\n",
    "Connection: ,,Content-Length,,\r\n",
    "Connection: keep-alive\r\nConnection: Content-Length\r\n",
    "Connection: Transfer-Encoding, Content-Length, Host\r\n",
    "Proxy-Connection: Content-Length\r\nConnection: content-length\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (connections); i++)
    {
      g_autofree char *text = g_strdup_printf ("POST http://a/ HTTP/1.1\r\n%sX-Hop: 1\r\n"
                                               "Content-Length: 5\r\n\r\n", connections[i]);
      g_autofree char *chunked = g_strdup_printf ("POST http://a/ HTTP/1.1\r\n%s"
                                                  "Transfer-Encoding: chunked\r\n\r\n",
                                                  connections[i]);
      g_autofree char *head = forward_head (text);
      g_autofree char *chunked_head = forward_head (chunked);

      g_test_message ("%s", connections[i]);
      g_assert_cmpstr (head, ==, "POST / HTTP/1.1\r\nHost: a\r\nX-Hop: 1\r\n"
                                 "Content-Length: 5\r\n\r\n");
      g_assert_cmpstr (chunked_head, ==, "POST / HTTP/1.1\r\nHost: a\r\n"
                                         "Transfer-Encoding: chunked\r\n\r\n");
    }
}

/* What Connection names goes, in whatever spelling and however many
 * Connection lines; the proxy's own headers go whatever Connection says. */
static void
test_connection_names_hop (void)
{
  g_autofree char *head =
    forward_head ("GET http://a:8080/ HTTP/1.1\r\nConnection: x-one\r\nX-One: 1\r\n"
                  "CONNECTION: X-TWO , host, proxy-authorization\r\nx-two: 2\r\nX-Three: 3\r\n"
                  "Host: evil.example\r\nProxy-Authorization: Basic czE=\r\n\r\n");

  g_assert_cmpstr (head, ==, "GET / HTTP/1.1\r\nHost: a:8080\r\nX-Three: 3\r\n\r\n");
}

/* A field sent on several lines is one list (RFC 9110 5.3): the proxy
 * reads all of them, as the server will. */
static void
test_list_headers (void)
{
  static const char close[] = "GET http://a/ HTTP/1.1\r\nConnection: keep-alive\r\n"
                              "Connection: close\r\n\r\n";
  static const char proxy_close[] = "GET http://a/ HTTP/1.1\r\nProxy-Connection: keep-alive\r\n"
                                    "Proxy-Connection: close\r\n\r\n";
  static const char last_chunked[] = "POST http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n";
  static const char not_last[] = "POST http://a/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                                 "Transfer-Encoding: identity\r\n\r\n";
  g_autoptr(ClocheHttpRequest) closed = cloche_http_request_parse (close, strlen (close), NULL);
  g_autoptr(ClocheHttpRequest) proxy_closed =
    cloche_http_request_parse (proxy_close, strlen (proxy_close), NULL);
  g_autoptr(ClocheHttpRequest) chunked =
    cloche_http_request_parse (last_chunked, strlen (last_chunked), NULL);
  g_autoptr(ClocheHttpRequest) refused = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_false (closed->keep_alive);
  g_assert_false (proxy_closed->keep_alive);
  g_assert_cmpint (chunked->body, ==, CLOCHE_HTTP_BODY_CHUNKED);
  refused = cloche_http_request_parse (not_last, strlen (not_last), &error);
  g_assert_null (refused);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "chunked, identity"));
}

/* HTTP/1.0 has no chunked coding: a server may take such a body for no
 * body at all (RFC 9112 6.1), and its chunks for a request. */
static void
test_http10_chunked (void)
{
  static const char text[] = "POST http://a/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(ClocheHttpRequest) request = cloche_http_request_parse (text, strlen (text), &error);

  g_assert_null (request);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, "HTTP/1.0"));
}

/* A host is decided and logged in the one form it is reached by: an
 * address in its canonical text, an IPv4 address written inside IPv6 as
 * the IPv4 address, a name without its trailing dot. What the resolver
 * would read as an address but the rules as a name is refused. */
static void
test_hosts (void)
{
  static const struct
  {
    const char *authority;
    const char *host;   /* NULL: refused */
  } cases[] = {
    { "Example.COM.:443", "example.com" },
    { "a_b.example:443", "a_b.example" },
    { "1.2.3.4:443", "1.2.3.4" },
    { "[2001:DB8:0:0::1]:443", "2001:db8::1" },
    { "[::FFFF:1.2.3.4]:443", "1.2.3.4" },
    { "[::ffff:0102:0304]:443", "1.2.3.4" },
    { "1e100.net:443", "1e100.net" },
    { "16909060:443", NULL },
    { "0x01020304:443", NULL },
    { "001.002.003.004:443", NULL },
    { "1.2.3.04:443", NULL },
    { "1.2.3:443", NULL },
    { "0x7f.1:443", NULL },
    { "1.2.3.4.:443", NULL },
    { "example.123:443", NULL },
    { "a..b:443", NULL },
    { ".example.com:443", NULL },
    { "example.com..:443", NULL },
    { ".:443", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("CONNECT %s HTTP/1.1\r\n\r\n", cases[i].authority);
      g_autofree char *get = g_strdup_printf ("GET http://%s/ HTTP/1.1\r\n\r\n",
                                              cases[i].authority);
      g_autoptr(GError) error = NULL;
      g_autoptr(ClocheHttpRequest) request = cloche_http_request_parse (text, strlen (text),
                                                                        &error);
      g_autoptr(ClocheHttpRequest) plain = cloche_http_request_parse (get, strlen (get), NULL);

      g_test_message ("%s", cases[i].authority);
      if (cases[i].host == NULL)
        {
          g_assert_null (request);
          g_assert_null (plain);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpstr (request->host, ==, cases[i].host);
      g_assert_cmpstr (plain->host, ==, cases[i].host);
    }
}

/* A request that does not parse is still a decision in the log: what it
 * asked for, as far as its request line tells (busybox wget sends
 * "GET https://…" to a proxy). */
static void
test_peek (void)
{
  static const struct
  {
    const char *head;
    const char *method;
    const char *host;
    guint16     port;
  } cases[] = {
    { "GET https://Example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET", "example.com", 443 },
    { "GET http://a.example:8080/ HTTP/1.1\r\n folded\r\n\r\n", "GET", "a.example", 8080 },
    { "CONNECT b.example:22 HTTP/1.1\r\nContent-Length: x\r\n\r\n", "CONNECT", "b.example", 22 },
    { "GET ftp://c.example/ HTTP/1.1\r\n\r\n", "GET", NULL, 0 },
    { "GET / HTTP/1.1\r\n\r\n", "GET", NULL, 0 },
    { "\x16\x03\x01\x02\xff\x01 x\r\n\r\n", "", NULL, 0 },
    { "G\xc3\xa9T http://a/ HTTP/1.1\r\n\r\n", "", "a", 80 },
    { "", "", NULL, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(ClocheHttpRequest) request =
        cloche_http_request_peek (cases[i].head, strlen (cases[i].head));

      {
        /* Printable, so that the TAP stream stays text. */
        g_autofree char *shown = g_strescape (cases[i].head, NULL);

        g_test_message ("%s", shown);
      }
      g_assert_cmpstr (request->method, ==, cases[i].method);
      g_assert_cmpstr (request->host, ==, cases[i].host);
      g_assert_cmpuint (request->port, ==, cases[i].port);
    }
}

/* What the parser says goes into the decision log, the audit log and
 * D-Bus: valid UTF-8, printable, and short, whatever the bytes were. */
static void
test_error_text (void)
{
  g_autofree char *long_value = g_strnfill (8000, 'v');
  g_autofree char *long_length = g_strdup_printf ("POST http://a/ HTTP/1.1\r\n"
                                                  "Content-Length: 1%s\r\n\r\n", long_value);
  const char *heads[] = {
    "GET http://a/ HTTP/1.1\xff\x1b[2J\r\n\r\n",
    "POST http://a/ HTTP/1.1\r\nContent-Length: \xff\xfe\r\n\r\n",
    "POST http://a/ HTTP/1.1\r\nTransfer-Encoding: \xc3\x28\r\n\r\n",
    long_length,
  };

  for (guint i = 0; i < G_N_ELEMENTS (heads); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ClocheHttpRequest) request = cloche_http_request_parse (heads[i], strlen (heads[i]),
                                                                        &error);

      g_assert_null (request);
      g_assert_nonnull (error);
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      for (const char *c = error->message; *c != '\0'; c++)
        g_assert_true ((guchar) *c >= 0x20 && *c != 0x7f);
      g_assert_cmpuint (strlen (error->message), <=, 512);
    }
}

static void
test_response (void)
{
  static const struct
  {
    const char     *head;
    const char     *method;
    guint           status;
    ClocheHttpBody  body;
    guint64         length;
  } cases[] = {
    { "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", "GET", 200, CLOCHE_HTTP_BODY_LENGTH, 7 },
    { "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", "HEAD", 200, CLOCHE_HTTP_BODY_NONE, 0 },
    { "HTTP/1.1 204 No Content\r\n\r\n", "GET", 204, CLOCHE_HTTP_BODY_NONE, 0 },
    { "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", "GET", 304, CLOCHE_HTTP_BODY_NONE, 0 },
    { "HTTP/1.1 100 Continue\r\n\r\n", "POST", 100, CLOCHE_HTTP_BODY_NONE, 0 },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", 200, CLOCHE_HTTP_BODY_CHUNKED, 0 },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET", 200, CLOCHE_HTTP_BODY_CLOSE, 0 },
    { "HTTP/1.0 200 OK\r\n\r\n", "GET", 200, CLOCHE_HTTP_BODY_CLOSE, 0 },
    { "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", "GET", 404, CLOCHE_HTTP_BODY_NONE, 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ClocheHttpResponse) response =
        cloche_http_response_parse (cases[i].head, strlen (cases[i].head), cases[i].method,
                                    &error);

      g_assert_no_error (error);
      g_assert_cmpuint (response->status, ==, cases[i].status);
      g_assert_cmpint (response->body, ==, cases[i].body);
      if (cases[i].body == CLOCHE_HTTP_BODY_LENGTH)
        g_assert_cmpuint (response->body_length, ==, cases[i].length);
    }
}

static void
test_response_bad (void)
{
  static const char * const heads[] = {
    "HTTP/2 200 OK\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 099 Low\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (heads); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(ClocheHttpResponse) response =
        cloche_http_response_parse (heads[i], strlen (heads[i]), "GET", &error);

      g_assert_null (response);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }
}

/* The head passed on: the server's hop headers out, ours in. */
static void
test_response_forward (void)
{
  static const char head[] = "HTTP/1.0 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n"
                             "Keep-Alive: timeout=5\r\nContent-Length: 2\r\nX-End: 2\r\n\r\n";
  g_autoptr(ClocheHttpResponse) response =
    cloche_http_response_parse (head, strlen (head), "GET", NULL);
  g_autofree char *kept = NULL, *closed = NULL;
  gsize length = 0;

  kept = cloche_http_response_dup_forward_head (response, FALSE, &length);
  g_assert_cmpstr (kept, ==, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-End: 2\r\n\r\n");
  g_assert_cmpuint (length, ==, strlen (kept));
  closed = cloche_http_response_dup_forward_head (response, TRUE, &length);
  g_assert_cmpstr (closed, ==, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-End: 2\r\n"
                               "Connection: close\r\n\r\n");
}

/* The server's Connection may not take the framing away from the
 * client either: the proxy passes the body on as it framed it. */
static void
test_response_connection_keeps_framing (void)
{
  static const char head[] = "HTTP/1.1 200 OK\r\nConnection: Content-Length, "
                             "Transfer-Encoding, X-Hop\r\nX-Hop: 1\r\nContent-Length: 2\r\n\r\n";
  g_autoptr(ClocheHttpResponse) response =
    cloche_http_response_parse (head, strlen (head), "GET", NULL);
  g_autofree char *forward = NULL;
  gsize length = 0;

  g_assert_cmpint (response->body, ==, CLOCHE_HTTP_BODY_LENGTH);
  forward = cloche_http_response_dup_forward_head (response, FALSE, &length);
  g_assert_cmpstr (forward, ==, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
}

/* Fed all at once and a byte at a time, the end is found at the same
 * place, and what follows is not counted. */
static void
test_chunks (void)
{
  static const char body[] = "4\r\nWiki\r\n7;name=\"v\"\r\npedia i\r\nB \r\nn \r\nchunks.\r\n"
                             "0\r\nTrailer: x\r\n\r\nGET next";
  gsize end = strlen (body) - strlen ("GET next");
  ClocheHttpChunks whole = { 0 }, bytes = { 0 };
  gboolean done = FALSE;
  gsize fed = 0;

  g_assert_cmpint (cloche_http_chunks_feed (&whole, body, strlen (body), &done, NULL), ==, end);
  g_assert_true (done);
  done = FALSE;
  while (!done && fed < strlen (body))
    {
      g_assert_cmpint (cloche_http_chunks_feed (&bytes, body + fed, 1, &done, NULL), ==, 1);
      fed++;
    }
  g_assert_true (done);
  g_assert_cmpuint (fed, ==, end);
}

static void
test_chunks_bad (void)
{
  static const char * const bodies[] = {
    "x\r\n", "\r\n", "5\r\nhelloX", "5\rX", "1234567890abcdef0\r\n", "0\r\n\rX",
    /* Line ends other than CRLF, anywhere: a server that reads them
     * otherwise would end the body elsewhere (and read the rest as a
     * request the proxy never saw). */
    "5\nhello\r\n", "5;a\nhello\r\n", "5;a\rb\r\nhello\r\n", "5\r\nhello\n0\r\n\r\n",
    "0\n\r\n", "0\r\n\n", "0\r\nX: y\n\r\n", "0\r\nX: y\r\r\n",
    /* A size that is not one, a bad extension or trailer. */
    " 5\r\n", "5 x\r\n", "5;\x01\r\n", "0\r\n x: y\r\n\r\n", "0\r\nno colon\r\n",
    "0\r\n: empty\r\n", "0\r\nX: \x7f\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      ClocheHttpChunks chunks = { 0 };
      g_autoptr(GError) error = NULL;
      gboolean done = FALSE;

      g_assert_cmpint (cloche_http_chunks_feed (&chunks, bodies[i], strlen (bodies[i]), &done,
                                                &error), ==, -1);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/http-request/head-length", test_head_length);
  g_test_add_func ("/http-request/connect", test_connect);
  g_test_add_func ("/http-request/connect-ipv6", test_connect_ipv6);
  g_test_add_func ("/http-request/absolute", test_absolute);
  g_test_add_func ("/http-request/bare-lf", test_bare_lf);
  g_test_add_func ("/http-request/odd-proxy-user", test_odd_proxy_user);
  g_test_add_func ("/http-request/truncated", test_truncated);
  g_test_add_func ("/http-request/framing", test_request_framing);
  g_test_add_func ("/http-request/framing-bad", test_request_framing_bad);
  g_test_add_func ("/http-request/connection-keeps-framing", test_connection_keeps_framing);
  g_test_add_func ("/http-request/connection-names-hop", test_connection_names_hop);
  g_test_add_func ("/http-request/list-headers", test_list_headers);
  g_test_add_func ("/http-request/http10-chunked", test_http10_chunked);
  g_test_add_func ("/http-request/hosts", test_hosts);
  g_test_add_func ("/http-request/peek", test_peek);
  g_test_add_func ("/http-request/error-text", test_error_text);
  g_test_add_func ("/http-response/parse", test_response);
  g_test_add_func ("/http-response/bad", test_response_bad);
  g_test_add_func ("/http-response/forward", test_response_forward);
  g_test_add_func ("/http-response/connection-keeps-framing",
                   test_response_connection_keeps_framing);
  g_test_add_func ("/http-response/chunks", test_chunks);
  g_test_add_func ("/http-response/chunks-bad", test_chunks_bad);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/http-request/bad/%s", bad_cases[i].fixture);

      g_test_add_data_func (path, &bad_cases[i], test_bad);
    }
  return g_test_run ();
}
