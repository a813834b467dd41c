/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A certificate authority of a test's own, in memory (GnuTLS). */
typedef struct _ClocheTestCa ClocheTestCa;

ClocheTestCa    *cloche_test_ca_new       (const char   *name);
char            *cloche_test_ca_write     (ClocheTestCa *self,
                                           const char   *dir);
GTlsCertificate *cloche_test_ca_issue     (ClocheTestCa *self,
                                           const char   *name,
                                           const char   *address);
void             cloche_test_ca_free      (ClocheTestCa *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheTestCa, cloche_test_ca_free)

/* An HTTPS server on 127.0.0.1 (a thread per connection, HTTP/1.1
 * keep-alive) that records every request it reads, head and body, and
 * answers each "200" with a short body of its own. */
typedef struct _ClocheTestHttps ClocheTestHttps;

#define CLOCHE_TEST_HTTPS_BODY "hello from the test server\n"

ClocheTestHttps *cloche_test_https_start      (GTlsCertificate *certificate);
guint16          cloche_test_https_get_port   (ClocheTestHttps *self);
char            *cloche_test_https_dup_record (ClocheTestHttps *self);
guint            cloche_test_https_get_count  (ClocheTestHttps *self);
void             cloche_test_https_stop       (ClocheTestHttps *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ClocheTestHttps, cloche_test_https_stop)

G_END_DECLS
