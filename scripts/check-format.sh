#!/usr/bin/env bash
# Checks that every C++ source is formatted as .clang-format says (the format_check test runs
# this); `scripts/check-format.sh --fix` formats them in place. Exit 77 (ctest: skipped) when
# clang-format is not installed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v clang-format > /dev/null || { echo "clang-format is not installed: not checked"; exit 77; }
cd "$root"
mapfile -t files < <(find app common examples function-runtime gateway knative loadtests router state-store tests \
  -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) | sort)
if [ "${1:-}" = --fix ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
clang-format --dry-run --Werror "${files[@]}"
echo "format: ${#files[@]} files as .clang-format says"
