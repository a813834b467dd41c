/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Which events to hand over; zeroed, it takes them all. */
typedef struct
{
  gint64      since_us;     /* CLOCK_REALTIME µs; 0: from the oldest */
  const char *session;      /* NULL: every session and none */
} ClocheAuditFilter;

/* One event: the parsed line and the line as written (newline excluded). */
typedef void (*ClocheAuditEventFunc) (JsonObject *event,
                                      const char *line,
                                      gpointer    user_data);

#define CLOCHE_TYPE_AUDIT_READER (cloche_audit_reader_get_type ())
G_DECLARE_FINAL_TYPE (ClocheAuditReader, cloche_audit_reader, CLOCHE, AUDIT_READER, GObject)

ClocheAuditReader *cloche_audit_reader_new          (const char              *dir,
                                                     const ClocheAuditFilter *filter,
                                                     ClocheAuditEventFunc     func,
                                                     gpointer                 user_data);
gboolean           cloche_audit_reader_read_all     (ClocheAuditReader       *self,
                                                     GError                 **error);
gboolean           cloche_audit_reader_read_new     (ClocheAuditReader       *self,
                                                     GError                 **error);
guint              cloche_audit_reader_get_damaged  (ClocheAuditReader       *self);
const char        *cloche_audit_reader_get_first_damage (ClocheAuditReader   *self);
gboolean           cloche_audit_parse_since         (const char              *text,
                                                     gint64                   now_us,
                                                     gint64                  *since_us,
                                                     GError                 **error);
gint64             cloche_audit_event_time          (JsonObject              *event);

G_END_DECLS
