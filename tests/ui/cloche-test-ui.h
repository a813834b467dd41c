/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "../cloche-test-daemon.h"
#include "cloche-window.h"

G_BEGIN_DECLS

ClocheTestDaemon *cloche_test_ui_start        (int                 *argc,
                                               char              ***argv,
                                               const char * const  *daemon_args);
ClocheTestDaemon *cloche_test_ui_start_full   (int                 *argc,
                                               char              ***argv,
                                               const char * const  *daemon_args,
                                               void               (*prepare_home) (const char *home));
void              cloche_test_save_screenshot (GtkWidget           *window,
                                               const char          *name);
void              cloche_test_ui_destroy_window (GtkWidget         *window);
ClocheWindow     *cloche_test_ui_new_window   (void);
GtkWindow        *cloche_test_ui_wait_agent_mode_chooser (void);
void              cloche_test_ui_answer_agent_mode_chooser (void);
GtkLabel         *cloche_test_ui_find_label   (GtkWidget           *widget,
                                               const char          *text);
void              cloche_test_ui_resize       (ClocheWindow        *window,
                                               int                  width,
                                               int                  height);
void              cloche_test_ui_wait_drawn   (GtkWidget           *window);
gboolean          cloche_test_ui_shows_all    (GtkWidget           *widget);
gpointer          cloche_test_ui_child        (gpointer             widget,
                                               const char          *name);

G_END_DECLS
