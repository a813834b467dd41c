/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * An MCP server (protocol revisions 2025-06-18 and 2025-11-25) over a
 * line transport: the lifecycle (initialize with version negotiation,
 * ping, shutdown at the end of the input), tools/list and tools/call, and
 * the notifications a client sends (initialized, cancelled).
 *
 * Rules: nothing but tools/call reaches the sandbox, so initialize and
 * tools/list start no daemon and no VM; a request other than initialize
 * and ping before initialize is refused; every request gets exactly one
 * answer, except a call the client cancelled (the spec says not to answer
 * it), whose command is stopped in the guest; a malformed line gets a
 * JSON-RPC error with the request's id when it could be read, else null,
 * and the server goes on. Calls run concurrently; each carries its
 * progress token, if it gave one, for the notifications sent while the VM
 * boots. When the input ends, calls still running are cancelled, and
 * "finished" is emitted once they ended and every answer is written.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "clochectl-mcp-message.h"
#include "clochectl-mcp-server.h"

/* The newest first: what we answer a client asking for one we lack. */
static const char * const protocol_versions[] = { "2025-11-25", "2025-06-18", NULL };

#define CLIENT_FIELD_MAX 128

struct _ClochectlMcpServer
{
  GObject                parent_instance;
  ClochectlMcpTransport *transport;
  ClochectlMcpTools     *tools;
  gboolean               initialized;
  GPtrArray             *pending;        /* Pending: tools/call in progress */
  gboolean               input_closed;
  gboolean               finished;
};

enum {
  FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClochectlMcpServer, clochectl_mcp_server, G_TYPE_OBJECT)

typedef struct
{
  ClochectlMcpServer *server;   /* NULL once the server is gone */
  JsonNode           *id;
  JsonNode           *progress_token;
  gint64              progress;
  GCancellable       *cancellable;
  gboolean            cancelled;
} Pending;

static void
clochectl_mcp_server_pending_free (Pending *pending)
{
  json_node_unref (pending->id);
  g_clear_pointer (&pending->progress_token, json_node_unref);
  g_object_unref (pending->cancellable);
  g_free (pending);
}

static void
clochectl_mcp_server_send_line (ClochectlMcpServer *self,
                                char               *line)
{
  clochectl_mcp_transport_send (self->transport, line);
}

static void
clochectl_mcp_server_send_error (ClochectlMcpServer *self,
                                 JsonNode           *id,
                                 int                 code,
                                 const char         *message)
{
  clochectl_mcp_server_send_line (self, clochectl_mcp_error_line (id, code, message));
}

/* The end */

static void
clochectl_mcp_server_flushed_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  g_autoptr(ClochectlMcpServer) self = user_data;

  clochectl_mcp_transport_flush_finish (CLOCHECTL_MCP_TRANSPORT (object), result, NULL);
  g_signal_emit (self, signals[FINISHED], 0);
}

static void
clochectl_mcp_server_maybe_finish (ClochectlMcpServer *self)
{
  if (!self->input_closed || self->pending->len > 0 || self->finished)
    return;
  self->finished = TRUE;
  clochectl_mcp_transport_flush_async (self->transport, clochectl_mcp_server_flushed_cb,
                                       g_object_ref (self));
}

/**
 * clochectl_mcp_server_shutdown:
 *
 * Stops reading: calls in progress are cancelled (their commands killed)
 * and "finished" follows once they ended.
 */
void
clochectl_mcp_server_shutdown (ClochectlMcpServer *self)
{
  g_return_if_fail (CLOCHECTL_IS_MCP_SERVER (self));

  self->input_closed = TRUE;
  for (guint i = 0; i < self->pending->len; i++)
    {
      Pending *pending = g_ptr_array_index (self->pending, i);

      pending->cancelled = TRUE;
      g_cancellable_cancel (pending->cancellable);
    }
  clochectl_mcp_server_maybe_finish (self);
}

/* initialize */

/* What a client calls itself ends up in a session record and the audit
 * log: one line of printable text, bounded. */
static char *
clochectl_mcp_server_client_field (JsonObject *info,
                                   const char *member,
                                   const char *fallback)
{
  const char *value = NULL;
  g_autofree char *valid = NULL;
  GString *clean = g_string_new (NULL);

  if (info != NULL && json_object_has_member (info, member)
      && JSON_NODE_HOLDS_VALUE (json_object_get_member (info, member))
      && json_node_get_value_type (json_object_get_member (info, member)) == G_TYPE_STRING)
    value = json_object_get_string_member (info, member);
  valid = g_utf8_make_valid (value != NULL && value[0] != '\0' ? value : fallback, -1);
  for (const char *p = valid; *p != '\0' && clean->len < CLIENT_FIELD_MAX;
       p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isprint (c))
        g_string_append_unichar (clean, c);
    }
  return g_string_free (clean, FALSE);
}

static const char *
clochectl_mcp_server_negotiate (const char *requested)
{
  for (guint i = 0; protocol_versions[i] != NULL; i++)
    if (g_strcmp0 (requested, protocol_versions[i]) == 0)
      return protocol_versions[i];
  return protocol_versions[0];
}

static JsonObject *
clochectl_mcp_server_info (void)
{
  JsonObject *info = json_object_new ();

  json_object_set_string_member (info, "name", "cloche");
  json_object_set_string_member (info, "title", "Cloche sandbox");
  json_object_set_string_member (info, "version", PACKAGE_VERSION);
  return info;
}

static void
clochectl_mcp_server_handle_initialize (ClochectlMcpServer  *self,
                                        ClochectlMcpMessage *message)
{
  g_autoptr(JsonObject) result = json_object_new ();
  JsonObject *capabilities, *tools;
  JsonNode *version = message->params ? json_object_get_member (message->params,
                                                                "protocolVersion") : NULL;
  JsonNode *info = message->params ? json_object_get_member (message->params, "clientInfo")
                                   : NULL;
  g_autofree char *name = NULL;
  g_autofree char *client_version = NULL;

  if (self->initialized)
    {
      clochectl_mcp_server_send_error (self, message->id, CLOCHECTL_MCP_ERROR_INVALID_REQUEST,
                                       "Invalid Request: initialize was already received");
      return;
    }
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version)
      || json_node_get_value_type (version) != G_TYPE_STRING)
    {
      clochectl_mcp_server_send_error (self, message->id, CLOCHECTL_MCP_ERROR_INVALID_PARAMS,
                                       "Invalid params: initialize needs \"protocolVersion\", a "
                                       "string");
      return;
    }
  name = clochectl_mcp_server_client_field (info != NULL && JSON_NODE_HOLDS_OBJECT (info)
                                            ? json_node_get_object (info) : NULL, "name",
                                            "MCP client");
  client_version = clochectl_mcp_server_client_field (info != NULL && JSON_NODE_HOLDS_OBJECT (info)
                                                      ? json_node_get_object (info) : NULL,
                                                      "version", "?");
  clochectl_mcp_tools_set_client (self->tools, name, client_version);
  self->initialized = TRUE;

  tools = json_object_new ();
  capabilities = json_object_new ();
  json_object_set_boolean_member (tools, "listChanged", FALSE);
  json_object_set_object_member (capabilities, "tools", tools);
  json_object_set_string_member (result, "protocolVersion",
                                 clochectl_mcp_server_negotiate (json_node_get_string (version)));
  json_object_set_object_member (result, "capabilities", capabilities);
  json_object_set_object_member (result, "serverInfo", clochectl_mcp_server_info ());
  json_object_set_string_member (result, "instructions",
    "These tools work inside the Cloche sandbox: a Linux VM on the user's machine. Commands "
    "and files are confined to this session's folder; the user's folders appear in it as "
    "mnt/NAME, read-only or read-write (session_info lists them). Paths are relative to the "
    "session folder or absolute inside it. The VM boots at the first tool call, which can "
    "take a while without hardware virtualization.");
  clochectl_mcp_server_send_line (self, clochectl_mcp_result_line (message->id, result));
}

/* tools/call */

static void
clochectl_mcp_server_send_progress (const char *text,
                                    gpointer    user_data)
{
  Pending *pending = user_data;
  g_autoptr(JsonObject) params = json_object_new ();

  if (pending->server == NULL || pending->progress_token == NULL || pending->cancelled)
    return;
  json_object_set_member (params, "progressToken", json_node_copy (pending->progress_token));
  json_object_set_int_member (params, "progress", ++pending->progress);
  json_object_set_string_member (params, "message", text);
  clochectl_mcp_server_send_line (pending->server,
                                  clochectl_mcp_notification_line ("notifications/progress",
                                                                   params));
}

static void
clochectl_mcp_server_call_done_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  Pending *pending = user_data;
  ClochectlMcpServer *self = pending->server;
  g_autoptr(JsonObject) call_result = NULL;
  g_autoptr(GError) error = NULL;

  call_result = clochectl_mcp_tools_call_finish (CLOCHECTL_MCP_TOOLS (object), result, &error);
  if (self == NULL)
    {
      clochectl_mcp_server_pending_free (pending);
      return;
    }
  if (!pending->cancelled && call_result != NULL)
    clochectl_mcp_server_send_line (self, clochectl_mcp_result_line (pending->id, call_result));
  else if (!pending->cancelled && error->domain == CLOCHECTL_MCP_ERROR)
    clochectl_mcp_server_send_error (self, pending->id, error->code, error->message);
  g_ptr_array_remove (self->pending, pending);
  clochectl_mcp_server_maybe_finish (self);
}

static Pending *
clochectl_mcp_server_find_pending (ClochectlMcpServer *self,
                                   JsonNode           *id)
{
  for (guint i = 0; i < self->pending->len; i++)
    if (clochectl_mcp_id_equal (((Pending *) g_ptr_array_index (self->pending, i))->id, id))
      return g_ptr_array_index (self->pending, i);
  return NULL;
}

static JsonNode *
clochectl_mcp_server_progress_token (JsonObject *params)
{
  JsonNode *meta = json_object_get_member (params, "_meta");
  JsonNode *token;

  if (meta == NULL || !JSON_NODE_HOLDS_OBJECT (meta))
    return NULL;
  token = json_object_get_member (json_node_get_object (meta), "progressToken");
  return clochectl_mcp_id_is_valid (token) ? json_node_copy (token) : NULL;
}

static void
clochectl_mcp_server_handle_tools_call (ClochectlMcpServer  *self,
                                        ClochectlMcpMessage *message)
{
  JsonNode *name = message->params ? json_object_get_member (message->params, "name") : NULL;
  JsonNode *arguments = message->params ? json_object_get_member (message->params, "arguments")
                                        : NULL;
  Pending *pending;

  if (name == NULL || !JSON_NODE_HOLDS_VALUE (name)
      || json_node_get_value_type (name) != G_TYPE_STRING)
    {
      clochectl_mcp_server_send_error (self, message->id, CLOCHECTL_MCP_ERROR_INVALID_PARAMS,
                                       "Invalid params: tools/call needs \"name\", a string");
      return;
    }
  if (arguments != NULL && !JSON_NODE_HOLDS_OBJECT (arguments) && !JSON_NODE_HOLDS_NULL (arguments))
    {
      clochectl_mcp_server_send_error (self, message->id, CLOCHECTL_MCP_ERROR_INVALID_PARAMS,
                                       "Invalid params: \"arguments\" must be an object");
      return;
    }
  if (clochectl_mcp_server_find_pending (self, message->id) != NULL)
    {
      clochectl_mcp_server_send_error (self, message->id, CLOCHECTL_MCP_ERROR_INVALID_REQUEST,
                                       "Invalid Request: a request with this id is still in "
                                       "progress");
      return;
    }

  pending = g_new0 (Pending, 1);
  pending->server = self;
  pending->id = json_node_copy (message->id);
  pending->progress_token = clochectl_mcp_server_progress_token (message->params);
  pending->cancellable = g_cancellable_new ();
  g_ptr_array_add (self->pending, pending);
  clochectl_mcp_tools_call_async (self->tools, json_node_get_string (name),
                                  arguments != NULL && JSON_NODE_HOLDS_OBJECT (arguments)
                                  ? json_node_get_object (arguments) : NULL,
                                  clochectl_mcp_server_send_progress, pending, pending->cancellable,
                                  clochectl_mcp_server_call_done_cb, pending);
}

/* Notifications */

static void
clochectl_mcp_server_handle_cancelled (ClochectlMcpServer *self,
                                       JsonObject         *params)
{
  JsonNode *id = params != NULL ? json_object_get_member (params, "requestId") : NULL;
  Pending *pending =
    clochectl_mcp_id_is_valid (id) ? clochectl_mcp_server_find_pending (self, id) : NULL;

  /* An unknown or finished request: nothing to do, as the spec says. */
  if (pending == NULL)
    return;
  pending->cancelled = TRUE;
  g_cancellable_cancel (pending->cancellable);
}

static void
clochectl_mcp_server_handle_notification (ClochectlMcpServer  *self,
                                          ClochectlMcpMessage *message)
{
  if (g_str_equal (message->method, "notifications/cancelled"))
    clochectl_mcp_server_handle_cancelled (self, message->params);
  /* notifications/initialized and anything else: nothing to answer. */
}

/* Requests */

static void
clochectl_mcp_server_handle_request (ClochectlMcpServer  *self,
                                     ClochectlMcpMessage *message)
{
  g_autofree char *unknown = NULL;

  if (g_str_equal (message->method, "ping"))
    {
      g_autoptr(JsonObject) empty = json_object_new ();

      clochectl_mcp_server_send_line (self, clochectl_mcp_result_line (message->id, empty));
    }
  else if (g_str_equal (message->method, "initialize"))
    clochectl_mcp_server_handle_initialize (self, message);
  else if (!self->initialized)
    clochectl_mcp_server_send_error (self, message->id, CLOCHECTL_MCP_ERROR_INVALID_REQUEST,
                                     "Invalid Request: the server is not initialized; send "
                                     "initialize first");
  else if (g_str_equal (message->method, "tools/list"))
    {
      g_autoptr(JsonObject) list = clochectl_mcp_tools_list (self->tools);

      clochectl_mcp_server_send_line (self, clochectl_mcp_result_line (message->id, list));
    }
  else if (g_str_equal (message->method, "tools/call"))
    clochectl_mcp_server_handle_tools_call (self, message);
  else
    {
      unknown = g_strdup_printf ("Method not found: %s (this server serves initialize, ping, "
                                 "tools/list and tools/call)", message->method);
      clochectl_mcp_server_send_error (self, message->id, CLOCHECTL_MCP_ERROR_METHOD_NOT_FOUND,
                                       unknown);
    }
}

static void
clochectl_mcp_server_line_cb (ClochectlMcpTransport *transport,
                              const char            *data,
                              guint64                length,
                              ClochectlMcpServer    *self)
{
  g_auto(ClochectlMcpMessage) message = { 0 };
  g_autoptr(JsonNode) error_id = NULL;
  g_autoptr(GError) error = NULL;

  if (self->input_closed)
    return;
  if (!clochectl_mcp_message_parse (data, length, &message, &error_id, &error))
    {
      clochectl_mcp_server_send_error (self, error_id, error->code, error->message);
      return;
    }
  if (message.kind == CLOCHECTL_MCP_REQUEST)
    clochectl_mcp_server_handle_request (self, &message);
  else if (message.kind == CLOCHECTL_MCP_NOTIFICATION)
    clochectl_mcp_server_handle_notification (self, &message);
  /* Responses: we send no requests, so there is nothing they answer. */
}

static void
clochectl_mcp_server_overlong_cb (ClochectlMcpTransport *transport,
                                  guint64                length,
                                  ClochectlMcpServer    *self)
{
  g_autofree char *text = g_strdup_printf ("Parse error: a message of %" G_GUINT64_FORMAT
                                           " bytes is longer than the %u MiB allowed; it was "
                                           "dropped", length,
                                           CLOCHECTL_MCP_LINE_MAX_BYTES / (1024 * 1024));

  clochectl_mcp_server_send_error (self, NULL, CLOCHECTL_MCP_ERROR_PARSE, text);
}

static void
clochectl_mcp_server_closed_cb (ClochectlMcpTransport *transport,
                                ClochectlMcpServer    *self)
{
  clochectl_mcp_server_shutdown (self);
}

void
clochectl_mcp_server_start (ClochectlMcpServer *self)
{
  g_return_if_fail (CLOCHECTL_IS_MCP_SERVER (self));

  clochectl_mcp_transport_start (self->transport);
}

static void
clochectl_mcp_server_dispose (GObject *object)
{
  ClochectlMcpServer *self = CLOCHECTL_MCP_SERVER (object);

  /* Calls still running end without us. */
  for (guint i = 0; self->pending != NULL && i < self->pending->len; i++)
    ((Pending *) g_ptr_array_index (self->pending, i))->server = NULL;
  if (self->pending != NULL)
    g_ptr_array_set_free_func (self->pending, NULL);
  g_clear_pointer (&self->pending, g_ptr_array_unref);
  if (self->transport != NULL)
    g_signal_handlers_disconnect_by_data (self->transport, self);
  g_clear_object (&self->transport);
  g_clear_object (&self->tools);

  G_OBJECT_CLASS (clochectl_mcp_server_parent_class)->dispose (object);
}

static void
clochectl_mcp_server_class_init (ClochectlMcpServerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = clochectl_mcp_server_dispose;

  signals[FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
clochectl_mcp_server_init (ClochectlMcpServer *self)
{
  self->pending =
    g_ptr_array_new_with_free_func ((GDestroyNotify) clochectl_mcp_server_pending_free);
}

ClochectlMcpServer *
clochectl_mcp_server_new (ClochectlMcpTransport *transport,
                          ClochectlMcpTools     *tools)
{
  ClochectlMcpServer *self = g_object_new (CLOCHECTL_TYPE_MCP_SERVER, NULL);

  self->transport = g_object_ref (transport);
  self->tools = g_object_ref (tools);
  g_signal_connect (transport, "line", G_CALLBACK (clochectl_mcp_server_line_cb), self);
  g_signal_connect (transport, "overlong", G_CALLBACK (clochectl_mcp_server_overlong_cb), self);
  g_signal_connect (transport, "closed", G_CALLBACK (clochectl_mcp_server_closed_cb), self);
  return self;
}
