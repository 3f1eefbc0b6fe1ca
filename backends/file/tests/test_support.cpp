#include "test_support.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>

namespace taskstore::file_test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::random_device rd;
  const auto suffix = std::to_string(rd()) + std::to_string(rd());
  path_ = fs::temp_directory_path() / ("taskstore-test-" + suffix);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::unique_ptr<FileStorage> open_store(const fs::path& dir, Clock clock, std::size_t io_threads) {
  return std::make_unique<FileStorage>(
      FileStorageOptions{.directory = dir, .io_threads = io_threads, .clock = std::move(clock)});
}

Task make_task(std::string id, std::int64_t eta_micros) {
  Task task;
  task.id = std::move(id);
  task.name = "handler";
  task.payload = to_bytes("payload");
  task.eta = from_micros(eta_micros);
  task.max_retries = 3;
  task.created_at = from_micros(100);
  task.updated_at = from_micros(100);
  return task;
}

Task tricky_task(std::string id) {
  Task task;
  task.id = std::move(id);
  task.name = "h\xC3\xA9ndler-\xE2\x9C\x93";
  task.payload = to_bytes(std::string("a\0b\0\0\xff\xfe", 7));
  task.status = TaskStatus::PENDING;
  task.eta = from_micros(-1'234'567);  // before 1970
  task.attempts = 2;
  task.max_retries = 7;
  task.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::exponential,
                           .delay = Duration{1'500},
                           .max_delay = Duration{60'000'001},
                           .jitter = true};
  task.schedule = IntervalSchedule{Duration{3'600'000'001}};
  task.last_error = std::string();  // empty, not none
  task.created_at = from_micros(1'700'000'000'123'456);
  task.updated_at = from_micros(1'700'000'000'654'321);
  return task;
}

std::vector<std::string> file_names(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::byte> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return to_bytes(text);
}

void write_bytes(const fs::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace taskstore::file_test
