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

#include "taskstore/storage_wrapper.hpp"
#include "taskstore/conformance/file_backend.hpp"
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
class ForwardingStorage : public StorageWrapper {
 public:
  explicit ForwardingStorage(std::shared_ptr<BaseStorage> inner)
      : StorageWrapper(std::move(inner)) {}
};

// Breaks the claim rules: hands each task it claims back once (due again at its eta), so
// the task is claimed a second time.
class UnclaimingStorage final : public ForwardingStorage {
 public:
  using ForwardingStorage::ForwardingStorage;

  Awaitable<std::optional<Task>> dequeue(Timestamp now) override {
    auto task = co_await target().dequeue(now);
    if (task && released_.insert(task->id).second) {
      co_await target().reschedule(task->id, task->eta);
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
  std::optional<fs::path> files_directory() const override { return inner_->files_directory(); }

 private:
  std::unique_ptr<StoreEnvironment> inner_;
  Wrap wrap_;
};

}  // namespace taskstore::conformance::selftest
