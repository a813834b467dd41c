/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum
{
  CLOCHE_VM_STATE_STOPPED,
  CLOCHE_VM_STATE_STARTING,
  CLOCHE_VM_STATE_RUNNING,
  CLOCHE_VM_STATE_STOPPING,
  CLOCHE_VM_STATE_CRASHED,
} ClocheVmState;

#define CLOCHE_TYPE_VM_STATE (cloche_vm_state_get_type ())
GType         cloche_vm_state_get_type    (void) G_GNUC_CONST;

/* The names used on D-Bus: "stopped", "starting", … */
const char   *cloche_vm_state_to_string   (ClocheVmState  state);
gboolean      cloche_vm_state_from_string (const char    *name,
                                           ClocheVmState *state);

G_END_DECLS
