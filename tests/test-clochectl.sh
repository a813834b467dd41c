#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# clochectl against a real daemon on a private bus (run under dbus-run-session)
# and a real VM: what a script or an agent front-end sees, output and exit codes.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${CLOCHE_TEST_BUNDLE:?}"

qemu_children () {
  pgrep -P "$daemon" qemu-system 2>/dev/null | wc -l
}

echo "1..23"
test_home
mkdir -p "$home/project" "$home/.ssh"
echo "from the host" > "$home/project/readme.txt"
start_daemon --bundle "$CLOCHE_TEST_BUNDLE" --idle-timeout 60

"$ctl" status > "$work/status"
ok $? "status succeeds"
grep -q '^State: *stopped' "$work/status" && [ "$(qemu_children)" -eq 0 ]
ok $? "status shows stopped and no QEMU runs"

"$ctl" status --json | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["state"] == "stopped" and s["accelerator"] in ("kvm", "tcg") and s["accelerator_reason"]'
ok $? "status --json is JSON with state and accelerator reason"

id=$("$ctl" session open --title "cli test")
[ $? -eq 0 ] && [[ "$id" =~ ^[0-9a-f]{12}$ ]]
ok $? "session open prints the id ($id)"

out=$("$ctl" exec "$id" -- echo hi)
[ $? -eq 0 ] && [ "$out" = "hi" ]
ok $? "exec echo hi prints hi"

"$ctl" exec "$id" -- sh -c 'echo out; echo err >&2; exit 7' >"$work/out" 2>"$work/err"
code=$?
[ $code -eq 7 ] && [ "$(cat "$work/out")" = out ] && [ "$(cat "$work/err")" = err ]
ok $? "exec passes stdout, stderr and the exit code (got $code)"

out=$("$ctl" exec "$id" --env GREETING=bonjour --cwd /tmp -- sh -c 'echo "$GREETING $(pwd)"')
[ "$out" = "bonjour /tmp" ]
ok $? "exec --env and --cwd reach the command ($out)"

"$ctl" exec nosuchsession -- true 2>"$work/err"
code=$?
[ $code -eq 1 ] && grep -q 'No open session has the id "nosuchsession"' "$work/err"
ok $? "exec in an unknown session fails with the cause on stderr"

"$ctl" session list | grep -q "^$id  open"
ok $? "a session opened from the CLI stays open after clochectl exits"

out=$("$ctl" session open --title mounted --mount "$home/project")
mounted=$out
[ -n "$mounted" ] && [ "$("$ctl" exec "$mounted" -- cat mnt/project/readme.txt)" = "from the host" ] \
  && ! "$ctl" exec "$mounted" -- sh -c 'echo x > mnt/project/readme.txt' 2>/dev/null
ok $? "session open --mount mounts a folder read-only by default"

# Through the CLI too, as an attacker would: the first session, beside the mounted one,
# neither lists nor reads it (the walls: tests/test-vm-isolation.c tries every spelling).
out=$("$ctl" exec "$id" -- sh -c "ls /sessions; cat /sessions/$mounted/mnt/project/readme.txt" 2>&1)
[ "$out" = "$id
cat: can't open '/sessions/$mounted/mnt/project/readme.txt': No such file or directory" ]
ok $? "a session sees no other session's folder ($out)"

# A fork: the work folder copied (a link as a link), the same folder at the same mode,
# and what the fork breaks stays in the fork.
"$ctl" exec "$mounted" -- sh -c 'echo original > notes.txt && ln -s /etc/hostname link' \
  && forked=$("$ctl" session fork "$mounted" --title "try it") \
  && [[ "$forked" =~ ^[0-9a-f]{12}$ ]] \
  && [ "$("$ctl" exec "$forked" -- sh -c 'cat notes.txt; readlink link; cat mnt/project/readme.txt')" \
       = "original
/etc/hostname
from the host" ] \
  && ! "$ctl" exec "$forked" -- sh -c 'echo x > mnt/project/readme.txt' 2>/dev/null \
  && "$ctl" exec "$forked" -- sh -c 'echo broken > notes.txt' \
  && [ "$("$ctl" exec "$mounted" -- cat notes.txt)" = original ] \
  && "$ctl" session show "$forked" | grep -q '^Title: *try it' \
  && "$ctl" session close "$forked"
ok $? "session fork copies the work folder and keeps the mounts and modes ($forked)"

"$ctl" session fork 0123456789ab 2>"$work/err"
[ $? -eq 1 ] && grep -q 'There is no session with the id "0123456789ab"' "$work/err"
ok $? "session fork of an unknown session fails with the cause on stderr"

"$ctl" session open --mount "$home/.ssh:rw" 2>"$work/err"
[ $? -eq 1 ] && grep -q 'deny rule "~/.ssh"' "$work/err"
ok $? "a refused folder fails with the rule on stderr"

# A folder whose name is not UTF-8: refused with a clear error, by
# clochectl when the name is given, by the daemon when a link leads there;
# no GLib critical on either side, no record.
odd="$home/caf"$'\xe9'
mkdir -p "$odd" && ln -s "$odd" "$home/cafe"
"$ctl" session open --mount "$odd" 2>"$work/err"
code=$?
[ $code -eq 2 ] && grep -q 'caf\\351.*not valid UTF-8' "$work/err" && ! grep -q CRITICAL "$work/err"
ok $? "session open --mount of a folder whose name is not UTF-8 is refused by clochectl (exit $code)"
before=$(ls "$home/state/cloche/sessions" | wc -l)
"$ctl" session open --mount "$home/cafe" 2>"$work/err"
code=$?
[ $code -eq 1 ] && grep -q 'not valid UTF-8' "$work/err" && ! grep -q CRITICAL "$work/err" \
  && ! grep -q CRITICAL "$work/daemon-err" \
  && [ "$(ls "$home/state/cloche/sessions" | wc -l)" -eq "$before" ]
ok $? "through a link the daemon refuses it, and records nothing (exit $code)"

"$ctl" session show "$mounted" --json | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["state"] == "open" and s["mounts"][0][1] == "project" and s["mounts"][0][2] is True'
ok $? "session show --json has the state and the mounts"

"$ctl" session close "$mounted" && "$ctl" session pin "$mounted" \
  && "$ctl" session show "$mounted" | grep -q '^State: *closed, pinned'
ok $? "session pin"

"$ctl" session close "$id" && "$ctl" status | grep -q '^Sessions: *0 open'
ok $? "session close"

"$ctl" cleanup --older-than 0 --json > "$work/cleanup"
/usr/bin/python3 - "$work/cleanup" "$id" "$mounted" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
removed = [s["id"] for s in report["removed"]]
assert sys.argv[2] in removed and sys.argv[3] not in removed, removed
assert report["freed_bytes"] > 0
PY
ok $? "cleanup removes the closed session, keeps the pinned one, reports bytes"

"$ctl" vm stop && "$ctl" status | grep -q '^State: *stopped (user)' && [ "$(qemu_children)" -eq 0 ]
ok $? "vm stop stops QEMU"

"$ctl" frobnicate 2>"$work/err"
[ $? -eq 2 ] && grep -q 'unknown command "frobnicate"' "$work/err"
ok $? "an unknown command says so and exits 2"

# Records still queued when the daemon is told to stop must reach the disk
# before it exits (on a slow disk too: test-session-store's
# /session-store/queued-writes-survive).
last=$("$ctl" session open --title last) && "$ctl" exec "$last" -- true \
  && "$ctl" session close "$last" && kill "$daemon" && wait "$daemon"
status=$?
daemon=
grep -q '"state" : "closed"' "$home/state/cloche/sessions/$last/session.json"
ok $(( status + $? )) "a session closed just before the daemon stops is recorded closed"

exit $failed
