/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the egress proxy says of its own, as opposed to what it passes on:
 * the short HTTP answers of a refusal, a failure or a limit, each naming
 * the decision it belongs to and, for a refusal, the rule and how to
 * change the policy. Text only; cloche-egress-proxy-connection.c writes
 * it. A refusal's answer is plain text a person or an agent reads in the
 * guest: it says what was refused, by which rule, and what to do.
 */
#include "config.h"

#include "cloche-egress-proxy-private.h"

/**
 * _cloche_egress_answer_format:
 * @extra_headers: (nullable): header lines, each ending in CRLF
 * @close: whether the proxy closes the connection after it
 * @length: (out): the length of the result
 *
 * Returns: (transfer full): a whole answer, its body @body as plain text
 */
char *
_cloche_egress_answer_format (guint        status,
                              const char  *reason,
                              const char  *extra_headers,
                              const char  *body,
                              gboolean     close,
                              gsize       *length)
{
  char *text = g_strdup_printf ("HTTP/1.1 %u %s\r\n"
                                "Content-Type: text/plain; charset=utf-8\r\n"
                                "Content-Length: %zu\r\n"
                                "%s"
                                "%s"
                                "\r\n"
                                "%s",
                                status, reason, strlen (body),
                                extra_headers != NULL ? extra_headers : "",
                                close ? "Connection: close\r\n" : "", body);

  *length = strlen (text);
  return text;
}

/* What names a refusal in its answer: the rule and the decision. */
char *
_cloche_egress_answer_headers (const ClocheEgressDecision *decision)
{
  return g_strdup_printf ("X-Cloche-Rule: %s\r\nX-Cloche-Decision: %" G_GUINT64_FORMAT "\r\n",
                          decision->rule, decision->id);
}

/* A refusal for secrets: why, and what the agent can do about it. */
static char *
cloche_egress_answer_secret_advice (const ClocheEgressDecision *decision)
{
  const char *what = g_str_equal (decision->rule, CLOCHE_EGRESS_RULE_FOREIGN_CREDENTIAL)
                     ? "Requests to a host bound to a secret carry no credential but that "
                       "secret's placeholder (the environment variable of its name), which "
                       "Cloche replaces with the real value; nothing else may log in there."
                     : g_str_equal (decision->rule, CLOCHE_EGRESS_RULE_MISPLACED_PLACEHOLDER)
                     ? "A placeholder goes only in its secret's header, to the hosts the "
                       "secret is bound to, over https, from its own session."
                     : "The user can set it with “clochectl secret set NAME” on the host, or "
                       "in Cloche's Secrets.";

  return g_strdup_printf ("Why: %s.\n%s", decision->error, what);
}

/* A rule that names a method or a path, which a tunnel would carry unseen. */
static gboolean
cloche_egress_answer_names_request (const char *rule)
{
  const char *text = strchr (rule, ' ');

  return text != NULL && strpbrk (text + 1, " /") != NULL;
}

static char *
cloche_egress_answer_refusal_advice (const ClocheEgressDecision *decision,
                                     const ClocheHttpRequest    *request,
                                     const char                 *local_address)
{
  g_autofree char *authority = cloche_http_request_dup_authority (request);

  if (g_str_equal (decision->rule, CLOCHE_EGRESS_RULE_FOREIGN_CREDENTIAL)
      || g_str_equal (decision->rule, CLOCHE_EGRESS_RULE_MISPLACED_PLACEHOLDER)
      || g_str_equal (decision->rule, CLOCHE_EGRESS_RULE_SECRET_UNAVAILABLE))
    return cloche_egress_answer_secret_advice (decision);
  if (request->connect && g_str_has_prefix (decision->rule, "deny ")
      && cloche_egress_answer_names_request (decision->rule))
    return g_strdup_printf ("“%s” names a method or a path, which the proxy sees only in "
                            "plain http:// requests and for hosts bound to a secret; a tunnel "
                            "to %s would carry it unseen, so it refuses the tunnel.",
                            decision->rule + 5, request->host);
  if (g_str_equal (decision->rule, CLOCHE_EGRESS_RULE_HOST_LOCAL))
    return g_strdup_printf ("%s is on this host or its private network (%s), which only "
                            "an allow rule naming the host reaches: add “%s” (this port) "
                            "or “%s” (any port) to the egress allow list of the policy.",
                            request->host, local_address, authority, request->host);
  if (g_str_has_prefix (decision->rule, "deny "))
    return g_strdup_printf ("To allow it, remove or narrow “%s” in the egress deny list "
                            "of the policy.", decision->rule + 5);
  return g_strdup_printf ("No rule allows it. To allow it, add “%s” (this port) or "
                          "“%s” (any port) to the egress allow list of the policy.",
                          authority, request->host);
}

/**
 * _cloche_egress_answer_refusal:
 * @decision: a refusal by a rule (of the policy, or host-local)
 * @request: the request it refused
 * @local_address: (nullable): for host-local, the address that refused it
 *
 * Returns: (transfer full): the body of the 403
 */
char *
_cloche_egress_answer_refusal (const ClocheEgressDecision *decision,
                               const ClocheHttpRequest    *request,
                               const char                 *local_address)
{
  g_autofree char *authority = cloche_http_request_dup_authority (request);
  g_autofree char *advice = cloche_egress_answer_refusal_advice (decision, request, local_address);
  const char *session = decision->session[0] != '\0' ? decision->session : "none named";

  return g_strdup_printf ("Cloche refused a %s to %s%s.\n"
                          "Rule: %s\n"
                          "Session: %s\n"
                          "%s\n"
                          "The policy is $XDG_CONFIG_HOME/cloche/policy.json on the host "
                          "(see docs/policy.md); “clochectl egress status” shows the rules "
                          "in force and “clochectl egress log” every decision.\n",
                          request->connect ? "connection" : request->method, authority,
                          request->connect ? "" : request->path, decision->rule, session,
                          advice);
}

static void
cloche_egress_answer_refusal_written_cb (GObject      *object,
                                         GAsyncResult *result,
                                         gpointer      user_data)
{
  g_autoptr(GSocketConnection) client = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (object), result, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (client), NULL, NULL);
  g_free (g_object_steal_data (G_OBJECT (client), "cloche-answer"));
}

/* Over the connection limit: a short answer, and no reading at all. */
void
_cloche_egress_answer_over_limit (GSocketConnection    *client,
                                  ClocheEgressDecision *decision)
{
  g_autofree char *body = g_strdup_printf ("Cloche's egress proxy could not take this "
                                           "connection: %s. Try again when some have "
                                           "closed.\n", decision->error);
  g_autofree char *headers = _cloche_egress_answer_headers (decision);
  g_autofree char *extra = g_strconcat ("Retry-After: 1\r\n", headers, NULL);
  gsize length = 0;
  char *text = _cloche_egress_answer_format (503, "Service Unavailable", extra, body, TRUE,
                                             &length);

  g_object_set_data (G_OBJECT (client), "cloche-answer", text);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (client)),
                                   text, length, G_PRIORITY_DEFAULT, NULL,
                                   cloche_egress_answer_refusal_written_cb, g_object_ref (client));
}
