/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a guest sends the egress proxy before its decision: the head's end is
 * found, the head is parsed, and a request that parses is rewritten for the
 * server. A parsed request always names a host and a port, and the head it
 * forwards ends where a head ends. The same bytes as a server's answer
 * (cloche-http-response.c): parsed, and followed as a chunked body, which
 * never counts more than it was given.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-fuzz.h"
#include "cloche-http-request.h"
#include "cloche-http-response.h"

static void
fuzz_response (const uint8_t *data,
               size_t         size,
               gssize         head)
{
  g_autoptr(ClocheHttpResponse) response = NULL;
  ClocheHttpChunks chunks = { 0 };
  gboolean done = FALSE;
  gssize n;

  response = cloche_http_response_parse ((const char *) data, head > 0 ? (gsize) head : size,
                                         "GET", NULL);
  if (response != NULL)
    {
      gsize length = 0;
      g_autofree char *forward = cloche_http_response_dup_forward_head (response, TRUE, &length);

      g_assert_cmpuint (response->status, >=, 100);
      g_assert_true (memcmp (forward + length - 4, "\r\n\r\n", 4) == 0);
    }
  n = cloche_http_chunks_feed (&chunks, (const char *) data, size, &done, NULL);
  g_assert_true (n >= -1 && n <= (gssize) size);
  /* The shortest whole body is "0\n\n" (bare LFs are taken). */
  g_assert_true (!done || n >= 3);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(ClocheHttpRequest) request = NULL;
  g_autoptr(GError) error = NULL;
  gssize head = 0;

  cloche_fuzz_init ();
  head = cloche_http_request_head_length ((const char *) data, size);
  g_assert_true (head <= (gssize) size);
  fuzz_response (data, size, head);
  request = cloche_http_request_parse ((const char *) data, head > 0 ? (gsize) head : size,
                                       &error);
  if (request == NULL)
    {
      g_assert_nonnull (error);
      return 0;
    }
  g_assert_no_error (error);
  g_assert_nonnull (request->host);
  g_assert_cmpuint (request->port, >, 0);
  if (!request->connect)
    {
      gsize length = 0;
      g_autofree char *forward = cloche_http_request_dup_forward_head (request, size % 2 == 0, &length);
      g_autofree char *authority = cloche_http_request_dup_authority (request);

      g_assert_nonnull (authority);
      g_assert_cmpuint (length, >=, 4);
      g_assert_true (memcmp (forward + length - 4, "\r\n\r\n", 4) == 0);
    }
  return 0;
}
