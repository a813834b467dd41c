/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _ClocheTestHttp ClocheTestHttp;

typedef enum
{
  CLOCHE_TEST_HTTP_LOOPBACK = 0,    /* 127.0.0.1 only */
  CLOCHE_TEST_HTTP_ANY_ADDRESS = 1, /* every address of this host */
} ClocheTestHttpFlags;

ClocheTestHttp *cloche_test_http_start    (const char          *body,
                                           ClocheTestHttpFlags  flags);
guint16         cloche_test_http_get_port (ClocheTestHttp      *self);
void            cloche_test_http_stop     (ClocheTestHttp      *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheTestHttp, cloche_test_http_stop)

G_END_DECLS
