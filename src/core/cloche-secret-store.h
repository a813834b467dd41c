/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A secret's value: freed with cloche_secret_free(), which wipes it. */
typedef char ClocheSecretValue;

#define CLOCHE_TYPE_SECRET_STORE (cloche_secret_store_get_type ())
G_DECLARE_FINAL_TYPE (ClocheSecretStore, cloche_secret_store, CLOCHE, SECRET_STORE, GObject)

ClocheSecretStore *cloche_secret_store_new          (void);
void               cloche_secret_store_save_async   (ClocheSecretStore    *self,
                                                     const char           *name,
                                                     const char           *value,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean           cloche_secret_store_save_finish  (ClocheSecretStore    *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void               cloche_secret_store_lookup_async (ClocheSecretStore    *self,
                                                     const char           *name,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
char              *cloche_secret_store_lookup_finish (ClocheSecretStore   *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void               cloche_secret_store_remove_async (ClocheSecretStore    *self,
                                                     const char           *name,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
gboolean           cloche_secret_store_remove_finish (ClocheSecretStore   *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
void               cloche_secret_store_list_async   (ClocheSecretStore    *self,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
GStrv              cloche_secret_store_list_finish  (ClocheSecretStore    *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

void               cloche_secret_free               (char                 *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheSecretValue, cloche_secret_free)

G_END_DECLS
