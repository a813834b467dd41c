/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CLOCHE_TYPE_PREFERENCES_WINDOW (cloche_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (ClochePreferencesWindow, cloche_preferences_window, CLOCHE, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWindow *cloche_preferences_window_new (GtkWindow *parent);

G_END_DECLS
