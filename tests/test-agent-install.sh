#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# clochectl agent install (issue 17) for real: the npm registry, the full
# bundle, a real daemon on a private bus (dbus-run-session) and a real VM.
# gemini, the smallest built-in agent (21 MB; codex's native package is
# 172 MB), with Node.js 22 and npm from the registry, into the tools
# folder; then `gemini --version` and `node --version` in a normal
# session; each registry request in the decision log, allowed by the
# install session's own rule; the other sessions' egress unchanged.
#
# Skipped, saying why, without the full bundle (CLOCHE_FULL_BUNDLE: a
# folder built by `tools/build-bundle --full`; CI and tools/dev/setup do
# not build it) or where registry.npmjs.org does not resolve.
if [ -z "${CLOCHE_FULL_BUNDLE:-}" ] || [ ! -f "$CLOCHE_FULL_BUNDLE/root.qcow2" ]; then
  echo "1..0 # SKIP no full bundle: set CLOCHE_FULL_BUNDLE to a folder built by tools/build-bundle --full"
  exit 0
fi
if ! getent hosts registry.npmjs.org >/dev/null; then
  echo "1..0 # SKIP registry.npmjs.org does not resolve here: the install needs the npm registry"
  exit 0
fi
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

echo "1..7"
test_home
tools=$home/data/cloche/tools
start_daemon --bundle "$CLOCHE_FULL_BUNDLE" --idle-timeout 60

# Where the host's network intercepts TLS (these machines), the host's trust
# store names its CA: given to the install, as a user there would.
ca=()
[ -n "${SSL_CERT_FILE:-}" ] && ca=(--cacert "$SSL_CERT_FILE")
start=$(date +%s)
"$ctl" agent install "${ca[@]}" gemini </dev/null >"$work/out" 2>"$work/err"
code=$?
took=$(( $(date +%s) - start ))
tr -d '\r' < "$work/out" | tail -n 5 | sed 's/^/# /'
sed 's/^/# /' "$work/err"
[ $code -eq 0 ] && tr -d '\r' < "$work/out" | grep -q "^Installed: [0-9]"
ok $? "agent install gemini: installed inside the VM ($code, ${took} s)"
[ -L "$tools/bin/gemini" ] && [ -L "$tools/bin/node" ] && [ ! -e "$tools/.install" ]
ok $? "the tools folder on the host holds gemini and node, no work files ($(du -sh "$tools" | cut -f1))"

"$ctl" agent list --json | python3 -c '
import json, sys
installed = {p["name"]: p["installed"] for p in json.load(sys.stdin)}
assert installed["gemini"] and not installed["claude"], installed'
ok $? "agent list: gemini installed"

id=$("$ctl" session open --title after-install)
start=$(date +%s)
"$ctl" run "$id" -- sh -c 'gemini --version; node --version; command -v gemini' </dev/null \
  >"$work/out" 2>&1
code=$?
took=$(( $(date +%s) - start ))
tr -d '\r' < "$work/out" > "$work/version"
sed 's/^/# /' "$work/version"
[ $code -eq 0 ] && grep -qx "[0-9][0-9.]*" "$work/version" && grep -qx "v22.23.5" "$work/version" \
  && grep -qx "/opt/cloche/tools/bin/gemini" "$work/version"
ok $? "gemini --version in a normal session, with the tools' node 22 (${took} s)"
"$ctl" exec "$id" -- sh -c 'touch /opt/cloche/tools/bin/x' >"$work/out" 2>&1
[ $? -ne 0 ] && grep -qi "read-only" "$work/out"
ok $? "that session cannot write the tools ($(cat "$work/out"))"
"$ctl" session close "$id"

"$ctl" audit --json > "$work/audit"
python3 - "$work/audit" <<'PY'
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
npm = [e for e in events if e["event"] == "egress.decision"
       and e["fields"].get("host") == "registry.npmjs.org"]
assert npm, "no registry request in the decision log"
assert all(e["fields"]["allowed"] for e in npm), npm
assert all(e["fields"]["rule"] == "session allow registry.npmjs.org:443" for e in npm), npm
assert len({e["session"] for e in npm}) == 1, npm
print("# %d registry requests, all by the install session's rule" % len(npm))
PY
ok $? "every registry request is in the decision log, allowed for the install session only"

gdbus call --session --dest io.github.cloche.Cloche.Daemon --object-path /io/github/cloche/Daemon \
  --method org.freedesktop.DBus.Properties.Get io.github.cloche.Egress SessionAllow >"$work/allow"
grep -q "@a{sas} {}" "$work/allow"
ok $? "no session keeps the registry once the install ended ($(cat "$work/allow"))"

exit $failed
