#pragma once
// Helpers for StoreEnvironment implementations: TemporaryDirectory for an author's own
// backend, and the small pieces the reference backends' environments share.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace taskstore::conformance {

// A fresh, empty directory, removed with everything in it when this is destroyed: the
// usual place for a StoreEnvironment to keep its store. Made under `parent` (created if
// needed), or under the system's temporary directory when `parent` is empty. Only the
// process that made it removes it: a copy destroyed in a forked child (the suite's worker
// and crash processes) leaves it alone. Throws StorageError naming the path if it cannot
// be made.
class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(std::string_view prefix = "taskstore-store",
                              const std::filesystem::path& parent = {});
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  pid_t creator_;
};

}  // namespace taskstore::conformance

namespace taskstore::conformance::detail {

// A name no other test, thread or process will pick in the same parent directory.
std::string unique_name(std::string_view prefix);

// Removes a file or directory tree, ignoring errors (cleanup after a test).
void remove_quietly(const std::filesystem::path& path);

// Creates `parent` if needed; throws std::invalid_argument naming `backend` and the path
// if it can't be used as a directory.
std::filesystem::path prepared_parent(std::filesystem::path parent, std::string_view backend);

}  // namespace taskstore::conformance::detail
