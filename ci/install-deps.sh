#!/usr/bin/env bash
# Installs everything taskstore needs to build and test, from Debian 12's packages.
# Run as root (or with sudo). Safe to run again: apt-get skips what is installed.
set -euo pipefail

packages=(
  cmake ninja-build g++          # build
  libboost-dev                   # Boost.Asio (C++20 coroutines)
  libsqlite3-dev                 # the SQLite backend
  libpq-dev postgresql           # the PostgreSQL backend; a throwaway server for its tests
  zlib1g-dev                     # CRC-32 for the file backend's records
  libgtest-dev libgmock-dev      # the conformance suite and unit tests
  librapidcheck-dev              # property-based tests
  libbenchmark-dev               # benchmarks
  python3-matplotlib             # bench/plot (PNG plots of benchmark results)
  libcli11-dev                   # taskstore-conformance's command line
  nlohmann-json3-dev             # taskstore-conformance's JSON report
  python3                        # the reference exec driver (examples/python-driver/)
  clang-14 libclang-rt-14-dev    # the tsan preset (and, later, libFuzzer)
)

if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
