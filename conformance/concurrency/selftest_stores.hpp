#pragma once
// Test doubles for the self-tests of the process helpers (run_claim_race, run_crash_cycles):
// a scratch directory, a forwarding store to break on purpose, and a file store
// environment whose instances a test wraps.

#include <unistd.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>

#include "taskstore/conformance/reference_backends.hpp"
#include "taskstore/conformance/registry.hpp"

namespace taskstore::conformance::selftest {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "taskstore-selftest-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Passes every call to another store; the broken stores below override a few.
class ForwardingStorage : public BaseStorage {
 public:
  explicit ForwardingStorage(std::shared_ptr<BaseStorage> inner) : inner_(std::move(inner)) {}
  Awaitable<std::string> enqueue(Task task) override { return inner_->enqueue(std::move(task)); }
  Awaitable<std::optional<Task>> dequeue(Timestamp now) override { return inner_->dequeue(now); }
  Awaitable<void> mark_running(std::string id) override { return inner_->mark_running(std::move(id)); }
  Awaitable<void> mark_done(std::string id, TaskResult result) override {
    return inner_->mark_done(std::move(id), std::move(result));
  }
  Awaitable<std::optional<TaskResult>> get_result(std::string id) override {
    return inner_->get_result(std::move(id));
  }
  Awaitable<std::size_t> purge_results(Timestamp older_than) override {
    return inner_->purge_results(older_than);
  }
  Awaitable<void> mark_failed(std::string id, std::string error, bool will_retry) override {
    return inner_->mark_failed(std::move(id), std::move(error), will_retry);
  }
  Awaitable<std::optional<Task>> get_task(std::string id) override {
    return inner_->get_task(std::move(id));
  }
  Awaitable<void> reschedule(std::string id, Timestamp new_eta) override {
    return inner_->reschedule(std::move(id), new_eta);
  }

 protected:
  std::shared_ptr<BaseStorage> inner_;
};

// Breaks the claim rules: hands each task it claims back once (due again at its eta), so
// the task is claimed a second time.
class UnclaimingStorage final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;

  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto task = co_await inner_->dequeue(now);
    if (task && released_.insert(task->id).second) {
      co_await inner_->reschedule(task->id, task->eta);
    }
    co_return task;
  }

 private:
  std::set<std::string> released_;
};

// A file store environment whose instances `wrap` turns into something else.
class WrappedEnvironment final : public StoreEnvironment {
 public:
  using Wrap = std::function<std::shared_ptr<BaseStorage>(std::shared_ptr<BaseStorage>)>;
  WrappedEnvironment(const fs::path& parent, Wrap wrap)
      : inner_(file_backend(parent).make_environment()), wrap_(std::move(wrap)) {}

  std::shared_ptr<BaseStorage> open() override { return wrap_(inner_->open()); }
  std::string location() const override { return inner_->location(); }

 private:
  std::unique_ptr<StoreEnvironment> inner_;
  Wrap wrap_;
};

}  // namespace taskstore::conformance::selftest
