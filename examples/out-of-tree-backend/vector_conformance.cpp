// vector-conformance: taskstore's conformance suite against VectorStorage, through the
// installed package's public API only (taskstore/conformance/registry.hpp and suite.hpp).
// With no --backend it tests `vector`; `--backend exec:CMD` adds a driver in any language
// to the same run for comparison. See --help.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "taskstore/conformance/fixture.hpp"
#include "taskstore/conformance/registry.hpp"
#include "taskstore/conformance/suite.hpp"
#include "vector_storage.hpp"

namespace tc = taskstore::conformance;

namespace {

// One isolated store per test. Every open() returns the same instance: a VectorStorage is
// its own store, so "another instance on the same store" can only be this one (and the
// backend does not declare multi_process).
class VectorEnvironment final : public tc::StoreEnvironment {
 public:
  std::shared_ptr<taskstore::BaseStorage> open() override {
    if (!store_) store_ = std::make_shared<vector_example::VectorStorage>();
    return store_;
  }

  std::string location() const override { return "vector store (in memory)"; }

  // Lets the property tests own the clock, so they check every updated_at and
  // finished_at the store writes. The instance takes its clock when it is made; once it
  // exists it can't take another.
  std::shared_ptr<taskstore::BaseStorage> open_with_clock(taskstore::Clock clock) override {
    if (store_) return nullptr;
    store_ = std::make_shared<vector_example::VectorStorage>(std::move(clock));
    return store_;
  }

  // corrupt_task is left alone: a vector of Task objects has no stored form to damage,
  // so the corruption tests (DEQ-9, GET-3, RSC-3) are skipped with that reason.

 private:
  std::shared_ptr<vector_example::VectorStorage> store_;
};

tc::Backend vector_backend() {
  return tc::Backend{.name = "vector",
                     .capabilities = {.persistent = false, .multi_process = false},
                     .make_environment = [] { return std::make_unique<VectorEnvironment>(); }};
}

// A test of our own in the suite's style: it runs on every backend the program tests,
// and its verdict joins the table under the requirements it names. A linear scan is
// where an ordering slip would hide, so: many tasks, few distinct etas, enqueued out of
// claim order.
class ManyTasksTest : public tc::ConformanceTest {};

TEST_P(ManyTasksTest, Dequeue_ManyTasksFewEtas_DrainsByEtaThenEnqueueOrder) {
  TASKSTORE_REQUIREMENTS("DEQ-1", "DEQ-4");
  constexpr int kTasks = 200;
  std::vector<std::pair<taskstore::Timestamp, std::string>> expected;  // (eta, id)
  for (int i = 0; i < kTasks; ++i) {
    const std::string id = "many-" + std::to_string(i);
    const taskstore::Timestamp eta = t0() + std::chrono::seconds((kTasks - i) % 7);
    add_task(id, eta);
    expected.emplace_back(eta, id);
  }
  // Earliest eta first; a stable sort keeps enqueue order among equal etas.
  std::stable_sort(expected.begin(), expected.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  const taskstore::Timestamp now = t0() + std::chrono::seconds(7);
  for (const auto& [eta, id] : expected) {
    ASSERT_TRUE(dequeue_returns(now, id)) << "on " << where();
  }
  EXPECT_TRUE(dequeue_returns_nothing(now)) << "on " << where();
}

TASKSTORE_INSTANTIATE_SUITE(ManyTasksTest);

}  // namespace

int main(int argc, char** argv) {
  std::vector<tc::BackendScheme> schemes;
  schemes.push_back(tc::BackendScheme{
      .name = "vector",
      .arg_help = "",
      .help = "VectorStorage (this example's backend)",
      .make = [](const std::string&) { return vector_backend(); },
      .default_arg = [](const std::filesystem::path&) { return std::optional<std::string>(""); }});
  // A driver in any language can be compared with `vector` in the same run
  // (--backend vector --backend exec:CMD); without --backend only `vector` runs, since the
  // exec scheme has no default.
  schemes.push_back(tc::exec_scheme());
  return tc::conformance_main(argc, argv, std::move(schemes));
}
