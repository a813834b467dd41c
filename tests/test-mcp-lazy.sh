#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# clochectl mcp starts nothing before a tool call: initialize and tools/list
# against a real daemon on a private bus (run under dbus-run-session) leave
# the VM stopped, no QEMU, no session. And --print-config for each client.
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${CLOCHE_TEST_BUNDLE:?}"

echo "1..8"
runtime=$work/run
test_home
mkdir -p "$home/proj"
start_daemon --bundle "$CLOCHE_TEST_BUNDLE" --idle-timeout 60 --exit-after 0

init='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"lazy","version":"1"}}}'
list='{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
# The client stays connected a while after its requests, as a real one
# does: what was started would show meanwhile.
(printf '%s\n%s\n' "$init" "$list"; sleep 4) \
  | timeout 30 "$ctl" mcp --mount "$home/proj:rw" \
  > "$work/out" 2> "$work/err" &
mcp=$!
sleep 3
[ "$(pgrep -c -P "$daemon" qemu-system)" -eq 0 ]
ok $? "no QEMU was started"
"$ctl" status | grep -q '^State: *stopped' && "$ctl" status | grep -q '^Sessions: *0 open'
ok $? "the VM is stopped and no session is open"
"$ctl" session list --json | /usr/bin/python3 -c 'import json, sys; assert json.load(sys.stdin) == []'
ok $? "no session was even recorded"
wait $mcp
status=$?
[ $status -eq 0 ] && [ "$(wc -l < "$work/out")" -eq 2 ] \
  && grep -q '"protocolVersion":"2025-06-18"' "$work/out" && grep -q '"name":"run_command"' "$work/out"
ok $? "initialize and tools/list are answered, and the server exits at the end of its input ($status)"
[ ! -e "$home/state/cloche/audit.jsonl" ] || ! grep -q mcp.tool-call "$home/state/cloche/audit.jsonl"
ok $? "no tool call was logged"

"$ctl" mcp --print-config claude-desktop --mount "$home/proj:rw" > "$work/desktop" \
  && /usr/bin/python3 - "$work/desktop" "$ctl" "$home/proj:rw" <<'PY'
import json, os, sys
config = json.load(open(sys.argv[1]))["mcpServers"]["cloche"]
assert os.path.realpath(config["command"]) == os.path.realpath(sys.argv[2]), config
assert config["args"] == ["mcp", "--mount", sys.argv[3]], config
PY
ok $? "--print-config claude-desktop gives the JSON with clochectl's path and the mounts"

"$ctl" mcp --print-config claude-code --mount "$home/proj" | grep -q "^claude mcp add cloche -- '.*clochectl' 'mcp' '--mount' '$home/proj:ro'$" \
  && "$ctl" mcp --print-config zed | grep -q '"context_servers"' \
  && "$ctl" mcp --print-config goose | grep -q '^    type: stdio$'
ok $? "--print-config claude-code, zed and goose"

"$ctl" mcp --print-config vscode 2>"$work/err"
[ $? -eq 2 ] && grep -q 'known clients: claude-code, claude-desktop, goose, zed' "$work/err"
ok $? "an unknown client is refused with the list of known ones"

exit $failed
