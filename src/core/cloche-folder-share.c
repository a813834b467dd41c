/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One host folder served to the VM by one virtiofsd.
 *
 * We make the vhost-user socket ourselves and hand it to virtiofsd already
 * listening (--fd): nothing races on its path, and virtiofsd then keeps no
 * pid file in /run (it only writes one to guard a socket it creates).
 *
 * The folder is a ClochePinnedFolder: checked again (no link on its path,
 * the same device and inode) right before virtiofsd starts, and then handed
 * over as a descriptor, never as a path to resolve again. The child starts
 * in the folder (fchdir on the pinned descriptor); unshare(1) gives it a
 * mount namespace of its own, which carries that working folder over, and
 * there "." is bind-mounted (no path canonicalized) on an empty folder of
 * ours beside the socket, which is what virtiofsd serves. A link or folder
 * swapped in on the host path after the check changes nothing it serves.
 *
 * virtiofsd runs in a user namespace too unless we are root: its sandbox
 * needs CAP_SYS_ADMIN, which a desktop user has only there. The bind mount
 * is nosuid, nodev and noexec, and read-only for a read-only share (the
 * virtiofsd of QEMU 7.2 has no read-only option): the host kernel refuses
 * the writes, and a guest that remounts read-write still changes nothing.
 * No device node or set-id bit reaches the host: virtiofsd runs under a
 * seccomp filter that refuses them (cloche-setid-filter.c) and without the
 * capabilities to make device nodes or keep set-id bits on write.
 *
 * A folder of a session is written by that session's user in the guest
 * (uid 1000 and up, cloche-guest), not by the guest's root: for it, the
 * user namespace maps that guest user, and only it, to the user running
 * the daemon (root included), so what it writes lands as the daemon's user
 * and what that user owns is the session user's in the guest; any other
 * guest user (root too) creates nothing there. Everything in the namespace
 * (the bind script, mount(8), virtiofsd) then runs as that user there,
 * with the namespace's capabilities kept (--keep-caps makes them ambient,
 * so they survive each exec): enough for the bind mount of the pinned
 * folder and for virtiofsd's own sandbox, as mapped root has them.
 *
 * Inside Flatpak none of the namespaces can work: its seccomp filter refuses
 * unshare, mount, pivot_root and chroot, so neither the namespaces, nor
 * virtiofsd's own sandbox, nor the bind mount can be set up. There the
 * daemon runs the Rust virtiofsd the Flatpak bundles (1.14) with
 * --sandbox=none, Flatpak's own sandbox being the fence, sharing "." (the
 * pinned folder it starts in), and with --readonly, which makes virtiofsd
 * itself refuse every write (docs/flatpak.md).
 *
 * virtiofsd exits by itself when QEMU lets go of the socket; an exit nobody
 * asked for is announced ("died"), since the guest's folder then hangs.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "cloche-error.h"
#include "cloche-folder-share-private.h"
#include "cloche-setid-filter.h"

#define VIRTIOFSD_FD     3
/* The pinned folder in the child, entered and closed before exec. */
#define FOLDER_FD        4
#define START_TIMEOUT_S  10
#define LOG_TAIL_LINES   6
/* What virtiofsd says once it waits for QEMU on the socket. */
#define READY_LINE       "Waiting for vhost-user socket connection"

/* Run in the folder, in our mount namespace: $0 is the empty folder to
 * bind it on, $1 "" or ",ro", then the virtiofsd command. "." is the
 * pinned folder itself; --no-canonicalize keeps mount(8) from turning it
 * into a path again. noexec costs the guest nothing (virtiofsd only reads
 * and writes; the guest executes what it reads) and, in a user namespace,
 * keeps a host mount that is noexec (a locked flag) from refusing the
 * remount. */
#define SHARE_SCRIPT \
  "mount --no-canonicalize --bind . \"$0\" && " \
  "mount -o \"remount,bind,nosuid,nodev,noexec$1\" \"$0\" && shift && exec \"$@\""
/* Without these virtiofsd could make device nodes, and keep a file's
 * set-id bits when the guest writes it (the kernel clears them on write
 * only for a writer without CAP_FSETID); file capabilities need SETFCAP. */
#define DROPPED_CAPS     "modcaps=-mknod:-fsetid:-setfcap"

struct _ClocheFolderShare
{
  GObject           parent_instance;

  ClochePinnedFolder *folder;
  char             *socket_path;
  char             *root_dir;      /* where the folder is bound for virtiofsd */
  gboolean          readonly;
  guint             guest_uid;     /* the guest user whose files are ours; 0: root */

  GSubprocess      *process;
  GDataInputStream *log;
  GQueue            log_tail;      /* virtiofsd's last lines, for errors */
  GCancellable     *cancellable;   /* our own reads and waits; cancelled in dispose */
  gboolean          ready;
  gboolean          stopping;
  gboolean          exited;
  gboolean          log_closed;

  GTask            *start_task;
  guint             start_timer;
  GQueue            stop_tasks;
};

enum {
  PROP_0,
  PROP_FOLDER,
  PROP_READONLY,
  PROP_SOCKET_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  DIED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (ClocheFolderShare, cloche_folder_share, G_TYPE_OBJECT)

/* Before spawning: what we can say more clearly than virtiofsd would */

static const char *
cloche_folder_share_host_path (ClocheFolderShare *self)
{
  return cloche_pinned_folder_get_path (self->folder);
}

/* virtiofsd would only find out once QEMU has connected, and the guest
 * would see an unhelpful mount error. Asked of the pinned folder itself. */
static gboolean
cloche_folder_share_check_access (ClocheFolderShare  *self,
                                  GError            **error)
{
  g_autofree char *pinned = g_strdup_printf ("/proc/self/fd/%d",
                                             cloche_pinned_folder_get_fd (self->folder));

  if (g_access (pinned, self->readonly ? R_OK | X_OK : R_OK | W_OK | X_OK) == 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
               self->readonly ? _("Cannot share the folder %s: you may not read it")
                              : _("Cannot share the folder %s: you may not read and write it"),
               cloche_folder_share_host_path (self));
  return FALSE;
}

static gboolean
cloche_folder_share_in_flatpak (void)
{
  return g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS);
}

/* CLOCHE_VIRTIOFSD first, for a virtiofsd built elsewhere; then the one
 * installed beside cloche-daemon (the Flatpak's Rust virtiofsd in
 * /app/libexec); then QEMU 7.2's (Debian 12, qemu-system-common), then where
 * the Rust virtiofsd installs. */
static char *
cloche_folder_share_find_virtiofsd (GError **error)
{
  const char *candidates[] = { g_getenv ("CLOCHE_VIRTIOFSD"), LIBEXECDIR "/virtiofsd",
                               "/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd" };

  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (candidates[i] != NULL && g_file_test (candidates[i], G_FILE_TEST_IS_EXECUTABLE))
      return g_strdup (candidates[i]);
  g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_VIRTIOFSD_MISSING,
               _("virtiofsd is not installed (looked for /usr/lib/qemu/virtiofsd): "
                 "install qemu-system-common (on Debian: apt install qemu-system-common)"));
  return NULL;
}

static char *
cloche_folder_share_find_unshare (GError **error)
{
  char *unshare = g_find_program_in_path ("unshare");

  if (unshare == NULL)
    g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED,
                 _("unshare, which runs virtiofsd in namespaces of its own, is not in PATH: "
                   "install util-linux"));
  return unshare;
}

/* virtiofsd splits -o values on commas; a backslash escapes one. */
static char *
cloche_folder_share_source_option (const char *path)
{
  GString *option = g_string_new ("source=");

  for (const char *p = path; *p != '\0'; p++)
    {
      if (*p == ',' || *p == '\\')
        g_string_append_c (option, '\\');
      g_string_append_c (option, *p);
    }
  return g_string_free (option, FALSE);
}

/* Inside Flatpak: no namespaces, no mounts; virtiofsd enforces read-only. */
static GStrv
cloche_folder_share_build_flatpak_argv (ClocheFolderShare *self,
                                        const char        *virtiofsd)
{
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();
  g_autofree char *fd = g_strdup_printf ("--fd=%d", VIRTIOFSD_FD);

  /* "." is the pinned folder: the child starts in it. */
  g_strv_builder_addv (argv, (const char *[]) { virtiofsd, fd, "--shared-dir=.", "--cache=auto",
                                                "--sandbox=none", NULL });
  if (self->readonly)
    g_strv_builder_add (argv, "--readonly");
  return g_strv_builder_end (argv);
}

/* The capabilities virtiofsd drops: no device nodes, no set-id bits kept. */
static void
cloche_folder_share_add_privilege_options (GStrvBuilder *argv)
{
  g_strv_builder_addv (argv, (const char *[]) { "-o", DROPPED_CAPS, NULL });
}

/* The pinned folder bound on root_dir in the namespace, then virtiofsd. */
static void
cloche_folder_share_add_bind_script (ClocheFolderShare *self,
                                     GStrvBuilder      *argv)
{
  g_strv_builder_addv (argv, (const char *[]) { "/bin/sh", "-c", SHARE_SCRIPT, self->root_dir,
                                                self->readonly ? ",ro" : "", NULL });
}

/* The one guest user, as the daemon's user and group. */
static void
cloche_folder_share_add_user_mapping (GStrvBuilder *argv,
                                      guint         guest_uid)
{
  g_autofree char *user = g_strdup_printf ("--map-user=%u", guest_uid);
  g_autofree char *group = g_strdup_printf ("--map-group=%u", guest_uid);

  g_strv_builder_addv (argv, (const char *[]) { user, group, "--keep-caps", NULL });
}

static GStrv
cloche_folder_share_build_argv (ClocheFolderShare *self,
                                const char        *unshare,
                                const char        *virtiofsd)
{
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();
  g_autofree char *source = cloche_folder_share_source_option (self->root_dir);
  g_autofree char *fd = g_strdup_printf ("--fd=%d", VIRTIOFSD_FD);

  g_strv_builder_add (argv, unshare);
  /* The bind script and virtiofsd run in this user namespace both ways:
   * as mapped root, or as the session's user with the namespace's
   * capabilities kept (see the top of the file). */
  if (self->guest_uid != 0)
    cloche_folder_share_add_user_mapping (argv, self->guest_uid);
  /* Root needs no user namespace, and in one it would see every file not
   * owned by root as nobody's. */
  else if (geteuid () != 0)
    g_strv_builder_add (argv, "--map-root-user");
  g_strv_builder_add (argv, "--mount");
  cloche_folder_share_add_bind_script (self, argv);
  g_strv_builder_addv (argv, (const char *[]) { virtiofsd, fd, "-o", source,
                                                "-o", "cache=auto",
                                                "-o", "sandbox=namespace", NULL });
  cloche_folder_share_add_privilege_options (argv);
  return g_strv_builder_end (argv);
}

static GSocket *
cloche_folder_share_listen_on (const char  *path,
                               GError     **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;

  if (strlen (path) >= sizeof ((struct sockaddr_un *) NULL)->sun_path)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                   _("the socket path %s is too long for a unix socket"), path);
      return NULL;
    }
  /* One left by a daemon that was killed would make bind() fail. */
  g_unlink (path);
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_DEFAULT, error);
  address = g_unix_socket_address_new (path);
  /* GSocket makes its fd non-blocking; virtiofsd waits in accept(). */
  if (socket == NULL || !g_socket_bind (socket, address, FALSE, error)
      || !g_socket_listen (socket, error)
      || !g_unix_set_fd_nonblocking (g_socket_get_fd (socket), FALSE, error))
    return NULL;
  return g_steal_pointer (&socket);
}

/* Between fork and exec: system calls only, and a plain write on failure
 * (stderr is already virtiofsd's log pipe, so the reason shows). */
G_NORETURN static void
cloche_folder_share_child_fail (const char *message)
{
  if (write (STDERR_FILENO, message, strlen (message)) < 0)
    _exit (126);
  _exit (126);
}

static void
cloche_folder_share_child_setup (gpointer user_data)
{
  /* A process group of its own: virtiofsd forks its sandboxed half, and a
   * stop must reach both. */
  setpgid (0, 0);
  /* No virtiofsd outlives a daemon that was killed. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* The pinned folder, entered by its descriptor: what is shared is "." */
  if (fchdir (FOLDER_FD) != 0)
    cloche_folder_share_child_fail ("cloche: cannot enter the pinned folder\n");
  close (FOLDER_FD);
  if (cloche_setid_filter_apply () != 0)
    cloche_folder_share_child_fail ("cloche: cannot install the filter against device nodes and "
                                    "set-id bits\n");
}

/*
 * cloche_folder_share_build_command:
 * @flatpak: whether we run inside Flatpak's sandbox (/.flatpak-info)
 *
 * The virtiofsd command line for @self, after the checks that can say more
 * than virtiofsd would. Apart so that tests see both ways.
 */
GStrv
cloche_folder_share_build_command (ClocheFolderShare  *self,
                                   gboolean            flatpak,
                                   GError            **error)
{
  g_autofree char *virtiofsd = NULL;
  g_autofree char *unshare = NULL;

  if (!cloche_pinned_folder_verify (self->folder, error)
      || !cloche_folder_share_check_access (self, error))
    return NULL;
  if ((virtiofsd = cloche_folder_share_find_virtiofsd (error)) == NULL
      || (!flatpak && (unshare = cloche_folder_share_find_unshare (error)) == NULL)
      || !cloche_setid_filter_prepare (error))
    {
      g_prefix_error (error, _("Cannot share the folder %s: "),
                      cloche_folder_share_host_path (self));
      return NULL;
    }
  if (flatpak)
    return cloche_folder_share_build_flatpak_argv (self, virtiofsd);
  return cloche_folder_share_build_argv (self, unshare, virtiofsd);
}

/* The empty folder the pinned one is bound on, in virtiofsd's namespace
 * only; one left by a daemon that was killed is reused. */
static gboolean
cloche_folder_share_make_root_dir (ClocheFolderShare  *self,
                                   GError            **error)
{
  if (g_mkdir (self->root_dir, 0700) == 0 || errno == EEXIST)
    return TRUE;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
               _("cannot create %s: %s"), self->root_dir, g_strerror (errno));
  return FALSE;
}

static gboolean
cloche_folder_share_spawn_virtiofsd (ClocheFolderShare  *self,
                                     GError            **error)
{
  g_auto(GStrv) argv = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;

  if ((argv = cloche_folder_share_build_command (self, cloche_folder_share_in_flatpak (),
                                                 error)) == NULL)
    return FALSE;
  if (!cloche_folder_share_make_root_dir (self, error)
      || (socket = cloche_folder_share_listen_on (self->socket_path, error)) == NULL)
    {
      g_prefix_error (error, _("Cannot share the folder %s: "),
                      cloche_folder_share_host_path (self));
      return FALSE;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  /* Our copy closes with the launcher: if virtiofsd dies, QEMU's connect
   * then fails instead of waiting on a socket nobody will accept. */
  g_subprocess_launcher_take_fd (launcher, fcntl (g_socket_get_fd (socket), F_DUPFD_CLOEXEC, 3),
                                 VIRTIOFSD_FD);
  g_subprocess_launcher_take_fd (launcher,
                                 fcntl (cloche_pinned_folder_get_fd (self->folder),
                                        F_DUPFD_CLOEXEC, 3),
                                 FOLDER_FD);
  g_subprocess_launcher_set_child_setup (launcher, cloche_folder_share_child_setup, NULL, NULL);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, error);
  if (self->process == NULL)
    {
      g_unlink (self->socket_path);
      g_rmdir (self->root_dir);
      g_prefix_error (error, _("Cannot share the folder %s: "),
                      cloche_folder_share_host_path (self));
      return FALSE;
    }
  self->log = g_data_input_stream_new (g_subprocess_get_stderr_pipe (self->process));
  return TRUE;
}

/* The process group: virtiofsd and the sandboxed child it forks. */
static void
cloche_folder_share_signal_group (ClocheFolderShare *self,
                                  int                sig)
{
  const char *id;

  if (self->process == NULL || self->exited
      || (id = g_subprocess_get_identifier (self->process)) == NULL)
    return;
  kill (-(pid_t) g_ascii_strtoll (id, NULL, 10), sig);
}

/* Start */

static char *
cloche_folder_share_log_tail_text (ClocheFolderShare *self)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (GList *l = self->log_tail.head; l != NULL; l = l->next)
    g_string_append_printf (text, "%s%s", text->len > 0 ? "; " : "", (char *) l->data);
  return g_strdup (text->len > 0 ? text->str : "it printed nothing");
}

static const char *
cloche_folder_share_log_line_with (ClocheFolderShare *self,
                                   const char        *needle)
{
  for (GList *l = self->log_tail.head; l != NULL; l = l->next)
    if (strstr (l->data, needle) != NULL)
      return l->data;
  return NULL;
}

static char *
cloche_folder_share_describe_exit (ClocheFolderShare *self)
{
  g_autofree char *tail = cloche_folder_share_log_tail_text (self);

  if (g_subprocess_get_if_signaled (self->process))
    return g_strdup_printf ("virtiofsd was killed by signal %d (%s)",
                            g_subprocess_get_term_sig (self->process), tail);
  return g_strdup_printf ("virtiofsd exited with status %d (%s)",
                          g_subprocess_get_exit_status (self->process), tail);
}

static GError *
cloche_folder_share_describe_failure (ClocheFolderShare *self)
{
  const char *unshare = cloche_folder_share_log_line_with (self, "unshare failed");
  const char *mount = cloche_folder_share_log_line_with (self, "mount:");
  g_autofree char *why = NULL;

  if (self->stopping)
    why = g_strdup ("it was stopped before virtiofsd was ready");
  else if (unshare != NULL)
    why = g_strdup_printf ("the system refused virtiofsd a user namespace (%s): allow "
                           "unprivileged user namespaces (sysctl "
                           "kernel.unprivileged_userns_clone=1; on Ubuntu, "
                           "kernel.apparmor_restrict_unprivileged_userns=0)", unshare);
  else if (mount != NULL)
    why = g_strdup_printf ("binding it for virtiofsd (nosuid, nodev, noexec%s) failed (%s)",
                           self->readonly ? ", read-only" : "", mount);
  else
    why = cloche_folder_share_describe_exit (self);
  return g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED,
                      _("Cannot share the folder %s: %s"), cloche_folder_share_host_path (self),
                      why);
}

static void
cloche_folder_share_complete_start (ClocheFolderShare *self,
                                    GError            *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->start_task);

  g_clear_handle_id (&self->start_timer, g_source_remove);
  if (task == NULL)
    g_clear_error (&error);
  else if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* Only once virtiofsd has exited and its last words are read: they say why. */
static void
cloche_folder_share_maybe_fail_start (ClocheFolderShare *self)
{
  if (self->start_task != NULL && self->exited && self->log_closed)
    cloche_folder_share_complete_start (self, cloche_folder_share_describe_failure (self));
}

static gboolean
cloche_folder_share_start_timeout_cb (gpointer user_data)
{
  ClocheFolderShare *self = user_data;
  g_autofree char *tail = cloche_folder_share_log_tail_text (self);

  self->start_timer = 0;
  cloche_folder_share_signal_group (self, SIGKILL);
  cloche_folder_share_complete_start (self, g_error_new (CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED,
                                                         _("Cannot share the folder %s: virtiofsd "
                                                           "was not ready within %d s (%s)"),
                                                         cloche_folder_share_host_path (self),
                                                         START_TIMEOUT_S,
                                                         tail));
  return G_SOURCE_REMOVE;
}

static void
cloche_folder_share_remember_line (ClocheFolderShare *self,
                                   const char        *line)
{
  g_debug ("virtiofsd for %s: %s", cloche_folder_share_host_path (self), line);
  g_queue_push_tail (&self->log_tail, g_utf8_make_valid (line, -1));
  while (self->log_tail.length > LOG_TAIL_LINES)
    g_free (g_queue_pop_head (&self->log_tail));
}

static void cloche_folder_share_read_next_line (ClocheFolderShare *self);

/* Read for as long as virtiofsd lives: a full pipe would block it. */
static void
cloche_folder_share_log_line_cb (GObject      *object,
                                 GAsyncResult *result,
                                 gpointer      user_data)
{
  ClocheFolderShare *self = user_data;
  g_autoptr(ClocheFolderShare) hold = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (object), result, NULL, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  /* Completing the start runs its callback, which may drop the last ref. */
  hold = g_object_ref (self);
  if (line == NULL)
    {
      self->log_closed = TRUE;
      cloche_folder_share_maybe_fail_start (self);
      return;
    }
  cloche_folder_share_remember_line (self, line);
  if (!self->ready && strstr (line, READY_LINE) != NULL)
    {
      self->ready = TRUE;
      cloche_folder_share_complete_start (self, NULL);
    }
  cloche_folder_share_read_next_line (self);
}

static void
cloche_folder_share_read_next_line (ClocheFolderShare *self)
{
  g_data_input_stream_read_line_async (self->log, G_PRIORITY_DEFAULT, self->cancellable,
                                       cloche_folder_share_log_line_cb, self);
}

static void
cloche_folder_share_complete_stop_tasks (ClocheFolderShare *self)
{
  GTask *task;

  while ((task = g_queue_pop_head (&self->stop_tasks)))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

/* Nobody asked: QEMU went away, or it died (the guest's folder then hangs). */
static void
cloche_folder_share_announce_death (ClocheFolderShare *self)
{
  g_autofree char *why = cloche_folder_share_describe_exit (self);

  g_debug ("virtiofsd for %s has exited by itself: %s", cloche_folder_share_host_path (self), why);
  g_signal_emit (self, signals[DIED], 0, why);
}

static void
cloche_folder_share_exited_cb (GObject      *object,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  ClocheFolderShare *self = user_data;
  g_autoptr(ClocheFolderShare) hold = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (object), result, &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  hold = g_object_ref (self);

  self->exited = TRUE;
  g_unlink (self->socket_path);
  g_rmdir (self->root_dir);
  cloche_folder_share_maybe_fail_start (self);
  cloche_folder_share_complete_stop_tasks (self);
  if (self->ready && !self->stopping)
    cloche_folder_share_announce_death (self);
}

/**
 * cloche_folder_share_start_async:
 *
 * Starts virtiofsd; completes once it waits for QEMU on the socket.
 */
void
cloche_folder_share_start_async (ClocheFolderShare   *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (CLOCHE_IS_FOLDER_SHARE (self));
  g_return_if_fail (self->process == NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_folder_share_start_async);
  if (!cloche_folder_share_spawn_virtiofsd (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  self->start_task = g_steal_pointer (&task);
  self->start_timer = g_timeout_add_seconds (START_TIMEOUT_S, cloche_folder_share_start_timeout_cb,
                                             self);
  cloche_folder_share_read_next_line (self);
  g_subprocess_wait_async (self->process, self->cancellable, cloche_folder_share_exited_cb, self);
}

gboolean
cloche_folder_share_start_finish (ClocheFolderShare  *self,
                                  GAsyncResult       *result,
                                  GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Stop */

/**
 * cloche_folder_share_stop_async:
 *
 * Stops virtiofsd; completes once it has exited.
 */
void
cloche_folder_share_stop_async (ClocheFolderShare   *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (CLOCHE_IS_FOLDER_SHARE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cloche_folder_share_stop_async);
  if (self->process == NULL || self->exited)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  g_queue_push_tail (&self->stop_tasks, g_steal_pointer (&task));
  /* SIGKILL at once: virtiofsd holds nothing unwritten (a guest write is
   * answered once it is in the host file), and a SIGTERM that arrives just
   * before it enters accept() only sets a flag nobody reads. */
  self->stopping = TRUE;
  cloche_folder_share_signal_group (self, SIGKILL);
}

gboolean
cloche_folder_share_stop_finish (ClocheFolderShare  *self,
                                 GAsyncResult       *result,
                                 GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Accessors */

const char *
cloche_folder_share_get_host_path (ClocheFolderShare *self)
{
  g_return_val_if_fail (CLOCHE_IS_FOLDER_SHARE (self), NULL);
  return cloche_folder_share_host_path (self);
}

gboolean
cloche_folder_share_get_readonly (ClocheFolderShare *self)
{
  g_return_val_if_fail (CLOCHE_IS_FOLDER_SHARE (self), FALSE);
  return self->readonly;
}

const char *
cloche_folder_share_get_socket_path (ClocheFolderShare *self)
{
  g_return_val_if_fail (CLOCHE_IS_FOLDER_SHARE (self), NULL);
  return self->socket_path;
}

/**
 * cloche_folder_share_set_guest_uid:
 * @guest_uid: the guest user whose files in this folder are the daemon
 *   user's; 0 (the default) for the guest's root
 *
 * Before the share starts: the user namespace virtiofsd runs in.
 */
void
cloche_folder_share_set_guest_uid (ClocheFolderShare *self,
                                   guint              guest_uid)
{
  g_return_if_fail (CLOCHE_IS_FOLDER_SHARE (self));
  g_return_if_fail (self->process == NULL);
  self->guest_uid = guest_uid;
}

guint
cloche_folder_share_get_guest_uid (ClocheFolderShare *self)
{
  g_return_val_if_fail (CLOCHE_IS_FOLDER_SHARE (self), 0);
  return self->guest_uid;
}

/**
 * cloche_folder_share_get_pid:
 *
 * Returns: virtiofsd's pid (the head of its process group) while it runs, else 0
 */
GPid
cloche_folder_share_get_pid (ClocheFolderShare *self)
{
  const char *id;

  g_return_val_if_fail (CLOCHE_IS_FOLDER_SHARE (self), 0);

  if (self->process == NULL || self->exited
      || (id = g_subprocess_get_identifier (self->process)) == NULL)
    return 0;
  return (GPid) g_ascii_strtoll (id, NULL, 10);
}

/* GObject */

static void
cloche_folder_share_dispose (GObject *object)
{
  ClocheFolderShare *self = CLOCHE_FOLDER_SHARE (object);

  /* Tasks hold a ref, so none is pending here: only a running process. */
  if (self->process != NULL && !self->exited)
    {
      cloche_folder_share_signal_group (self, SIGKILL);
      g_unlink (self->socket_path);
      g_rmdir (self->root_dir);
    }
  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->start_timer, g_source_remove);
  g_clear_object (&self->log);
  g_clear_object (&self->process);

  G_OBJECT_CLASS (cloche_folder_share_parent_class)->dispose (object);
}

static void
cloche_folder_share_finalize (GObject *object)
{
  ClocheFolderShare *self = CLOCHE_FOLDER_SHARE (object);

  g_queue_clear_full (&self->log_tail, g_free);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->folder);
  g_free (self->socket_path);
  g_free (self->root_dir);

  G_OBJECT_CLASS (cloche_folder_share_parent_class)->finalize (object);
}

static void
cloche_folder_share_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  ClocheFolderShare *self = CLOCHE_FOLDER_SHARE (object);

  switch (prop_id)
    {
    case PROP_FOLDER:
      g_value_set_object (value, self->folder);
      break;
    case PROP_READONLY:
      g_value_set_boolean (value, self->readonly);
      break;
    case PROP_SOCKET_PATH:
      g_value_set_string (value, self->socket_path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_folder_share_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  ClocheFolderShare *self = CLOCHE_FOLDER_SHARE (object);

  switch (prop_id)
    {
    case PROP_FOLDER:
      self->folder = g_value_dup_object (value);
      break;
    case PROP_READONLY:
      self->readonly = g_value_get_boolean (value);
      break;
    case PROP_SOCKET_PATH:
      self->socket_path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cloche_folder_share_class_init (ClocheFolderShareClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = cloche_folder_share_dispose;
  object_class->finalize = cloche_folder_share_finalize;
  object_class->get_property = cloche_folder_share_get_property;
  object_class->set_property = cloche_folder_share_set_property;

  properties[PROP_FOLDER] =
    g_param_spec_object ("folder", NULL, NULL, CLOCHE_TYPE_PINNED_FOLDER, flags);
  properties[PROP_READONLY] =
    g_param_spec_boolean ("readonly", NULL, NULL, TRUE, flags);
  properties[PROP_SOCKET_PATH] =
    g_param_spec_string ("socket-path", NULL, NULL, NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * ClocheFolderShare::died:
   * @why: how virtiofsd ended ("virtiofsd was killed by signal 9 (…)")
   *
   * virtiofsd exited while serving, without being stopped.
   */
  signals[DIED] = g_signal_new ("died", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
cloche_folder_share_init (ClocheFolderShare *self)
{
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->log_tail);
  g_queue_init (&self->stop_tasks);
}

/**
 * cloche_folder_share_new:
 * @folder: the folder, as checked
 * @readonly: whether the guest may only read it
 * @socket_path: where QEMU will find the vhost-user socket (NAME.sock;
 *   NAME.root beside it is made for virtiofsd's mount)
 */
ClocheFolderShare *
cloche_folder_share_new (ClochePinnedFolder *folder,
                         gboolean            readonly,
                         const char         *socket_path)
{
  ClocheFolderShare *self;

  g_return_val_if_fail (CLOCHE_IS_PINNED_FOLDER (folder), NULL);
  g_return_val_if_fail (socket_path != NULL, NULL);

  self = g_object_new (CLOCHE_TYPE_FOLDER_SHARE,
                       "folder", folder,
                       "readonly", readonly,
                       "socket-path", socket_path,
                       NULL);
  if (g_str_has_suffix (socket_path, ".sock"))
    self->root_dir = g_strdup_printf ("%.*s.root", (int) strlen (socket_path) - 5, socket_path);
  else
    self->root_dir = g_strconcat (socket_path, ".root", NULL);
  return self;
}
