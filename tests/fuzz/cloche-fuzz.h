/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What every libFuzzer harness shares: input cut into lines the way
 * ClocheLineChannel cuts them, and GLib's logging set so that a critical
 * (a g_return_if_fail tripped by input from the peer) counts as a crash
 * while the warnings bad input is expected to cause stay quiet.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <gio/gio.h>

G_BEGIN_DECLS

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

static GLogWriterOutput
cloche_fuzz_log_writer (GLogLevelFlags   log_level,
                        const GLogField *fields,
                        gsize            n_fields,
                        gpointer         user_data)
{
  if (log_level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return g_log_writer_standard_streams (log_level, fields, n_fields, user_data);
  return G_LOG_WRITER_HANDLED;
}

static inline void
cloche_fuzz_init (void)
{
  static gboolean done;

  if (done)
    return;
  done = TRUE;
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  g_log_set_writer_func (cloche_fuzz_log_writer, NULL, NULL);
}

/* Lines as the peer's reader sees them: cut at '\n', each ending at its
 * first NUL, blanks dropped (ClocheLineChannel never emits an empty line). */
static inline GPtrArray *
cloche_fuzz_lines (const uint8_t *data,
                   size_t         size)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  const char *start = (const char *) data;
  const char *end = start + size;

  while (start < end)
    {
      const char *newline = memchr (start, '\n', end - start);
      const char *stop = newline != NULL ? newline : end;
      char *line = g_strchomp (g_strndup (start, stop - start));

      if (line[0] != '\0')
        g_ptr_array_add (lines, line);
      else
        g_free (line);
      start = stop + 1;
    }
  return lines;
}

/* A stream whose peer sends @data and then hangs up, as QEMU does when it
 * exits; what the client writes is kept and dropped with the stream. */
static inline GIOStream *
cloche_fuzz_stream_new (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GInputStream) input = g_memory_input_stream_new_from_data (g_memdup2 (data, size),
                                                                        size, g_free);
  g_autoptr(GOutputStream) output = g_memory_output_stream_new_resizable ();

  return g_simple_io_stream_new (input, output);
}

/* Runs the default main context until *@finished reaches @expected, then
 * until nothing is left to dispatch, so no source outlives the input. */
static inline void
cloche_fuzz_run_until (const guint *finished,
                       guint        expected)
{
  while (*finished < expected)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

G_END_DECLS
