#!/usr/bin/env bash
# Configures (once) and builds into build/ (or $BUILD_DIR).
#   scripts/build.sh [-DOPTION=VALUE...] [TARGET...]
# -D options are applied to the build dir's configuration (kept between runs);
# other words are build targets (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
configure=()
targets=()
for a in "$@"; do
  case "$a" in
    -D*) configure+=("$a") ;;
    *) targets+=(--target "$a") ;;
  esac
done
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$BUILD_DIR/build.ninja" ] || [ ${#configure[@]} -gt 0 ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "${launcher[@]}" \
    "${configure[@]}" >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$(nproc)" "${targets[@]}"
