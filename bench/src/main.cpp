// taskstore-bench: every benchmark family on every backend, beside raw baselines.
//
//   taskstore-bench [--smoke] [--list-backends] [--benchmark_* ...]
//
// --smoke (or TASKSTORE_BENCH_SMOKE=1) runs tiny sizes; --list-backends prints one line
// per backend, "<name> <raw_medium of its baseline, or -> <durable|in_process>
// <dequeue_long or ->", and exits. Stores live in a scratch directory under
// TASKSTORE_BENCH_DIR (default: the system temp directory), removed at the end; postgres
// stores (only when TASKSTORE_PG names a server) in a fresh schema each, dropped with
// their scratch directory. Exits 1 if any benchmark failed.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "backends.hpp"
#include "baselines.hpp"
#include "families.hpp"
#include "postgres_support.hpp"
#include "registration.hpp"
#include "settings.hpp"

namespace bench = taskstore::bench;

namespace {

struct Flags {
  bool smoke = false;
  bool list_backends = false;
};

// Takes our own flags out of argv, leaving Google Benchmark's.
Flags take_flags(int& argc, char** argv) {
  Flags flags;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--smoke") == 0) {
      flags.smoke = true;
    } else if (std::strcmp(argv[i], "--list-backends") == 0) {
      flags.list_backends = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  return flags;
}

bool has_flag(int argc, char** argv, const char* prefix) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix, std::strlen(prefix)) == 0) return true;
  }
  return false;
}

int run(int argc, char** argv) {
  const Flags flags = take_flags(argc, argv);
  const std::optional<std::string> conninfo = bench::postgres_conninfo();
  // On stderr: the smoke check reads --list-backends' standard output.
  if (!conninfo) std::fprintf(stderr, "taskstore-bench: %s\n", bench::kPostgresSkipped.data());
  if (flags.list_backends) {
    for (const auto& spec : bench::backends()) {
      const bench::BaselineSpec* baseline = bench::baseline_for(spec);
      std::printf("%s %s %s %s\n", spec.name.c_str(),
                  baseline != nullptr ? ("raw_" + baseline->medium).c_str() : "-",
                  spec.durable ? "durable" : "in_process",
                  spec.sizes.long_drain > 0 ? "dequeue_long" : "-");
    }
    return 0;
  }

  bench::Settings settings;
  settings.mode = bench::mode_from_environment(flags.smoke);
  const bench::ScratchDir root(bench::bench_parent_directory(), "taskstore-bench");
  settings.root = root.path();
  const bool on_ram = bench::on_memory_file_system(settings.root);
  if (on_ram) {
    std::fprintf(stderr,
                 "taskstore-bench: warning: %s is on a RAM file system; fsync costs nothing "
                 "there, so the durable backends' figures do not mean much (set "
                 "TASKSTORE_BENCH_DIR to a directory on a disk)\n",
                 settings.root.c_str());
  }

  // A smoke run makes every time-driven benchmark stop after a few iterations.
  std::vector<char*> args(argv, argv + argc);
  std::string min_time = "--benchmark_min_time=0.0001";
  if (settings.mode == bench::Mode::smoke && !has_flag(argc, argv, "--benchmark_min_time")) {
    args.push_back(min_time.data());
  }
  int arg_count = static_cast<int>(args.size());
  args.push_back(nullptr);

  benchmark::AddCustomContext("taskstore_mode",
                              settings.mode == bench::Mode::smoke ? "smoke" : "full");
  benchmark::AddCustomContext("taskstore_bench_dir", settings.root.parent_path().string());
  benchmark::AddCustomContext("taskstore_bench_dir_in_ram", on_ram ? "yes" : "no");
  benchmark::AddCustomContext("taskstore_payload_bytes", std::to_string(settings.payload_bytes));
  benchmark::AddCustomContext("taskstore_load_average_at_start", bench::load_average());
  benchmark::AddCustomContext("taskstore_postgres",
                              conninfo ? bench::postgres_server_summary(*conninfo)
                                       : std::string(bench::kPostgresSkipped));
  // Which baseline each backend's figures are divided by (bench/plot reads this).
  std::string pairs;
  for (const auto& spec : bench::backends()) {
    if (const bench::BaselineSpec* baseline = bench::baseline_for(spec)) {
      pairs += (pairs.empty() ? "" : " ") + spec.name + "=raw_" + baseline->medium;
    }
  }
  benchmark::AddCustomContext("taskstore_baselines", pairs);

  bench::register_footprint_benchmarks(settings);
  bench::register_operation_benchmarks(settings);
  bench::register_dequeue_benchmarks(settings);
  bench::register_open_benchmarks(settings);
  bench::register_process_benchmarks(settings);
  bench::register_long_benchmarks(settings);
  bench::register_queue_benchmarks(settings);

  benchmark::Initialize(&arg_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(arg_count, args.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  bench::drop_cached_fixture();
  std::fflush(stdout);
  std::fprintf(stderr, "taskstore-bench: load average at the end: %s\n",
               bench::load_average().c_str());
  if (bench::any_failure()) {
    std::fprintf(stderr, "taskstore-bench: some benchmarks failed (see their error messages)\n");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "taskstore-bench: %s\n", e.what());
    return 2;
  }
}
