/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sessions in one VM are kept apart (issue 15, item 2), tried as an
 * attacker would: commands run in a session exactly as Exec runs them
 * (ClocheSandbox, cloche-guest exec), against a real VM. The guest's root
 * (the guest agent, straight) only looks, to see what a session cannot.
 *
 * Session A has a read-only folder with a secret and a read-write one;
 * session B is opened beside it. B must not see, read or write anything of
 * A's, in any spelling; A must not become root, signal B, or outlive its
 * close; a folder mounted into A later reaches A's view and nowhere else;
 * what A writes on the host is the host user's, with no set-id bit; a
 * symlink A puts where a folder is mounted is never followed by the
 * guest's root. The cases share one boot and run in order. (That the walls are made again after a reboot
 * is tests/test-vm-disk.c's, which reboots anyway.)
 */
#include "config.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cloche-sandbox.h"
#include "cloche-test-daemon.h"

static ClocheSandbox *sandbox;
static char *state_dir;
static char *docs_dir;        /* A's, read-only: holds the secret */
static char *out_dir;         /* A's, read-write */
static char *private_dir;     /* B's, mounted after A's background process started */
static char *late_dir;        /* mounted into A while it runs */
static char *session_a;
static char *session_b;

typedef struct
{
  gboolean      done;
  GAsyncResult *result;
} Wait;

static void
on_done (GObject      *object,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  wait->done = TRUE;
}

static GAsyncResult *
wait_result (Wait *wait)
{
  g_assert_true (cloche_test_wait (&wait->done, 300));
  return wait->result;
}

static void
log_run (const char    *who,
         const char    *script,
         ClocheTestRun *run)
{
  g_autofree char *script_text = g_strescape (script, NULL);
  g_autofree char *out_text = g_strescape (run->out, NULL);
  g_autofree char *err_text = g_strescape (run->err, NULL);

  g_test_message ("%.1f s: %s: %s → %d, out “%s”, err “%s”",
                  g_get_monotonic_time () / (double) G_USEC_PER_SEC, who, script_text,
                  run->status, out_text, err_text);
}

/* A shell line in session @id, the way Exec runs every command. */
static void
sh_in (const char    *id,
       const char    *script,
       ClocheTestRun *run)
{
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  cloche_sandbox_exec_async (sandbox, id, argv, NULL, NULL, 0, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_sandbox_exec_finish (sandbox, result, &run->status, &out, &err, &error);
  g_assert_no_error (error);
  run->out = cloche_test_gbytes_string (out);
  run->err = cloche_test_gbytes_string (err);
  log_run (id, script, run);
}

/* The guest's root, outside every session: to look, never to attack. */
static void
root_sh (const char    *script,
         ClocheTestRun *run)
{
  ClocheGuestAgent *agent = cloche_vm_get_guest_agent (cloche_sandbox_get_vm (sandbox));
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  cloche_guest_agent_exec_async (agent, argv, NULL, 120, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_guest_agent_exec_finish (agent, result, &run->status, &out, &err, &error);
  g_assert_no_error (error);
  run->out = cloche_test_gbytes_string (out);
  run->err = cloche_test_gbytes_string (err);
  log_run ("guest root", script, run);
}

static char *
open_session (const char     *title,
              const char     *folder,
              gboolean        readonly,
              const char     *second,
              gboolean        second_readonly)
{
  g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func (
    (GDestroyNotify) cloche_session_mount_free);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };
  char *id;

  if (folder != NULL)
    g_ptr_array_add (mounts, cloche_session_mount_new (folder, NULL, readonly));
  if (second != NULL)
    g_ptr_array_add (mounts, cloche_session_mount_new (second, NULL, second_readonly));
  cloche_sandbox_open_session_async (sandbox, title, "test", mounts, NULL, on_done, &wait);
  result = wait_result (&wait);
  id = cloche_sandbox_open_session_finish (sandbox, result, &error);
  g_assert_no_error (error);
  return id;
}

static gboolean
on_pause_over (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Lets the main loop run (the daemon's side of closing is asynchronous). */
static void
pause_ms (guint ms)
{
  gboolean over = FALSE;

  g_timeout_add (ms, on_pause_over, &over);
  while (!over)
    g_main_context_iteration (NULL, TRUE);
}

/* Asks the guest's root every half second until @script prints @expected. */
static void
wait_for_guest (const char *script,
                const char *expected)
{
  for (guint i = 0; i < 60; i++)
    {
      g_auto(ClocheTestRun) run = { 0 };

      root_sh (script, &run);
      if (g_str_equal (run.out, expected))
        return;
      pause_ms (500);
    }
  g_error ("the guest never printed \"%s\" for: %s", expected, script);
}

static char *
host_path (const char *dir,
           const char *name)
{
  return g_build_filename (dir, name, NULL);
}

static void
write_host_file (const char *dir,
                 const char *name,
                 const char *contents)
{
  g_autofree char *path = host_path (dir, name);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static char *
read_host_file (const char *dir,
                const char *name)
{
  g_autofree char *path = host_path (dir, name);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

static void
test_start (void)
{
  g_autoptr(ClocheVm) vm = cloche_vm_new (g_getenv ("CLOCHE_TEST_BUNDLE"));
  g_autofree char *sessions = g_build_filename (state_dir, "sessions", NULL);
  g_autoptr(ClocheSessionStore) store = cloche_session_store_new (sessions);
  const char * const no_deny[] = { NULL };

  sandbox = cloche_sandbox_new (vm, store);
  /* The test's folders are in /tmp, outside any home. */
  cloche_sandbox_set_mount_rules (sandbox, no_deny, TRUE);
  write_host_file (docs_dir, "secret.txt", "the secret of A\n");
  write_host_file (private_dir, "private.txt", "the secret of B\n");
  write_host_file (late_dir, "late.txt", "mounted later\n");
  session_a = open_session ("A", docs_dir, TRUE, out_dir, FALSE);
  session_b = open_session ("B", NULL, FALSE, NULL, FALSE);
}

/* From B, every way we know to reach A's folders: none gets a byte, and
 * B's view does not even name A. */
static void
test_others_invisible (void)
{
  g_autofree char *docs = g_path_get_basename (docs_dir);
  g_autofree char *out = g_path_get_basename (out_dir);
  g_autofree char *script = g_strdup_printf (
    "A=%s D=%s O=%s\n"
    "ls /sessions; echo ---\n"
    "ls /sessions/$A; cat /sessions/$A/mnt/$D/secret.txt; echo x > /sessions/$A/mnt/$O/b\n"
    "cd /sessions/$A; mkdir -p /sessions/$A/mnt\n"
    "find / -xdev -name 'secret.txt' 2>/dev/null; find / -name '*.txt' -path '*mnt*' 2>/dev/null\n"
    "cat /proc/*/root/sessions/$A/mnt/$D/secret.txt; ls /proc/*/cwd/\n"
    "grep -l $A /proc/mounts /proc/self/mountinfo /proc/*/mountinfo /proc/*/cmdline\n"
    "cat /proc/1/root/sessions/$A/mnt/$D/secret.txt /proc/1/cwd/mnt/$D/secret.txt\n"
    "ls /dev; ls /run /tmp /home\n"
    "true", session_a, docs, out);
  g_autofree char *ls_own = g_strdup_printf ("%s\n---\n", session_b);
  g_autofree char *b_written = host_path (out_dir, "b");
  g_auto(ClocheTestRun) run = { 0 };

  sh_in (session_b, script, &run);
  g_assert_true (g_str_has_prefix (run.out, ls_own));
  g_assert_null (strstr (run.out, "secret"));
  g_assert_null (strstr (run.out, session_a + 1));
  g_assert_null (strstr (run.err, "secret of A"));
  g_assert_false (g_file_test (b_written, G_FILE_TEST_EXISTS));
  /* Its /dev: the few nodes a program needs, no virtio port, no disk. */
  g_assert_null (strstr (run.out, "virtio"));
  g_assert_null (strstr (run.out, "vda"));
}

/* A's own folders work as they should: read-only stays so, read-write
 * lands on the host as the host user's (never a uid of the guest's). */
static void
test_host_owner (void)
{
  g_autofree char *file = host_path (out_dir, "a.txt");
  g_autofree char *deep = host_path (out_dir, "d/e/f");
  g_autofree char *moved = host_path (out_dir, "moved.txt");
  g_autofree char *docs = g_path_get_basename (docs_dir);
  g_autofree char *out = g_path_get_basename (out_dir);
  g_autofree char *script = g_strdup_printf (
    "D=mnt/%s O=mnt/%s; cat $D/secret.txt && echo written > $O/a.txt && mkdir -p $O/d/e/f "
    "&& echo x > $O/m && mv $O/m $O/moved.txt && echo work > w.txt && ! echo no > $D/no.txt "
    "&& id -u", docs, out);
  g_autofree char *work_file = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *not_written = host_path (docs_dir, "no.txt");
  g_auto(ClocheTestRun) run = { 0 };
  const char *paths[] = { file, deep, moved, NULL };
  struct stat st;

  sh_in (session_a, script, &run);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_str_has_prefix (run.out, "the secret of A\n"));
  g_assert_cmpstr (strchr (run.out, '\n') + 1, !=, "0\n");
  work_file = g_build_filename (state_dir, "sessions", session_a, "work", "w.txt", NULL);
  contents = read_host_file (out_dir, "a.txt");
  g_assert_cmpstr (contents, ==, "written\n");
  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_assert_cmpint (g_stat (paths[i], &st), ==, 0);
      g_assert_cmpuint (st.st_uid, ==, getuid ());
      g_assert_cmpuint (st.st_gid, ==, getgid ());
      g_assert_true ((st.st_mode & S_IRUSR) && (st.st_mode & S_IWUSR));
    }
  g_assert_cmpint (g_stat (work_file, &st), ==, 0);
  g_assert_cmpuint (st.st_uid, ==, getuid ());
  g_assert_false (g_file_test (not_written, G_FILE_TEST_EXISTS));
}

/* A session's user owns its files in the guest, so the guest's kernel
 * lets it set their set-id bits; its shares run as that user mapped to
 * the daemon's (isolation), under the filter and without CAP_FSETID
 * (folders): no set-id bit reaches the host, where those files are the
 * daemon user's (root's, run as root). */
static void
test_no_setid_from_a_session (void)
{
  g_autofree char *out = g_path_get_basename (out_dir);
  g_autofree char *script = g_strdup_printf (
    "O=mnt/%s; echo x > $O/s && mkdir $O/g && echo x > w-s || exit 1\n"
    "chmod 4755 $O/s; chmod 2755 $O/s; chmod g+s $O/g; chmod 6755 w-s\n"
    "mkdir -m 2775 $O/h; cp -p $O/s $O/copied\n"
    "ls -ln $O w-s", out);
  g_autofree char *work = g_build_filename (state_dir, "sessions", session_a, "work", NULL);
  g_autofree char *file = host_path (out_dir, "s");
  g_autofree char *folder = host_path (out_dir, "g");
  g_autofree char *made = host_path (out_dir, "h");
  g_autofree char *copied = host_path (out_dir, "copied");
  g_autofree char *work_file = host_path (work, "w-s");
  const char *paths[] = { file, folder, made, copied, work_file, NULL };
  g_auto(ClocheTestRun) run = { 0 };
  struct stat st;

  sh_in (session_a, script, &run);
  for (guint i = 0; paths[i] != NULL; i++)
    {
      if (g_stat (paths[i], &st) != 0)
        continue;   /* a copy the guest could not make is no bit either */
      if (st.st_mode & (S_ISUID | S_ISGID))
        g_error ("%s is mode %o on the host (uid %u)", paths[i], st.st_mode & 07777,
                 (guint) st.st_uid);
    }
  g_assert_true (g_file_test (file, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (work_file, G_FILE_TEST_EXISTS));
}

/* Every way to root we know, from inside A: each must fail, and the
 * guest's files must be as they were. */
static void
test_no_root (void)
{
  static const char * const attempts[] = {
    "su -c id", "busybox su root -c id", "chroot / id", "unshare -U -r id",
    "unshare -m id", "unshare -n id", "unshare -p -f id", "nsenter -t 1 -a id",
    "nsenter --mount=/proc/1/ns/mnt id", "nsenter -t 1 -U id",
    "mount -o remount,rw /", "mount -t tmpfs none /tmp", "umount /sessions",
    "echo x >> /etc/passwd", "touch /etc/evil", "touch /bin/evil", "touch /usr/sbin/evil",
    "mknod /tmp/mem c 1 1", "insmod /lib/modules/fuse.ko", "echo 1 > /proc/sys/kernel/sysrq",
    "echo b > /proc/sysrq-trigger", "cat /proc/1/environ", "ls /proc/1/root/",
    "ip link add x type dummy", "ip addr add 10.0.2.15/24 dev lo",
    "/usr/sbin/cloche-guest exec $CLOCHE_SESSION / -- id",
    "/usr/sbin/cloche-guest close $CLOCHE_SESSION",
  };
  static const char guest_state[] = "ls /etc/evil /bin/evil /usr/sbin/evil 2>/dev/null; "
                                    "md5sum /etc/passwd /etc/group; cat /proc/sys/kernel/sysrq; "
                                    "grep -c . /proc/mounts";
  g_auto(ClocheTestRun) state = { 0 };
  g_auto(ClocheTestRun) guest_before = { 0 };
  g_auto(ClocheTestRun) guest_after = { 0 };

  g_autoptr(GString) script = g_string_new (NULL);
  g_auto(ClocheTestRun) tried = { 0 };

  root_sh (guest_state, &guest_before);
  /* One command for all (each in a subshell of its own): a command costs
   * a guest-exec, and under TCG that adds up. */
  for (guint i = 0; i < G_N_ELEMENTS (attempts); i++)
    g_string_append_printf (script, "( %s ) </dev/null >/tmp/out 2>&1 && echo 'succeeded: %s'; "
                                    "grep -q 'uid=0' /tmp/out && echo 'root: %s'; "
                                    "echo \"%u: $(head -c 200 /tmp/out)\" >&2\n",
                            attempts[i], attempts[i], attempts[i], i);
  sh_in (session_a, script->str, &tried);
  g_assert_cmpint (tried.status, ==, 0);
  if (tried.out[0] != '\0')
    g_error ("ways to root that worked in a session: %s", tried.out);
  /* No capability, no way to gain one, and every mount nosuid. */
  sh_in (session_a, "id -u; grep -E '^(Cap|NoNewPrivs)' /proc/self/status; "
                    "grep -vc nosuid /proc/self/mountinfo; find / -xdev -perm -4000 -o "
                    "-perm -2000 2>/dev/null | grep -c .", &state);
  g_assert_cmpstr (state.out, !=, "");
  g_assert_false (g_str_has_prefix (state.out, "0\n"));
  g_assert_nonnull (strstr (state.out, "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
                                       "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"
                                       "CapAmb:\t0000000000000000\nNoNewPrivs:\t1\n0\n0\n"));
  root_sh (guest_state, &guest_after);
  g_assert_cmpstr (guest_after.out, ==, guest_before.out);
}

/* busybox has pidof, not pgrep. */
#define FIND_SLEEP_600 \
  "for p in $(pidof sleep); do grep -q 600 /proc/$p/cmdline && echo $p; done"

/* A process of B, and what A can do to it: nothing. B's processes are not
 * even visible from A, by number or by signal to all (kill -1). */
static void
test_signals (void)
{
  g_auto(ClocheTestRun) start = { 0 };
  g_auto(ClocheTestRun) global = { 0 };
  g_auto(ClocheTestRun) attack = { 0 };
  g_auto(ClocheTestRun) alive = { 0 };
  g_autofree char *script = NULL;

  sh_in (session_b, "setsid sleep 600 >/dev/null 2>&1 < /dev/null & echo started", &start);
  g_assert_cmpstr (start.out, ==, "started\n");
  /* Its number as the guest's root sees it: what an attacker would guess. */
  root_sh (FIND_SLEEP_600, &global);
  g_assert_cmpstr (global.out, !=, "");
  script = g_strdup_printf ("p=%s; kill -9 $p; kill -STOP $p; cat /proc/$p/environ; "
                            "ls /proc/$p; for n in $(seq 2 500); do [ $n = $$ ] || "
                            "kill -9 $n 2>/dev/null; done; kill -9 -1; echo survived",
                            g_strstrip (global.out));
  sh_in (session_a, script, &attack);
  /* kill -1 found nothing to signal but the shell itself, which it spares. */
  g_assert_cmpstr (attack.out, ==, "survived\n");
  g_assert_nonnull (strstr (attack.err, "can't kill pid -1: No such process"));
  sh_in (session_b, "for p in $(" FIND_SLEEP_600 "); do grep State /proc/$p/status; done",
         &alive);
  g_assert_cmpstr (alive.out, ==, "State:\tS (sleeping)\n");
}

static char *
beat_of_a (void)
{
  return read_host_file (out_dir, "beat");
}

/* Waits up to 30 s for A's background process to beat again. */
static void
assert_beats (void)
{
  g_autofree char *from = beat_of_a ();

  for (guint i = 0; i < 150; i++)
    {
      g_autofree char *now = beat_of_a ();

      if (now[0] != '\0' && g_strcmp0 (now, from) != 0)
        return;
      pause_ms (200);
    }
  g_error ("A's background process stopped beating while A was open");
}

/* A background process of A that looks for everything it can and writes
 * it to A's folder; then B opens with a private folder. The process goes
 * on beating (so it had every chance) and never sees B's folder; after A
 * closes, it beats no more. */
static void
test_background_ends_at_close (void)
{
  static const char loop[] =
    "n=0; while :; do n=$((n + 1)); echo $n > mnt/$O/beat; "
    "{ ls -R /sessions; cat /sessions/*/mnt/*/*.txt /proc/*/root/sessions/*/mnt/*/*.txt; } "
    ">> mnt/$O/seen 2>&1; sleep 0.2; done";
  g_autofree char *out = g_path_get_basename (out_dir);
  g_autofree char *start = g_strdup_printf ("export O=%s; "
                                            "setsid sh -c '%s' >/dev/null 2>&1 </dev/null & "
                                            "nohup sh -c '%s' >/dev/null 2>&1 </dev/null & "
                                            "echo started", out, loop, loop);
  g_autofree char *after_close = NULL;
  g_autofree char *later = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *private_session = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ClocheTestRun) run = { 0 };
  g_auto(ClocheTestRun) left = { 0 };

  sh_in (session_a, start, &run);
  g_assert_cmpstr (run.out, ==, "started\n");
  assert_beats ();
  private_session = open_session ("private", private_dir, FALSE, NULL, FALSE);
  /* Two beats after B's folder is there: the loop had its chance. */
  assert_beats ();
  assert_beats ();

  cloche_sandbox_close_session (sandbox, session_a, &error);
  g_assert_no_error (error);
  /* Closing runs in the background: the processes are gone within a
   * moment (as the guest's root sees), then the beat stands still. */
  wait_for_guest ("ps -o args | grep -c '[s]leep 0.2'", "0\n");
  after_close = beat_of_a ();
  pause_ms (1000);
  later = beat_of_a ();
  g_assert_cmpstr (after_close, ==, later);
  seen = read_host_file (out_dir, "seen");
  g_assert_null (strstr (seen, "secret of B"));
  g_assert_null (strstr (seen, private_session));
  g_assert_nonnull (strstr (seen, "secret of A"));   /* it did look */
  root_sh ("ps -o args | grep -c '[s]h -c n=0'", &left);
  g_assert_cmpstr (left.out, ==, "0\n");
  cloche_sandbox_close_session (sandbox, private_session, &error);
  g_assert_no_error (error);
  /* A again, for the cases that follow. */
  g_free (session_a);
  session_a = open_session ("A", docs_dir, TRUE, out_dir, FALSE);
}

/* The guest user of session @id. */
static guint
user_of (const char *id)
{
  g_auto(ClocheTestRun) run = { 0 };

  sh_in (id, "id -u", &run);
  return (guint) g_ascii_strtoull (run.out, NULL, 10);
}

/* As a future "add a folder to an open session" would: its user's. */
static gboolean
mount_into (const char  *id,
            const char  *name,
            const char  *host,
            GError     **error)
{
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  g_autofree char *guest_dir = g_strdup_printf ("/sessions/%s/mnt/%s", id, name);
  g_autoptr(ClochePinnedFolder) pinned = cloche_pinned_folder_new (host, error);
  g_autoptr(GAsyncResult) result = NULL;
  Wait wait = { 0 };

  if (pinned == NULL)
    return FALSE;
  cloche_vm_mount_folder_async (vm, pinned, TRUE, guest_dir, user_of (id), NULL, on_done,
                                &wait);
  result = wait_result (&wait);
  return cloche_vm_mount_folder_finish (vm, result, error);
}

static void
unmount_from (const char *guest_dir)
{
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  cloche_vm_unmount_folder_async (vm, guest_dir, NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_vm_unmount_folder_finish (vm, result, &error);
  g_assert_no_error (error);
}

/* A folder mounted into A while it runs (as a future "add a folder"
 * would) appears in A's view, and in no other session's; unmounted, it
 * leaves A's view too. */
static void
test_hotplug_reaches_own_view (void)
{
  g_autofree char *dir = g_strdup_printf ("/sessions/%s/mnt/late", session_a);
  g_autoptr(GError) error = NULL;
  g_auto(ClocheTestRun) in_a = { 0 };
  g_auto(ClocheTestRun) in_b = { 0 };
  g_auto(ClocheTestRun) gone = { 0 };

  g_assert_true (mount_into (session_a, "late", late_dir, &error));
  g_assert_no_error (error);
  sh_in (session_a, "cat mnt/late/late.txt", &in_a);
  g_assert_cmpstr (in_a.out, ==, "mounted later\n");
  sh_in (session_b, "grep -c late /proc/self/mountinfo; cat /sessions/*/mnt/late/late.txt",
         &in_b);
  g_assert_cmpstr (in_b.out, ==, "0\n");
  unmount_from (dir);
  sh_in (session_a, "grep -c /mnt/late /proc/self/mountinfo; cat mnt/late/late.txt", &gone);
  g_assert_cmpstr (gone.out, ==, "0\n");
}

/* A puts a symlink where the guest's root will mount or unmount a folder:
 * to /etc, to B's folder. The mount is refused with the reason, nothing
 * lands on /etc, and unmounting A's folders at its close never reaches
 * B's (before the walls, the guest's root followed both links). */
static void
test_symlinked_mount_point (void)
{
  g_autofree char *out_name = g_path_get_basename (out_dir);
  g_autofree char *private_name = g_path_get_basename (private_dir);
  g_autofree char *swap = NULL;
  g_autofree char *gone = NULL;
  g_autofree char *b_reads = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(ClocheTestRun) link = { 0 };
  g_auto(ClocheTestRun) etc = { 0 };
  g_auto(ClocheTestRun) swapped = { 0 };
  g_auto(ClocheTestRun) b_sees = { 0 };

  sh_in (session_a, "ln -s /etc mnt/evil && echo linked", &link);
  g_assert_cmpstr (link.out, ==, "linked\n");
  g_assert_false (mount_into (session_a, "evil", late_dir, &error));
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_MOUNT_FAILED);
  g_assert_nonnull (strstr (error->message, "symbolic link"));
  g_clear_error (&error);
  root_sh ("grep -c ' /etc ' /proc/mounts; ls /etc/late.txt", &etc);
  g_assert_cmpstr (etc.out, ==, "0\n");

  /* B gets a folder; A's read-write folder's mount point becomes a link
   * to it, then A closes. */
  cloche_sandbox_close_session (sandbox, session_b, &error);
  g_assert_no_error (error);
  g_free (session_b);
  session_b = open_session ("B", private_dir, TRUE, NULL, FALSE);
  swap = g_strdup_printf ("mv mnt mnt.old && mkdir mnt && ln -s /sessions/%s/mnt/%s mnt/%s "
                          "&& echo swapped", session_b, private_name, out_name);
  sh_in (session_a, swap, &swapped);
  g_assert_cmpstr (swapped.out, ==, "swapped\n");
  cloche_sandbox_close_session (sandbox, session_a, &error);
  g_assert_no_error (error);
  /* Its folders' unmounts have run (the work folder's, last, lazily). */
  gone = g_strdup_printf ("grep -c ' /sessions/%s ' /proc/mounts", session_a);
  wait_for_guest (gone, "0\n");
  g_clear_pointer (&session_a, g_free);
  b_reads = g_strdup_printf ("cat mnt/%s/private.txt", private_name);
  sh_in (session_b, b_reads, &b_sees);
  g_assert_cmpstr (b_sees.out, ==, "the secret of B\n");
}

/* The walls cannot be made (here: the guest's root puts a cloche-guest
 * that refuses "open" in the way, a fault the real helper does not make
 * on demand): the open fails with IsolationFailed and the helper's
 * reason, and the session's folders, mounted before the walls, are all
 * detached again first, as after a folder that fails. */
static void
test_walls_refused_undone (void)
{
  static const char refuse_open[] =
    "cp /usr/sbin/cloche-guest /run/cloche-guest.real && "
    "printf '#!/bin/sh\\n[ \"$1\" = open ] && { echo open refused by the test >&2; exit 1; }\\n"
    "exec /run/cloche-guest.real \"$@\"\\n' > /run/refusing && chmod 755 /run/refusing && "
    "mount -o bind /run/refusing /usr/sbin/cloche-guest && echo in the way";
  static const char count[] = "grep -c ' virtiofs ' /proc/mounts";
  g_autoptr(GPtrArray) mounts = g_ptr_array_new_with_free_func (
    (GDestroyNotify) cloche_session_mount_free);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_auto(ClocheTestRun) before = { 0 };
  g_auto(ClocheTestRun) setup = { 0 };
  g_auto(ClocheTestRun) after = { 0 };
  g_auto(ClocheTestRun) restored = { 0 };
  Wait wait = { 0 };

  root_sh (count, &before);
  root_sh (refuse_open, &setup);
  g_assert_cmpstr (setup.out, ==, "in the way\n");
  g_ptr_array_add (mounts, cloche_session_mount_new (late_dir, NULL, TRUE));
  cloche_sandbox_open_session_async (sandbox, "C", "test", mounts, NULL, on_done, &wait);
  result = wait_result (&wait);
  id = cloche_sandbox_open_session_finish (sandbox, result, &error);
  root_sh ("umount /usr/sbin/cloche-guest && echo restored", &restored);
  g_assert_cmpstr (restored.out, ==, "restored\n");
  g_assert_null (id);
  g_assert_error (error, CLOCHE_ERROR, CLOCHE_ERROR_ISOLATION_FAILED);
  g_assert_nonnull (strstr (error->message, "open refused by the test"));
  root_sh (count, &after);
  g_assert_cmpstr (after.out, ==, before.out);
}

static void
exec_in (const char     *id,
         const char    **argv,
         const char    **env,
         const char     *cwd,
         ClocheTestRun  *run)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  cloche_sandbox_exec_async (sandbox, id, argv, env, cwd, 0, NULL, CLOCHE_EXEC_NONE, NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_sandbox_exec_finish (sandbox, result, &run->status, &out, &err, &error);
  g_assert_no_error (error);
  run->out = cloche_test_gbytes_string (out);
  run->err = cloche_test_gbytes_string (err);
  log_run (id, argv[0], run);
}

/* The command's status, output, environment and folder, as before the
 * walls; and what the helper says when it cannot run it. */
static void
test_exec_semantics (void)
{
  const char *env[] = { "GREETING=bonjour", NULL };
  const char *with_env[] = { "sh", "-c", "echo \"$GREETING $(pwd) $HOME\"; echo err >&2; exit 7",
                             NULL };
  const char *missing[] = { "no-such-command", NULL };
  const char *not_run[] = { "/etc/passwd", NULL };
  const char *true_argv[] = { "true", NULL };
  g_auto(ClocheTestRun) first = { 0 };
  g_auto(ClocheTestRun) second = { 0 };
  g_auto(ClocheTestRun) third = { 0 };
  g_auto(ClocheTestRun) fourth = { 0 };

  exec_in (session_b, with_env, env, "/tmp", &first);
  g_assert_cmpint (first.status, ==, 7);
  g_assert_cmpstr (first.out, ==, "bonjour /tmp /home/cloche\n");
  g_assert_cmpstr (first.err, ==, "err\n");
  exec_in (session_b, missing, NULL, NULL, &second);
  g_assert_cmpint (second.status, ==, 127);
  g_assert_nonnull (strstr (second.err, "no-such-command"));
  exec_in (session_b, not_run, NULL, NULL, &third);
  g_assert_cmpint (third.status, ==, 126);
  exec_in (session_b, true_argv, NULL, "/nowhere", &fourth);
  g_assert_cmpint (fourth.status, ==, 125);
  g_assert_nonnull (strstr (fourth.err, "/nowhere"));
}

static void
test_stop (void)
{
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  cloche_sandbox_close_session (sandbox, session_b, &error);
  g_assert_no_error (error);
  cloche_vm_stop_async (vm, "test over", NULL, on_done, &wait);
  result = wait_result (&wait);
  cloche_vm_stop_finish (vm, result, &error);
  g_assert_no_error (error);
  g_clear_object (&sandbox);
}

static void
remove_tree (const char *dir)
{
  const char *argv[] = { "rm", "-rf", dir, NULL };

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                NULL, NULL);
}

int
main (int   argc,
      char *argv[])
{
  char **dirs[] = { &state_dir, &docs_dir, &out_dir, &private_dir, &late_dir };
  g_autofree char *runtime = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  runtime = g_dir_make_tmp ("cloche-run-XXXXXX", NULL);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    *dirs[i] = g_dir_make_tmp ("cloche-isolation-XXXXXX", NULL);
  g_free (cloche_test_bundle_dir ());

  g_test_add_func ("/vm-isolation/start", test_start);
  g_test_add_func ("/vm-isolation/others-invisible", test_others_invisible);
  g_test_add_func ("/vm-isolation/host-owner", test_host_owner);
  g_test_add_func ("/vm-isolation/no-setid-from-a-session", test_no_setid_from_a_session);
  g_test_add_func ("/vm-isolation/no-root", test_no_root);
  g_test_add_func ("/vm-isolation/signals", test_signals);
  g_test_add_func ("/vm-isolation/background-ends-at-close", test_background_ends_at_close);
  g_test_add_func ("/vm-isolation/hotplug-reaches-own-view", test_hotplug_reaches_own_view);
  g_test_add_func ("/vm-isolation/symlinked-mount-point", test_symlinked_mount_point);
  g_test_add_func ("/vm-isolation/walls-refused-undone", test_walls_refused_undone);
  g_test_add_func ("/vm-isolation/exec-semantics", test_exec_semantics);
  g_test_add_func ("/vm-isolation/stop", test_stop);
  status = g_test_run ();

  if (status == 0)
    {
      remove_tree (runtime);
      for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
        remove_tree (*dirs[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    g_free (*dirs[i]);
  g_free (session_a);
  g_free (session_b);
  return status;
}
