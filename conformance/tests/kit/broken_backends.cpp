#include "broken_backends.hpp"

#include "taskstore/errors.hpp"
#include "taskstore/memory_storage.hpp"
#include "taskstore/storage_wrapper.hpp"

namespace taskstore::conformance::selftest {

namespace {

using namespace std::chrono_literals;

// Forwards every operation to a MemoryStorage; each broken backend overrides one.
class ForwardingStorage : public StorageWrapper {
 public:
  ForwardingStorage() : StorageWrapper(std::make_shared<MemoryStorage>()) {}
};

class FailsInsteadOfRetrying final : public ForwardingStorage {
 public:
  Awaitable<void> mark_failed(std::string id, std::string error, bool) override {
    return target().mark_failed(std::move(id), std::move(error), false);
  }
};

class PurgesAtTheCutoff final : public ForwardingStorage {
 public:
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    return target().purge_results(older_than + 1us);
  }
};

class StrictEtaBoundary final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    return target().dequeue(now - 1us);
  }
};

class RefusesFinalFailure final : public ForwardingStorage {
 public:
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    if (!will_retry) throw StorageError("mark_failed of task '" + id + "': refused on purpose");
    auto op = target().mark_failed(std::move(id), std::move(error), will_retry);
    co_await std::move(op);
  }
};

template <typename Storage>
class Environment final : public StoreEnvironment {
 public:
  std::shared_ptr<BaseStorage> open() override {
    if (!store_) store_ = std::make_shared<Storage>();
    return store_;
  }
  std::string location() const override { return "memory (deliberately broken)"; }

 private:
  std::shared_ptr<Storage> store_;
};

template <typename Storage>
BackendScheme scheme(std::string name, std::string help) {
  return BackendScheme{
      .name = name,
      .arg_help = "",
      .help = std::move(help),
      .make = [name](const std::string&) {
        return Backend{.name = name,
                       .capabilities = {},
                       .make_environment = [] { return std::make_unique<Environment<Storage>>(); }};
      },
      .default_arg = nullptr};
}

}  // namespace

std::vector<BackendScheme> broken_schemes() {
  return {scheme<FailsInsteadOfRetrying>("broken_mark_failed", "breaks FAIL-1"),
          scheme<PurgesAtTheCutoff>("broken_purge", "breaks PUR-2"),
          scheme<StrictEtaBoundary>("broken_eta_boundary", "breaks DEQ-3"),
          scheme<RefusesFinalFailure>("broken_final_failure", "breaks FAIL-3")};
}

}  // namespace taskstore::conformance::selftest
