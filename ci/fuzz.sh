#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ (the `fuzz` preset: clang 14 with
# -fsanitize=fuzzer,address,undefined) and runs each target for FUZZ_SECONDS seconds
# (default 60), FUZZ_JOBS at a time (default: one per core), starting from a copy of its
# corpus in fuzz/corpus/ (the repository is not modified). A crash, timeout, leak or out-of-memory fails the script
# with exit 1 and prints the reproducing input; fuzz/README.md says how to replay it and
# add it to the corpus.
#
#   FUZZ_SECONDS=20 bash ci/fuzz.sh                    # every target
#   bash ci/fuzz.sh fuzz_ops_sqlite fuzz_file_record   # just these
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${FUZZ_SECONDS:-60}
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "ci/fuzz.sh: FUZZ_SECONDS must be a positive integer, not '$seconds'" >&2
  exit 2
fi
all_targets=(fuzz_ops_memory fuzz_ops_file fuzz_ops_sqlite fuzz_file_record fuzz_sqlite_damaged)
targets=("${@:-${all_targets[@]}}")
for target in "${targets[@]}"; do
  if [ ! -d "fuzz/corpus/$target" ]; then
    echo "ci/fuzz.sh: unknown target '$target' (known: ${all_targets[*]})" >&2
    exit 2
  fi
done
if ! command -v clang++-14 > /dev/null; then
  echo "ci/fuzz.sh: clang++-14 not found; run ci/install-deps.sh first" >&2
  exit 2
fi

echo "+ cmake --preset fuzz && cmake --build --preset fuzz"
cmake --preset fuzz > /dev/null
cmake --build --preset fuzz

work=$(mktemp -d "${TMPDIR:-/tmp}/taskstore-fuzz.XXXXXX")
artifacts="$work/artifacts"
mkdir -p "$artifacts"
echo "ci/fuzz.sh: ${seconds}s per target; corpora copied to $work/corpus; artifacts (crashing inputs) go to $artifacts"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# Runs one target for its time; its output goes to its log, its exit status to a file.
run_target() {
  local target=$1
  local corpus="$work/corpus/$target"
  mkdir -p "$corpus"
  cp -R "fuzz/corpus/$target/." "$corpus/"
  local extra=()
  case "$target" in
    # Every step of a sequence runs much code (the backend, the model, the step checks), so
    # each input has ~20k coverage features; libFuzzer's entropic scheduler then spends
    # ~5 ms of CPU per input just counting them (3-4x fewer inputs a second, same coverage
    # per input, measured with -runs=1500 -seed=7). The classic scheduler keeps up.
    fuzz_ops_*) extra+=(-entropic=0) ;;
  esac
  local status=0
  "build/fuzz/bin/$target" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$artifacts/$target-" -print_final_stats=1 ${extra[@]+"${extra[@]}"} \
    "$corpus" > "$work/$target.log" 2>&1 || status=$?
  echo "$status" > "$work/$target.status"
}

# A libFuzzer process uses one core: as many targets run at once as there are cores
# (FUZZ_JOBS to choose), each for its full time.
jobs=${FUZZ_JOBS:-$(nproc)}
if ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
  echo "ci/fuzz.sh: FUZZ_JOBS must be a positive integer, not '$jobs'" >&2
  exit 2
fi
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  echo "+ $target: ${seconds}s from $(ls "fuzz/corpus/$target" | wc -l) corpus inputs (log: $work/$target.log)"
  run_target "$target" &
  running=$((running + 1))
done
wait

failed=()
for target in "${targets[@]}"; do
  log="$work/$target.log"
  status=$(cat "$work/$target.status" 2>/dev/null || echo "no status")
  echo "== $target"
  # The last status line: executions, coverage, corpus, speed.
  grep -E '^#[0-9]+' "$log" | tail -n 1 || true
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  if [ "$status" != 0 ]; then
    failed+=("$target")
    echo "ci/fuzz.sh: $target FAILED (exit $status); the end of its log:" >&2
    tail -n 40 "$log" >&2
    for input in "$artifacts/$target-"*; do
      [ -e "$input" ] || continue
      echo "ci/fuzz.sh: reproducing input: $input" >&2
      echo "  replay:  build/fuzz/bin/$target $input   (or any build's bin/$target $input)" >&2
      echo "  keep it: cp $input $root/fuzz/corpus/$target/crash-<what-it-breaks>" >&2
    done
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "ci/fuzz.sh: failed: ${failed[*]} (inputs in $artifacts)" >&2
  exit 1
fi
rm -rf "$work"
echo "ci/fuzz.sh: ${targets[*]}: no crash in ${seconds}s each"
