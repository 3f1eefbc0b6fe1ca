#!/usr/bin/env bash
# Checks taskstore as an installed package, the way an out-of-tree backend uses it
# (docs/ci-recipe.md describes these same steps for a backend author's CI; keep the two
# in step):
#   1. cmake --install a taskstore build into a temporary prefix;
#   2. configure, build and ctest examples/out-of-tree-backend against that prefix only
#      (find_package(taskstore CONFIG REQUIRED COMPONENTS conformance)): VectorStorage
#      through every suite, with PostgreSQL, SQLite and zlib hidden from CMake, so that the
#      kit is shown to need none of the reference backends' libraries;
#   3. run the installed taskstore-conformance with a JUnit report.
#
# Usage: ci/test-install.sh [BUILD_DIR]
#   BUILD_DIR: a taskstore build to install from (built first if it is not up to date;
#   configured with the release preset if it has no CMakeCache.txt). Default: build/ci if
#   it is configured (CI runs this after the ci preset), else build/release with the
#   release preset.
# Everything else happens in a temporary directory, removed on exit. Exits non-zero on
# any failure.
set -euo pipefail

if [ $# -gt 1 ]; then
  echo "usage: $0 [BUILD_DIR]" >&2
  exit 2
fi
build_dir=
if [ $# -eq 1 ]; then
  case $1 in
    /*) build_dir=$1 ;;
    *) build_dir=$(pwd)/$1 ;;  # relative to the caller, not to the repository
  esac
fi
cd "$(dirname "$0")/.."
root=$(pwd)
if [ -z "$build_dir" ]; then
  if [ -f build/ci/CMakeCache.txt ]; then
    build_dir=build/ci
  else
    build_dir=build/release
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/taskstore-test-install.XXXXXX")
trap 'rm -rf "$work"' EXIT
TASKSTORE_PREFIX=$work/prefix
example_build=$work/out-of-tree-backend

step() { echo "+ $*"; "$@"; }

echo "== taskstore from $build_dir, installed into $TASKSTORE_PREFIX"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  if [ "$build_dir" = build/release ]; then
    step cmake --preset release
  else
    step cmake --preset release -B "$build_dir"
  fi
fi
step cmake --build "$build_dir"
step cmake --install "$build_dir" --prefix "$TASKSTORE_PREFIX"

echo "== examples/out-of-tree-backend against the installed package"
step cmake -S "$root/examples/out-of-tree-backend" -B "$example_build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TASKSTORE_PREFIX" \
  -DCMAKE_DISABLE_FIND_PACKAGE_PostgreSQL=TRUE -DCMAKE_DISABLE_FIND_PACKAGE_SQLite3=TRUE \
  -DCMAKE_DISABLE_FIND_PACKAGE_ZLIB=TRUE
step cmake --build "$example_build"
# Nor may it link them.
if grep -Eq -- '-lpq|libpq|-lsqlite3|libsqlite3|-lz\b|libz\.' "$example_build/build.ninja"; then
  echo "test-install: the example links a reference backend's library (libpq, sqlite3, zlib)" >&2
  exit 1
fi
# The example must see taskstore through the prefix alone, never the source tree.
if grep -q -- "$root/include" "$example_build/build.ninja"; then
  echo "test-install: the example compiles against $root/include, not the installed headers" >&2
  exit 1
fi
step ctest --test-dir "$example_build" --output-on-failure
if [ ! -s "$example_build/conformance.xml" ]; then
  echo "test-install: the example's test wrote no JUnit report" >&2
  exit 1
fi

echo "== the installed taskstore-conformance"
step "$TASKSTORE_PREFIX/bin/taskstore-conformance" --backend memory \
  --report junit="$work/report.xml"
if [ ! -s "$work/report.xml" ]; then
  echo "test-install: taskstore-conformance wrote no report at $work/report.xml" >&2
  exit 1
fi
echo "test-install: passed"
