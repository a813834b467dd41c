/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The policy's values, handed to the parts that use them, now and after
 * each change: memory, CPUs and the accelerator from the next boot (a new
 * vm.accelerator also forgets that KVM failed here: the user asks again), the idle
 * timeout at once (a running timer restarts), mount rules from the next Open of a
 * session, the stale threshold from the next listing or cleanup. The daemon's
 * --memory-mib and --idle-timeout, when given, win over the policy: they
 * are what whoever started this daemon asked for.
 */
#include "config.h"

#include "cloche-policy-apply.h"

typedef struct
{
  ClocheSandbox *sandbox;
  guint          memory_mib_option;
  guint          idle_timeout_option;
} Applier;

static void
cloche_policy_apply_applier_free_cb (gpointer data,
                                     GClosure *closure)
{
  Applier *applier = data;

  g_object_unref (applier->sandbox);
  g_free (applier);
}

static void
cloche_policy_apply_apply_cb (ClochePolicy *policy,
                              Applier      *applier)
{
  ClocheSandbox *sandbox = applier->sandbox;
  ClocheVm *vm = cloche_sandbox_get_vm (sandbox);
  g_auto(GStrv) deny = cloche_policy_dup_mount_deny (policy);
  ClocheAccelMode mode;

  cloche_vm_set_memory_mib (vm, applier->memory_mib_option > 0 ? applier->memory_mib_option
                                : cloche_policy_get_memory_mib (policy));
  cloche_vm_set_cpus (vm, cloche_policy_get_cpus (policy));
  if (cloche_accel_mode_from_string (cloche_policy_get_accelerator (policy), &mode))
    cloche_vm_set_accelerator_mode (vm, mode);
  cloche_vm_set_warm_wake (vm, cloche_policy_get_warm_wake (policy));
  cloche_sandbox_set_idle_timeout (sandbox, applier->idle_timeout_option > 0
                                   ? applier->idle_timeout_option
                                   : cloche_policy_get_idle_timeout_s (policy));
  cloche_sandbox_set_mount_rules (sandbox, (const char * const *) deny,
                                  cloche_policy_get_allow_outside_home (policy));
  cloche_sandbox_set_stale_after_days (sandbox, cloche_policy_get_stale_after_days (policy));
}

/**
 * cloche_policy_apply_to_sandbox:
 * @memory_mib_option: the daemon's --memory-mib, or 0
 * @idle_timeout_option: its --idle-timeout, or 0
 *
 * Applies @policy to @sandbox and its VM now and on every ::changed.
 */
void
cloche_policy_apply_to_sandbox (ClochePolicy  *policy,
                                ClocheSandbox *sandbox,
                                guint          memory_mib_option,
                                guint          idle_timeout_option)
{
  Applier *applier = g_new0 (Applier, 1);

  applier->sandbox = g_object_ref (sandbox);
  applier->memory_mib_option = memory_mib_option;
  applier->idle_timeout_option = idle_timeout_option;
  cloche_policy_apply_apply_cb (policy, applier);
  g_signal_connect_data (policy, "changed", G_CALLBACK (cloche_policy_apply_apply_cb), applier,
                         cloche_policy_apply_applier_free_cb, 0);
}
