#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# clochectl shell and clochectl run (issue 17) against a real daemon on a
# private bus (run under dbus-run-session) and a real VM. The interactive
# part is tests/clochectl-pty.py: clochectl on a real PTY of the host,
# typed into and read back (prompt, raw mode, stty size before and after a
# resize, Ctrl-C, vi, less, top, exit status, a detach and shell --attach).
# Here: plain pipes, the
# session a shell opens and closes, the audit log's lines for terminals.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${CLOCHE_TEST_BUNDLE:?}" "${CLOCHE_SOURCE_ROOT:?}"

echo "1..31"
test_home
mkdir -p "$home/project"
echo "from the host" > "$home/project/readme.txt"
start_daemon --bundle "$CLOCHE_TEST_BUNDLE" --idle-timeout 60

id=$("$ctl" session open --title terminals)
ok $? "a session to run in ($id)"

out=$(echo hello | "$ctl" run "$id" -- cat)
code=$?
[ $code -eq 0 ] && [ "$out" = hello ]
ok $? "run with stdin a pipe: the bytes go through, no echo, no CR (got \"$out\", $code)"

out=$(printf 'no newline at the end' | "$ctl" run "$id" -- sh -c 'cat; echo; echo done')
[ "$out" = "no newline at the end
done" ]
ok $? "run: a last line without a newline is not lost, and the end of input arrives"

"$ctl" run "$id" -- sh -c 'echo out; echo err >&2; exit 4' </dev/null >"$work/out"
code=$?
[ $code -eq 4 ] && [ "$(cat "$work/out")" = "out
err" ]
ok $? "run passes the exit status through ($code), output in order on one stream"

out=$("$ctl" run "$id" --env GREETING=bonjour --cwd /tmp -- sh -c 'echo "$GREETING $(pwd)"' </dev/null)
[ "$out" = "bonjour /tmp" ]
ok $? "run --env and --cwd reach the command ($out)"

"$ctl" run "$id" -- no-such-program </dev/null >"$work/out" 2>&1
code=$?
[ $code -eq 127 ] && grep -q no-such-program "$work/out"
ok $? "run of a missing program: 127 and the reason ($code)"

"$ctl" run nosuchsession -- true </dev/null 2>"$work/err"
code=$?
[ $code -eq 1 ] && grep -q 'No open session has the id "nosuchsession"' "$work/err"
ok $? "run in an unknown session fails with the cause on stderr ($code)"

before=$("$ctl" session list | grep -c ' open ')
out=$(echo 'cat mnt/project/readme.txt; exit 6' | "$ctl" shell --mount "$home/project")
code=$?
[ $code -eq 6 ] && echo "$out" | grep -q "from the host" \
  && [ "$("$ctl" session list | grep -c ' open ')" -eq "$before" ]
ok $? "shell --mount opens a session with the folder, runs the shell, closes it after ($code)"

python3 "$CLOCHE_SOURCE_ROOT/tests/clochectl-pty.py" "$ctl" $((n + 1)) "$id" || failed=1
n=$((n + 20))

"$ctl" audit --session "$id" --json > "$work/audit"
python3 - "$work/audit" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
opened = [e for e in events if e["event"] == "terminal.open"]
ended = [e for e in events if e["event"] == "terminal.end"]
assert len(opened) >= 8 and len(ended) == len(opened), (len(opened), len(ended))
codes = sorted(e["fields"].get("exit-code") for e in ended)
assert 4 in codes and 127 in codes and 9 in codes, codes
assert all("started" in e["fields"] and "duration-ms" in e["fields"] for e in ended)
assert any(e["fields"]["argv"] == ["sh", "-c", "echo out; echo err >&2; exit 4"] for e in opened)
PY
ok $? "every terminal is in the audit log: opened, ended with its status"

gdbus call --session --dest io.github.cloche.Cloche.Daemon --object-path /io/github/cloche/Daemon \
  --method io.github.cloche.Sessions.OpenTerminal "$id" "['true']" "{'rows': <'many'>}" \
  >/dev/null 2>"$work/err"
[ $? -ne 0 ] && grep -q 'Option "rows" must be of type u, not s' "$work/err"
ok $? "OpenTerminal refuses an option of the wrong type, naming it"

"$ctl" session close "$id"
ok $? "the session closes"

exit $failed
