/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A QMP client: the greeting and capabilities handshake, commands matched to
 * their replies by id, and events as a signal. QEMU talks to us over a
 * socketpair, so there is no connect step and no socket path to race on.
 */
#include "config.h"

#include <unistd.h>

#include "cloche-error.h"
#include "cloche-json.h"
#include "cloche-line-channel.h"
#include "cloche-qmp-client-private.h"

#define PEER "The QMP monitor of QEMU"

struct _ClocheQmpClient
{
  GObject            parent_instance;
  ClocheLineChannel *channel;
  GHashTable        *pending;        /* id → GTask */
  GTask             *handshake;
  gint64             next_id;
  gboolean           greeted;
};

enum {
  EVENT,
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheQmpClient, cloche_qmp_client, G_TYPE_OBJECT)

void
cloche_qmp_message_clear (ClocheQmpMessage *message)
{
  g_clear_pointer (&message->payload, json_node_unref);
  g_clear_pointer (&message->event, g_free);
  g_clear_pointer (&message->error_class, g_free);
  g_clear_pointer (&message->error_desc, g_free);
}

static JsonNode *
cloche_qmp_client_dup_member (JsonObject *object,
                              const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL ? json_node_copy (node) : NULL;
}

static gboolean
cloche_qmp_client_parse_error_member (JsonObject        *object,
                                      ClocheQmpMessage  *message)
{
  JsonObject *error = cloche_json_get_object (object, "error");

  if (error == NULL)
    return FALSE;
  message->kind = CLOCHE_QMP_MESSAGE_ERROR;
  message->error_class = g_strdup (cloche_json_get_string (error, "class", "GenericError"));
  message->error_desc = g_strdup (cloche_json_get_string (error, "desc", "no description"));
  return TRUE;
}

gboolean
cloche_qmp_message_parse (const char        *line,
                          ClocheQmpMessage  *message,
                          GError           **error)
{
  g_autoptr(JsonObject) object = NULL;
  g_autofree char *quoted = NULL;

  memset (message, 0, sizeof *message);
  message->id = -1;

  object = cloche_json_parse_line (line, PEER, CLOCHE_ERROR_QMP_PROTOCOL, error);
  if (object == NULL)
    return FALSE;

  message->id = cloche_json_get_int (object, "id", -1);

  if (json_object_has_member (object, "QMP"))
    {
      message->kind = CLOCHE_QMP_MESSAGE_GREETING;
      message->payload = cloche_qmp_client_dup_member (object, "QMP");
      return TRUE;
    }
  if (json_object_has_member (object, "return"))
    {
      message->kind = CLOCHE_QMP_MESSAGE_RETURN;
      message->payload = cloche_qmp_client_dup_member (object, "return");
      return TRUE;
    }
  /* The name becomes a signal argument, so an event must have one. */
  if (cloche_json_get_string (object, "event", NULL) != NULL)
    {
      message->kind = CLOCHE_QMP_MESSAGE_EVENT;
      message->event = g_strdup (cloche_json_get_string (object, "event", NULL));
      message->payload = cloche_qmp_client_dup_member (object, "data");
      return TRUE;
    }
  if (cloche_qmp_client_parse_error_member (object, message))
    return TRUE;

  quoted = cloche_json_quote (line);
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL,
               "%s sent a message that is neither a reply nor an event: %s",
               PEER, quoted);
  return FALSE;
}

static void
cloche_qmp_client_complete_reply (ClocheQmpClient  *self,
                                  ClocheQmpMessage *message)
{
  g_autoptr(GTask) task = NULL;
  g_autofree gint64 *key = NULL;

  if (!g_hash_table_steal_extended (self->pending, &message->id,
                                    (gpointer *) &key, (gpointer *) &task))
    {
      g_debug ("QMP reply to unknown id %" G_GINT64_FORMAT, message->id);
      return;
    }

  if (message->kind == CLOCHE_QMP_MESSAGE_ERROR)
    g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_QEMU_FAILED,
                             "QEMU refused %s: %s (%s)",
                             (const char *) g_task_get_task_data (task),
                             message->error_desc, message->error_class);
  else
    g_task_return_pointer (task, g_steal_pointer (&message->payload),
                           (GDestroyNotify) json_node_unref);
}

static void cloche_qmp_client_send_capabilities (ClocheQmpClient *self);

static void
cloche_qmp_client_line_cb (ClocheQmpClient *self,
                           const char      *line)
{
  g_auto(ClocheQmpMessage) message = { 0 };
  g_autoptr(GError) error = NULL;

  if (!cloche_qmp_message_parse (line, &message, &error))
    {
      /* A stray line does not make QEMU unusable; say what it was. */
      g_warning ("%s", error->message);
      return;
    }

  switch (message.kind)
    {
    case CLOCHE_QMP_MESSAGE_GREETING:
      self->greeted = TRUE;
      if (self->handshake != NULL)
        cloche_qmp_client_send_capabilities (self);
      break;
    case CLOCHE_QMP_MESSAGE_EVENT:
      g_signal_emit (self, signals[EVENT], 0, message.event,
                     message.payload != NULL && JSON_NODE_HOLDS_OBJECT (message.payload)
                       ? json_node_get_object (message.payload) : NULL);
      break;
    case CLOCHE_QMP_MESSAGE_RETURN:
    case CLOCHE_QMP_MESSAGE_ERROR:
    default:
      cloche_qmp_client_complete_reply (self, &message);
      break;
    }
}

static void
cloche_qmp_client_fail_pending (ClocheQmpClient *self,
                                const GError    *error)
{
  g_autoptr(GList) tasks = g_hash_table_get_values (self->pending);
  GTask *handshake = g_steal_pointer (&self->handshake);

  /* The table owns no task: each is returned and dropped here. */
  g_hash_table_remove_all (self->pending);
  if (handshake != NULL)
    tasks = g_list_prepend (tasks, handshake);
  for (GList *l = tasks; l != NULL; l = l->next)
    {
      g_autoptr(GTask) task = l->data;

      if (error != NULL)
        g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL,
                                 "The QMP connection to QEMU broke: %s", error->message);
      else
        g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL,
                                 "QEMU closed its QMP connection (it exited)");
    }
}

static void
cloche_qmp_client_closed_cb (ClocheQmpClient *self,
                             const GError    *error)
{
  cloche_qmp_client_fail_pending (self, error);
  g_signal_emit (self, signals[CLOSED], 0, error);
}

static void
cloche_qmp_client_capabilities_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  ClocheQmpClient *self = CLOCHE_QMP_CLIENT (object);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) handshake = g_steal_pointer (&self->handshake);

  reply = cloche_qmp_client_execute_finish (self, result, &error);
  if (handshake == NULL)
    return;
  if (reply == NULL)
    g_task_return_error (handshake, g_steal_pointer (&error));
  else
    g_task_return_boolean (handshake, TRUE);
}

static void
cloche_qmp_client_send_capabilities (ClocheQmpClient *self)
{
  cloche_qmp_client_execute_async (self, "qmp_capabilities", NULL, NULL,
                                   cloche_qmp_client_capabilities_cb, NULL);
}

void
cloche_qmp_client_handshake_async (ClocheQmpClient     *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHE_IS_QMP_CLIENT (self));
  g_return_if_fail (self->handshake == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_qmp_client_handshake_async);
  self->handshake = g_steal_pointer (&task);
  if (self->greeted)
    cloche_qmp_client_send_capabilities (self);
}

gboolean
cloche_qmp_client_handshake_finish (ClocheQmpClient  *self,
                                    GAsyncResult     *result,
                                    GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
cloche_qmp_client_execute_async (ClocheQmpClient     *self,
                                 const char          *command,
                                 JsonObject          *arguments,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  cloche_qmp_client_execute_with_fd_async (self, command, arguments, -1, cancellable, callback,
                                           user_data);
}

/**
 * cloche_qmp_client_execute_with_fd_async:
 * @fd: a descriptor sent with the command (SCM_RIGHTS), which the client
 *   takes, or -1: for `getfd`, which names it for later commands
 *
 * As cloche_qmp_client_execute_async().
 */
void
cloche_qmp_client_execute_with_fd_async (ClocheQmpClient     *self,
                                         const char          *command,
                                         JsonObject          *arguments,
                                         int                  fd,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonNode) node = NULL;
  gint64 id;

  g_return_if_fail (CLOCHE_IS_QMP_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_qmp_client_execute_async);
  g_task_set_task_data (task, g_strdup (command), g_free);

  if (cloche_line_channel_is_closed (self->channel))
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_QMP_PROTOCOL,
                               "Cannot send %s: QEMU closed its QMP connection", command);
      if (fd >= 0)
        close (fd);
      return;
    }

  id = self->next_id++;
  node = cloche_json_command_new (command, arguments);
  json_object_set_int_member (json_node_get_object (node), "id", id);
  g_hash_table_insert (self->pending, g_memdup2 (&id, sizeof id), g_steal_pointer (&task));
  cloche_line_channel_send_with_fd (self->channel, node, fd);
}

/**
 * cloche_qmp_client_execute_finish:
 *
 * Returns: (transfer full): the "return" member of the reply
 */
JsonNode *
cloche_qmp_client_execute_finish (ClocheQmpClient  *self,
                                  GAsyncResult     *result,
                                  GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
cloche_qmp_client_close (ClocheQmpClient *self)
{
  g_return_if_fail (CLOCHE_IS_QMP_CLIENT (self));

  cloche_line_channel_close (self->channel);
}

static void
cloche_qmp_client_dispose (GObject *object)
{
  ClocheQmpClient *self = CLOCHE_QMP_CLIENT (object);

  if (self->channel != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->channel, self);
      cloche_line_channel_close (self->channel);
    }
  g_clear_object (&self->channel);

  G_OBJECT_CLASS (cloche_qmp_client_parent_class)->dispose (object);
}

static void
cloche_qmp_client_finalize (GObject *object)
{
  ClocheQmpClient *self = CLOCHE_QMP_CLIENT (object);

  g_clear_pointer (&self->pending, g_hash_table_unref);

  G_OBJECT_CLASS (cloche_qmp_client_parent_class)->finalize (object);
}

static void
cloche_qmp_client_class_init (ClocheQmpClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cloche_qmp_client_dispose;
  object_class->finalize = cloche_qmp_client_finalize;

  /**
   * ClocheQmpClient::event:
   * @name: the QMP event, e.g. "SHUTDOWN"
   * @data: (nullable): its "data" member
   */
  signals[EVENT] =
    g_signal_new ("event", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                  G_TYPE_STRING, JSON_TYPE_OBJECT);

  signals[CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
cloche_qmp_client_init (ClocheQmpClient *self)
{
  /* Values are owned GTasks, always stolen before they complete. */
  self->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                         g_free, NULL);
  self->next_id = 1;
}

ClocheQmpClient *
cloche_qmp_client_new (GIOStream *stream)
{
  ClocheQmpClient *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);

  self = g_object_new (CLOCHE_TYPE_QMP_CLIENT, NULL);
  self->channel = cloche_line_channel_new (stream);
  g_signal_connect_swapped (self->channel, "line", G_CALLBACK (cloche_qmp_client_line_cb), self);
  g_signal_connect_swapped (self->channel, "closed", G_CALLBACK (cloche_qmp_client_closed_cb),
                            self);
  cloche_line_channel_start (self->channel);
  return self;
}

/**
 * cloche_qmp_socket_chardev_new:
 * @id: the chardev's id
 * @address_type: "unix" or "fd"
 * @member: the address's member ("path" for unix, "str" for fd)
 * @value: its value: a socket path, or the name of a descriptor QEMU was given
 *
 * The arguments of a `chardev-add` for a socket QEMU connects to as a client
 * (no server, no reconnect): what a virtiofsd share and a terminal port both
 * need, in one place.
 *
 * Returns: (transfer full): the arguments
 */
JsonObject *
cloche_qmp_socket_chardev_new (const char *id,
                               const char *address_type,
                               const char *member,
                               const char *value)
{
  JsonObject *arguments = json_object_new ();
  JsonObject *backend = json_object_new ();
  JsonObject *socket = json_object_new ();
  JsonObject *address = json_object_new ();
  JsonObject *data = json_object_new ();

  json_object_set_string_member (data, member, value);
  json_object_set_string_member (address, "type", address_type);
  json_object_set_object_member (address, "data", data);
  json_object_set_object_member (socket, "addr", address);
  json_object_set_boolean_member (socket, "server", FALSE);
  json_object_set_string_member (backend, "type", "socket");
  json_object_set_object_member (backend, "data", socket);
  json_object_set_string_member (arguments, "id", id);
  json_object_set_object_member (arguments, "backend", backend);
  return arguments;
}
