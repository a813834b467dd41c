/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the Overview says about sessions: the open ones (title, client,
 * age, folders and their modes) and the stale ones (how many, how many
 * bytes), from one io.github.cloche.Sessions.List. The window keeps it, as
 * it keeps the monitor history, so the page only draws.
 *
 * Its rules: it lists again whenever the daemon says something changed
 * (Sessions.Changed, OpenSessions, the service coming back), at most one list at a time (a
 * change during a list asks for one more after it), and on a timer for what
 * changes with time only: every minute (ages, "the last hour"), and at the
 * moment the next listed session becomes stale (the daemon's rule: closed,
 * not pinned, idle for longer than StaleAfterDays), so that a session turns
 * stale on screen when it does, not up to a minute later. The timer runs
 * only while someone watches (the window is shown), so a hidden dashboard
 * costs no wake-ups; the first watch after a pause lists at once.
 */
#include "config.h"

#include "cloche-session-codec.h"
#include "cloche-session-summary.h"

#define TIMER_S 60
#define USEC_PER_DAY (G_USEC_PER_SEC * G_GINT64_CONSTANT (86400))
/* The policy's bound; a daemon that says more is not believed. */
#define MAX_STALE_AFTER_DAYS 3650

struct _ClocheSessionSummary
{
  GObject       parent_instance;

  ClocheClient *client;
  GSignalGroup *client_signals;
  GSignalGroup *sessions_signals;   /* the client's Sessions proxy: Changed */
  GCancellable *cancellable;    /* while a list is under way */
  GPtrArray    *open;           /* CLOCHE_SESSION_INFO_TYPE GVariants, oldest first */
  guint         stale_count;
  guint64       stale_bytes;
  gint64        next_stale;     /* real time (µs) a listed session turns stale, or G_MAXINT64 */
  guint         timer;
  guint         known : 1;      /* a list has answered */
  guint         again : 1;      /* asked again while listing */
  guint         watching : 1;
};

G_DEFINE_FINAL_TYPE (ClocheSessionSummary, cloche_session_summary, G_TYPE_OBJECT)

enum {
  CHANGED,
  TICK,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static gint
cloche_session_summary_by_created (gconstpointer a,
                                   gconstpointer b)
{
  gint64 created_a, created_b;

  g_variant_get_child (*(GVariant **) a, 3, "x", &created_a);
  g_variant_get_child (*(GVariant **) b, 3, "x", &created_b);
  return (created_a > created_b) - (created_a < created_b);
}

/* When @info, not stale now, becomes stale by time alone: G_MAXINT64 for
 * never (open, pinned, or a threshold out of range). */
static gint64
cloche_session_summary_stale_time (const ClocheSessionInfo *info,
                                   guint                    stale_after_days)
{
  gint64 threshold = (gint64) stale_after_days * USEC_PER_DAY;

  if (info->stale || info->pinned || g_str_equal (info->state, "open")
      || stale_after_days > MAX_STALE_AFTER_DAYS || info->last_active > G_MAXINT64 - threshold)
    return G_MAXINT64;
  return info->last_active + threshold;
}

static void
cloche_session_summary_take_sessions (ClocheSessionSummary *self,
                                      GVariant             *sessions)
{
  gsize count = g_variant_n_children (sessions);
  ClocheDbusSessions *proxy = cloche_client_get_sessions (self->client);
  guint stale_after_days = cloche_dbus_sessions_get_stale_after_days (proxy);

  g_ptr_array_set_size (self->open, 0);
  self->stale_count = 0;
  self->stale_bytes = 0;
  self->next_stale = G_MAXINT64;
  for (gsize i = 0; i < count; i++)
    {
      g_autoptr(GVariant) session = g_variant_get_child_value (sessions, i);
      g_auto(ClocheSessionInfo) info = { 0 };

      cloche_session_info_init (&info, session);
      if (info.stale)
        {
          self->stale_count++;
          self->stale_bytes += info.size;
        }
      if (g_str_equal (info.state, "open"))
        g_ptr_array_add (self->open, g_variant_ref (session));
      self->next_stale =
        MIN (self->next_stale, cloche_session_summary_stale_time (&info, stale_after_days));
    }
  g_ptr_array_sort (self->open, cloche_session_summary_by_created);
  self->known = TRUE;
}

static void cloche_session_summary_list (ClocheSessionSummary *self);
static void cloche_session_summary_schedule (ClocheSessionSummary *self);

static void
cloche_session_summary_listed_cb (GObject      *object,
                                  GAsyncResult *result,
                                  gpointer      user_data)
{
  ClocheSessionSummary *self = user_data;
  g_autoptr(GVariant) packed = NULL;
  g_autoptr(GVariant) sessions = NULL;
  g_autoptr(GError) error = NULL;

  if (!cloche_dbus_sessions_call_list_finish (CLOCHE_DBUS_SESSIONS (object), &packed, result,
                                              &error)
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the summary went, or its client changed: whoever cancelled moved on */

  g_clear_object (&self->cancellable);
  if (error != NULL)
    g_debug ("Listing the sessions failed: %s", error->message);
  else
    {
      sessions = cloche_session_infos_unpack (packed);
      cloche_session_summary_take_sessions (self, sessions);
      cloche_session_summary_schedule (self);
      g_signal_emit (self, signals[CHANGED], 0);
    }
  if (self->again)
    cloche_session_summary_list (self);
}

static void
cloche_session_summary_list (ClocheSessionSummary *self)
{
  ClocheDbusSessions *proxy = self->client != NULL ? cloche_client_get_sessions (self->client)
                                                   : NULL;

  self->again = FALSE;
  if (proxy == NULL || !cloche_client_get_service_running (self->client))
    return;
  self->cancellable = g_cancellable_new ();
  cloche_dbus_sessions_call_list (proxy, g_variant_new ("a{sv}", NULL), self->cancellable,
                                  cloche_session_summary_listed_cb, self);
}

/**
 * cloche_session_summary_refresh:
 *
 * Lists the sessions again (after the one under way, if any).
 */
void
cloche_session_summary_refresh (ClocheSessionSummary *self)
{
  g_return_if_fail (CLOCHE_IS_SESSION_SUMMARY (self));

  if (self->cancellable != NULL)
    self->again = TRUE;
  else
    cloche_session_summary_list (self);
}

static gboolean
cloche_session_summary_timer_cb (gpointer user_data)
{
  ClocheSessionSummary *self = user_data;

  self->timer = 0;
  cloche_session_summary_refresh (self);
  cloche_session_summary_schedule (self);
  g_signal_emit (self, signals[TICK], 0);
  return G_SOURCE_REMOVE;
}

/* The next wake-up: in a minute, or just after the next session turns
 * stale if that is sooner; none while nobody watches. */
static void
cloche_session_summary_schedule (ClocheSessionSummary *self)
{
  gint64 now = g_get_real_time ();
  guint delay = TIMER_S;

  g_clear_handle_id (&self->timer, g_source_remove);
  if (!self->watching)
    return;
  /* The rule is "idle for longer than": a second after the moment. A
   * moment long past that the daemon did not call stale (another clock, a
   * threshold just changed) waits for the minute, not a list a second. */
  if (self->next_stale != G_MAXINT64 && self->next_stale >= now - G_USEC_PER_SEC
      && self->next_stale - now < (TIMER_S - 1) * G_USEC_PER_SEC)
    delay = MAX (self->next_stale - now, 0) / G_USEC_PER_SEC + 1;
  self->timer = g_timeout_add_seconds (delay, cloche_session_summary_timer_cb, self);
  g_source_set_name_by_id (self->timer, "[cloche] session summary");
}

static void
cloche_session_summary_cancel (ClocheSessionSummary *self)
{
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->again = FALSE;
}

static void
cloche_session_summary_dispose (GObject *object)
{
  ClocheSessionSummary *self = CLOCHE_SESSION_SUMMARY (object);

  cloche_session_summary_cancel (self);
  g_clear_handle_id (&self->timer, g_source_remove);
  if (self->client_signals != NULL)
    g_signal_group_set_target (self->client_signals, NULL);
  g_clear_object (&self->client_signals);
  if (self->sessions_signals != NULL)
    g_signal_group_set_target (self->sessions_signals, NULL);
  g_clear_object (&self->sessions_signals);
  g_clear_object (&self->client);
  g_clear_pointer (&self->open, g_ptr_array_unref);

  G_OBJECT_CLASS (cloche_session_summary_parent_class)->dispose (object);
}

static void
cloche_session_summary_class_init (ClocheSessionSummaryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cloche_session_summary_dispose;

  /**
   * ClocheSessionSummary::changed:
   *
   * A list answered: the open and stale sessions may differ.
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  /**
   * ClocheSessionSummary::tick:
   *
   * Time went by while watched (a minute, or a session turned stale): what
   * else shows sessions lists them again too.
   */
  signals[TICK] =
    g_signal_new ("tick", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cloche_session_summary_init (ClocheSessionSummary *self)
{
  self->open = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  self->next_stale = G_MAXINT64;
  self->client_signals = g_signal_group_new (CLOCHE_TYPE_CLIENT);
  g_signal_group_connect_swapped (self->client_signals, "notify::open-sessions",
                                  G_CALLBACK (cloche_session_summary_refresh), self);
  g_signal_group_connect_swapped (self->client_signals, "notify::service-running",
                                  G_CALLBACK (cloche_session_summary_refresh), self);
  self->sessions_signals = g_signal_group_new (CLOCHE_DBUS_TYPE_SESSIONS);
  g_signal_group_connect_swapped (self->sessions_signals, "changed",
                                  G_CALLBACK (cloche_session_summary_refresh), self);
}

ClocheSessionSummary *
cloche_session_summary_new (void)
{
  return g_object_new (CLOCHE_TYPE_SESSION_SUMMARY, NULL);
}

void
cloche_session_summary_set_client (ClocheSessionSummary *self,
                                   ClocheClient         *client)
{
  g_return_if_fail (CLOCHE_IS_SESSION_SUMMARY (self));
  g_return_if_fail (!client || CLOCHE_IS_CLIENT (client));

  if (!g_set_object (&self->client, client))
    return;
  /* What the old daemon said is no longer news. */
  cloche_session_summary_cancel (self);
  g_ptr_array_set_size (self->open, 0);
  self->stale_count = 0;
  self->stale_bytes = 0;
  self->next_stale = G_MAXINT64;
  self->known = FALSE;
  g_signal_group_set_target (self->client_signals, client);
  g_signal_group_set_target (self->sessions_signals,
                             client != NULL ? cloche_client_get_sessions (client) : NULL);
  g_signal_emit (self, signals[CHANGED], 0);
  cloche_session_summary_list (self);
}

/**
 * cloche_session_summary_set_watching:
 * @watching: whether anyone shows the summary
 *
 * The timer for what changes with time only runs while @watching; the
 * first watch after a pause lists at once, since time went by.
 */
void
cloche_session_summary_set_watching (ClocheSessionSummary *self,
                                     gboolean              watching)
{
  g_return_if_fail (CLOCHE_IS_SESSION_SUMMARY (self));

  if (self->watching == !!watching)
    return;
  self->watching = !!watching;
  cloche_session_summary_schedule (self);
  if (watching)
    cloche_session_summary_refresh (self);
}

/**
 * cloche_session_summary_get_open:
 *
 * Returns: (transfer none) (element-type GVariant): the open sessions,
 *   CLOCHE_SESSION_INFO_TYPE each, oldest first
 */
GPtrArray *
cloche_session_summary_get_open (ClocheSessionSummary *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION_SUMMARY (self), NULL);

  return self->open;
}

/* Whether a list has answered since the client was set. */
gboolean
cloche_session_summary_get_known (ClocheSessionSummary *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION_SUMMARY (self), FALSE);

  return self->known;
}

guint
cloche_session_summary_get_stale_count (ClocheSessionSummary *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION_SUMMARY (self), 0);

  return self->stale_count;
}

guint64
cloche_session_summary_get_stale_bytes (ClocheSessionSummary *self)
{
  g_return_val_if_fail (CLOCHE_IS_SESSION_SUMMARY (self), 0);

  return self->stale_bytes;
}
