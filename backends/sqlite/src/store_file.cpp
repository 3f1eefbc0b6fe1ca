#include "store_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>

#include "schema.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::sqlite {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path, int error) {
  throw StorageError("sqlite store " + path.string() + ": " + what + ": " +
                     std::strerror(error));
}

void fsync_path(const fs::path& path, int flags, const fs::path& store) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail_errno("cannot open " + path.string() + " to make it durable", store, errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) fail_errno("fsync of " + path.string() + " failed", store, error);
}

// Removes the temporary database and whatever SQLite left beside it.
void remove_temporary(const fs::path& temporary) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    ::unlink((temporary.string() + suffix).c_str());
  }
}

void create_whole(const ConnectionOptions& options) {
  static std::atomic<unsigned> counter{0};
  const fs::path& path = options.path;
  // The pid, a counter and a random number: unique also across PID namespaces that share
  // the directory.
  const fs::path temporary = path.string() + ".creating-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter.fetch_add(1)) + "-" +
                             std::to_string(std::random_device{}());
  try {
    {
      ConnectionOptions building = options;
      building.path = temporary;
      Connection connection(building);
      ensure_schema(connection);
      // Everything into the database file itself before it is made durable and linked:
      // a checkpoint that could not finish would leave the schema in the WAL alone.
      auto checkpoint = connection.statement("PRAGMA wal_checkpoint(TRUNCATE)");
      if (!checkpoint->step() || checkpoint->column_int64(0) != 0) {
        throw StorageError("sqlite store " + path.string() +
                           ": the new store's checkpoint did not finish");
      }
    }
    if (::access((temporary.string() + "-wal").c_str(), F_OK) == 0 &&
        std::filesystem::file_size(temporary.string() + "-wal") != 0) {
      throw StorageError("sqlite store " + path.string() +
                         ": the new store still has a write-ahead log after its checkpoint");
    }
    fsync_path(temporary, O_RDONLY, path);
    if (::link(temporary.c_str(), path.c_str()) != 0 && errno != EEXIST) {
      fail_errno("cannot link the new store into place", path, errno);
    }
    // EEXIST: another process put its store there first; that one is the store.
  } catch (...) {
    remove_temporary(temporary);
    throw;
  }
  remove_temporary(temporary);
  const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fsync_path(directory, O_RDONLY | O_DIRECTORY, path);
}

// Raises CorruptionError if `path` is an empty regular file; true if it exists.
bool check_not_empty(const fs::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    if (errno != ENOENT) fail_errno("cannot look at the database file", path, errno);
    return false;
  }
  if (S_ISREG(status.st_mode) && status.st_size == 0) {
    throw CorruptionError("sqlite store " + path.string() +
                          " exists but is empty (0 bytes); a store is never empty, not "
                          "even a new one, so this one lost its contents. Move the file "
                          "away to start a new store there");
  }
  return true;
}

}  // namespace

void prepare_store_file(const ConnectionOptions& options) {
  if (check_not_empty(options.path)) return;
  create_whole(options);
  // What another process linked first, if it did, gets the same check.
  check_not_empty(options.path);
}

}  // namespace taskstore::sqlite
