/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a session's commands need of secrets (issue 20, docs/secrets.md):
 * the guest trusts the installation's egress CA, and a command's
 * environment holds the session's placeholders and names the trust
 * bundle.
 *
 * Trust is given once a boot, before the first session's walls are made
 * in it (the mount job asks _cloche_sandbox_trust_async() while it mounts
 * the folders, and makes the walls once both are done):
 * the CA's certificate goes to `cloche-guest trust` on its standard input,
 * which writes CLOCHE_EGRESS_CA_GUEST_FILE and the bundle
 * CLOCHE_EGRESS_CA_GUEST_BUNDLE (the guest's own store, if it has one,
 * plus the CA). A boot restored by warm wake is a new boot here too, so it
 * gets the CA of now, not the one of the boot that was saved; a CA made
 * again while the VM runs goes in before the next command of any session
 * (_cloche_sandbox_ready_async() asks here too, which costs nothing when
 * the boot trusts the CA of now).
 *
 * Nothing is ever read back from the guest: the host only hands it a
 * public certificate, and a guest that rewrites its own copy fools only
 * itself. A failure (a bundle older than `trust`, a CA that cannot be
 * made) costs the intercepted hosts, not the session: it is logged (once
 * a boot and CA: it is not tried again at every command), and the
 * variables are left out, so that clients keep their own defaults.
 */
#include "config.h"

#include <string.h>

#include "cloche-egress-ca.h"
#include "cloche-sandbox-private.h"
#include "cloche-vm-command.h"

#define TRUST_TIMEOUT_S 30

static const char * const trust_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

/* The variables the usual clients read for a trust store (OpenSSL and
 * what is built on it, Node, Python requests, git, curl). */
static const char * const ca_variables[] = {
  "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO",
  "CURL_CA_BUNDLE", NULL
};

/**
 * cloche_sandbox_set_secrets:
 * @secrets: (nullable): the bindings and each session's placeholders
 * @ca: (nullable): the installation's CA, which every boot trusts
 *
 * From now on a session's commands get its placeholders, and each boot
 * trusts @ca before its first session's command.
 */
void
cloche_sandbox_set_secrets (ClocheSandbox  *self,
                            ClocheSecrets  *secrets,
                            ClocheEgressCa *ca)
{
  g_return_if_fail (CLOCHE_IS_SANDBOX (self));

  g_set_object (&self->secrets, secrets);
  g_set_object (&self->ca, ca);
  self->trusted_boot = 0;
  self->attempt_boot = 0;
}

/* The boot running now was given the CA as it is now, well or not: a
 * bundle without `trust` is not asked again at every command. */
static gboolean
cloche_sandbox_trust_is_settled (ClocheSandbox *self,
                                 const char    *pem)
{
  return self->attempt_boot != 0 && self->attempt_boot == cloche_vm_get_booted_at (self->vm)
         && g_strcmp0 (pem, self->attempt_pem) == 0;
}

/* A boot restored by warm wake is the saved boot's guest, files and all:
 * if that boot was given this CA, so is this one, and `cloche-guest
 * trust` (a guest process, 0.1-0.2 s of a warm open under TCG) is not run
 * again. Only a boot this daemon gave it counts (the snapshot names the
 * boot it saved; a daemon started since remembers none). */
static void
cloche_sandbox_trust_inherit_restored_trust (ClocheSandbox *self)
{
  gint64 from = cloche_vm_get_restored_from (self->vm);
  gint64 boot = cloche_vm_get_booted_at (self->vm);

  if (from != 0 && self->trusted_boot == from && self->attempt_boot == from)
    self->trusted_boot = self->attempt_boot = boot;
}

/* What one trust is for: the CA as sent, and the boot it went to
 * (another may have begun when it ends). */
typedef struct
{
  char   *pem;
  gint64  boot;
} Trust;

static void
cloche_sandbox_trust_free (Trust *trust)
{
  g_free (trust->pem);
  g_free (trust);
}

static void
cloche_sandbox_trust_done_cb (GObject      *object,
                              GAsyncResult *result,
                              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ClocheSandbox *self = g_task_get_source_object (task);
  Trust *trust = g_task_get_task_data (task);
  g_autoptr(GBytes) out = NULL, err = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;

  if (!cloche_guest_agent_exec_finish (CLOCHE_GUEST_AGENT (object), result, &status, &out,
                                       &err, &error))
    g_message ("Secrets: the guest could not be given the egress CA: %s", error->message);
  else if (status != 0)
    g_message ("Secrets: the guest refused the egress CA (status %d): %.*s", status,
               (int) MIN (g_bytes_get_size (err), 512), (const char *) g_bytes_get_data (err, NULL));
  else
    self->trusted_boot = trust->boot;
  self->attempt_boot = trust->boot;
  g_free (self->attempt_pem);
  self->attempt_pem = g_strdup (trust->pem);
  g_task_return_boolean (task, TRUE);
}

static void
cloche_sandbox_trust_give_trust (GTask *task)
{
  ClocheSandbox *self = g_task_get_source_object (task);
  const char *pem = cloche_egress_ca_get_certificate_pem (self->ca);
  const char *argv[] = { CLOCHE_VM_GUEST_HELPER, "trust", NULL };
  g_autoptr(GBytes) input = NULL;
  Trust *trust;

  cloche_sandbox_trust_inherit_restored_trust (self);
  if (pem == NULL || cloche_sandbox_trust_is_settled (self, pem))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  trust = g_new0 (Trust, 1);
  trust->pem = g_strdup (pem);
  trust->boot = cloche_vm_get_booted_at (self->vm);
  g_task_set_task_data (task, trust, (GDestroyNotify) cloche_sandbox_trust_free);
  input = g_bytes_new (pem, strlen (pem));
  cloche_guest_agent_exec_async (cloche_vm_get_guest_agent (self->vm), argv, trust_env,
                                 TRUST_TIMEOUT_S, input, CLOCHE_EXEC_NONE,
                                 g_task_get_cancellable (task), cloche_sandbox_trust_done_cb, task);
}

static void
cloche_sandbox_trust_ca_loaded_cb (GObject      *object,
                                   GAsyncResult *result,
                                   gpointer      user_data)
{
  GTask *task = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_egress_ca_load_finish (CLOCHE_EGRESS_CA (object), result, &error))
    g_message ("Secrets: no egress CA for the guest: %s", error->message);
  cloche_sandbox_trust_give_trust (task);
}

/* Always succeeds: what failed is logged (above). */
void
_cloche_sandbox_trust_async (ClocheSandbox       *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, _cloche_sandbox_trust_async);
  if (self->ca == NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  cloche_egress_ca_load_async (self->ca, cancellable, cloche_sandbox_trust_ca_loaded_cb, task);
}

gboolean
_cloche_sandbox_trust_finish (ClocheSandbox  *self,
                              GAsyncResult   *result,
                              GError        **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* What a session's command gets of secrets: the variables naming the
 * trust bundle (only once this boot trusts the CA: before, they would
 * point clients at a file that is not there), and the session's
 * placeholders. */
void
_cloche_sandbox_add_secrets_env (ClocheSandbox *self,
                                 ClocheSession *session,
                                 GStrvBuilder  *builder)
{
  g_auto(GStrv) placeholders = NULL;

  /* The bundle is there once any trust of this boot went well, even if
   * the CA has been made again since (trusted before the next command). */
  if (self->ca != NULL && self->trusted_boot != 0
      && self->trusted_boot == cloche_vm_get_booted_at (self->vm))
    for (guint i = 0; ca_variables[i] != NULL; i++)
      {
        g_autofree char *entry = g_strdup_printf ("%s=%s", ca_variables[i],
                                                  CLOCHE_EGRESS_CA_GUEST_BUNDLE);

        g_strv_builder_add (builder, entry);
      }
  if (self->secrets == NULL)
    return;
  placeholders = cloche_secrets_dup_environment (self->secrets, cloche_session_get_id (session));
  g_strv_builder_addv (builder, (const char **) placeholders);
}

/* The session has closed: its placeholders are good nowhere from now. */
void
_cloche_sandbox_forget_secrets (ClocheSandbox *self,
                                const char    *id)
{
  if (self->secrets != NULL)
    cloche_secrets_forget_session (self->secrets, id);
}
