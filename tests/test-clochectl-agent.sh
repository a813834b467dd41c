#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# clochectl agent NAME (issue 17) against a real daemon on a private bus
# (run under dbus-run-session) and a real VM, with a user profile whose
# command is a local script in the project folder: the folder mounted
# read-write and the agent run in it, its arguments and the variables the
# profile names passed (no others), its exit status back; the profile's
# host reachable from the agent's session only (a real HTTP server on the
# host's 127.0.0.1; another session open at the same time is refused by
# "default deny"), shown as Egress.SessionAllow while the session is open
# and gone when it closes; an admin lock on egress refuses the launch
# naming the file; a broken profile is refused naming file, line, column
# and key.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${CLOCHE_TEST_BUNDLE:?}"

echo "1..17"
test_home
project=$home/project
mkdir -p "$home/config/cloche/agents" "$project" "$work/www" "$work/admin"
echo "from the host's server" > "$work/www/hello.txt"
export CLOCHE_ADMIN_POLICY=$work/admin/policy.json

# A real HTTP server on the host's loopback; the port is the kernel's choice.
python3 - "$work/www" > "$work/port" <<'PY' &
import http.server, functools, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
server=$!
background+=("$server")
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
port=$(cat "$work/port")
url=http://127.0.0.1:$port/hello.txt
# no_proxy covers 127.0.0.1 in a session (its own loopback): cleared here,
# so that the request goes through the proxy to the host's server.
fetch="no_proxy= NO_PROXY= timeout 30 wget -q -O - $url"

cat > "$home/config/cloche/agents/mine.json" <<EOF
{
  "description": "a local script as the agent",
  "command": ["sh", "agent.sh"],
  "hosts": ["127.0.0.1:$port"],
  "env": ["AGENT_TEST_KEY", "AGENT_TEST_UNSET"]
}
EOF
cat > "$project/agent.sh" <<EOF
echo "session \$CLOCHE_SESSION"
echo "in \$(pwd)"
echo "args \$*"
echo "key \${AGENT_TEST_KEY:-none} other \${AGENT_TEST_OTHER:-none}"
echo written > made-by-agent
$fetch
exit 3
EOF
printf '{"command": "x",\n "env": ["NOT A NAME"]}' > "$home/config/cloche/agents/broken.json"
echo '{"command": "no-such-agent", "package": "@example/no-such-agent"}' \
  > "$home/config/cloche/agents/missing.json"

start_daemon --bundle "$CLOCHE_TEST_BUNDLE" --idle-timeout 60

"$ctl" agent list --json > "$work/list" 2>"$work/list-err"
code=$?
python3 - "$work/list" <<'PY'
import json, sys
names = [p["name"] for p in json.load(open(sys.argv[1]))]
assert names == ["claude", "codex", "gemini", "mine", "missing"], names
PY
[ $? -eq 0 ] && [ $code -eq 1 ] && grep -q "broken.json:2:10: env\[0\]: “NOT A NAME” is not" "$work/list-err"
ok $? "agent list: the built-ins and the user's profile; a broken file named with line, column, key ($code)"

cd "$project" || exit 1
AGENT_TEST_KEY=sekrit AGENT_TEST_OTHER=leak "$ctl" agent mine --keep -- --flag 'two words' \
  </dev/null >"$work/out" 2>"$work/err"
code=$?
cd "$work" || exit 1
agent_id=$(sed -n 's/^session \([^[:space:]]*\).*/\1/p' "$work/out" | tr -d '\r')
[ $code -eq 3 ]
ok $? "agent: the script ran, its exit status comes back ($code)"
grep -q "^in /sessions/$agent_id/mnt/project" "$work/out"
ok $? "agent: runs in the project folder, mounted in its session ($(grep '^in' "$work/out"))"
grep -q "^args --flag two words" "$work/out"
ok $? "agent: the arguments after -- reach it"
grep -q "^key sekrit other none" "$work/out"
ok $? "agent: the variables the profile names are passed, no other ($(grep '^key' "$work/out"))"
[ "$(cat "$project/made-by-agent" 2>/dev/null)" = written ]
ok $? "agent: the folder is read-write (the agent's file is on the host)"
grep -q "from the host's server" "$work/out"
ok $? "agent: the profile's host is reachable from the agent's session"

gdbus call --session --dest io.github.cloche.Cloche.Daemon --object-path /io/github/cloche/Daemon \
  --method org.freedesktop.DBus.Properties.Get io.github.cloche.Egress SessionAllow \
  > "$work/allow"
grep -q "'$agent_id': \['127.0.0.1:$port'\]" "$work/allow"
ok $? "Egress.SessionAllow shows the agent session's host ($(cat "$work/allow"))"

other=$("$ctl" session open --title other)
"$ctl" exec "$other" -- sh -c "$fetch" >"$work/other-out" 2>&1
code=$?
[ $code -ne 0 ] && ! grep -q "from the host's server" "$work/other-out"
ok $? "another session open at the same time cannot reach the host ($code)"
"$ctl" exec "$agent_id" -- sh -c "$fetch" >"$work/again" 2>&1
grep -q "from the host's server" "$work/again"
ok $? "the agent's session still can, while it is open"

"$ctl" audit --json > "$work/audit"
python3 - "$work/audit" "$agent_id" "$other" "$port" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
agent, other, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
decisions = [e for e in events if e["event"] == "egress.decision"
             and e["fields"].get("port") == port]
mine = [e for e in decisions if e["session"] == agent]
theirs = [e for e in decisions if e["session"] == other]
assert mine and all(e["fields"]["allowed"] for e in mine), mine
assert all(e["fields"]["rule"] == "session allow 127.0.0.1:%d" % port for e in mine), mine
assert theirs and not any(e["fields"]["allowed"] for e in theirs), theirs
assert all(e["fields"]["rule"] == "default deny" for e in theirs), theirs
added = [e for e in events if e["event"] == "egress.session-allow" and e["session"] == agent]
assert added and added[0]["fields"]["hosts"] == ["127.0.0.1:%d" % port], added
PY
ok $? "decision log: the agent's requests by \"session allow\", the other session's by \"default deny\""

"$ctl" session close "$other"
"$ctl" session close "$agent_id"
gdbus call --session --dest io.github.cloche.Cloche.Daemon --object-path /io/github/cloche/Daemon \
  --method org.freedesktop.DBus.Properties.Get io.github.cloche.Egress SessionAllow \
  > "$work/allow"
grep -q "@a{sas} {}" "$work/allow"
ok $? "closing the session takes its hosts away ($(cat "$work/allow"))"

# An admin lock that comes while an agent's session is open takes its hosts away.
cd "$project" || exit 1
"$ctl" agent mine --keep </dev/null >"$work/out" 2>"$work/err"
cd "$work" || exit 1
agent_id=$(sed -n 's/^session \([^[:space:]]*\).*/\1/p' "$work/out" | tr -d '\r')
echo '{"version": 1, "locked": ["egress"]}' > "$CLOCHE_ADMIN_POLICY"
"$ctl" policy reload
"$ctl" exec "$agent_id" -- sh -c "$fetch" >"$work/again" 2>&1
code=$?
gdbus call --session --dest io.github.cloche.Cloche.Daemon --object-path /io/github/cloche/Daemon \
  --method org.freedesktop.DBus.Properties.Get io.github.cloche.Egress SessionAllow \
  > "$work/allow"
[ $code -ne 0 ] && grep -q "@a{sas} {}" "$work/allow" && grep -q "from the host's server" "$work/out"
ok $? "an admin lock that comes later drops an open session's hosts ($code, $(cat "$work/allow"))"
"$ctl" session close "$agent_id"

before=$("$ctl" session list | grep -c ' open ')
cd "$project" || exit 1
"$ctl" agent mine </dev/null >"$work/out" 2>"$work/err"
code=$?
cd "$work" || exit 1
[ $code -eq 1 ] && grep -q "The administrator locks egress in $CLOCHE_ADMIN_POLICY" "$work/err" \
  && [ "$("$ctl" session list | grep -c ' open ')" -eq "$before" ]
ok $? "an admin lock on egress refuses the agent's hosts, naming the file; no session left ($code: $(cat "$work/err"))"
rm -f "$CLOCHE_ADMIN_POLICY"
"$ctl" policy reload

"$ctl" agent broken </dev/null >"$work/out" 2>"$work/err"
code=$?
[ $code -eq 1 ] && grep -q "broken.json:2:10: env\[0\]" "$work/err"
ok $? "a broken profile is refused naming file, line, column and key ($code)"

cd "$project" || exit 1
"$ctl" agent missing </dev/null >"$work/out" 2>"$work/err"
code=$?
cd "$work" || exit 1
[ $code -eq 127 ] && grep -q "“no-such-agent” is not in the sandbox: the agent's npm package @example/no-such-agent" "$work/err"
ok $? "an agent not installed in the guest: 127 and which package it takes ($code)"

"$ctl" agent nobody </dev/null >"$work/out" 2>"$work/err"
code=$?
[ $code -eq 1 ] && grep -q "No agent is called “nobody”" "$work/err"
ok $? "an unknown agent is named, with where a profile goes ($code)"

exit $failed
