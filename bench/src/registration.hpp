#pragma once
// Registering benchmarks: every family goes through add_benchmark, which records failures
// for the exit code and keeps at most one cached fixture alive (the one of the benchmark
// running now).

#include <benchmark/benchmark.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace taskstore::bench {

using BenchmarkBody = std::function<void(benchmark::State&)>;

// Registers `body` under `name`. Before the body runs, a fixture cached by another
// benchmark is dropped.
benchmark::internal::Benchmark* add_benchmark(const std::string& name, BenchmarkBody body);

// Registers `body` as one run ("<name>/tasks:N") over a store of `tasks` tasks, reported in
// milliseconds; the caller chooses the clock (UseRealTime or UseManualTime).
benchmark::internal::Benchmark* add_store_size_benchmark(const std::string& name,
                                                         std::size_t tasks, BenchmarkBody body);

// Skips the benchmark with `message` (Google Benchmark's error) and makes the program
// exit with status 1 at the end.
void fail(benchmark::State& state, const std::string& message);
bool any_failure();

// Google Benchmark runs a time-driven benchmark several times to find its iteration
// count; a fixture that is expensive to build and that the benchmark does not change
// (a large preloaded store for reads) is built once through here and kept until another
// benchmark starts.
std::shared_ptr<void> cached_fixture(const std::function<std::shared_ptr<void>()>& make);

// Drops the cached fixture (at the end of the run, before the scratch root goes).
void drop_cached_fixture();

}  // namespace taskstore::bench
