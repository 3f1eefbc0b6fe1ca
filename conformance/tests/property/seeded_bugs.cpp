#include "seeded_bugs.hpp"

#include <map>
#include <mutex>

#include "taskstore/storage_wrapper.hpp"
#include "taskstore/memory_storage.hpp"

namespace taskstore::conformance::seeded {

namespace {

using namespace std::chrono_literals;

// Forwards every operation to a MemoryStorage; each seeded bug overrides one or two.
class ForwardingStorage : public StorageWrapper {
 public:
  explicit ForwardingStorage(Clock clock)
      : StorageWrapper(std::make_shared<MemoryStorage>(std::move(clock))) {}
};

// Behaves exactly like a store that writes attempts = 0 when it reschedules: it remembers
// how many attempts the inner store had counted at a task's last reschedule and leaves
// them out of every task it hands back, so later claims count up from zero again.
class ResetsAttemptsOnReschedule final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;

  Awaitable<void> reschedule(std::string id, Timestamp new_eta) override {
    auto op = target().reschedule(id, new_eta);
    co_await std::move(op);
    auto read = target().get_task(id);
    const std::optional<Task> task = co_await std::move(read);
    std::lock_guard lock(mutex_);
    if (task) forgotten_[id] = task->attempts;
  }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto op = target().dequeue(now);
    std::optional<Task> task = co_await std::move(op);
    co_return forget(std::move(task));
  }
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    auto op = target().get_task(std::move(id));
    std::optional<Task> task = co_await std::move(op);
    co_return forget(std::move(task));
  }

 private:
  std::optional<Task> forget(std::optional<Task> task) {
    std::lock_guard lock(mutex_);
    if (task) {
      const auto it = forgotten_.find(task->id);
      if (it != forgotten_.end()) task->attempts -= it->second;
    }
    return task;
  }

  std::mutex mutex_;
  std::map<std::string, std::int32_t> forgotten_;
};

class PurgesAtTheCutoff final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;

  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    return target().purge_results(older_than + 1us);
  }
};

class KeepsMilliseconds final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;

  Awaitable<std::string> enqueue(Task task) override {
    task.created_at = std::chrono::floor<std::chrono::milliseconds>(task.created_at);
    return target().enqueue(std::move(task));
  }
};

// One shared instance per environment, like the memory backend's.
template <typename Storage, bool kTakesAClock>
class Environment final : public StoreEnvironment {
 public:
  std::shared_ptr<BaseStorage> open() override {
    if (!store_) store_ = std::make_shared<Storage>(system_clock());
    return store_;
  }
  std::shared_ptr<BaseStorage> open_with_clock(Clock clock) override {
    if (!kTakesAClock || store_) return nullptr;
    store_ = std::make_shared<Storage>(std::move(clock));
    return store_;
  }
  std::string location() const override { return "memory (seeded for the property self-test)"; }

 private:
  std::shared_ptr<Storage> store_;
};

template <typename Storage, bool kTakesAClock = true>
Backend backend(std::string name) {
  return Backend{.name = std::move(name), .capabilities = {}, .make_environment = [] {
                   return std::make_unique<Environment<Storage, kTakesAClock>>();
                 }};
}

}  // namespace

Backend reschedule_resets_attempts() {
  return backend<ResetsAttemptsOnReschedule>("reschedule_resets_attempts");
}

Backend purge_at_cutoff() { return backend<PurgesAtTheCutoff>("purge_at_cutoff"); }

Backend created_at_in_milliseconds() {
  return backend<KeepsMilliseconds>("created_at_in_milliseconds");
}

Backend correct_without_clock() {
  return backend<ForwardingStorage, false>("correct_without_clock");
}

}  // namespace taskstore::conformance::seeded
