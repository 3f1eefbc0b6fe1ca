#include "taskstore/conformance/environment_helpers.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "taskstore/errors.hpp"

namespace taskstore::conformance {

namespace fs = std::filesystem;

TemporaryDirectory::TemporaryDirectory(std::string_view prefix, const fs::path& parent)
    : creator_(::getpid()) {
  std::error_code error;
  const fs::path base = parent.empty() ? fs::temp_directory_path(error) : parent;
  if (!error) fs::create_directories(base, error);
  if (error) {
    throw StorageError("cannot make a temporary directory under '" + base.string() +
                       "': " + error.message());
  }
  std::string pattern = (base / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw StorageError("cannot make a temporary directory from '" + pattern +
                       "': " + std::generic_category().message(errno));
  }
  path_ = pattern;
}

TemporaryDirectory::~TemporaryDirectory() {
  if (::getpid() == creator_) detail::remove_quietly(path_);
}

}  // namespace taskstore::conformance

namespace taskstore::conformance::detail {

namespace fs = std::filesystem;

std::string unique_name(std::string_view prefix) {
  static std::atomic<unsigned> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1));
}

void remove_quietly(const fs::path& path) {
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

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

}  // namespace taskstore::conformance::detail
