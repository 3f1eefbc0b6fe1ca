#include "registration.hpp"

#include <atomic>
#include <cstdint>
#include <mutex>

namespace taskstore::bench {

namespace {

std::atomic<bool> failed{false};

struct Cache {
  std::mutex mutex;
  std::string running;  // the benchmark whose fixture may be cached
  std::shared_ptr<void> fixture;
};

Cache& cache() {
  static Cache instance;
  return instance;
}

void enter(const std::string& name) {
  Cache& c = cache();
  std::shared_ptr<void> dropped;  // destroyed outside the lock
  std::lock_guard lock(c.mutex);
  if (c.running == name) return;
  c.running = name;
  dropped = std::move(c.fixture);
}

}  // namespace

benchmark::internal::Benchmark* add_benchmark(const std::string& name, BenchmarkBody body) {
  return benchmark::RegisterBenchmark(name.c_str(),
                                      [name, body = std::move(body)](benchmark::State& state) {
                                        enter(name);
                                        body(state);
                                      });
}

benchmark::internal::Benchmark* add_store_size_benchmark(const std::string& name,
                                                         std::size_t tasks, BenchmarkBody body) {
  return add_benchmark(name, std::move(body))
      ->ArgName("tasks")
      ->Arg(static_cast<std::int64_t>(tasks))
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

void fail(benchmark::State& state, const std::string& message) {
  failed = true;
  state.SkipWithError(message.c_str());
}

bool any_failure() { return failed; }

std::shared_ptr<void> cached_fixture(const std::function<std::shared_ptr<void>()>& make) {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  if (!c.fixture) c.fixture = make();
  return c.fixture;
}

void drop_cached_fixture() {
  std::shared_ptr<void> dropped;
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  dropped = std::move(c.fixture);
  c.running.clear();
}

}  // namespace taskstore::bench
