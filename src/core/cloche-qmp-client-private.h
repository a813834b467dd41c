/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-qmp-client.h"

G_BEGIN_DECLS

typedef enum
{
  CLOCHE_QMP_MESSAGE_GREETING,
  CLOCHE_QMP_MESSAGE_RETURN,
  CLOCHE_QMP_MESSAGE_ERROR,
  CLOCHE_QMP_MESSAGE_EVENT,
} ClocheQmpMessageKind;

/* One line from the QMP monitor, classified. */
typedef struct
{
  ClocheQmpMessageKind  kind;
  gint64                id;       /* RETURN and ERROR; -1 when the line has none */
  JsonNode             *payload;  /* the return value, event data or greeting */
  char                 *event;    /* EVENT: its name */
  char                 *error_class;
  char                 *error_desc;
} ClocheQmpMessage;

gboolean cloche_qmp_message_parse (const char        *line,
                                   ClocheQmpMessage  *message,
                                   GError           **error);
void     cloche_qmp_message_clear (ClocheQmpMessage  *message);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ClocheQmpMessage, cloche_qmp_message_clear)

G_END_DECLS
