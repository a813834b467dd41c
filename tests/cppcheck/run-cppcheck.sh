#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# cppcheck on src/, as a meson test (suite "lint"): any finding not in
# suppressions.txt (each there with its reason) fails it.
#   run-cppcheck.sh SOURCE_ROOT BUILD_ROOT
set -euo pipefail

source_root=$1 build_root=$2
cd "$source_root"
exec cppcheck --enable=warning,style,performance,portability --std=c11 --quiet \
  --library=gtk --inline-suppr --error-exitcode=1 "-DG_GNUC_PRINTF(a,b)=" \
  --suppressions-list=tests/cppcheck/suppressions.txt \
  -I src -I src/core -I src/app -I src/cli -I src/daemon \
  -I "$build_root" -I "$build_root/src" \
  src/
