/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Gettext for the programs without GTK: cloche-daemon and clochectl.
 *
 * The daemon's errors travel over D-Bus as text, so they are in the
 * language of the daemon's own environment: that of the session that
 * started it (D-Bus activation passes the session's LANG and LANGUAGE
 * along), not of each client. clochectl prints in its own.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <locale.h>

#include "cloche-i18n.h"

/**
 * cloche_i18n_init:
 *
 * Sets the locale from the environment and binds the message catalogue:
 * from $CLOCHE_LOCALEDIR when set (a build tree's po/ folder, which the
 * tests use), else from where `meson install` put it.
 */
void
cloche_i18n_init (void)
{
  const char *dir = g_getenv ("CLOCHE_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, dir != NULL && dir[0] != '\0' ? dir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
}
