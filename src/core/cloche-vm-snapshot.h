/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What a restore hands QEMU, and what the restored boot goes on from. */
typedef struct
{
  int    ram_fd;          /* a memfd of the guest's RAM's size, to be filled */
  int    state_fd;        /* QEMU's device state, read by -incoming */
  int    ram_file_fd;     /* the saved RAM, until cloche_vm_snapshot_fill() copied it */
  char  *qemu_version;    /* query-version's words when it was saved */
  guint  next_guest_uid;  /* the first session user not yet given out */
  gint64 booted_at;       /* cloche_vm_get_booted_at() of the boot saved; 0 unknown */
} ClocheVmSnapshot;

/* What a save records besides the files. */
typedef struct
{
  const char *key;
  const char *qemu_version;
  guint       next_guest_uid;
  gint64      booted_at;
} ClocheVmSnapshotMeta;

char             *cloche_vm_snapshot_dir        (void);
char             *cloche_vm_snapshot_key        (const char *const          *shape_argv,
                                                 const char                 *bundle_identity,
                                                 GError                    **error);
int               cloche_vm_snapshot_open_state (const char                 *dir,
                                                 GError                    **error);
gboolean          cloche_vm_snapshot_save       (const char                 *dir,
                                                 int                         ram_fd,
                                                 int                         state_fd,
                                                 const ClocheVmSnapshotMeta *meta,
                                                 GError                    **error);
ClocheVmSnapshot *cloche_vm_snapshot_load       (const char                 *dir,
                                                 const char                 *key,
                                                 GError                    **error);
gboolean          cloche_vm_snapshot_fill       (int                         ram_file_fd,
                                                 int                         ram_fd,
                                                 GError                    **error);
void              cloche_vm_snapshot_free       (ClocheVmSnapshot           *snapshot);
gboolean          cloche_vm_snapshot_exists     (const char                 *dir);
void              cloche_vm_snapshot_remove     (const char                 *dir);
guint64           cloche_vm_snapshot_size       (const char                 *dir);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheVmSnapshot, cloche_vm_snapshot_free)

G_END_DECLS
