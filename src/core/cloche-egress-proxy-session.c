/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Which session a guest connection serves, from what the guest's session
 * processes cannot forge.
 *
 * In the guest each session has a network namespace of its own whose only
 * way out is the session's forwarder (src/guest/cloche-guest-net.c), run by
 * the guest's root outside that namespace: for each connection it opens
 * one to the proxy and sends first
 *
 *   CLOCHE-SESSION <id>\n
 *
 * then the client's bytes. No session process can reach the proxy but
 * through its own forwarder, so none can send that line for another
 * session, or send none: a line it writes itself comes after its
 * forwarder's, where it is not a request (400). The session of every
 * request on the connection is the line's; Proxy-Authorization is never
 * read for it. A connection without the line (the guest's trusted base, a
 * test or a benchmark speaking to the proxy's socket) is attributed to no
 * session, and decided by the rules every session gets.
 *
 * A request line can never start so: "CLOCHE-SESSION x" has no target or
 * version, so no HTTP request is mistaken for it.
 */
#include "config.h"

#include <string.h>

#include "cloche-egress-proxy-private.h"

#define SESSION_LINE     "CLOCHE-SESSION "
#define SESSION_ID_MAX   64

static gboolean
cloche_egress_proxy_session_id_char (char c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '_';
}

/* The id between the prefix and @end (a "\n", or "\r\n"), if it is one. */
static char *
cloche_egress_proxy_session_parse_id (const char *start,
                                      const char *end)
{
  if (end > start && end[-1] == '\r')
    end--;
  if (end == start || end - start > SESSION_ID_MAX)
    return NULL;
  for (const char *p = start; p < end; p++)
    if (!cloche_egress_proxy_session_id_char (*p))
      return NULL;
  return g_strndup (start, end - start);
}

/**
 * _cloche_egress_session_line_take:
 * @head: what the connection has sent so far, before any request was read
 * @session: (out) (transfer full): the session it names, when FOUND
 *
 * Reads the session line at the start of @head, and removes it from there.
 */
ClocheEgressSessionLine
_cloche_egress_session_line_take (GByteArray  *head,
                                  char       **session)
{
  gsize prefix = strlen (SESSION_LINE);
  gsize limit = prefix + SESSION_ID_MAX + 2;
  const char *data = (const char *) head->data;
  const char *newline;

  *session = NULL;
  /* After the relay's hand-over nothing of the head is there yet (and
   * data is NULL, which memcmp must never be given). */
  if (head->len == 0)
    return CLOCHE_EGRESS_SESSION_LINE_MORE;
  if (memcmp (data, SESSION_LINE, MIN (head->len, prefix)) != 0)
    return CLOCHE_EGRESS_SESSION_LINE_NONE;
  if (head->len < prefix)
    return CLOCHE_EGRESS_SESSION_LINE_MORE;
  newline = memchr (data + prefix, '\n', MIN (head->len, limit) - prefix);
  if (newline == NULL)
    return head->len >= limit ? CLOCHE_EGRESS_SESSION_LINE_BAD : CLOCHE_EGRESS_SESSION_LINE_MORE;
  if ((*session = cloche_egress_proxy_session_parse_id (data + prefix, newline)) == NULL)
    return CLOCHE_EGRESS_SESSION_LINE_BAD;
  g_byte_array_remove_range (head, 0, newline + 1 - data);
  return CLOCHE_EGRESS_SESSION_LINE_FOUND;
}
