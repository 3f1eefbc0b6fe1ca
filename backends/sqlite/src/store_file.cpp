#include "store_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
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
  const fs::path temporary = path.string() + ".creating-" + std::to_string(::getpid()) + "-" +
                             std::to_string(counter.fetch_add(1));
  try {
    {
      ConnectionOptions building = options;
      building.path = temporary;
      Connection connection(building);
      ensure_schema(connection);
    }  // the last connection closes: SQLite checkpoints the WAL into the file and removes it
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

}  // namespace

void prepare_store_file(const ConnectionOptions& options) {
  struct stat status {};
  if (::stat(options.path.c_str(), &status) == 0) {
    if (S_ISREG(status.st_mode) && status.st_size == 0) {
      throw CorruptionError("sqlite store " + options.path.string() +
                            " exists but is empty (0 bytes); a store is never empty, not "
                            "even a new one, so this one lost its contents. Move the file "
                            "away to start a new store there");
    }
    return;
  }
  if (errno != ENOENT) fail_errno("cannot look at the database file", options.path, errno);
  create_whole(options);
}

}  // namespace taskstore::sqlite
