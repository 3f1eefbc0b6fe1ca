#include "directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <map>
#include <utility>

namespace taskstore::file_backend {

namespace {

// The mutex every instance in this process shares for the lock file (dev, ino).
std::shared_ptr<std::mutex> process_mutex_for(int fd, const std::filesystem::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("fstat", path, errno);
  static std::mutex registry_mutex;
  static std::map<std::pair<dev_t, ino_t>, std::weak_ptr<std::mutex>> registry;
  std::lock_guard guard(registry_mutex);
  std::erase_if(registry, [](const auto& entry) { return entry.second.expired(); });
  auto& slot = registry[{st.st_dev, st.st_ino}];
  auto mutex = slot.lock();
  if (!mutex) {
    mutex = std::make_shared<std::mutex>();
    slot = mutex;
  }
  return mutex;
}

}  // namespace

DirectoryLock::DirectoryLock(const std::filesystem::path& lock_path)
    : path_(lock_path), fd_(open_file(lock_path, O_RDWR | O_CREAT)) {
  process_mutex_ = process_mutex_for(fd_.get(), path_);
  process_hold_ = std::unique_lock(*process_mutex_);
  while (::flock(fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("flock", path_, errno);
  }
}

DirectoryLock::~DirectoryLock() { ::flock(fd_.get(), LOCK_UN); }

std::uint64_t DirectoryLock::read_last() const {
  std::array<unsigned char, 8> buf{};
  ssize_t n;
  do {
    n = ::pread(fd_.get(), buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("pread", path_, errno);
  std::uint64_t last = 0;
  if (n == static_cast<ssize_t>(buf.size())) {  // shorter: a fresh (or torn) lock file
    for (std::size_t i = 0; i < buf.size(); ++i) last |= std::uint64_t{buf[i]} << (8 * i);
  }
  return last;
}

void DirectoryLock::write_last(std::uint64_t last) {
  std::array<unsigned char, 8> buf{};
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(last >> (8 * i));
  ssize_t n;
  do {
    n = ::pwrite(fd_.get(), buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(buf.size())) {
    throw_errno("pwrite", path_, n < 0 ? errno : EIO);
  }
}

void DirectoryLock::raise_sequence_floor(std::uint64_t floor) {
  if (read_last() < floor) write_last(floor);
}

std::uint64_t DirectoryLock::next_sequence() {
  const std::uint64_t last = read_last();
  // The real wall clock, never the store's injectable one: it is what keeps numbers
  // rising after a crash lost the unsynced counter.
  const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  const std::uint64_t next =
      std::max(last + 1, static_cast<std::uint64_t>(std::max<std::int64_t>(wall, 0)));
  write_last(next);
  return next;
}

}  // namespace taskstore::file_backend
