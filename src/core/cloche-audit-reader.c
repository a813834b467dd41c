/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reading the audit log back: the rotated files oldest first, then
 * audit.jsonl, filtered by time and session. Reading goes to the files, not
 * to the daemon, so the log can be read when the daemon is not running
 * (after a crash, which is when it matters) and shows the lines of every
 * process that writes it. Following keeps the current file open and reads
 * what was appended; when the file is rotated under it, it finishes the old
 * file and starts on the new one.
 *
 * A line that does not parse (cut short by a crash), or is not an event of
 * ours, is counted and skipped, never fatal: the lines after it are read as
 * usual. The files are read as untrusted: a FIFO or a link in the folder is
 * damage, not something to open; a line is checked against the JSON
 * grammar (nesting bounded) before json-glib reads it, and its envelope's
 * types before anyone uses it; no line is kept beyond CLOCHE_AUDIT_MAX_LINE.
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "cloche-audit-log.h"
#include "cloche-audit-reader.h"
#include "cloche-error.h"
#include "cloche-file.h"
#include "cloche-json.h"

#define MAX_GENERATIONS 100

/* Lines read from one file, a chunk at a time. */
typedef struct
{
  const char *file;
  GString    *partial;     /* bytes after the last newline read */
  guint       number;      /* of the last line handed over */
  gboolean    skipping;    /* the rest of a line too long to be one of ours */
} Lines;

struct _ClocheAuditReader
{
  GObject               parent_instance;
  char                 *dir;
  char                 *path;
  char                 *session;
  gint64                since_us;
  ClocheAuditEventFunc  func;
  gpointer              user_data;

  /* Following */
  int                   fd;
  Lines                 current;     /* of audit.jsonl, read through fd */

  guint                 damaged;
  char                 *first_damage;
};

G_DEFINE_FINAL_TYPE (ClocheAuditReader, cloche_audit_reader, G_TYPE_OBJECT)

/**
 * cloche_audit_event_time:
 *
 * Returns: the event's "time" in CLOCK_REALTIME µs, 0 when it has none
 */
gint64
cloche_audit_event_time (JsonObject *event)
{
  const char *text = cloche_json_get_string (event, "time", NULL);
  g_autoptr(GDateTime) time = text != NULL ? g_date_time_new_from_iso8601 (text, NULL) : NULL;

  if (time == NULL)
    return 0;
  return g_date_time_to_unix (time) * G_USEC_PER_SEC + g_date_time_get_microsecond (time);
}

/* "30s", "10m", "2h", "7d": digits only (g_ascii_strtoull would take a
 * sign, spaces and wrap past 64 bits), then one unit. */
static gboolean
cloche_audit_reader_parse_age (const char *text,
                               guint64    *count,
                               gint64     *unit_us)
{
  static const struct { char unit; gint64 us; } units[] = {
    { 's', G_USEC_PER_SEC }, { 'm', 60 * G_USEC_PER_SEC },
    { 'h', G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC },
    { 'd', G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC },
  };
  gsize digits = strspn (text, "0123456789");
  g_autofree char *number = g_strndup (text, digits);

  if (digits == 0 || text[digits] == '\0' || text[digits + 1] != '\0'
      || !g_ascii_string_to_unsigned (number, 10, 0, G_MAXUINT64, count, NULL))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (text[digits] == units[i].unit)
      {
        *unit_us = units[i].us;
        return TRUE;
      }
  return FALSE;
}

/**
 * cloche_audit_parse_since:
 * @text: RFC 3339 ("2024-05-01T09:00:00Z"), or an age: "30s", "10m", "2h", "7d"
 */
gboolean
cloche_audit_parse_since (const char  *text,
                          gint64       now_us,
                          gint64      *since_us,
                          GError     **error)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_iso8601 (text, NULL);
  guint64 count = 0;
  gint64 unit_us = 0;

  if (time != NULL)
    {
      *since_us = g_date_time_to_unix (time) * G_USEC_PER_SEC
                  + g_date_time_get_microsecond (time);
      return TRUE;
    }
  if (!cloche_audit_reader_parse_age (text, &count, &unit_us))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("\"%s\" is not a time: give one as 2024-05-01T09:00:00Z (RFC 3339, "
                     "with a time zone) or an age such as 30s, 10m, 2h or 7d"), text);
      return FALSE;
    }
  /* The age must end after 1970, the log's earliest time: a larger one
   * would wrap around and select nothing, or everything. */
  if (count > (guint64) (now_us / unit_us))
    {
      g_set_error (error, CLOCHE_ERROR, CLOCHE_ERROR_INVALID_ARGUMENT,
                   _("\"%s\" reaches back before 1970, where the log cannot go: give a "
                     "smaller age, or a time such as 2024-05-01T09:00:00Z"), text);
      return FALSE;
    }
  *since_us = now_us - (gint64) count * unit_us;
  return TRUE;
}

static void
cloche_audit_reader_note_damage (ClocheAuditReader *self,
                                 const char        *file,
                                 guint              line)
{
  if (self->damaged++ == 0)
    self->first_damage = g_strdup_printf ("%s:%u", file, line);
}

/* The envelope every line of ours has (docs/audit.md): anything else is
 * not an event of this log, whatever json-glib makes of it. */
static gboolean
cloche_audit_reader_is_event (JsonObject *event)
{
  JsonNode *session = json_object_get_member (event, "session");
  JsonNode *fields = json_object_get_member (event, "fields");

  return cloche_json_get_string (event, "event", NULL) != NULL
         && cloche_audit_event_time (event) != 0
         && (session == NULL || cloche_json_get_string (event, "session", NULL) != NULL)
         && (fields == NULL || JSON_NODE_HOLDS_OBJECT (fields));
}

static void
cloche_audit_reader_handle_line (ClocheAuditReader *self,
                                 const char        *file,
                                 guint              number,
                                 const char        *line)
{
  g_autoptr(JsonObject) event = NULL;
  const char *session;

  if (line[0] == '\0')
    return;
  /* Checked against the grammar, nesting bounded, before json-glib reads
   * it: json-glib recurses once per level. */
  event = cloche_json_parse_line (line, "audit log", CLOCHE_ERROR_FAILED, NULL);
  if (event == NULL || !cloche_audit_reader_is_event (event))
    {
      cloche_audit_reader_note_damage (self, file, number);
      return;
    }
  session = cloche_json_get_string (event, "session", NULL);
  if (self->session != NULL && g_strcmp0 (session, self->session) != 0)
    return;
  if (self->since_us != 0 && cloche_audit_event_time (event) < self->since_us)
    return;
  self->func (event, line, self->user_data);
}

/* Hands over every whole line of @buffer; returns how many bytes it used. */
static gsize
cloche_audit_reader_handle_lines (ClocheAuditReader *self,
                                  const char        *file,
                                  char              *buffer,
                                  gsize              length,
                                  guint             *number)
{
  gsize start = 0;

  for (gsize i = 0; i < length; i++)
    {
      if (buffer[i] != '\n')
        continue;
      buffer[i] = '\0';
      cloche_audit_reader_handle_line (self, file, ++*number, buffer + start);
      start = i + 1;
    }
  return start;
}

static void
cloche_audit_reader_lines_init (Lines      *lines,
                                const char *file)
{
  lines->file = file;
  lines->partial = g_string_new (NULL);
  lines->number = 0;
  lines->skipping = FALSE;
}

static void
cloche_audit_reader_lines_clear (Lines *lines)
{
  if (lines->partial != NULL)
    g_string_free (lines->partial, TRUE);
  lines->partial = NULL;
}

/* A chunk of a file. A line longer than any the log writes is damage,
 * skipped up to its newline without being kept. */
static void
cloche_audit_reader_feed (ClocheAuditReader *self,
                          Lines             *lines,
                          const char        *data,
                          gsize              length)
{
  gsize used;

  if (lines->skipping)
    {
      const char *newline = memchr (data, '\n', length);

      if (newline == NULL)
        return;
      lines->skipping = FALSE;
      length -= newline + 1 - data;
      data = newline + 1;
    }
  g_string_append_len (lines->partial, data, length);
  used =
    cloche_audit_reader_handle_lines (self, lines->file, lines->partial->str, lines->partial->len,
                                      &lines->number);
  g_string_erase (lines->partial, 0, used);
  if (lines->partial->len > CLOCHE_AUDIT_MAX_LINE)
    {
      cloche_audit_reader_note_damage (self, lines->file, ++lines->number);
      g_string_truncate (lines->partial, 0);
      lines->skipping = TRUE;
    }
}

/* Everything @fd has now. */
static gboolean
cloche_audit_reader_drain (ClocheAuditReader  *self,
                           int                 fd,
                           Lines              *lines,
                           GError            **error)
{
  char buffer[65536];
  gssize got;

  while ((got = read (fd, buffer, sizeof buffer)) != 0)
    {
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       _("Cannot read the audit log %s: %s"), lines->file, g_strerror (errno));
          return FALSE;
        }
      cloche_audit_reader_feed (self, lines, buffer, got);
    }
  return TRUE;
}

/* The log's files are opened as the log writes them: never through a
 * link, never a FIFO or a device (which would hang the reader). Such an
 * entry is counted as damage and the other files are read.
 * Returns: the descriptor, -1 for nothing to read, -2 with @error set. */
static int
cloche_audit_reader_open_log_file (ClocheAuditReader  *self,
                                   const char         *path,
                                   GError            **error)
{
  g_autoptr(GError) local_error = NULL;
  int fd = cloche_file_open_regular (AT_FDCWD, path, CLOCHE_FILE_NO_FOLLOW, &local_error);

  if (fd >= 0 || g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    return fd >= 0 ? fd : -1;
  if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_LOOP)
      || g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_INVAL))
    {
      cloche_audit_reader_note_damage (self, path, 0);
      return -1;
    }
  g_propagate_error (error, g_steal_pointer (&local_error));
  return -2;
}

/* A last line without its newline: cut short by a crash, or a writer is
 * in the middle of it; not an event to show either way. */
static void
cloche_audit_reader_note_cut_line (ClocheAuditReader *self,
                                   Lines             *lines)
{
  if (lines->partial->len > 0)
    cloche_audit_reader_note_damage (self, lines->file, lines->number + 1);
}

static gboolean
cloche_audit_reader_read_file (ClocheAuditReader  *self,
                               const char         *path,
                               GError            **error)
{
  Lines lines;
  gboolean ok;
  int fd = cloche_audit_reader_open_log_file (self, path, error);

  if (fd < 0)
    return fd == -1;
  cloche_audit_reader_lines_init (&lines, path);
  ok = cloche_audit_reader_drain (self, fd, &lines, error);
  close (fd);
  if (ok)
    cloche_audit_reader_note_cut_line (self, &lines);
  cloche_audit_reader_lines_clear (&lines);
  return ok;
}

/* The current file is read through the descriptor that following goes on
 * with, so that nothing appended between the two is missed or repeated. */
static gboolean
cloche_audit_reader_read_current (ClocheAuditReader  *self,
                                  GError            **error)
{
  if (self->fd < 0)
    self->fd = cloche_audit_reader_open_log_file (self, self->path, error);
  if (self->fd == -2)
    {
      self->fd = -1;
      return FALSE;
    }
  if (self->fd < 0)
    return TRUE;
  if (!cloche_audit_reader_drain (self, self->fd, &self->current, error))
    return FALSE;
  cloche_audit_reader_note_cut_line (self, &self->current);
  return TRUE;
}

/**
 * cloche_audit_reader_read_all:
 *
 * Hands every event that passes the filter to the callback, oldest first.
 * Missing files are no error: an empty log has none. Call it once; then
 * cloche_audit_reader_read_new() follows from where it stopped.
 */
gboolean
cloche_audit_reader_read_all (ClocheAuditReader  *self,
                              GError            **error)
{
  guint oldest = 0;

  g_return_val_if_fail (CLOCHE_IS_AUDIT_READER (self), FALSE);

  while (oldest < MAX_GENERATIONS)
    {
      g_autofree char *path = g_strdup_printf ("%s.%u", self->path, oldest + 1);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        break;
      oldest++;
    }
  for (guint i = oldest; i > 0; i--)
    {
      g_autofree char *path = g_strdup_printf ("%s.%u", self->path, i);

      if (!cloche_audit_reader_read_file (self, path, error))
        return FALSE;
    }
  return cloche_audit_reader_read_current (self, error);
}

static gboolean
cloche_audit_reader_rotated (ClocheAuditReader *self)
{
  struct stat by_path, by_fd;

  if (lstat (self->path, &by_path) != 0)
    return FALSE;
  return fstat (self->fd, &by_fd) != 0 || by_fd.st_ino != by_path.st_ino
         || by_fd.st_dev != by_path.st_dev;
}

static int
cloche_audit_reader_open_quietly (ClocheAuditReader *self)
{
  return cloche_file_open_regular (AT_FDCWD, self->path, CLOCHE_FILE_NO_FOLLOW, NULL);
}

/**
 * cloche_audit_reader_read_new:
 *
 * For following: without an earlier read_all(), the first call skips to the
 * end of audit.jsonl; later ones hand over what was appended since (and what was appended to the file
 * before a rotation moved it away).
 */
gboolean
cloche_audit_reader_read_new (ClocheAuditReader  *self,
                              GError            **error)
{
  g_return_val_if_fail (CLOCHE_IS_AUDIT_READER (self), FALSE);

  if (self->fd < 0)
    {
      self->fd = cloche_audit_reader_open_quietly (self);
      if (self->fd >= 0)
        lseek (self->fd, 0, SEEK_END);
      return TRUE;
    }
  if (!cloche_audit_reader_drain (self, self->fd, &self->current, error))
    return FALSE;
  if (cloche_audit_reader_rotated (self))
    {
      close (self->fd);
      cloche_audit_reader_lines_clear (&self->current);
      cloche_audit_reader_lines_init (&self->current, self->path);
      self->fd = cloche_audit_reader_open_quietly (self);
      if (self->fd >= 0)
        return cloche_audit_reader_drain (self, self->fd, &self->current, error);
    }
  return TRUE;
}

/* How many lines could not be read, and where the first was ("file:line"). */
guint
cloche_audit_reader_get_damaged (ClocheAuditReader *self)
{
  g_return_val_if_fail (CLOCHE_IS_AUDIT_READER (self), 0);
  return self->damaged;
}

const char *
cloche_audit_reader_get_first_damage (ClocheAuditReader *self)
{
  g_return_val_if_fail (CLOCHE_IS_AUDIT_READER (self), NULL);
  return self->first_damage;
}

static void
cloche_audit_reader_finalize (GObject *object)
{
  ClocheAuditReader *self = CLOCHE_AUDIT_READER (object);

  if (self->fd >= 0)
    close (self->fd);
  cloche_audit_reader_lines_clear (&self->current);
  g_free (self->dir);
  g_free (self->path);
  g_free (self->session);
  g_free (self->first_damage);

  G_OBJECT_CLASS (cloche_audit_reader_parent_class)->finalize (object);
}

static void
cloche_audit_reader_class_init (ClocheAuditReaderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cloche_audit_reader_finalize;
}

static void
cloche_audit_reader_init (ClocheAuditReader *self)
{
  self->fd = -1;
}

/**
 * cloche_audit_reader_new:
 * @dir: (nullable): the audit log's folder, %NULL for the default
 * @filter: (nullable): which events; %NULL for all
 */
ClocheAuditReader *
cloche_audit_reader_new (const char              *dir,
                         const ClocheAuditFilter *filter,
                         ClocheAuditEventFunc     func,
                         gpointer                 user_data)
{
  ClocheAuditReader *self = g_object_new (CLOCHE_TYPE_AUDIT_READER, NULL);

  self->dir = dir != NULL ? g_strdup (dir) : cloche_audit_log_default_dir ();
  self->path = g_build_filename (self->dir, CLOCHE_AUDIT_LOG_FILE_NAME, NULL);
  cloche_audit_reader_lines_init (&self->current, self->path);
  if (filter != NULL)
    {
      self->session = g_strdup (filter->session);
      self->since_us = filter->since_us;
    }
  self->func = func;
  self->user_data = user_data;
  return self;
}
