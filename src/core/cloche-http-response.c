/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The server's side of a forwarded request: the response head (status,
 * headers, where the body ends, RFC 9112 6.3) and a follower of the
 * chunked coding. With both the proxy knows where one answer ends, so a
 * guest connection can carry the next request. No I/O and no state beyond
 * the structs, so both can be fuzzed and tested as they are.
 */
#include "config.h"

#include <gio/gio.h>
#include <string.h>

#include "cloche-http-private.h"
#include "cloche-http-response.h"

/* A chunk size has at most this many hex digits (2^60 bytes). */
#define MAX_SIZE_DIGITS 15

void
cloche_http_response_free (ClocheHttpResponse *response)
{
  if (response == NULL)
    return;
  g_free (response->reason);
  g_clear_pointer (&response->headers, g_array_unref);
  g_free (response);
}

static void
cloche_http_response_header_clear (ClocheHttpHeader *header)
{
  g_free (header->name);
  g_free (header->value);
}

static gboolean
cloche_http_response_parse_status_line (ClocheHttpResponse  *response,
                                        const char          *line,
                                        GError             **error)
{
  /* "HTTP/1.x NNN reason", the reason possibly empty */
  if (line == NULL || (!g_str_has_prefix (line, "HTTP/1.1 ") && !g_str_has_prefix (line, "HTTP/1.0 "))
      || strlen (line) < 12 || !g_ascii_isdigit (line[9]) || !g_ascii_isdigit (line[10])
      || !g_ascii_isdigit (line[11]) || (line[12] != ' ' && line[12] != '\0'))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The server's answer does not start with “HTTP/1.1 NNN”");
      return FALSE;
    }
  response->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  response->reason = g_strdup (line[12] == ' ' ? line + 13 : "");
  if (response->status < 100)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The server's answer has status %03u", response->status);
      return FALSE;
    }
  return TRUE;
}

/* Where the body ends (RFC 9112 6.3): none after HEAD, 1xx, 204 and 304;
 * else chunked, Content-Length, or the server's close. */
static gboolean
cloche_http_response_parse_body (ClocheHttpResponse  *response,
                                 const char          *request_method,
                                 GError             **error)
{
  response->body = CLOCHE_HTTP_BODY_CLOSE;
  if (!_cloche_http_parse_framing (response->headers, FALSE, &response->body,
                                   &response->body_length, error))
    return FALSE;
  if (g_str_equal (request_method, "HEAD") || response->status < 200
      || response->status == 204 || response->status == 304
      || (response->body == CLOCHE_HTTP_BODY_LENGTH && response->body_length == 0))
    response->body = CLOCHE_HTTP_BODY_NONE;
  return TRUE;
}

/**
 * cloche_http_response_parse:
 * @head: a response head, up to and including its blank line
 *   (cloche_http_request_head_length() measures it)
 * @request_method: the method of the request it answers
 * @error: what is wrong with it (%G_IO_ERROR_INVALID_DATA)
 *
 * Returns: (transfer full) (nullable): the response head, or %NULL
 */
ClocheHttpResponse *
cloche_http_response_parse (const char  *head,
                            gsize        length,
                            const char  *request_method,
                            GError     **error)
{
  g_autoptr(ClocheHttpResponse) response = g_new0 (ClocheHttpResponse, 1);
  g_auto(GStrv) lines = _cloche_http_split_lines (head, length, error);
  g_autofree char *connection = NULL;
  guint count = 0;

  if (lines == NULL)
    return NULL;
  response->headers = g_array_new (FALSE, TRUE, sizeof (ClocheHttpHeader));
  g_array_set_clear_func (response->headers, (GDestroyNotify) cloche_http_response_header_clear);
  if (!cloche_http_response_parse_status_line (response, lines[0], error))
    return NULL;
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    if (++count > CLOCHE_HTTP_MAX_HEADERS
        || !_cloche_http_parse_header (response->headers, lines[i], error))
      {
        if (error != NULL && *error == NULL)
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "The server's answer has more than %d header lines",
                       CLOCHE_HTTP_MAX_HEADERS);
        return NULL;
      }
  if (!cloche_http_response_parse_body (response, request_method, error))
    return NULL;
  connection = _cloche_http_dup_list (response->headers, "Connection");
  response->keep_alive = response->body != CLOCHE_HTTP_BODY_CLOSE
                         && (g_str_has_prefix (lines[0], "HTTP/1.1 ")
                             ? !cloche_http_has_token (connection, "close")
                             : cloche_http_has_token (connection, "keep-alive"));
  return g_steal_pointer (&response);
}

/**
 * cloche_http_response_dup_forward_head:
 * @close: whether the proxy closes the guest's connection after this answer
 *
 * The head to pass on to the client: HTTP/1.1 (the proxy's own version
 * towards the client), the headers meant for the server's hop removed, and
 * "Connection: close" when the proxy will close.
 *
 * Returns: (transfer full): the head, ending in its blank line
 */
char *
cloche_http_response_dup_forward_head (const ClocheHttpResponse *response,
                                       gboolean                  close,
                                       gsize                    *length)
{
  g_autoptr(GString) head = g_string_new (NULL);
  g_autofree char *connection = _cloche_http_dup_list (response->headers, "Connection");

  g_string_append_printf (head, "HTTP/1.1 %03u %s\r\n", response->status, response->reason);
  for (guint i = 0; i < response->headers->len; i++)
    {
      ClocheHttpHeader *header = &g_array_index (response->headers, ClocheHttpHeader, i);

      /* Transfer-Encoding stays: the chunks are passed on as they are. */
      if (g_ascii_strcasecmp (header->name, "Host") == 0
          || !_cloche_http_is_hop_header (connection, header->name))
        g_string_append_printf (head, "%s: %s\r\n", header->name, header->value);
    }
  if (close)
    g_string_append (head, "Connection: close\r\n");
  g_string_append (head, "\r\n");
  *length = head->len;
  return g_string_free (g_steal_pointer (&head), FALSE);
}

/* Chunked coding (RFC 9112 7.1), read strictly: the proxy passes the
 * chunks on as they are, so any server or client must find the same end.
 * Every line ends in CRLF (a bare CR or LF is how two readers end a line
 * in different places); a chunk extension is visible characters and
 * white space up to that CRLF; a trailer line is a field. */

enum
{
  CHUNK_SIZE,          /* hex digits of a chunk size */
  CHUNK_SIZE_SPACE,    /* white space after them, before ";" or the line end */
  CHUNK_EXTENSION,     /* after ";", to the line end */
  CHUNK_SIZE_LF,       /* the LF after the size line's CR */
  CHUNK_DATA,
  CHUNK_DATA_CR,       /* the CRLF after a chunk's data */
  CHUNK_DATA_LF,
  CHUNK_TRAILER_START, /* a trailer line, or the CRLF that ends the body */
  CHUNK_TRAILER_NAME,
  CHUNK_TRAILER_VALUE,
  CHUNK_TRAILER_LF,
  CHUNK_FINAL_LF,
  CHUNK_DONE,
};

static gboolean
cloche_http_response_chunks_fail (GError    **error,
                                  const char *why)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Bad chunked body: %s", why);
  return FALSE;
}

/* A byte of a field value or an extension: visible, white space, obs-text. */
static gboolean
cloche_http_response_is_text (char c)
{
  return (guchar) c >= 0x20 ? c != 0x7f : c == '\t';
}

static gboolean
cloche_http_response_is_tchar (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The end of a size line: the data, or the trailers after the last chunk. */
static void
cloche_http_response_size_line_ended (ClocheHttpChunks *self)
{
  self->state = self->size > 0 ? CHUNK_DATA : CHUNK_TRAILER_START;
}

/* After the size: white space, then ";" and an extension, or the CR. */
static gboolean
cloche_http_response_chunks_after_size (ClocheHttpChunks  *self,
                                        char               c,
                                        GError           **error)
{
  if (c == ' ' || c == '\t')
    self->state = CHUNK_SIZE_SPACE;
  else if (c == ';')
    self->state = CHUNK_EXTENSION;
  else if (c == '\r')
    self->state = CHUNK_SIZE_LF;
  else
    return cloche_http_response_chunks_fail (error, "a chunk size line is not "
                                                    "“size[;extension]” and CRLF");
  return TRUE;
}

static gboolean
cloche_http_response_chunks_size_byte (ClocheHttpChunks  *self,
                                       char               c,
                                       GError           **error)
{
  if (self->state == CHUNK_SIZE && g_ascii_isxdigit (c))
    {
      if (++self->digits > MAX_SIZE_DIGITS)
        return cloche_http_response_chunks_fail (error, "a chunk size is too large");
      self->size = self->size * 16 + g_ascii_xdigit_value (c);
      return TRUE;
    }
  if (self->digits == 0)
    return cloche_http_response_chunks_fail (error, "a chunk size is not a hex number");
  if (self->state == CHUNK_SIZE_SPACE && c != ' ' && c != '\t' && c != ';' && c != '\r')
    return cloche_http_response_chunks_fail (error,
                                             "a chunk size is followed by something else than “;”");
  return cloche_http_response_chunks_after_size (self, c, error);
}

/* After a chunk's data and its line end: the next size line. */
static void
cloche_http_response_expect_size (ClocheHttpChunks *self)
{
  self->state = CHUNK_SIZE;
  self->size = 0;
  self->digits = 0;
}

/* @c must be @expected; then the state is @next. */
static gboolean
cloche_http_response_chunks_expect (ClocheHttpChunks  *self,
                                    char               c,
                                    char               expected,
                                    guint              next,
                                    const char        *why,
                                    GError           **error)
{
  if (c != expected)
    return cloche_http_response_chunks_fail (error, why);
  self->state = next;
  return TRUE;
}

/* One byte of the trailer section: field lines, then the final CRLF. */
static gboolean
cloche_http_response_chunks_trailer_byte (ClocheHttpChunks  *self,
                                          char               c,
                                          GError           **error)
{
  switch (self->state)
    {
    case CHUNK_TRAILER_START:
      if (c == '\r')
        self->state = CHUNK_FINAL_LF;
      else if (cloche_http_response_is_tchar (c))
        self->state = CHUNK_TRAILER_NAME;
      else
        return cloche_http_response_chunks_fail (error,
                                                 "a trailer line does not start with a field name");
      return TRUE;
    case CHUNK_TRAILER_NAME:
      if (c == ':')
        self->state = CHUNK_TRAILER_VALUE;
      else if (!cloche_http_response_is_tchar (c))
        return cloche_http_response_chunks_fail (error, "a trailer line is not “name: value”");
      return TRUE;
    case CHUNK_TRAILER_VALUE:
      if (c == '\r')
        self->state = CHUNK_TRAILER_LF;
      else if (!cloche_http_response_is_text (c))
        return cloche_http_response_chunks_fail (error, "a trailer value has a control character");
      return TRUE;
    case CHUNK_TRAILER_LF:
      return cloche_http_response_chunks_expect (self, c, '\n', CHUNK_TRAILER_START,
                                                 "a CR without LF in a trailer",
                                                 error);
    default:
      return cloche_http_response_chunks_expect (self, c, '\n', CHUNK_DONE,
                                                 "a CR without LF at the end", error);
    }
}

/* One byte of anything but chunk data. */
static gboolean
cloche_http_response_chunks_byte (ClocheHttpChunks  *self,
                                  char               c,
                                  GError           **error)
{
  switch (self->state)
    {
    case CHUNK_SIZE:
    case CHUNK_SIZE_SPACE:
      return cloche_http_response_chunks_size_byte (self, c, error);
    case CHUNK_EXTENSION:
      if (c == '\r')
        self->state = CHUNK_SIZE_LF;
      else if (!cloche_http_response_is_text (c))
        return cloche_http_response_chunks_fail (error,
                                                 "a chunk extension has a control character");
      return TRUE;
    case CHUNK_SIZE_LF:
      if (c != '\n')
        return cloche_http_response_chunks_fail (error, "a CR without LF after a chunk size");
      cloche_http_response_size_line_ended (self);
      return TRUE;
    case CHUNK_DATA_CR:
      return cloche_http_response_chunks_expect (self, c, '\r', CHUNK_DATA_LF,
                                                 "a chunk is longer than its size",
                                                 error);
    case CHUNK_DATA_LF:
      if (c != '\n')
        return cloche_http_response_chunks_fail (error, "a CR without LF after a chunk");
      cloche_http_response_expect_size (self);
      return TRUE;
    default:
      return cloche_http_response_chunks_trailer_byte (self, c, error);
    }
}

/**
 * cloche_http_chunks_feed:
 * @data: the next bytes after what was fed before
 * @done: (out): set when the body ended within the bytes counted
 * @error: what is wrong with the coding (%G_IO_ERROR_INVALID_DATA)
 *
 * Returns: how many of @data belong to the body (all of them unless it
 *   ended in them), or -1 with @error
 */
gssize
cloche_http_chunks_feed (ClocheHttpChunks  *self,
                         const char        *data,
                         gsize              length,
                         gboolean          *done,
                         GError           **error)
{
  gsize i = 0;

  while (i < length && self->state != CHUNK_DONE)
    {
      if (self->state == CHUNK_DATA)
        {
          gsize n = MIN (self->size, length - i);

          i += n;
          self->size -= n;
          if (self->size == 0)
            self->state = CHUNK_DATA_CR;
          continue;
        }
      if (!cloche_http_response_chunks_byte (self, data[i++], error))
        return -1;
    }
  *done = self->state == CHUNK_DONE;
  return (gssize) i;
}
