/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The values of a request's secrets, written in where the guest wrote
 * their placeholders (the headers cloche_secrets_check() found), just
 * before the request goes to the server: read from the keyring the first
 * time (cloche-secret-store.c), then from memory. Each value is written
 * as its binding's format says ("Bearer {}"); nothing else of the request
 * changes. A secret with no value, or a keyring that cannot be reached,
 * fails the request (the decision "secret-unavailable"), which then never
 * leaves with its placeholder.
 */
#include "config.h"

#include "cloche-egress-proxy-private.h"

typedef struct
{
  ClocheSecretStore *store;
  ClocheHttpRequest *request;   /* the connection's; it outlives the task */
  GArray            *swaps;     /* of ClocheSecretSwap */
  guint              next;
} Fill;

static void
cloche_egress_secrets_fill_free (Fill *fill)
{
  g_clear_object (&fill->store);
  g_array_unref (fill->swaps);
  g_free (fill);
}

static void cloche_egress_secrets_fill_next (GTask *task);

static void
cloche_egress_secrets_value_cb (GObject      *object,
                                GAsyncResult *result,
                                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fill *fill = g_task_get_task_data (task);
  ClocheSecretSwap *swap = &g_array_index (fill->swaps, ClocheSecretSwap, fill->next);
  g_autoptr(ClocheSecretValue) value = NULL;
  g_autoptr(ClocheSecretValue) written = NULL;
  GError *error = NULL;

  value = cloche_secret_store_lookup_finish (CLOCHE_SECRET_STORE (object), result, &error);
  if (value == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  written = cloche_secret_binding_format (swap->binding, value);
  cloche_http_request_set_header (fill->request, swap->header, written);
  fill->next++;
  cloche_egress_secrets_fill_next (g_steal_pointer (&task));
}

static void
cloche_egress_secrets_fill_next (GTask *task)
{
  Fill *fill = g_task_get_task_data (task);
  ClocheSecretSwap *swap;

  if (fill->next >= fill->swaps->len || g_task_return_error_if_cancelled (task))
    {
      if (!g_task_had_error (task))
        g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  swap = &g_array_index (fill->swaps, ClocheSecretSwap, fill->next);
  cloche_secret_store_lookup_async (fill->store, swap->binding->name,
                                    g_task_get_cancellable (task), cloche_egress_secrets_value_cb,
                                    task);
}

/**
 * _cloche_egress_secrets_fill_async:
 * @request: the request whose headers get the values; must outlive the call
 * @swaps: (transfer none): what cloche_secrets_check() found
 *
 * Writes each secret's value where its placeholder was.
 */
void
_cloche_egress_secrets_fill_async (ClocheSecretStore   *store,
                                   ClocheHttpRequest   *request,
                                   GArray              *swaps,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Fill *fill = g_new0 (Fill, 1);

  g_task_set_source_tag (task, _cloche_egress_secrets_fill_async);
  fill->store = g_object_ref (store);
  fill->request = request;
  fill->swaps = g_array_ref (swaps);
  g_task_set_task_data (task, fill, (GDestroyNotify) cloche_egress_secrets_fill_free);
  cloche_egress_secrets_fill_next (task);
}

/* FALSE with %CLOCHE_ERROR_SECRET_MISSING or %CLOCHE_ERROR_KEYRING. */
gboolean
_cloche_egress_secrets_fill_finish (GAsyncResult  *result,
                                    GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}
