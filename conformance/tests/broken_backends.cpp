#include "broken_backends.hpp"

#include "taskstore/memory_storage.hpp"

namespace taskstore::conformance::selftest {

namespace {

using namespace std::chrono_literals;

// Forwards every operation to a MemoryStorage; each broken backend overrides one.
class ForwardingStorage : public BaseStorage {
 public:
  Awaitable<std::string> enqueue(Task task) override { return inner_.enqueue(std::move(task)); }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override { return inner_.dequeue(now); }
  Awaitable<void> mark_running(std::string id) override { return inner_.mark_running(id); }
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    return inner_.mark_done(std::move(id), std::move(result));
  }
  Awaitable<std::optional<TaskResult>> get_result(std::string id) override {
    return inner_.get_result(std::move(id));
  }
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    return inner_.purge_results(older_than);
  }
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    return inner_.mark_failed(std::move(id), std::move(error), will_retry);
  }
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    return inner_.get_task(std::move(id));
  }
  Awaitable<void> reschedule(std::string id, Timestamp new_eta) override {
    return inner_.reschedule(std::move(id), new_eta);
  }

 protected:
  MemoryStorage inner_;
};

class FailsInsteadOfRetrying final : public ForwardingStorage {
 public:
  Awaitable<void> mark_failed(std::string id, std::string error, bool) override {
    return inner_.mark_failed(std::move(id), std::move(error), false);
  }
};

class PurgesAtTheCutoff final : public ForwardingStorage {
 public:
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    return inner_.purge_results(older_than + 1us);
  }
};

class StrictEtaBoundary final : public ForwardingStorage {
 public:
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    return inner_.dequeue(now - 1us);
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
          scheme<StrictEtaBoundary>("broken_eta_boundary", "breaks DEQ-3")};
}

}  // namespace taskstore::conformance::selftest
