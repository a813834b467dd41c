/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a session sees: built by its init, as root, in a mount namespace of
 * its own, before any process of the session runs.
 *
 *   /            the guest's root file system, read-only, nosuid, nodev
 *   /proc        the session's own PID namespace
 *   /sys         read-only (its network namespace's devices)
 *   /dev         a tmpfs: null, zero, full, random, urandom, tty, a devpts
 *                of its own (for the terminals of issue 17), shm
 *   /tmp /run /var/tmp /dev/shm   tmpfs of its own
 *   /home/cloche its home (a tmpfs, the session user's)
 *   /sessions    a read-only tmpfs holding one folder: its own
 *   /sessions/ID its work folder and, below mnt/, its host folders: a
 *                recursive bind of the guest's /sessions/ID, a slave of it,
 *                so that a folder mounted there later (shared, by "mount")
 *                appears here too, and nothing mounted here goes back
 *   /etc/passwd, /etc/group   the guest's, plus the session user
 *   /opt/cloche/tools   the tools folder's share (agents), read-only, when
 *                the guest has it mounted: the root's bind has no submounts
 *
 * Every mount is nosuid, so neither a set-id file nor a file capability
 * can raise a session's rights, whatever the bundle holds.
 *
 * The root moves into place as switch_root does (MS_MOVE onto /, chroot):
 * pivot_root refuses the initramfs's rootfs. Before that every mount the
 * namespace copied from the guest's (other sessions' folders among them)
 * is detached, through a descriptor of the old root, so none stays
 * reachable or keeps a folder busy. setns() into this namespace lands on
 * the top of the stack at /, which is the view.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cloche-guest.h"

/* The staging tmpfs, mounted over /run in this namespace only. */
#define STAGE      "/run"
#define NEW_ROOT   "/run/root"
#define MAX_MOUNTS 4096

static char why[512];

static const char *
cloche_guest_view_failed (const char *what,
                          const char *path)
{
  snprintf (why, sizeof why, "%s %s: %s", what, path, strerror (errno));
  return why;
}

static const char *
cloche_guest_view_mount_at (const char    *source,
                            const char    *target,
                            const char    *type,
                            unsigned long  flags,
                            const char    *data)
{
  if (mount (source, target, type, flags, data) != 0)
    return cloche_guest_view_failed ("cannot mount", target);
  return NULL;
}

/* mountinfo escapes spaces, tabs, newlines and backslashes as \ooo. */
static char *
cloche_guest_view_unescape (const char *text)
{
  char *out = malloc (strlen (text) + 1), *o = out;

  if (out == NULL)
    return NULL;
  for (const char *p = text; *p != '\0'; p++)
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7'
        && p[3] >= '0' && p[3] <= '7')
      {
        *o++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
        p += 3;
      }
    else
      *o++ = *p;
  *o = '\0';
  return out;
}

/* The mount points of this namespace as copied from the guest's, in
 * /proc/self/mountinfo's order (a mount before those inside it). */
static char **
cloche_guest_view_list_mounts (size_t *count)
{
  FILE *info = fopen ("/proc/self/mountinfo", "re");
  char **points = calloc (MAX_MOUNTS, sizeof *points);
  char line[8192], point[4096];

  *count = 0;
  if (info == NULL || points == NULL)
    {
      if (info != NULL)
        fclose (info);
      free (points);
      return NULL;
    }
  while (*count < MAX_MOUNTS && fgets (line, sizeof line, info) != NULL)
    if (sscanf (line, "%*s %*s %*s %*s %4095s", point) == 1)
      points[(*count)++] = cloche_guest_view_unescape (point);
  fclose (info);
  return points;
}

/* Through the old root's descriptor, deepest first; a point that holds
 * several mounts is unmounted until nothing is left there. */
static void
cloche_guest_view_detach_old (int           old_root,
                              char        **points,
                              size_t        count)
{
  if (fchdir (old_root) != 0)
    return;
  for (size_t i = count; i-- > 0;)
    {
      const char *relative = points[i];

      while (relative != NULL && *relative == '/')
        relative++;
      for (int tries = 0; relative != NULL && *relative != '\0' && tries < 8; tries++)
        if (umount2 (relative, MNT_DETACH) != 0)
          break;
      free (points[i]);
    }
  free (points);
}

static const char *
cloche_guest_view_make_node (const char *name,
                             unsigned    major,
                             unsigned    minor)
{
  char path[64];

  snprintf (path, sizeof path, NEW_ROOT "/dev/%s", name);
  if (mknod (path, S_IFCHR | 0666, makedev (major, minor)) != 0 || chmod (path, 0666) != 0)
    return cloche_guest_view_failed ("cannot make", path);
  return NULL;
}

static const char *
cloche_guest_view_make_dev (void)
{
  static const struct { const char *name; unsigned major, minor; } nodes[] = {
    { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 },
    { "urandom", 1, 9 }, { "tty", 5, 0 },
  };
  static const char * const links[][2] = {
    { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },
  };
  const char *error;

  if ((error = cloche_guest_view_mount_at ("tmpfs", NEW_ROOT "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
                                           "mode=755,size=64k")) != NULL)
    return error;
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++)
    if ((error = cloche_guest_view_make_node (nodes[i].name, nodes[i].major,
                                              nodes[i].minor)) != NULL)
      return error;
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    {
      char path[64];

      snprintf (path, sizeof path, NEW_ROOT "/dev/%s", links[i][1]);
      if (symlink (links[i][0], path) != 0)
        return cloche_guest_view_failed ("cannot make", path);
    }
  if (mkdir (NEW_ROOT "/dev/pts", 0755) != 0 || mkdir (NEW_ROOT "/dev/shm", 01777) != 0)
    return cloche_guest_view_failed ("cannot make folders in", NEW_ROOT "/dev");
  if ((error = cloche_guest_view_mount_at ("devpts", NEW_ROOT "/dev/pts", "devpts",
                                           MS_NOSUID | MS_NOEXEC,
                                           "newinstance,ptmxmode=0666,mode=0620")) != NULL)
    return error;
  return cloche_guest_view_mount_at ("tmpfs", NEW_ROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
                                     "mode=1777");
}

/* The file systems the session gets of its own. */
static const char *
cloche_guest_view_mount_own (void)
{
  static const struct { const char *target, *type, *data; unsigned long flags; } own[] = {
    { "proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC },
    { "sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY },
    { "tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV },
    { "run", "tmpfs", "mode=755", MS_NOSUID | MS_NODEV | MS_NOEXEC },
    { "home", "tmpfs", "mode=755", MS_NOSUID | MS_NODEV },
    { "sessions", "tmpfs", "mode=755", MS_NOSUID | MS_NODEV | MS_NOEXEC },
  };
  char target[64];
  const char *error;
  struct stat st;

  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    {
      snprintf (target, sizeof target, NEW_ROOT "/%s", own[i].target);
      if ((error = cloche_guest_view_mount_at (own[i].type, target, own[i].type, own[i].flags,
                                               own[i].data)) != NULL)
        return error;
    }
  /* Debian's root has one; the minimal bundle's does not. */
  if (stat (NEW_ROOT "/var/tmp", &st) == 0 && S_ISDIR (st.st_mode)
      && (error = cloche_guest_view_mount_at ("tmpfs", NEW_ROOT "/var/tmp", "tmpfs",
                                              MS_NOSUID | MS_NODEV,
                                              "mode=1777")) != NULL)
    return error;
  return cloche_guest_view_make_dev ();
}

static const char *
cloche_guest_view_make_home (uid_t uid)
{
  if (mkdir (NEW_ROOT CG_HOME, 0700) != 0 || chown (NEW_ROOT CG_HOME, uid, uid) != 0)
    return cloche_guest_view_failed ("cannot make the session's home", CG_HOME);
  return NULL;
}

/* Its own folder, and no other: a slave of the guest's, so mounts made
 * there later come in and none go out. */
static const char *
cloche_guest_view_bind_session (const char *id)
{
  char source[128], target[128];
  const char *error;

  snprintf (source, sizeof source, CG_GUEST_SESSIONS "/%s", id);
  snprintf (target, sizeof target, NEW_ROOT CG_GUEST_SESSIONS "/%s", id);
  if (mkdir (target, 0755) != 0)
    return cloche_guest_view_failed ("cannot make", target);
  if ((error = cloche_guest_view_mount_at (source, target, NULL, MS_BIND | MS_REC, NULL)) != NULL
      || (error = cloche_guest_view_mount_at (NULL, target, NULL, MS_REC | MS_SLAVE, NULL)) != NULL)
    return error;
  return cloche_guest_view_mount_at (NULL, NEW_ROOT CG_GUEST_SESSIONS, NULL,
                                     MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                     "mode=755");
}

/* The tools folder, if this boot has its share: read-only and nosuid in
 * the view whatever the share is (an install session writes it through
 * its own folder, mnt/tools, not here). */
static const char *
cloche_guest_view_bind_tools (void)
{
  struct statx st;

  if (statx (AT_FDCWD, CG_TOOLS_DIR, AT_SYMLINK_NOFOLLOW, 0, &st) != 0
      || !(st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
      || !(st.stx_attributes & STATX_ATTR_MOUNT_ROOT))
    return NULL;
  if (mount (CG_TOOLS_DIR, NEW_ROOT CG_TOOLS_DIR, NULL, MS_BIND, NULL) != 0
      || mount (NULL, NEW_ROOT CG_TOOLS_DIR, NULL,
                MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
    return cloche_guest_view_failed ("cannot bind the tools folder at", CG_TOOLS_DIR);
  return NULL;
}

/* The guest's FILE (passwd or group) plus @line, bound read-only over
 * the view's. */
static const char *
cloche_guest_view_add_account (const char *file,
                               const char *line)
{
  char original[64], copy[64], target[64], text[65536];
  ssize_t n = -1;
  int fd;

  snprintf (original, sizeof original, "/etc/%s", file);
  snprintf (copy, sizeof copy, STAGE "/%s", file);
  snprintf (target, sizeof target, NEW_ROOT "/etc/%s", file);
  if ((fd = open (original, O_RDONLY | O_CLOEXEC)) >= 0)
    {
      n = read (fd, text, sizeof text - 256);
      close (fd);
    }
  if (n < 0)
    return cloche_guest_view_failed ("cannot read", original);
  if (n > 0 && text[n - 1] != '\n')
    text[n++] = '\n';
  snprintf (text + n, sizeof text - (size_t) n, "%s\n", line);
  if (!cg_write_file (copy, text, 0644))
    return cloche_guest_view_failed ("cannot write", copy);
  if (mount (copy, target, NULL, MS_BIND, NULL) != 0
      || mount (NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                NULL) != 0)
    return cloche_guest_view_failed ("cannot bind the session's accounts over", target);
  return NULL;
}

static const char *
cloche_guest_view_add_user (uid_t uid)
{
  char line[256];
  const char *error;

  snprintf (line, sizeof line, CG_USER_NAME ":x:%u:%u:Cloche session:" CG_HOME ":/bin/sh",
            (unsigned) uid, (unsigned) uid);
  if ((error = cloche_guest_view_add_account ("passwd", line)) != NULL)
    return error;
  snprintf (line, sizeof line, CG_USER_NAME ":x:%u:", (unsigned) uid);
  return cloche_guest_view_add_account ("group", line);
}

static const char *
cloche_guest_view_stage_root (void)
{
  const char *error;

  if ((error = cloche_guest_view_mount_at ("tmpfs", STAGE, "tmpfs",
                                           MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                           "mode=700,size=1m")) != NULL)
    return error;
  if (mkdir (NEW_ROOT, 0755) != 0)
    return cloche_guest_view_failed ("cannot make", NEW_ROOT);
  if ((error = cloche_guest_view_mount_at ("/", NEW_ROOT, NULL, MS_BIND, NULL)) != NULL)
    return error;
  return cloche_guest_view_mount_at (NULL, NEW_ROOT, NULL,
                                     MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL);
}

/* The view becomes / (for this process and whoever enters the namespace);
 * then what the namespace copied from the guest goes. */
static const char *
cloche_guest_view_switch_to_view (char   **old_mounts,
                                  size_t   count)
{
  int old_root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (old_root < 0 || chdir (NEW_ROOT) != 0)
    return cloche_guest_view_failed ("cannot open", "/");
  if (mount (NEW_ROOT, "/", NULL, MS_MOVE, NULL) != 0)
    return cloche_guest_view_failed ("cannot move the session's view to", "/");
  if (chroot (".") != 0)
    return cloche_guest_view_failed ("cannot enter the session's view at", NEW_ROOT);
  cloche_guest_view_detach_old (old_root, old_mounts, count);
  close (old_root);
  if (chdir ("/") != 0)
    return cloche_guest_view_failed ("cannot go to", "/");
  return NULL;
}

const char *
cg_view_build (const char *id,
               uid_t       uid)
{
  const char *error;
  char **old_mounts;
  size_t count;

  if (unshare (CLONE_NEWNS) != 0)
    return cloche_guest_view_failed ("cannot make the session's mount namespace", "(unshare)");
  /* From now on nothing done here reaches the guest's namespace. */
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
    return cloche_guest_view_failed ("cannot make the mounts slaves at", "/");
  if ((old_mounts = cloche_guest_view_list_mounts (&count)) == NULL)
    return cloche_guest_view_failed ("cannot read", "/proc/self/mountinfo");
  if ((error = cloche_guest_view_stage_root ()) != NULL
      || (error = cloche_guest_view_mount_own ()) != NULL
      || (error = cloche_guest_view_make_home (uid)) != NULL
      || (error = cloche_guest_view_add_user (uid)) != NULL
      || (error = cloche_guest_view_bind_session (id)) != NULL
      || (error = cloche_guest_view_bind_tools ()) != NULL)
    return error;
  return cloche_guest_view_switch_to_view (old_mounts, count);
}
