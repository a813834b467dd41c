/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One terminal's channel: a virtio-serial port hot-plugged into the running
 * VM, whose host end is one end of a socketpair; the other end goes to the
 * client (over D-Bus, as a descriptor), so that the terminal's bytes go
 * client <-> QEMU <-> guest and never through the daemon. The exec
 * server's port (cloche-exec-channel.c) is the same, named
 * io.github.cloche.exec.N, its client the daemon itself.
 *
 *   plug:    socketpair → getfd (QEMU's end, passed on the QMP socket)
 *            → chardev-add socket on that fd → device_add virtserialport
 *            on vser0 named io.github.cloche.term.N
 *   unplug:  (what QEMU still holds for the client read) → device_del
 *            → DEVICE_DELETED → chardev-remove: QEMU closes its end, the
 *            client reads the end of the stream after the last byte
 *
 * Nothing is on a path: no socket another user (or process) can connect
 * to, and nothing left when QEMU dies (its end closes, the client reads
 * the end). Why a port per terminal: docs/ARCHITECTURE.md, "Terminals".
 *
 * A client that goes away leaves the port plugged (the guest's relay keeps
 * the terminal: cloche-guest-pty.c); a new one comes back through
 * reconnect: a new socketpair, its QEMU end given with getfd, and
 * chardev-change swaps the port's chardev for one on it. QEMU tells the
 * guest the host end is connected again; the port itself never moved.
 *
 * Before the port goes, what the guest wrote must have reached the client:
 * QEMU drops what it holds of a port when the port is unplugged, and it
 * holds bytes only while the socket towards the client is full. So unplug
 * waits until the client has read what is in the socket (SIOCOUTQ on a
 * descriptor of QEMU's end the port keeps for this), or has closed it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib/gi18n-lib.h>

#include "cloche-error.h"
#include "cloche-json.h"
#include "cloche-terminal-port.h"

#define SERIAL_BUS        "vser0.0"
#define UNPLUG_TIMEOUT_S  10
#define DRAIN_POLL_MS     20

struct _ClocheTerminalPort
{
  GObject          parent_instance;
  ClocheQmpClient *qmp;
  char            *id;        /* fd name, chardev and device: cloche-termN */
  char            *name;      /* the port's name in the guest */
  int              client_fd;
  int              qemu_fd;   /* our copy of QEMU's end, to see it drained */
  gboolean         chardev_added;
  gboolean         device_added;
  gulong           event_handler;
  GTask           *unplug;    /* waiting for DEVICE_DELETED */
  guint            timer;
  guint            drained;   /* checks in a row that found nothing unread */
  gboolean         swapping;  /* a new client's socket is being put in */
};

G_DEFINE_FINAL_TYPE (ClocheTerminalPort, cloche_terminal_port, G_TYPE_OBJECT)

static void
cloche_terminal_port_dispose (GObject *object)
{
  ClocheTerminalPort *self = CLOCHE_TERMINAL_PORT (object);

  g_clear_signal_handler (&self->event_handler, self->qmp);
  g_clear_handle_id (&self->timer, g_source_remove);
  g_clear_object (&self->qmp);
  G_OBJECT_CLASS (cloche_terminal_port_parent_class)->dispose (object);
}

static void
cloche_terminal_port_finalize (GObject *object)
{
  ClocheTerminalPort *self = CLOCHE_TERMINAL_PORT (object);

  if (self->client_fd >= 0)
    close (self->client_fd);
  if (self->qemu_fd >= 0)
    close (self->qemu_fd);
  g_free (self->id);
  g_free (self->name);
  G_OBJECT_CLASS (cloche_terminal_port_parent_class)->finalize (object);
}

static void
cloche_terminal_port_class_init (ClocheTerminalPortClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cloche_terminal_port_dispose;
  object_class->finalize = cloche_terminal_port_finalize;
}

static void
cloche_terminal_port_init (ClocheTerminalPort *self)
{
  self->client_fd = -1;
  self->qemu_fd = -1;
}

const char *
cloche_terminal_port_get_name (ClocheTerminalPort *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL_PORT (self), NULL);

  return self->name;
}

const char *
cloche_terminal_port_get_id (ClocheTerminalPort *self)
{
  g_return_val_if_fail (CLOCHE_IS_TERMINAL_PORT (self), NULL);

  return self->id;
}

/**
 * cloche_terminal_port_steal_client_fd:
 *
 * Returns: the client's end of the terminal (once; -1 after)
 */
int
cloche_terminal_port_steal_client_fd (ClocheTerminalPort *self)
{
  int fd;

  g_return_val_if_fail (CLOCHE_IS_TERMINAL_PORT (self), -1);

  fd = self->client_fd;
  self->client_fd = -1;
  return fd;
}

/* Plugging */

static GError *
cloche_terminal_port_plug_error (ClocheTerminalPort *self,
                                 const char         *step,
                                 const GError       *cause)
{
  return g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_VM_NOT_RUNNING,
                      _("Cannot give the VM a terminal port (%s, %s): %s"), self->name, step,
                      cause->message);
}

static void cloche_terminal_port_unplug_async_internal (ClocheTerminalPort *self,
                                                        GAsyncReadyCallback callback,
                                                        gpointer            user_data);

/* A plug that failed half-way takes back what it did before it reports. */
static void
cloche_terminal_port_plug_undone_cb (GObject      *object,
                                     GAsyncResult *result,
                                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;

  g_task_propagate_boolean (G_TASK (result), NULL);
  g_task_return_error (task, g_error_copy (g_object_get_data (G_OBJECT (task), "error")));
}

static void
cloche_terminal_port_plug_fails (GTask        *task,
                                 const char   *step,
                                 const GError *cause)
{
  ClocheTerminalPort *self = g_task_get_task_data (task);

  g_object_set_data_full (G_OBJECT (task), "error",
                          cloche_terminal_port_plug_error (self, step, cause),
                          (GDestroyNotify) g_error_free);
  cloche_terminal_port_unplug_async_internal (self, cloche_terminal_port_plug_undone_cb, task);
}

static void
cloche_terminal_port_device_added_cb (GObject      *object,
                                      GAsyncResult *result,
                                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheTerminalPort *self = g_task_get_task_data (task);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      cloche_terminal_port_plug_fails (g_steal_pointer (&task), "device_add", error);
      return;
    }
  self->device_added = TRUE;
  g_task_return_pointer (task, g_object_ref (self), g_object_unref);
}

/* The chardev-add that failed has been answered by closefd; what QEMU
 * says to that does not matter (not found: the chardev had taken the
 * descriptor before it failed, and closed it with itself). */
static void
cloche_terminal_port_fd_closed_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  const GError *cause = g_object_get_data (G_OBJECT (task), "chardev-error");

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL)
    g_debug ("closefd after a failed chardev-add: %s", error->message);
  cloche_terminal_port_plug_fails (g_steal_pointer (&task), "chardev-add", cause);
}

/* A chardev-add refused before it took the descriptor (an id in use, say)
 * leaves it with QEMU under its name, open, for the VM's life: closefd. */
static void
cloche_terminal_port_close_given_fd (GTask        *task,
                                     const GError *cause)
{
  ClocheTerminalPort *self = g_task_get_task_data (task);
  g_autoptr(JsonObject) args = json_object_new ();

  g_object_set_data_full (G_OBJECT (task), "chardev-error", g_error_copy (cause),
                          (GDestroyNotify) g_error_free);
  json_object_set_string_member (args, "fdname", self->id);
  cloche_qmp_client_execute_async (self->qmp, "closefd", args, NULL,
                                   cloche_terminal_port_fd_closed_cb, task);
}

static void
cloche_terminal_port_chardev_added_cb (GObject      *object,
                                       GAsyncResult *result,
                                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheTerminalPort *self = g_task_get_task_data (task);
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      cloche_terminal_port_close_given_fd (g_steal_pointer (&task), error);
      return;
    }
  self->chardev_added = TRUE;
  json_object_set_string_member (args, "driver", "virtserialport");
  json_object_set_string_member (args, "bus", SERIAL_BUS);
  json_object_set_string_member (args, "chardev", self->id);
  json_object_set_string_member (args, "name", self->name);
  json_object_set_string_member (args, "id", self->id);
  cloche_qmp_client_execute_async (self->qmp, "device_add", args, NULL,
                                   cloche_terminal_port_device_added_cb,
                                   g_steal_pointer (&task));
}

static void
cloche_terminal_port_fd_given_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheTerminalPort *self = g_task_get_task_data (task);
  g_autoptr(JsonObject) args = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      cloche_terminal_port_plug_fails (g_steal_pointer (&task), "getfd", error);
      return;
    }
  /* A chardev on the descriptor QEMU was given as @id: connected already,
   * so QEMU takes it as it is. */
  args = cloche_qmp_socket_chardev_new (self->id, "fd", "str", self->id);
  cloche_qmp_client_execute_async (self->qmp, "chardev-add", args, NULL,
                                   cloche_terminal_port_chardev_added_cb,
                                   g_steal_pointer (&task));
}

static void
cloche_terminal_port_qmp_event_cb (ClocheTerminalPort *self,
                                   const char         *name,
                                   JsonObject         *data);

/**
 * cloche_terminal_port_plug_async:
 * @kind: what the port is for, in its names: "term" for a terminal
 *   (cloche-termN, io.github.cloche.term.N), "exec" for the exec server's
 *   (cloche-exec-channel.c)
 * @number: unique among the ports of this daemon's life (so that a late
 *   event of an earlier port is never taken for this one's)
 *
 * Plugs a port into the VM whose QMP is @qmp. The port is the same for
 * both kinds; only the guest program on it differs.
 */
void
cloche_terminal_port_plug_async (ClocheQmpClient     *qmp,
                                 const char          *kind,
                                 guint                number,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(ClocheTerminalPort) self = g_object_new (CLOCHE_TYPE_TERMINAL_PORT, NULL);
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(JsonObject) args = json_object_new ();
  int ends[2];

  g_task_set_source_tag (task, cloche_terminal_port_plug_async);
  self->qmp = g_object_ref (qmp);
  self->id = g_strdup_printf ("cloche-%s%u", kind, number);
  self->name = g_strdup_printf ("io.github.cloche.%s.%u", kind, number);
  g_task_set_task_data (task, g_object_ref (self), g_object_unref);
  self->event_handler = g_signal_connect_swapped (qmp, "event",
                                                  G_CALLBACK (cloche_terminal_port_qmp_event_cb),
                                                  self);
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errno),
                               _("Cannot make a terminal's socket pair: %s"), g_strerror (errno));
      return;
    }
  self->client_fd = ends[0];
  self->qemu_fd = fcntl (ends[1], F_DUPFD_CLOEXEC, 3);
  json_object_set_string_member (args, "fdname", self->id);
  cloche_qmp_client_execute_with_fd_async (qmp, "getfd", args, ends[1], NULL,
                                           cloche_terminal_port_fd_given_cb,
                                           g_steal_pointer (&task));
}

/**
 * cloche_terminal_port_plug_finish:
 *
 * Returns: (transfer full): the port, plugged
 */
ClocheTerminalPort *
cloche_terminal_port_plug_finish (GAsyncResult  *result,
                                  GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Unplugging */

static void
cloche_terminal_port_chardev_removed_cb (GObject      *object,
                                         GAsyncResult *result,
                                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheTerminalPort *self = g_task_get_source_object (task);
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL)
    g_debug ("chardev-remove %s: %s", self->id, error->message);
  self->chardev_added = FALSE;
  g_task_return_boolean (task, TRUE);
}

static void
cloche_terminal_port_remove_chardev (GTask *task)
{
  ClocheTerminalPort *self = g_task_get_source_object (task);
  g_autoptr(JsonObject) args = json_object_new ();

  if (!self->chardev_added)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  json_object_set_string_member (args, "id", self->id);
  cloche_qmp_client_execute_async (self->qmp, "chardev-remove", args, NULL,
                                   cloche_terminal_port_chardev_removed_cb, task);
}

/* The device is gone (or will never be: QEMU refused, or went): on. */
static void
cloche_terminal_port_device_gone (ClocheTerminalPort *self)
{
  GTask *task = g_steal_pointer (&self->unplug);

  g_clear_handle_id (&self->timer, g_source_remove);
  self->device_added = FALSE;
  if (task != NULL)
    cloche_terminal_port_remove_chardev (task);
}

static void
cloche_terminal_port_qmp_event_cb (ClocheTerminalPort *self,
                                   const char         *name,
                                   JsonObject         *data)
{
  if (g_strcmp0 (name, "DEVICE_DELETED") == 0 && data != NULL
      && g_strcmp0 (cloche_json_get_string (data, "device", NULL), self->id) == 0)
    cloche_terminal_port_device_gone (self);
}

static gboolean
cloche_terminal_port_unplug_timeout_cb (gpointer user_data)
{
  ClocheTerminalPort *self = user_data;

  self->timer = 0;
  g_message ("The guest did not give back terminal port %s within %d s", self->name,
             UNPLUG_TIMEOUT_S);
  /* The chardev cannot go while the device holds it. */
  if (self->unplug != NULL)
    {
      g_task_return_boolean (self->unplug, TRUE);
      g_clear_object (&self->unplug);
    }
  return G_SOURCE_REMOVE;
}

static void
cloche_terminal_port_device_del_cb (GObject      *object,
                                    GAsyncResult *result,
                                    gpointer      user_data)
{
  g_autoptr(ClocheTerminalPort) self = user_data;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply != NULL)
    return;   /* DEVICE_DELETED follows once the guest has let go */
  g_debug ("device_del %s: %s", self->id, error->message);
  cloche_terminal_port_device_gone (self);
}

static void
cloche_terminal_port_delete_device (ClocheTerminalPort *self)
{
  g_autoptr(JsonObject) args = json_object_new ();

  if (self->qemu_fd >= 0)
    {
      close (self->qemu_fd);
      self->qemu_fd = -1;
    }
  if (!self->device_added)
    {
      cloche_terminal_port_device_gone (self);
      return;
    }
  json_object_set_string_member (args, "id", self->id);
  self->timer = g_timeout_add_seconds (UNPLUG_TIMEOUT_S, cloche_terminal_port_unplug_timeout_cb,
                                       self);
  cloche_qmp_client_execute_async (self->qmp, "device_del", args, NULL,
                                   cloche_terminal_port_device_del_cb,
                                   g_object_ref (self));
}

/* Nothing unread in the socket twice in a row (QEMU, woken by the room the
 * client made, writes what it held within a main-loop turn), or the
 * client gone. */
static gboolean
cloche_terminal_port_drain_check_cb (gpointer user_data)
{
  ClocheTerminalPort *self = user_data;
  int unread = 0;
  struct pollfd hangup = { .fd = self->qemu_fd, .events = 0 };

  if (ioctl (self->qemu_fd, SIOCOUTQ, &unread) != 0 || unread == 0)
    self->drained++;
  else
    self->drained = 0;
  if (self->drained < 2 && !(poll (&hangup, 1, 0) > 0 && (hangup.revents & POLLHUP)))
    return G_SOURCE_CONTINUE;
  self->timer = 0;
  cloche_terminal_port_delete_device (self);
  return G_SOURCE_REMOVE;
}

static void
cloche_terminal_port_unplug_async_internal (ClocheTerminalPort  *self,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, cloche_terminal_port_unplug_async_internal);
  g_return_if_fail (self->unplug == NULL);
  self->unplug = task;
  if (self->qemu_fd >= 0 && self->device_added)
    self->timer = g_timeout_add (DRAIN_POLL_MS, cloche_terminal_port_drain_check_cb, self);
  else
    cloche_terminal_port_delete_device (self);
}

/**
 * cloche_terminal_port_unplug_async:
 *
 * Takes the port out of the VM once the client has read what the guest
 * wrote (or closed its end); the client then reads the end of the stream.
 * Never fails: a port QEMU will not give back stays until the VM stops.
 */
void
cloche_terminal_port_unplug_async (ClocheTerminalPort  *self,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_return_if_fail (CLOCHE_IS_TERMINAL_PORT (self));

  cloche_terminal_port_unplug_async_internal (self, callback, user_data);
}

gboolean
cloche_terminal_port_unplug_finish (ClocheTerminalPort  *self,
                                    GAsyncResult        *result,
                                    GError             **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Attaching again */

/**
 * cloche_terminal_port_has_client:
 *
 * Returns: whether a client holds the port's host end (its end is still
 *   ours to give, or the socket's other end is open)
 */
gboolean
cloche_terminal_port_has_client (ClocheTerminalPort *self)
{
  struct pollfd hangup;

  g_return_val_if_fail (CLOCHE_IS_TERMINAL_PORT (self), FALSE);

  if (self->client_fd >= 0 || self->swapping)
    return TRUE;
  if (self->qemu_fd < 0)
    return FALSE;
  hangup = (struct pollfd) { .fd = self->qemu_fd, .events = 0 };
  return !(poll (&hangup, 1, 0) > 0 && (hangup.revents & (POLLHUP | POLLERR)));
}

static void
cloche_terminal_port_chardev_changed_cb (GObject      *object,
                                         GAsyncResult *result,
                                         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheTerminalPort *self = g_task_get_source_object (task);
  int *ends = g_task_get_task_data (task);
  g_autoptr(JsonNode) reply = NULL;
  GError *error = NULL;

  self->swapping = FALSE;
  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, cloche_terminal_port_plug_error (self, "chardev-change", error));
      g_error_free (error);
      return;
    }
  if (self->qemu_fd >= 0)
    close (self->qemu_fd);
  self->qemu_fd = g_steal_fd (&ends[1]);
  self->client_fd = g_steal_fd (&ends[0]);
  g_task_return_boolean (task, TRUE);
}

static void
cloche_terminal_port_fd_given_again_cb (GObject      *object,
                                        GAsyncResult *result,
                                        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheTerminalPort *self = g_task_get_source_object (task);
  g_autoptr(JsonObject) args = NULL;
  g_autoptr(JsonNode) reply = NULL;
  GError *error = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  if (reply == NULL)
    {
      self->swapping = FALSE;
      g_task_return_error (task, cloche_terminal_port_plug_error (self, "getfd", error));
      g_error_free (error);
      return;
    }
  args = cloche_qmp_socket_chardev_new (self->id, "fd", "str", self->id);
  cloche_qmp_client_execute_async (self->qmp, "chardev-change", args, NULL,
                                   cloche_terminal_port_chardev_changed_cb,
                                   g_steal_pointer (&task));
}

static void
cloche_terminal_port_ends_free (int *ends)
{
  if (ends[0] >= 0)
    close (ends[0]);
  if (ends[1] >= 0)
    close (ends[1]);
  g_free (ends);
}

/**
 * cloche_terminal_port_reconnect_async:
 *
 * Gives the port's host end to a new client: take it with
 * cloche_terminal_port_steal_client_fd() once this has finished. Refused
 * while a client holds it, or once the port is going.
 */
void
cloche_terminal_port_reconnect_async (ClocheTerminalPort  *self,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);
  g_autoptr(JsonObject) args = json_object_new ();
  int *ends = g_new (int, 2);
  int given;

  g_task_set_source_tag (task, cloche_terminal_port_reconnect_async);
  ends[0] = ends[1] = -1;
  g_task_set_task_data (task, ends, (GDestroyNotify) cloche_terminal_port_ends_free);
  if (self->unplug != NULL || !self->chardev_added || !self->device_added)
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_TERMINAL_NOT_FOUND,
                               _("The terminal on port %s is ending"), self->name);
      return;
    }
  if (cloche_terminal_port_has_client (self))
    {
      g_task_return_new_error (task, CLOCHE_ERROR, CLOCHE_ERROR_TERMINAL_BUSY,
                               _("The terminal on port %s has a client already: close it "
                                 "first (a terminal has one client at a time)"), self->name);
      return;
    }
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0
      || (given = fcntl (ends[1], F_DUPFD_CLOEXEC, 3)) < 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errno),
                               _("Cannot make a terminal's socket pair: %s"), g_strerror (errno));
      return;
    }
  self->swapping = TRUE;
  json_object_set_string_member (args, "fdname", self->id);
  cloche_qmp_client_execute_with_fd_async (self->qmp, "getfd", args, given, NULL,
                                           cloche_terminal_port_fd_given_again_cb,
                                           g_steal_pointer (&task));
}

gboolean
cloche_terminal_port_reconnect_finish (ClocheTerminalPort  *self,
                                       GAsyncResult        *result,
                                       GError             **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
