#!/usr/bin/env bash
# README command 2: install what is missing, build (warnings are errors) and
# run every test; then build the tests once more with ASan+UBSan and run them.
# Quick subsets: ctest --test-dir build -L unit | -L redis | -L integration
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
start=$(date +%s)
BUILD_DIR=build ./scripts/build.sh -DSWITCHYARD_WERROR=ON
ctest --test-dir build --output-on-failure -j2 --timeout 600
if [ "${SWITCHYARD_SKIP_SANITIZERS:-0}" != "1" ]; then
  BUILD_DIR=build-asan BUILD_TYPE=Debug ./scripts/build.sh -DSWITCHYARD_WERROR=ON -DSWITCHYARD_SANITIZE=ON
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j2 --timeout 900
fi
echo "test.sh: all tests passed in $(( $(date +%s) - start )) s"
