#pragma once
// Helpers shared by the file backend's tests: temporary directories, a settable clock,
// running a coroutine to completion, and sample tasks.

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "taskstore/file_storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::file_test {

// A fresh directory under the system temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A clock the test sets; copies share the time.
class TestClock {
 public:
  explicit TestClock(std::int64_t micros = 1'000'000'000)
      : now_(std::make_shared<std::atomic<std::int64_t>>(micros)) {}
  Timestamp now() const { return from_micros(now_->load()); }
  void set(std::int64_t micros) { now_->store(micros); }
  Clock clock() const {
    return [now = now_] { return from_micros(now->load()); };
  }

 private:
  std::shared_ptr<std::atomic<std::int64_t>> now_;
};

std::unique_ptr<FileStorage> open_store(const std::filesystem::path& dir,
                                        Clock clock = TestClock().clock(),
                                        std::size_t io_threads = 2);

// A valid PENDING task with plain field values.
Task make_task(std::string id, std::int64_t eta_micros = 1'000);

// A task with every field set to something that is easy to get wrong.
Task tricky_task(std::string id);

// The file names in `dir` (empty if it is missing), sorted.
std::vector<std::string> file_names(const std::filesystem::path& dir);

std::vector<std::byte> read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes);

}  // namespace taskstore::file_test
