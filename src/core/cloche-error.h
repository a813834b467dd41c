/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLOCHE_ERROR (cloche_error_quark ())

/**
 * ClocheError:
 *
 * One domain for everything Cloche reports. The codes are stable: they travel
 * over D-Bus as io.github.cloche.Error.<Name> and double as the doctor's
 * reason codes, so never renumber one.
 */
typedef enum
{
  CLOCHE_ERROR_FAILED,
  CLOCHE_ERROR_INVALID_ARGUMENT,
  CLOCHE_ERROR_BUNDLE_MISSING,
  CLOCHE_ERROR_BUNDLE_INVALID,
  CLOCHE_ERROR_QEMU_MISSING,
  CLOCHE_ERROR_QEMU_FAILED,
  CLOCHE_ERROR_QMP_PROTOCOL,
  CLOCHE_ERROR_AGENT_PROTOCOL,
  CLOCHE_ERROR_AGENT_TIMEOUT,
  CLOCHE_ERROR_AGENT_COMMAND,
  CLOCHE_ERROR_VM_CRASHED,
  CLOCHE_ERROR_VM_NOT_RUNNING,
  CLOCHE_ERROR_SESSION_NOT_FOUND,
  CLOCHE_ERROR_EXEC_TIMEOUT,
  CLOCHE_ERROR_SESSION_DAMAGED,
  CLOCHE_ERROR_MOUNT_REFUSED,
  CLOCHE_ERROR_SESSION_OPEN,
} ClocheError;

GQuark cloche_error_quark (void);

G_END_DECLS
