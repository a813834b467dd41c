/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The whole QMP client over a stream: the line channel cuts the input, the
 * client matches replies to a handshake and two commands by id. Whatever
 * QEMU sends before it hangs up, each of the three must finish exactly once.
 */
#include "config.h"

#include "cloche-error.h"
#include "cloche-fuzz.h"
#include "cloche-qmp-client.h"

static void
on_handshake (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  guint *finished = user_data;
  g_autoptr(GError) error = NULL;

  if (!cloche_qmp_client_handshake_finish (CLOCHE_QMP_CLIENT (object), result, &error))
    g_assert_true (error != NULL && error->domain == CLOCHE_ERROR);
  (*finished)++;
}

static void
on_executed (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  guint *finished = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = NULL;

  reply = cloche_qmp_client_execute_finish (CLOCHE_QMP_CLIENT (object), result, &error);
  g_assert_true ((reply == NULL) == (error != NULL));
  g_assert_true (error == NULL || error->domain == CLOCHE_ERROR);
  (*finished)++;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(ClocheQmpClient) client = NULL;
  guint finished = 0;

  cloche_fuzz_init ();
  stream = cloche_fuzz_stream_new (data, size);
  client = cloche_qmp_client_new (stream);
  cloche_qmp_client_handshake_async (client, NULL, on_handshake, &finished);
  cloche_qmp_client_execute_async (client, "query-status", NULL, NULL, on_executed, &finished);
  cloche_qmp_client_execute_async (client, "qom-get", NULL, NULL, on_executed, &finished);
  cloche_fuzz_run_until (&finished, 3);
  g_assert_cmpuint (finished, ==, 3);
  return 0;
}
