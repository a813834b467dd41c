/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a guest sends the egress proxy before its decision: the head's end is
 * found, the head is parsed, and a request that parses is rewritten for the
 * server. A parsed request always names a host and a port, in the canonical
 * form; the head it forwards ends where a head ends and keeps every framing
 * header (the server must frame the body as the proxy does). A head that
 * does not parse is still peeked at for the log of its refusal, and what
 * goes to the log is printable, valid UTF-8. The same bytes as a server's
 * answer (cloche-http-response.c): parsed, and followed as a chunked body,
 * which never counts more than it was given and ends at the same place
 * whether fed at once or in two pieces.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-fuzz.h"
#include "cloche-http-request.h"
#include "cloche-http-response.h"

/* What the decision log, the audit log and D-Bus may carry. */
static void
assert_printable (const char *text)
{
  g_assert_true (g_utf8_validate (text, -1, NULL));
  for (const char *c = text; *c != '\0'; c = g_utf8_next_char (c))
    g_assert_false (g_unichar_iscntrl (g_utf8_get_char (c)));
}

static void
assert_canonical (const char *host)
{
  g_autofree char *again = cloche_http_canonical_host (host, NULL);

  g_assert_cmpstr (again, ==, host);
}

/* Fed at once and in two pieces: the same count, end and verdict. */
static void
fuzz_chunks (const uint8_t *data,
             size_t         size)
{
  ClocheHttpChunks whole = { 0 }, parts = { 0 };
  gboolean done = FALSE, done_first = FALSE, done_second = FALSE;
  gsize half = size / 2;
  gssize n, first, second = 0;

  n = cloche_http_chunks_feed (&whole, (const char *) data, size, &done, NULL);
  g_assert_true (n >= -1 && n <= (gssize) size);
  /* The shortest whole body is "0\r\n\r\n". */
  g_assert_true (!done || n >= 5);
  first = cloche_http_chunks_feed (&parts, (const char *) data, half, &done_first, NULL);
  if (first >= 0 && !done_first)
    second = cloche_http_chunks_feed (&parts, (const char *) data + half, size - half,
                                      &done_second, NULL);
  if (n < 0)
    g_assert_true (first < 0 || second < 0);
  else if (done_first)
    g_assert_true (done && first == n);
  else
    g_assert_true (first == (gssize) half && second >= 0 && first + second == n
                   && done_second == done);
}

static void
fuzz_response (const uint8_t *data,
               size_t         size,
               gssize         head)
{
  g_autoptr(ClocheHttpResponse) response = NULL;

  response = cloche_http_response_parse ((const char *) data, head > 0 ? (gsize) head : size,
                                         "GET", NULL);
  if (response != NULL)
    {
      gsize length = 0;
      g_autofree char *forward = cloche_http_response_dup_forward_head (response, TRUE, &length);

      g_assert_cmpuint (response->status, >=, 100);
      g_assert_true (memcmp (forward + length - 4, "\r\n\r\n", 4) == 0);
    }
  fuzz_chunks (data, size);
}

/* A refused head: what the log says it asked for. */
static void
fuzz_peek (const uint8_t *data,
           size_t         size)
{
  g_autoptr(ClocheHttpRequest) asked = cloche_http_request_peek ((const char *) data, size);

  g_assert_nonnull (asked->method);
  assert_printable (asked->method);
  g_assert_true ((asked->host == NULL) == (asked->port == 0));
  if (asked->host != NULL)
    assert_canonical (asked->host);
}

/* Every framing header of @request is in the head it forwards. */
static void
assert_framing_kept (const ClocheHttpRequest *request,
                     const char              *forward)
{
  for (guint i = 0; i < request->headers->len; i++)
    {
      ClocheHttpHeader *header = &g_array_index (request->headers, ClocheHttpHeader, i);
      g_autofree char *line = g_strdup_printf ("\r\n%s: %s\r\n", header->name, header->value);

      if (g_ascii_strcasecmp (header->name, "Content-Length") == 0
          || g_ascii_strcasecmp (header->name, "Transfer-Encoding") == 0)
        g_assert_nonnull (strstr (forward, line));
    }
}

static void
fuzz_request (ClocheHttpRequest *request,
              size_t             size)
{
  gsize length = 0;
  g_autofree char *forward = NULL;
  g_autofree char *authority = NULL;

  g_assert_nonnull (request->host);
  g_assert_cmpuint (request->port, >, 0);
  assert_canonical (request->host);
  assert_printable (request->method);
  if (request->connect)
    return;
  forward = cloche_http_request_dup_forward_head (request, size % 2 == 0, &length);
  authority = cloche_http_request_dup_authority (request);
  g_assert_nonnull (authority);
  g_assert_cmpuint (length, >=, 4);
  g_assert_true (memcmp (forward + length - 4, "\r\n\r\n", 4) == 0);
  assert_framing_kept (request, forward);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(ClocheHttpRequest) request = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autofree char *host = cloche_http_canonical_host (text, NULL);
  gssize head = 0;

  cloche_fuzz_init ();
  if (host != NULL)
    assert_canonical (host);
  head = cloche_http_request_head_length ((const char *) data, size);
  g_assert_true (head <= (gssize) size);
  fuzz_response (data, size, head);
  fuzz_peek (data, size);
  request = cloche_http_request_parse ((const char *) data, head > 0 ? (gsize) head : size,
                                       &error);
  if (request == NULL)
    {
      g_assert_nonnull (error);
      assert_printable (error->message);
      return 0;
    }
  g_assert_no_error (error);
  fuzz_request (request, size);
  return 0;
}
