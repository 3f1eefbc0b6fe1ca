#include "taskstore/conformance/reference_backends.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "taskstore/file_storage.hpp"
#include "taskstore/memory_storage.hpp"

namespace taskstore::conformance {

namespace fs = std::filesystem;

namespace {

// A name no other test, thread or process will pick in the same parent directory.
std::string unique_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

void remove_quietly(const fs::path& path) {
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

class MemoryEnvironment final : public StoreEnvironment {
 public:
  // A memory store lives only as long as its one instance; every open() shares it.
  std::shared_ptr<BaseStorage> open() override {
    if (!store_) store_ = std::make_shared<MemoryStorage>();
    return store_;
  }
  std::string location() const override { return "memory"; }

 private:
  std::shared_ptr<MemoryStorage> store_;
};

class FileEnvironment final : public StoreEnvironment {
 public:
  explicit FileEnvironment(const fs::path& parent) : directory_(parent / unique_name("store")) {}
  ~FileEnvironment() override { remove_quietly(directory_); }

  std::shared_ptr<BaseStorage> open() override {
    return std::make_shared<FileStorage>(FileStorageOptions{.directory = directory_});
  }
  std::string location() const override { return directory_.string(); }

  bool corrupt_task(const std::string& task_id) override {
    const fs::path path = FileStorage(FileStorageOptions{.directory = directory_}).task_path(task_id);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "this is not a taskstore record";
    return static_cast<bool>(out);
  }

 private:
  fs::path directory_;
};

class SqliteEnvironment final : public StoreEnvironment {
 public:
  SqliteEnvironment(const fs::path& parent, SqliteStorageOptions::Synchronous synchronous)
      : path_(parent / (unique_name("store") + ".db")), synchronous_(synchronous) {}
  ~SqliteEnvironment() override {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      remove_quietly(fs::path(path_.string() + suffix));
    }
  }

  std::shared_ptr<BaseStorage> open() override {
    return std::make_shared<SqliteStorage>(
        SqliteStorageOptions{.path = path_, .synchronous = synchronous_});
  }
  std::string location() const override { return path_.string(); }

  // Writes a value of the wrong type into the task's eta column, behind the backend.
  bool corrupt_task(const std::string& task_id) override {
    sqlite3* db = nullptr;
    bool ok = sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK;
    sqlite3_stmt* stmt = nullptr;
    ok = ok && sqlite3_busy_timeout(db, 5000) == SQLITE_OK &&
         sqlite3_prepare_v2(db, "UPDATE tasks SET eta = 'not a time' WHERE id = ?1", -1, &stmt,
                            nullptr) == SQLITE_OK &&
         sqlite3_bind_text(stmt, 1, task_id.data(), static_cast<int>(task_id.size()),
                           SQLITE_TRANSIENT) == SQLITE_OK &&
         sqlite3_step(stmt) == SQLITE_DONE && sqlite3_changes(db) == 1;
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
    return ok;
  }

 private:
  fs::path path_;
  SqliteStorageOptions::Synchronous synchronous_;
};

fs::path prepared_parent(fs::path parent, std::string_view backend) {
  std::error_code error;
  fs::create_directories(parent, error);
  if (error || !fs::is_directory(parent)) {
    throw std::invalid_argument(std::string(backend) + ": cannot use directory '" +
                                parent.string() + "': " +
                                (error ? error.message() : "not a directory"));
  }
  return parent;
}

}  // namespace

Backend memory_backend() {
  return Backend{.name = "memory",
                 .capabilities = {.persistent = false, .multi_process = false},
                 .make_environment = [] { return std::make_unique<MemoryEnvironment>(); }};
}

Backend file_backend(fs::path parent) {
  parent = prepared_parent(std::move(parent), "file");
  return Backend{.name = "file",
                 .capabilities = {.persistent = true, .multi_process = true},
                 .make_environment = [parent] {
                   return std::make_unique<FileEnvironment>(parent);
                 }};
}

Backend sqlite_backend(fs::path parent, SqliteStorageOptions::Synchronous synchronous) {
  parent = prepared_parent(std::move(parent), "sqlite");
  return Backend{.name = "sqlite",
                 .capabilities = {.persistent = true, .multi_process = true},
                 .make_environment = [parent, synchronous] {
                   return std::make_unique<SqliteEnvironment>(parent, synchronous);
                 }};
}

}  // namespace taskstore::conformance
