/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mount TAG DIR ro|rw and umount DIR: the daemon's folders, in the guest's
 * own mount namespace (the guest agent runs these as root).
 *
 * A folder of a session is mounted inside its work folder
 * (/sessions/ID/mnt/NAME), which the session writes: a path there may be a
 * symlink by the time root acts on it, and root mounting a host folder
 * over /bin, or unmounting another session's folder, would undo every
 * wall. So DIR is opened one component at a time, none a symlink
 * (openat2 RESOLVE_NO_SYMLINKS), and the mount goes onto that descriptor
 * with the new mount API (fsopen, fsmount, move_mount): no path is looked
 * up again. A missing folder is made by the owner of the folder it goes
 * in (fsuid): in a work folder, the session's user, whose files are the
 * host user's on the host (virtiofsd maps that one user), so the host
 * user finds the mount point theirs.
 *
 * The mount is nosuid and nodev, read-only (superblock and mount) for
 * "ro", and shared, so that a folder mounted inside it later also appears
 * in the session's view (a slave of it, cloche-guest-view.c); so does an
 * unmount.
 *
 * device_add returns before the guest's driver has taken the new device,
 * and until it has the tag is unknown: the mount is tried for up to 5 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cloche-guest.h"

#define MOUNT_TRIES    50
#define MOUNT_RETRY_NS (100 * 1000 * 1000)

static int
cloche_guest_mount_open_component (int         dir,
                                   const char *name)
{
  struct open_how how = {
    .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
    .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
  };

  return (int) syscall (SYS_openat2, dir, name, &how, sizeof how);
}

/* As the owner of @dir: in a work folder, the session's user. */
static int
cloche_guest_mount_make_folder (int         dir,
                                const char *name)
{
  struct stat st;
  int saved, result;

  if (fstat (dir, &st) != 0)
    return -1;
  setfsgid (st.st_gid);
  setfsuid (st.st_uid);
  result = mkdirat (dir, name, 0755);
  saved = errno;
  setfsuid (0);
  setfsgid (0);
  errno = saved;
  return result;
}

/* A descriptor of the folder @path (absolute, without "." or ".."), no
 * symlink followed on the way; made if missing when @create. -1 with the
 * reason in @why. */
int
cg_open_beneath (const char *path,
                 bool        create,
                 char       *why,
                 size_t      why_size)
{
  char *copy = strdup (path), *state = NULL;
  int dir = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

  for (char *name = strtok_r (copy, "/", &state); name != NULL && dir >= 0;
       name = strtok_r (NULL, "/", &state))
    {
      int next = -1;

      if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
        errno = EINVAL;
      else if ((next = cloche_guest_mount_open_component (dir, name)) < 0 && errno == ENOENT
               && create
               && (cloche_guest_mount_make_folder (dir, name) == 0 || errno == EEXIST))
        next = cloche_guest_mount_open_component (dir, name);
      if (next < 0)
        snprintf (why, why_size, "%s (at \"%s\"): %s", path, name,
                  errno == ELOOP ? "a symbolic link is in the way" : strerror (errno));
      close (dir);
      dir = next;
    }
  free (copy);
  return dir;
}

static bool
cloche_guest_mount_is_mount_root (int         dir,
                                  const char *name)
{
  struct statx st;

  return statx (dir, name, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, 0, &st) == 0
         && (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
         && (st.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static bool
cloche_guest_mount_tag_valid (const char *tag)
{
  size_t length = strlen (tag);

  return length > 0 && length <= 36 && strspn (tag, "abcdefghijklmnopqrstuvwxyz"
                                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
                                       == length;
}

/* The superblock of the share, once the guest's driver knows the tag. */
static int
cloche_guest_mount_create_share (const char *tag,
                                 bool        readonly)
{
  struct timespec pause = { 0, MOUNT_RETRY_NS };
  int saved = 0;

  for (int i = 0; i < MOUNT_TRIES; i++)
    {
      int fs = fsopen ("virtiofs", FSOPEN_CLOEXEC);

      if (fs < 0)
        cg_fail ("this guest cannot mount virtiofs: %s", strerror (errno));
      if (fsconfig (fs, FSCONFIG_SET_STRING, "source", tag, 0) == 0
          && (!readonly || fsconfig (fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) == 0)
          && fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
        return fs;
      saved = errno;
      close (fs);
      nanosleep (&pause, NULL);
    }
  errno = saved;
  return -1;
}

int
cg_mount (const char *tag,
          const char *dir,
          const char *mode)
{
  struct mount_attr shared = { .propagation = MS_SHARED };
  bool readonly = strcmp (mode, "ro") == 0;
  char why[512];
  int target, fs, mnt;

  if (!cloche_guest_mount_tag_valid (tag) || dir[0] != '/'
      || (!readonly && strcmp (mode, "rw") != 0))
    cg_fail ("mount: expected a virtiofs tag, an absolute folder and ro or rw, "
             "got \"%s\" \"%s\" \"%s\"", tag, dir, mode);
  if ((target = cg_open_beneath (dir, true, why, sizeof why)) < 0)
    cg_fail ("cannot make the mount point %s", why);
  if (cloche_guest_mount_is_mount_root (target, ""))
    cg_fail ("a folder is already mounted at %s", dir);
  if ((fs = cloche_guest_mount_create_share (tag, readonly)) < 0)
    cg_fail ("cannot mount the virtiofs share %s at %s: %s", tag, dir, strerror (errno));
  mnt = fsmount (fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
                                      | (readonly ? MOUNT_ATTR_RDONLY : 0));
  if (mnt < 0 || move_mount (mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH
                                                  | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    cg_fail ("cannot mount the virtiofs share %s at %s: %s", tag, dir, strerror (errno));
  if (mount_setattr (mnt, "", AT_EMPTY_PATH, &shared, sizeof shared) != 0)
    cg_fail ("cannot share the mount at %s with the session's view: %s", dir, strerror (errno));
  return 0;
}

/* The folder holding DIR is pinned by a descriptor; DIR itself is named
 * under it with UMOUNT_NOFOLLOW, so a symlink put there is not followed. */
int
cg_umount (const char *dir)
{
  char why[512], parent_path[4096], target[4200];
  const char *slash = strrchr (dir, '/');
  size_t parent_length = slash != NULL ? (size_t) (slash - dir) : 0;
  int parent;

  if (dir[0] != '/' || slash == NULL || slash[1] == '\0' || parent_length >= sizeof parent_path)
    cg_fail ("umount: expected an absolute folder, got \"%s\"", dir);
  snprintf (parent_path, sizeof parent_path, "%.*s", (int) parent_length, dir);
  if ((parent = cg_open_beneath (parent_path[0] != '\0' ? parent_path : "/", false, why,
                                 sizeof why)) < 0)
    cg_fail ("cannot unmount %s: cannot open %s", dir, why);
  if (!cloche_guest_mount_is_mount_root (parent, slash + 1))
    cg_fail ("nothing is mounted at %s", dir);
  snprintf (target, sizeof target, "/proc/self/fd/%d/%s", parent, slash + 1);
  if (umount2 (target, UMOUNT_NOFOLLOW) != 0
      && (errno != EBUSY || umount2 (target, UMOUNT_NOFOLLOW | MNT_DETACH) != 0))
    cg_fail ("cannot unmount %s: %s", dir, strerror (errno));
  return 0;
}
