/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "cloche-exec-channel.h"

G_BEGIN_DECLS

/* The frame format: docs/ARCHITECTURE.md, "The exec server", and the top
 * of src/guest/cloche-guest-serve.c. */
#define CLOCHE_EXEC_FRAME_HEADER 9
#define CLOCHE_EXEC_FRAME_MAX    65536

typedef enum
{
  CLOCHE_EXEC_FRAME_START = 1,
  CLOCHE_EXEC_FRAME_IN    = 2,
  CLOCHE_EXEC_FRAME_KILL  = 3,
  CLOCHE_EXEC_FRAME_READY = 4,
  CLOCHE_EXEC_FRAME_OUT   = 5,
  CLOCHE_EXEC_FRAME_ERR   = 6,
  CLOCHE_EXEC_FRAME_EXIT  = 7,
} ClocheExecFrameType;

typedef struct
{
  guint8        type;
  guint32       id;
  const guint8 *payload;   /* into the data given */
  gsize         length;
} ClocheExecFrame;

gsize              cloche_exec_channel_next_frame (const guint8     *data,
                                                   gsize             size,
                                                   ClocheExecFrame  *frame,
                                                   GError          **error);
/* A channel on @stream with no port and no server (the tests of the
 * frames' checks: a socket pair, the test writing the guest's side). */
ClocheExecChannel *cloche_exec_channel_new_for_stream (GIOStream      *stream);
const GError      *cloche_exec_channel_get_drop_reason (ClocheExecChannel *self);

G_END_DECLS
