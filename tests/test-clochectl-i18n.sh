#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# cloche-daemon and clochectl speak the user's language: a CLOCHE_ERROR the
# daemon raises reaches clochectl in German when the session's LANGUAGE is
# de, clochectl's own messages follow its LANGUAGE, and with no language set
# everything stays English. Real daemon on a private bus (dbus-run-session),
# catalogues from the build tree (CLOCHE_LOCALEDIR); C.UTF-8 is built into
# glibc, so no locale has to be generated. No VM boots.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${CLOCHE_LOCALEDIR:?}"
unset LANG LC_ALL LC_MESSAGES LANGUAGE

# The daemon in the language given ("" for none), with nothing installed,
# in a home of its own.
start_daemon_in () {
  test_home "$work/home-$1"
  if [ -n "$1" ]; then
    LC_ALL=C.UTF-8 LANGUAGE="$1" start_daemon --replace
  else
    start_daemon --replace
  fi
}

echo "1..7"

start_daemon_in de
LC_ALL=C.UTF-8 LANGUAGE=de "$ctl" bundle remove 2> "$work/de"
code=$?
cat "$work/de" | sed 's/^/# /'
[ $code -ne 0 ] && grep -q "Unter .* ist kein Sandbox-Paket installiert: Es gibt nichts zu entfernen" "$work/de"
ok $? "the daemon's BundleMissing error arrives in German (exit $code)"
! grep -q "nothing to remove" "$work/de" && grep -q "^clochectl: das Paket kann nicht entfernt werden: " "$work/de"
ok $? "not in English, after clochectl's own German words"

LC_ALL=C.UTF-8 LANGUAGE=de "$ctl" bundle info > "$work/info-de"
grep -q "^Installiert: " "$work/info-de"
ok $? "clochectl's own labels follow its LANGUAGE"
stop_daemon

LC_ALL=C.UTF-8 LANGUAGE=fr "$ctl" no-such-command 2> "$work/fr"
# French typography: a narrow no-break space (U+202F) inside the guillemets
grep -q 'commande inconnue « no-such-command »' "$work/fr"
ok $? "clochectl speaks French under LANGUAGE=fr"

start_daemon_in ""
"$ctl" bundle remove 2> "$work/en"
grep -q "No sandbox bundle is installed at .*: nothing to remove" "$work/en"
ok $? "with no language set, the error stays English"

LC_ALL=C.UTF-8 LANGUAGE=de "$ctl" bundle remove 2> "$work/mixed"
grep -q "nothing to remove" "$work/mixed"
ok $? "the daemon speaks its session's language, not each client's"
stop_daemon

# A policy file's problems are whole translated sentences, the value found included.
printf '{"version": 1, "vm": {"cpus": "four"}}\n' > "$work/policy.json"
LC_ALL=C.UTF-8 LANGUAGE=de "$ctl" policy validate "$work/policy.json" > "$work/policy-de" 2>&1
code=$?
sed 's/^/# /' "$work/policy-de"
[ $code -ne 0 ] && grep -q 'vm.cpus: erwartet: eine ganze Zahl von 1 bis [0-9]*, gefunden: die Zeichenkette "four"' "$work/policy-de"
ok $? "policy problems arrive in German (exit $code)"

exit $failed
