/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * A ClocheSandbox driven directly (no daemon, no bus) on the real bundle and
 * QEMU, in a home of its own: for the VM tests of a session's folders and
 * guest calls. The test owns `sandbox`, `home` and `state_dir`.
 */

#include "config.h"

#include <stdlib.h>

#include "cloche-sandbox.h"
#include "cloche-session-store.h"
#include "cloche-test-daemon.h"

static ClocheSandbox *sandbox;
static char *home;
static char *state_dir;

typedef struct
{
  gboolean      done;
  GAsyncResult *result;
} Wait;

static inline void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  wait->done = TRUE;
}

static inline GAsyncResult *
wait_result (Wait *wait)
{
  g_assert_true (cloche_test_wait (&wait->done, 300));
  return wait->result;
}

/* Runs a shell line in the session with a deadline (0: the default);
 * FALSE with @error if it could not run. */
static inline gboolean
session_sh_within (const char  *id,
                   const char  *script,
                   guint        timeout_s,
                   char       **out,
                   GError     **error)
{
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out_bytes = NULL, err_bytes = NULL;
  Wait wait = { 0 };
  int status = -1;

  cloche_sandbox_exec_async (sandbox, id, argv, NULL, NULL, timeout_s, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &wait);
  result = wait_result (&wait);
  if (!cloche_sandbox_exec_finish (sandbox, result, &status, &out_bytes, &err_bytes, error))
    return FALSE;
  if (status != 0)
    g_test_message ("guest: %s → %d: %.*s", script, status, (int) g_bytes_get_size (err_bytes),
                    (const char *) g_bytes_get_data (err_bytes, NULL));
  if (out != NULL)
    *out = g_strndup (g_bytes_get_data (out_bytes, NULL), g_bytes_get_size (out_bytes));
  return status == 0;
}

static inline gboolean
session_sh (const char  *id,
            const char  *script,
            char       **out,
            GError     **error)
{
  return session_sh_within (id, script, 0, out, error);
}

static inline void
assert_sh (const char *id,
           const char *script)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (session_sh (id, script, NULL, &error));
  g_assert_no_error (error);
}

static inline char *
open_session (const char * const *paths,
              const gboolean     *readonly)
{
  g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func (
    (GDestroyNotify) cloche_session_mount_free);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };
  char *id;

  for (guint i = 0; paths[i] != NULL; i++)
    g_ptr_array_add (mounts, cloche_session_mount_new (paths[i], NULL, readonly[i]));
  cloche_sandbox_open_session_async (sandbox, "pinned", "test", mounts, NULL, on_done, &wait);
  result = wait_result (&wait);
  id = cloche_sandbox_open_session_finish (sandbox, result, &error);
  g_assert_no_error (error);
  return id;
}

static inline char *
home_path (const char *relative)
{
  return g_build_filename (home, relative, NULL);
}

static inline void
make_dirs (const char * const *relatives)
{
  for (guint i = 0; relatives[i] != NULL; i++)
    {
      g_autofree char *path = home_path (relatives[i]);

      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
    }
}

static inline void
sandbox_start (void)
{
  g_autoptr(ClocheVm) vm = cloche_vm_new (g_getenv ("CLOCHE_TEST_BUNDLE"));
  g_autofree char *sessions = g_build_filename (state_dir, "sessions", NULL);
  g_autoptr(ClocheSessionStore) store = cloche_session_store_new (sessions);

  sandbox = cloche_sandbox_new (vm, store);
}

static inline void
sandbox_stop (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  Wait wait = { 0 };

  cloche_vm_stop_async (vm, "test over", NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_vm_stop_finish (vm, result, &error);
  g_assert_no_error (error);
  g_clear_object (&sandbox);
}

/* A home of our own (the mount rules judge folders against it), canonical
 * since the rules compare real paths; the runtime and state folders in it. */
static inline void
sandbox_home_set_up (void)
{
  g_autofree char *tmp_home = g_dir_make_tmp ("cloche-home-XXXXXX", NULL);
  g_autofree char *runtime = NULL;
  char *real = realpath (tmp_home, NULL);

  home = g_strdup (real);
  free (real);
  g_setenv ("HOME", home, TRUE);
  runtime = g_build_filename (home, "run", NULL);
  state_dir = g_build_filename (home, "state", NULL);
  g_mkdir_with_parents (runtime, 0700);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  g_free (cloche_test_bundle_dir ());
}

static inline void
sandbox_home_tear_down (int status)
{
  const char *argv[] = { "rm", "-rf", home, NULL };

  if (status == 0)
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                  NULL, NULL);
  g_free (home);
  g_free (state_dir);
}
