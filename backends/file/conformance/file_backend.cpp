#include "taskstore/conformance/file_backend.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "taskstore/file_storage.hpp"

#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::conformance {

namespace fs = std::filesystem;
using detail::prepared_parent;
using detail::remove_quietly;
using detail::unique_name;

namespace {

class FileEnvironment final : public StoreEnvironment {
 public:
  explicit FileEnvironment(const fs::path& parent) : directory_(parent / unique_name("store")) {}
  ~FileEnvironment() override { remove_quietly(directory_); }

  std::shared_ptr<BaseStorage> open() override {
    return std::make_shared<FileStorage>(FileStorageOptions{.directory = directory_});
  }
  std::shared_ptr<BaseStorage> open_with_clock(Clock clock) override {
    return std::make_shared<FileStorage>(
        FileStorageOptions{.directory = directory_, .clock = std::move(clock)});
  }
  std::string location() const override { return directory_.string(); }
  std::optional<fs::path> files_directory() const override { return directory_; }

  // An exclusive flock(2) on the store's lock file through a descriptor of its own, as
  // another process's instance holds it while it writes, until the hold ends.
  std::unique_ptr<HeldLock> hold_write_lock() override {
    class Flock final : public HeldLock {
     public:
      explicit Flock(const fs::path& path) : fd_(::open(path.c_str(), O_RDWR | O_CLOEXEC)) {
        int error = fd_ < 0 ? errno : 0;
        while (error == 0 && ::flock(fd_, LOCK_EX) != 0) {
          if (errno != EINTR) error = errno;
        }
        if (error != 0) {
          if (fd_ >= 0) ::close(fd_);
          throw StorageError("hold_write_lock: cannot lock " + path.string() + ": " +
                             std::strerror(error));
        }
      }
      ~Flock() override { ::close(fd_); }  // closing the descriptor releases the lock

     private:
      int fd_;
    };
    return std::make_unique<Flock>(
        FileStorage(FileStorageOptions{.directory = directory_}).lock_path());
  }

  bool corrupt_task(const std::string& task_id) override {
    return overwrite(FileStorage(FileStorageOptions{.directory = directory_}).task_path(task_id));
  }

  bool corrupt_result(const std::string& task_id) override {
    return overwrite(FileStorage(FileStorageOptions{.directory = directory_}).result_path(task_id));
  }

 private:
  // Replaces the record in an existing file with bytes no decoder accepts.
  static bool overwrite(const fs::path& path) {
    if (!fs::exists(path)) return false;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "this is not a taskstore record";
    return static_cast<bool>(out);
  }

  fs::path directory_;
};

}  // namespace

Backend file_backend(fs::path parent) {
  parent = prepared_parent(std::move(parent), "file");
  return Backend{.name = "file",
                 .capabilities = {.persistent = true, .multi_process = true, .batch_claims = true},
                 .make_environment = [parent] {
                   return std::make_unique<FileEnvironment>(parent);
                 }};
}

BackendScheme file_scheme() {
  return directory_scheme(
      "file", "one-file-per-task store; each test uses a fresh subdirectory of DIR",
      [](const std::string& dir) { return file_backend(dir); });
}

}  // namespace taskstore::conformance
