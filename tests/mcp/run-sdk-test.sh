#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The MCP server against a real client nobody here wrote: the official
# TypeScript SDK (installed by tools/dev/setup into BUILD/mcp-sdk) runs
# sdk-client.mjs, which spawns `clochectl mcp` against a real daemon on this
# private bus (run under dbus-run-session) and a real VM. Skipped (77) with
# the reason when Node.js 18+ or the SDK is not there.
#   run-sdk-test.sh SDK_DIR
set -uo pipefail

: "${CLOCHE_DAEMON:?}" "${CLOCHE_CTL:?}" "${CLOCHE_TEST_BUNDLE:?}"
sdk=${1:?usage: run-sdk-test.sh SDK_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! command -v node >/dev/null; then
  echo "1..0 # SKIP no node: install Node.js 18 or newer (tools/dev/setup does)"; exit 77
fi
major=$(node -e 'process.stdout.write(process.versions.node.split(".")[0])')
if [ "$major" -lt 18 ]; then
  echo "1..0 # SKIP Node.js $(node --version) is older than 18, which the MCP SDK needs"; exit 77
fi
if [ ! -f "$sdk/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
  echo "1..0 # SKIP no MCP SDK in $sdk: run tools/dev/setup"; exit 77
fi

# shellcheck source=tests/lib.sh
. "$here/../lib.sh"
runtime=$work/run
test_home
mkdir -p "$home/rw" "$home/ro"
echo "read only" > "$home/ro/kept.txt"
start_daemon --bundle "$CLOCHE_TEST_BUNDLE" --idle-timeout 600 --exit-after 0

CLOCHE_DAEMON_PID=$daemon CLOCHE_MCP_SDK=$sdk node "$here/sdk-client.mjs"
