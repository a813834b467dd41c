#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs one libFuzzer harness for a bounded time: the seeds in the source tree
# are replayed first (regression), then the fuzzer explores from them. New
# inputs go to WORK/corpus, crashes to WORK/artifacts — never the source tree.
#   run-fuzz.sh HARNESS SEED_DIR WORK_DIR [DICT]
# CLOCHE_FUZZ_SECONDS (default 20) bounds the run; CLOCHE_FUZZ_TIMEOUT (30 s)
# bounds one input (tools/dev/fuzz raises it: a loaded machine stalls).
set -euo pipefail

harness=$1 seeds=$2 work=$3 dict=${4:-}
seconds=${CLOCHE_FUZZ_SECONDS:-20}

mkdir -p "$work/corpus" "$work/artifacts"
args=(
  -max_total_time="$seconds"
  -timeout="${CLOCHE_FUZZ_TIMEOUT:-30}"  # an input hanging the main loop is a finding
  -rss_limit_mb=2048
  -max_len=4096
  -print_final_stats=1
  -error_exitcode=1   # libFuzzer's default, 77, is what meson reads as a skip
  -artifact_prefix="$work/artifacts/"
)
[ -n "$dict" ] && args+=(-dict="$dict")
exec "$harness" "${args[@]}" "$work/corpus" "$seeds"
