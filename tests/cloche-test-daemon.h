/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A real cloche-daemon on a private bus (GTestDBus runs a dbus-daemon), with
 * its own runtime folder, and a proxy to it. For the tests that boot a VM.
 */

#include "config.h"   /* DAEMON_BUS_NAME, DAEMON_OBJECT_PATH: the one spelling */

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "cloche-dbus-generated.h"
#include "cloche-error.h"
#include "cloche-session-codec.h"
#include "cloche-test-util.h"

typedef struct
{
  GTestDBus        *bus;
  gboolean          owns_bus;
  GSubprocess      *process;
  ClocheDbusDaemon *proxy;
  ClocheDbusSessions *sessions;  /* io.github.cloche.Sessions, same object */
  char             *runtime_dir;
  char             *home;          /* HOME and the XDG folders of the daemon */
} ClocheTestDaemon;

/* What a command run through Exec gave back. */
typedef struct
{
  int   exit_code;
  char *out;
  char *err;
} ClocheTestExec;

static inline void
cloche_test_exec_clear (ClocheTestExec *exec)
{
  g_free (exec->out);
  g_free (exec->err);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClocheTestExec, cloche_test_exec_clear)

/* Exec's options: extra environment and the working folder ("" or NULL:
 * the session's). */
static inline GVariant *
cloche_test_exec_options (const char * const *env,
                          const char         *cwd)
{
  GVariantDict options;

  g_variant_dict_init (&options, NULL);
  if (env != NULL && env[0] != NULL)
    g_variant_dict_insert_value (&options, "env", g_variant_new_strv (env, -1));
  if (cwd != NULL && cwd[0] != '\0')
    g_variant_dict_insert (&options, "cwd", "s", cwd);
  return g_variant_dict_end (&options);
}

/* An "ay" as a string; an empty one is "", not NULL. */
static inline char *
cloche_test_bytes_string (GVariant *bytes)
{
  gsize length = 0;
  const char *data = g_variant_get_fixed_array (bytes, &length, 1);

  return g_strndup (data != NULL ? data : "", length);
}

/* The bundle the VM tests boot; without one they fail and say how to make it. */
static inline char *
cloche_test_bundle_dir (void)
{
  const char *dir = g_getenv ("CLOCHE_TEST_BUNDLE");
  g_autofree char *manifest = NULL;

  g_assert_nonnull (dir);
  manifest = g_build_filename (dir, "manifest.json", NULL);
  if (!g_file_test (manifest, G_FILE_TEST_EXISTS))
    g_error ("No bundle at %s: run tools/dev/setup (it builds one with tools/build-bundle)", dir);
  return g_strdup (dir);
}

static inline void
cloche_test_daemon_wait_name (ClocheTestDaemon *daemon)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  g_autofree char *owner = NULL;

  while (g_get_monotonic_time () < deadline)
    {
      g_clear_pointer (&owner, g_free);
      owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (daemon->proxy));
      /* Each proxy knows the owner once it has loaded its properties. */
      if (owner != NULL && cloche_dbus_daemon_get_state (daemon->proxy) != NULL
          && cloche_dbus_sessions_get_sessions_path (daemon->sessions) != NULL)
        return;
      g_main_context_iteration (NULL, TRUE);
    }
  g_error ("cloche-daemon did not appear on the bus within 10 s");
}

/* The proxies of a daemon just started (cloche_test_daemon_wait_name()
 * then waits until it is on the bus). */
static inline void
cloche_test_daemon_connect (ClocheTestDaemon *daemon)
{
  g_autoptr(GError) error = NULL;

  daemon->proxy = cloche_dbus_daemon_proxy_new_for_bus_sync (
    G_BUS_TYPE_SESSION, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (daemon->proxy), 300 * 1000);
  daemon->sessions = cloche_dbus_sessions_proxy_new_for_bus_sync (
    G_BUS_TYPE_SESSION, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
    DAEMON_BUS_NAME, DAEMON_OBJECT_PATH, NULL, &error);
  g_assert_no_error (error);
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (daemon->sessions), 300 * 1000);
}

/* Sessions, policy and state go to a throw-away home, never to the files of
 * whoever runs the tests. Canonical, since mount checks compare real paths. */
static inline void
cloche_test_daemon_isolate (ClocheTestDaemon    *daemon,
                            GSubprocessLauncher *launcher)
{
  static const char * const dirs[][2] = {
    { "XDG_CONFIG_HOME", "config" }, { "XDG_DATA_HOME", "data" },
    { "XDG_STATE_HOME", "state" }, { "XDG_CACHE_HOME", "cache" },
  };
  g_autofree char *tmp = g_dir_make_tmp ("cloche-home-XXXXXX", NULL);
  char *real = realpath (tmp, NULL);

  daemon->home = g_strdup (real);
  free (real);
  g_subprocess_launcher_setenv (launcher, "HOME", daemon->home, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = g_build_filename (daemon->home, dirs[i][1], NULL);

      g_mkdir_with_parents (path, 0700);
      g_subprocess_launcher_setenv (launcher, dirs[i][0], path, TRUE);
    }
}

static inline void
cloche_test_daemon_child_setup (gpointer user_data)
{
  /* A failed assertion aborts the test; the daemon, and the VM it stops
   * on SIGTERM, must not outlive it. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/**
 * cloche_test_daemon_start_full:
 * @bus: (nullable): a private bus this process already uses (a GTK test
 *   connects to its bus before any daemon starts), or %NULL for one of the
 *   daemon's own
 * @prepare_home: (nullable): fills the daemon's home before it starts,
 *   with what the daemon reads only at start (the tools folder's size)
 */
static inline ClocheTestDaemon *
cloche_test_daemon_start_full (GTestDBus          *bus,
                               const char * const *extra_args,
                               void              (*prepare_home) (const char *home))
{
  ClocheTestDaemon *daemon = g_new0 (ClocheTestDaemon, 1);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  /* Registered before any call, so remote errors map back to CLOCHE_ERROR. */
  cloche_error_quark ();
  daemon->owns_bus = bus == NULL;
  daemon->bus = bus != NULL ? bus : g_test_dbus_new (G_TEST_DBUS_NONE);
  if (daemon->owns_bus)
    g_test_dbus_up (daemon->bus);
  daemon->runtime_dir = g_dir_make_tmp ("cloche-runtime-XXXXXX", &error);
  g_assert_no_error (error);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", daemon->runtime_dir, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, cloche_test_daemon_child_setup, NULL, NULL);
  cloche_test_daemon_isolate (daemon, launcher);
  if (prepare_home != NULL)
    prepare_home (daemon->home);
  g_ptr_array_add (argv, (gpointer) g_getenv ("CLOCHE_DAEMON"));
  for (guint i = 0; extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) extra_args[i]);
  g_ptr_array_add (argv, NULL);
  daemon->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                                  &error);
  g_assert_no_error (error);

  cloche_test_daemon_connect (daemon);
  if (daemon->owns_bus)
    cloche_test_bus_kill_on_abort (g_dbus_proxy_get_connection (G_DBUS_PROXY (daemon->proxy)));
  cloche_test_daemon_wait_name (daemon);
  return daemon;
}

static inline ClocheTestDaemon *
cloche_test_daemon_start_on_bus (GTestDBus          *bus,
                                 const char * const *extra_args)
{
  return cloche_test_daemon_start_full (bus, extra_args, NULL);
}

static inline ClocheTestDaemon *
cloche_test_daemon_start (const char * const *extra_args)
{
  return cloche_test_daemon_start_on_bus (NULL, extra_args);
}

/* The KVM device the daemon probes: CLOCHE_KVM_DEVICE, which it inherits
 * (/nonexistent: a machine with no KVM at all), else /dev/kvm. */
static inline const char *
cloche_test_daemon_kvm_device (void)
{
  const char *device = g_getenv ("CLOCHE_KVM_DEVICE");

  return device != NULL && *device != '\0' ? device : "/dev/kvm";
}

static inline GPid
cloche_test_daemon_pid (ClocheTestDaemon *daemon)
{
  return (GPid) g_ascii_strtoll (g_subprocess_get_identifier (daemon->process), NULL, 10);
}

/* The pid of a child of @parent whose command name starts with @comm, or 0. */
static inline GPid
cloche_test_find_child (GPid        parent,
                        const char *comm)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc", name, "stat", NULL);
      g_autofree char *stat = NULL;
      char *close_paren, *open_paren;
      int ppid = 0;

      if (!g_ascii_isdigit (name[0]) || !g_file_get_contents (path, &stat, NULL, NULL))
        continue;
      open_paren = strchr (stat, '(');
      close_paren = strrchr (stat, ')');
      if (open_paren == NULL || close_paren == NULL)
        continue;
      /* After ") S " comes the parent pid. */
      if (sscanf (close_paren + 2, "%*c %d", &ppid) == 1 && ppid == parent
          && strncmp (open_paren + 1, comm, MIN (strlen (comm), 15)) == 0)
        return (GPid) atoi (name);
    }
  return 0;
}

static inline gboolean
cloche_test_daemon_state_is (ClocheTestDaemon *daemon,
                             const char       *state)
{
  return g_strcmp0 (cloche_dbus_daemon_get_state (daemon->proxy), state) == 0;
}

/* Waits for the State property, as a client sees it through PropertiesChanged. */
static inline void
cloche_test_daemon_wait_state (ClocheTestDaemon *daemon,
                               const char       *state,
                               guint             timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_s * G_USEC_PER_SEC;

  while (!cloche_test_daemon_state_is (daemon, state) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (cloche_dbus_daemon_get_state (daemon->proxy), ==, state);
}

/* Property changes reach a proxy after a method's reply: wait for them. */
#define CLOCHE_TEST_WAIT_FOR(condition, timeout_s)                              \
  G_STMT_START {                                                                \
    gint64 _deadline = g_get_monotonic_time () + (gint64) (timeout_s) * G_USEC_PER_SEC; \
    while (!(condition) && g_get_monotonic_time () < _deadline)                 \
      g_main_context_iteration (NULL, FALSE);                                   \
    g_assert_true (condition);                                                  \
  } G_STMT_END

static inline void
cloche_test_daemon_exited (GObject      *object,
                           GAsyncResult *result,
                           gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  *(gboolean *) user_data = TRUE;
}

/* Stops the daemon as a logout does (SIGTERM), waiting for it a while; one
 * that does not stop fails the test and is killed. */
static inline void
cloche_test_daemon_stop (ClocheTestDaemon *daemon)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  gboolean exited = FALSE;

  g_subprocess_send_signal (daemon->process, SIGTERM);
  g_subprocess_wait_async (daemon->process, NULL, cloche_test_daemon_exited, &exited);
  while (!exited && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  if (exited)
    return;
  g_test_message ("cloche-daemon did not stop within 60 s of SIGTERM");
  g_test_fail ();
  g_subprocess_force_exit (daemon->process);
  while (!exited)
    g_main_context_iteration (NULL, TRUE);
}

static inline void
cloche_test_daemon_free (ClocheTestDaemon *daemon)
{
  /* Every bus stopped stays referenced to the end, as said below. */
  static GPtrArray *stopped_buses;

  /* No identifier: it has exited and was waited for (a test stopped it). */
  if (g_subprocess_get_identifier (daemon->process) != NULL)
    {
      cloche_test_daemon_stop (daemon);
      /* A clean stop exits 0; under the sanitizers a leak or memory error
       * the daemon reports at exit makes it fail, and so the test. */
      g_assert_true (g_subprocess_get_if_exited (daemon->process));
      g_assert_cmpint (g_subprocess_get_exit_status (daemon->process), ==, 0);
    }
  g_clear_object (&daemon->proxy);
  g_clear_object (&daemon->sessions);
  g_clear_object (&daemon->process);
  /* Stopped rather than taken down, and not unreffed (which takes it down):
   * a GTK test's libadwaita keeps its bus connection to the end, and
   * down() would wait for it in vain. The process ends next. A bus the
   * test brought is the test's to stop. */
  if (daemon->owns_bus)
    {
      g_test_dbus_stop (daemon->bus);
      if (stopped_buses == NULL)
        stopped_buses = g_ptr_array_new ();
      g_ptr_array_add (stopped_buses, daemon->bus);
    }
  /* The VM's console log stays for a failed run to be read; a passed one
   * leaves nothing behind. */
  if (!g_test_failed ())
    {
      const char *argv[] = { "rm", "-rf", daemon->home, daemon->runtime_dir, NULL };

      g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                    NULL, NULL, NULL, NULL);
    }
  g_free (daemon->runtime_dir);
  g_free (daemon->home);
  g_free (daemon);
}
