/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "cloche-types.h"

G_DEFINE_ENUM_TYPE (ClocheVmState, cloche_vm_state,
  G_DEFINE_ENUM_VALUE (CLOCHE_VM_STATE_STOPPED, "stopped"),
  G_DEFINE_ENUM_VALUE (CLOCHE_VM_STATE_STARTING, "starting"),
  G_DEFINE_ENUM_VALUE (CLOCHE_VM_STATE_RUNNING, "running"),
  G_DEFINE_ENUM_VALUE (CLOCHE_VM_STATE_STOPPING, "stopping"),
  G_DEFINE_ENUM_VALUE (CLOCHE_VM_STATE_CRASHED, "crashed"))

const char *
cloche_vm_state_to_string (ClocheVmState state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (CLOCHE_TYPE_VM_STATE);
  GEnumValue *value = g_enum_get_value (klass, state);

  return value != NULL ? value->value_nick : "unknown";
}

gboolean
cloche_vm_state_from_string (const char    *name,
                             ClocheVmState *state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (CLOCHE_TYPE_VM_STATE);
  GEnumValue *value = g_enum_get_value_by_nick (klass, name);

  if (value == NULL)
    return FALSE;
  *state = value->value;
  return TRUE;
}
