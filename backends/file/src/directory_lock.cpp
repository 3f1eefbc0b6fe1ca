#include "directory_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>

namespace taskstore::file_backend {

DirectoryLock::DirectoryLock(const std::filesystem::path& lock_path)
    : path_(lock_path), fd_(open_file(lock_path, O_RDWR | O_CREAT)) {
  while (::flock(fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) throw_errno("flock", path_, errno);
  }
}

std::uint64_t DirectoryLock::next_sequence() {
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
  // The real wall clock, never the store's injectable one: it is what keeps numbers
  // rising after a crash lost the unsynced counter.
  const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  const std::uint64_t next =
      std::max(last + 1, static_cast<std::uint64_t>(std::max<std::int64_t>(wall, 0)));
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<unsigned char>(next >> (8 * i));
  do {
    n = ::pwrite(fd_.get(), buf.data(), buf.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(buf.size())) {
    throw_errno("pwrite", path_, n < 0 ? errno : EIO);
  }
  return next;
}

}  // namespace taskstore::file_backend
