/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "cloche-client.h"

G_BEGIN_DECLS

#define CLOCHE_NOTIFICATION_VM_FAILED "vm-failed"

#define CLOCHE_TYPE_NOTIFIER (cloche_notifier_get_type ())
G_DECLARE_FINAL_TYPE (ClocheNotifier, cloche_notifier, CLOCHE, NOTIFIER, GObject)

ClocheNotifier *cloche_notifier_new        (GtkWindow      *window,
                                            GSettings      *settings);
void            cloche_notifier_set_client (ClocheNotifier *self,
                                            ClocheClient   *client);

G_END_DECLS
