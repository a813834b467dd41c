#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# clochectl bundle against a real daemon on a private bus (run under
# dbus-run-session): output and exit codes, with no VM booted.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${CLOCHE_TEST_BUNDLE:?}"

json_field () {
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

echo "1..15"
test_home
start_daemon
default=$home/data/cloche/bundle

"$ctl" bundle info > "$work/info"
[ $? -eq 0 ] && grep -q '^Installed: *no' "$work/info" && grep -q "^Location: *$default\$" "$work/info"
ok $? "info without a bundle: not installed, at the default location"

"$ctl" bundle install "$CLOCHE_TEST_BUNDLE" > "$work/install" 2>&1
code=$?
size=$("$ctl" bundle info --json | json_field size)
[ $code -eq 0 ] && grep -q "^Installing cloche-minimal .* into $default, which has .* free" "$work/install"
ok $? "install says the size and the place first, then installs (exit $code)"

[ "$("$ctl" bundle info --json | json_field installed)" = True ] && [ -f "$default/manifest.json" ]
ok $? "info --json: installed"

"$ctl" bundle verify > "$work/verify"
ok $? "verify passes on a fresh install"

printf 'x' | dd of="$default/initrd.img" bs=1 seek=4096 conv=notrunc status=none
"$ctl" bundle verify 2> "$work/verify-err"
code=$?
[ $code -eq 1 ] && grep -q "initrd.img is damaged" "$work/verify-err"
ok $? "verify names the damaged file (exit $code)"

mkdir -p "$work/full" && echo mine > "$work/full/notes.txt"
"$ctl" bundle relocate "$work/full" 2> "$work/relocate-err"
[ $? -eq 1 ] && grep -q "is not empty" "$work/relocate-err" && [ -f "$work/full/notes.txt" ]
ok $? "relocate refuses a folder of other files"

# Issue 15: moved into the sessions folder, cleanup took it for a damaged
# session and deleted it. Cloche's own folders never nest, either way.
mkdir -p "$home/state/cloche/sessions"
"$ctl" bundle relocate "$home/state/cloche/sessions/bundle" 2> "$work/nested-err"
[ $? -eq 1 ] && grep -q "inside Cloche's sessions folder" "$work/nested-err" \
  && [ -f "$default/manifest.json" ] && [ ! -e "$home/state/cloche/sessions/bundle" ]
ok $? "relocate refuses a place inside the sessions folder, and the bundle stays"

"$ctl" bundle relocate "$home/state" 2> "$work/holds-err"
[ $? -eq 1 ] && grep -q "sessions folder .* is inside it" "$work/holds-err" \
  && [ -f "$default/manifest.json" ]
ok $? "relocate refuses a folder that holds the sessions folder"

"$ctl" bundle relocate "$work/moved" > /dev/null
[ $? -eq 0 ] && [ "$("$ctl" bundle info --json | json_field location)" = "$work/moved" ] \
  && [ ! -e "$default" ]
ok $? "relocate moves the bundle and the daemon follows it"

stop_daemon
start_daemon
[ "$("$ctl" bundle info --json | json_field location)" = "$work/moved" ]
ok $? "a restarted daemon finds the bundle where it was moved"

# Files in the place of a warm-wake snapshot (no VM boots here): what is
# shown and removed goes by the files' allocated sizes.
warm=$XDG_CACHE_HOME/cloche/warm
mkdir -p "$warm" && head -c 1048576 /dev/urandom > "$warm/ram" && echo state > "$warm/state" \
  && echo '[snapshot]' > "$warm/snapshot.ini"
snapshot=$("$ctl" bundle info --json | json_field snapshot)
"$ctl" bundle info | grep -q "^Saved VM: .*($snapshot bytes;" && [ "$snapshot" -ge 1048576 ]
ok $? "bundle info shows the saved VM's size beside the bundle's ($snapshot bytes)"

"$ctl" status | grep -q "^Bundle: .*(installed, .*; saved VM " \
  && [ "$("$ctl" status --json | json_field snapshot_size)" = "$snapshot" ]
ok $? "status shows the saved VM beside the bundle"

allocated=$("$ctl" bundle info --json | json_field allocated)
freed=$((allocated + snapshot))
out=$("$ctl" bundle remove)
[ $? -eq 0 ] && [[ "$out" == *"($freed bytes)"* ]] && [ ! -e "$work/moved" ] \
  && [ ! -e "$warm/ram" ] && [ ! -e "$warm/snapshot.ini" ]
ok $? "remove deletes the bundle and the saved VM and reports both ($freed bytes)"
allocated=$freed

audit=$("$ctl" audit --json)
grep '"event":"bundle.remove"' <<< "$audit" | grep -q "\"bytes-freed\":$allocated" &&
  grep '"event":"bundle.relocate"' <<< "$audit" | grep -q '"ok":true'
ok $? "the audit log has the move and the removal with the bytes freed"

"$ctl" bundle install /nonexistent 2> "$work/bad"
[ $? -eq 1 ] && grep -q "No bundle at /nonexistent" "$work/bad"
ok $? "install from nowhere is a clear error"

exit $failed
