#!/usr/bin/env bash
# Installs every Debian package Switchyard's build, tests and examples need.
# Safe to run twice: it installs only what is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config ccache
  libboost1.81-dev            # Asio + Beast (header-only parts only)
  libhiredis-dev              # Redis client (0.14, wrapped for Asio in state-store/)
  nlohmann-json3-dev libyaml-cpp-dev libssl-dev
  redis-server                # the embedded default starts its own
  libjemalloc2                # switchyard's allocator when present (redis-server needs it too)
  libgtest-dev libgmock-dev   # tests
  clang-format                # the format check among the tests (.clang-format, scripts/check-format.sh)
  curl wrk                    # the tour and the benchmarks
  ca-certificates             # the authorities https Tasks are checked against
  tzdata                      # IANA time zones of schedule triggers (/usr/share/zoneinfo)
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all packages present"
