#include "posix_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>

#include "taskstore/errors.hpp"

namespace taskstore::file_backend {

namespace fs = std::filesystem;

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void throw_errno(std::string_view call, const fs::path& path, int err) {
  throw StorageError(std::string(call) + " " + path.string() + ": " + std::strerror(err));
}

UniqueFd open_file(const fs::path& path, int flags, unsigned mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, static_cast<mode_t>(mode));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_errno("open", path, errno);
  return UniqueFd(fd);
}

void write_all(int fd, std::span<const std::byte> bytes, const fs::path& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write", path, errno);
    }
    done += static_cast<std::size_t>(n);
  }
}

namespace {

void fsync_fd(int fd, const fs::path& path) {
  if (::fsync(fd) != 0) throw_errno("fsync", path, errno);
}

// Closes explicitly so that a deferred write error (NFS, quota) is reported.
void close_checked(UniqueFd fd, const fs::path& path) {
  if (::close(fd.release()) != 0 && errno != EINTR) throw_errno("close", path, errno);
}

}  // namespace

std::string temp_file_name(const std::string& target_name) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(engine()));
  return std::string(kTempPrefix) + buf + "-" + target_name;
}

std::optional<Bytes> read_file(const fs::path& path) {
  int fd;
  do {
    // O_NONBLOCK and O_NOFOLLOW: a FIFO or a symlink planted in the store must give an
    // error, not block a thread that holds the store lock or read some other file.
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return std::nullopt;
    if (err == ELOOP) throw CorruptionError(path.string() + ": is a symbolic link, not a record");
    throw_errno("open", path, err);
  }
  const UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno("fstat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    throw CorruptionError(path.string() + ": is not a regular file");
  }
  Bytes out;
  out.reserve(static_cast<std::size_t>(st.st_size));
  std::byte chunk[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", path, errno);
    }
    if (n == 0) break;
    out.insert(out.end(), chunk, chunk + n);
  }
  return out;
}

TempFile write_temp_file(const fs::path& dir, const std::string& target_name,
                         std::span<const std::byte> bytes) {
  TempFile temp;
  for (int attempt = 0;; ++attempt) {
    temp.path = dir / temp_file_name(target_name);
    const int raw = ::open(temp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (raw >= 0) {
      temp.fd = UniqueFd(raw);
      break;
    }
    if ((errno != EEXIST && errno != EINTR) || attempt > 16) {
      throw_errno("create", temp.path, errno);
    }
  }
  try {
    write_all(temp.fd.get(), bytes, temp.path);
  } catch (...) {
    ::unlink(temp.path.c_str());  // best effort; a leftover is removed at the next open
    throw;
  }
  return temp;
}

void start_writeback(const TempFile& temp) noexcept {
  ::sync_file_range(temp.fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
}

void sync_and_close(TempFile& temp) {
  fsync_fd(temp.fd.get(), temp.path);
  close_checked(std::move(temp.fd), temp.path);
}

void rename_file(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    const int err = errno;  // before building the message, which may allocate
    throw_errno("rename to " + to.string(), from, err);
  }
}

void write_file_atomically(const fs::path& dir, const std::string& name,
                           std::span<const std::byte> bytes) {
  TempFile temp = write_temp_file(dir, name, bytes);
  try {
    sync_and_close(temp);
    rename_file(temp.path, dir / name);
  } catch (...) {
    ::unlink(temp.path.c_str());  // best effort; a leftover is removed at the next open
    throw;
  }
  fsync_directory(dir);
}

void create_empty_file(const fs::path& path) {
  UniqueFd fd = open_file(path, O_WRONLY | O_CREAT);
  close_checked(std::move(fd), path);
}

bool remove_file(const fs::path& path) {
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw_errno("unlink", path, errno);
}

bool file_exists(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  throw_errno("stat", path, errno);
}

void make_directory(const fs::path& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return;
  throw_errno("mkdir", path, errno);
}

void fsync_directory(const fs::path& dir) {
  UniqueFd fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  fsync_fd(fd.get(), dir);
}

std::vector<std::string> list_directory(const fs::path& dir) {
  const std::unique_ptr<DIR, int (*)(DIR*)> handle(::opendir(dir.c_str()), &::closedir);
  if (!handle) throw_errno("opendir", dir, errno);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(handle.get());
    if (entry == nullptr) {
      if (errno != 0) throw_errno("readdir", dir, errno);
      return names;
    }
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
}

}  // namespace taskstore::file_backend
