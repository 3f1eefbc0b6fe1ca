// raw_file: write + fsync + rename + directory fsync, the unit of durability every file
// store operation is built from (FILE-2).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "baselines.hpp"
#include "record_codec.hpp"

namespace taskstore::bench {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const char* call, const fs::path& path) {
  throw std::runtime_error(std::string(call) + " " + path.string() + ": " +
                           std::strerror(errno));
}

// Atomic durable writes of one record-sized file into one directory, as the file store
// writes a task record.
class RawFileWriter {
 public:
  RawFileWriter(fs::path directory, std::size_t payload_bytes)
      : directory_(std::move(directory)),
        record_(file_backend::encode_task(
            file_backend::StoredTask{make_task(0, payload_bytes, preload_eta(0)), 1})) {
    dir_fd_ = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd_ < 0) fail("open", directory_);
  }
  ~RawFileWriter() { ::close(dir_fd_); }
  RawFileWriter(const RawFileWriter&) = delete;
  RawFileWriter& operator=(const RawFileWriter&) = delete;

  void write(std::size_t index) {
    const std::string name = std::to_string(index);
    const fs::path temp = directory_ / ("tmp-" + name);
    const fs::path target = directory_ / (name + ".rec");
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("open", temp);
    std::size_t done = 0;
    while (done < record_.size()) {
      const ssize_t n = ::write(fd, record_.data() + done, record_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("write", temp);
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) fail("fsync", temp);
    if (::close(fd) != 0) fail("close", temp);
    if (::rename(temp.c_str(), target.c_str()) != 0) fail("rename", temp);
    if (::fsync(dir_fd_) != 0) fail("fsync", directory_);
  }

 private:
  fs::path directory_;
  Bytes record_;
  int dir_fd_ = -1;
};

fs::path records_directory(const fs::path& scratch) {
  const fs::path directory = scratch / "records";
  fs::create_directories(directory);
  return directory;
}

class RawFileContender final : public Contender {
 public:
  RawFileContender(const fs::path& directory, std::size_t payload_bytes,
                   std::atomic<std::size_t>& next, std::size_t tasks)
      : writer_(directory, payload_bytes), next_(next), tasks_(tasks) {}

  ClaimCount claim(std::uint64_t limit) override {
    ClaimCount count;
    while (count.claims < limit) {
      const std::size_t index = next_.fetch_add(1);
      if (index >= tasks_) break;
      writer_.write(index);
      ++count.claims;
    }
    return count;
  }

 private:
  RawFileWriter writer_;
  std::atomic<std::size_t>& next_;
  std::size_t tasks_;
};

class RawFileTarget final : public DrainTarget {
 public:
  RawFileTarget(const fs::path& scratch, std::size_t tasks, std::size_t payload_bytes)
      : directory_(records_directory(scratch)), tasks_(tasks), payload_bytes_(payload_bytes) {}

  std::unique_ptr<Contender> contender() override {
    return std::make_unique<RawFileContender>(directory_, payload_bytes_, next_, tasks_);
  }

 private:
  fs::path directory_;
  std::size_t tasks_;
  std::size_t payload_bytes_;
  std::atomic<std::size_t> next_{0};
};

class RawFileEnqueuer final : public RawEnqueuer {
 public:
  RawFileEnqueuer(const fs::path& scratch, std::size_t payload_bytes)
      : writer_(records_directory(scratch), payload_bytes) {}

  void enqueue(std::size_t index) override { writer_.write(index); }

 private:
  RawFileWriter writer_;
};

}  // namespace

BaselineSpec raw_file_baseline() {
  return BaselineSpec{
      .medium = "file",
      .drain = [](const fs::path& scratch, std::size_t tasks,
                  std::size_t payload_bytes) -> std::unique_ptr<DrainTarget> {
        return std::make_unique<RawFileTarget>(scratch, tasks, payload_bytes);
      },
      .enqueuer = [](const fs::path& scratch,
                     std::size_t payload_bytes) -> std::unique_ptr<RawEnqueuer> {
        return std::make_unique<RawFileEnqueuer>(scratch, payload_bytes);
      },
      .sized = false};
}

}  // namespace taskstore::bench
