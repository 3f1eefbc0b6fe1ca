#include "taskstore/conformance/environment_helpers.hpp"

#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <system_error>

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
