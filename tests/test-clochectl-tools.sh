#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The tools folder (issue 17, `clochectl agent install`) on the minimal
# bundle, against a real daemon on a private bus (dbus-run-session) and a
# real VM: what the folder holds is in every session at /opt/cloche/tools,
# read-only (a write refused, the host folder unchanged), its bin first on
# PATH (exec and a terminal); the folder is never a user's mount; an
# install on the minimal bundle says it needs the full bundle and how to
# get it, and leaves no session; agent list says what is installed; the
# size is in bundle info and status --json, and remove-tools empties it.
# The folder is walked (measured) only when it can have changed: at start,
# after an install session closes and after a removal; not after a normal
# session's close nor for bundle info (the daemon's debug line, counted).
# The real install (npm registry, full bundle) is test-agent-install.sh.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${CLOCHE_TEST_BUNDLE:?}"

# How many times the daemon has walked the tools folder: the line is
# written when the walk is started, before the call that caused it
# returns, and the daemon's output (GLib writes debug lines to stdout)
# goes straight into the file (lib.sh).
walks () {
  grep -c "Tools: measuring the tools folder" "$work/daemon-err"
}

echo "1..14"
test_home
tools=$home/data/cloche/tools
mkdir -p "$tools/bin" "$home/project"
# What an install leaves, made on the host here: a program in bin, as npm
# links an agent's.
printf '#!/bin/sh\necho "tool here: $0"\n' > "$tools/bin/codex"
chmod 755 "$tools/bin/codex"
head -c 200000 /dev/zero > "$tools/payload"

G_MESSAGES_DEBUG=Cloche start_daemon --bundle "$CLOCHE_TEST_BUNDLE" --idle-timeout 60
walks_start=$(walks)

id=$("$ctl" session open --title tools)
"$ctl" exec "$id" -- codex >"$work/out" 2>&1
grep -q "^tool here: /opt/cloche/tools/bin/codex" "$work/out"
ok $? "a session runs the tools folder's program by name ($(cat "$work/out"))"
"$ctl" exec "$id" -- sh -c 'echo "$PATH"' >"$work/out" 2>&1
grep -q "^/opt/cloche/tools/bin:" "$work/out"
ok $? "its bin is first on PATH ($(cat "$work/out"))"
"$ctl" run "$id" -- sh -c 'echo "$PATH"; codex' </dev/null >"$work/out" 2>&1
grep -q "^/opt/cloche/tools/bin:" "$work/out" && grep -q "tool here" "$work/out"
ok $? "and in a terminal ($(tr -d '\r' < "$work/out" | head -n 2 | tr '\n' ' '))"

"$ctl" exec "$id" -- sh -c 'echo x > /opt/cloche/tools/new' >"$work/out" 2>&1
code=$?
[ $code -ne 0 ] && grep -qi "read-only" "$work/out" && [ ! -e "$tools/new" ]
ok $? "a write into the tools folder is refused, the host's unchanged ($code: $(cat "$work/out"))"
"$ctl" exec "$id" -- sh -c 'rm -f /opt/cloche/tools/bin/codex' >"$work/out" 2>&1
code=$?
[ $code -ne 0 ] && [ -x "$tools/bin/codex" ]
ok $? "so is removing a program ($code: $(cat "$work/out"))"
"$ctl" exec "$id" -- sh -c 'grep " /opt/cloche/tools " /proc/self/mounts' >"$work/out" 2>&1
grep -q "virtiofs ro," "$work/out"
ok $? "the session sees one read-only virtiofs mount there ($(cat "$work/out"))"
"$ctl" session close "$id"
walks_closed=$(walks)

"$ctl" session open --mount "$tools/bin" >"$work/out" 2>"$work/err"
code=$?
[ $code -ne 0 ] && grep -q "inside Cloche's tools folder" "$work/err"
ok $? "the tools folder is never a user's mount ($code: $(cat "$work/err"))"

"$ctl" agent list --json >"$work/list"
python3 - "$work/list" <<'PY'
import json, sys
installed = {p["name"]: p["installed"] for p in json.load(open(sys.argv[1]))}
assert installed == {"claude": False, "codex": True, "gemini": False}, installed
PY
ok $? "agent list: codex installed (its program is in the tools folder), the others not"

before=$("$ctl" session list | grep -c ' open ')
"$ctl" agent install gemini </dev/null >"$work/out" 2>"$work/err"
code=$?
[ $code -eq 3 ] && grep -q "agents need the full bundle" "$work/err" \
  && grep -q "tools/build-bundle --full" "$work/err" \
  && [ "$("$ctl" session list | grep -c ' open ')" -eq "$before" ]
ok $? "install on the minimal bundle: needs the full bundle, says how; no session left ($code: $(cat "$work/err"))"
walks_install=$(walks)

"$ctl" bundle info >"$work/info"
"$ctl" status --json >"$work/status"
size=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tools_size"])' "$work/status")
grep -q "^Agents: .*bytes in the tools folder" "$work/info" && [ "$size" -ge 200000 ]
ok $? "the tools folder's size: bundle info and status --json ($size; $(grep Agents "$work/info"))"
walks_info=$(walks)
[ "$walks_start" -eq 1 ] && [ "$walks_closed" -eq 1 ] && [ "$walks_install" -eq 2 ] \
  && [ "$walks_info" -eq 2 ]
ok $? "the folder is walked at start and after the install session, not after a normal session or for info (walks: start $walks_start, normal close $walks_closed, install $walks_install, info $walks_info)"

"$ctl" bundle remove-tools >"$work/out" 2>&1
code=$?
left=$(find "$tools" -mindepth 1 | wc -l)
size=$("$ctl" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["tools_size"])')
walks_removed=$(walks)
[ $code -eq 0 ] && grep -q "freed" "$work/out" && [ -d "$tools" ] && [ "$left" -eq 0 ] && [ "$size" -eq 0 ]
ok $? "remove-tools empties the folder, the size goes to 0 ($code, $left left, $size: $(cat "$work/out"))"

id=$("$ctl" session open --title after)
"$ctl" exec "$id" -- codex >"$work/out" 2>&1
code=$?
[ $code -eq 127 ]
ok $? "a session after the removal has no codex ($code)"
"$ctl" session close "$id"
[ "$walks_removed" -eq 3 ] && [ "$(walks)" -eq 3 ]
ok $? "the removal walks it once more, that session's close does not (walks: removal $walks_removed, close $(walks))"

exit $failed
