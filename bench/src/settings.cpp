#include "settings.hpp"

#include <stdlib.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace taskstore::bench {

namespace fs = std::filesystem;

namespace {

struct Cleanup {
  fs::path location;
  pid_t owner;
  std::function<void()> run;
};

struct Cleanups {
  std::mutex mutex;
  std::vector<Cleanup> pending;
};

Cleanups& cleanups() {
  static Cleanups instance;
  return instance;
}

bool inside(const fs::path& location, const fs::path& directory) {
  const auto [end, rest] = std::mismatch(directory.begin(), directory.end(), location.begin(),
                                         location.end());
  return end == directory.end();
}

// Takes out the cleanups this process registered for locations inside `directory`.
std::vector<Cleanup> take_cleanups(const fs::path& directory) {
  Cleanups& all = cleanups();
  std::lock_guard lock(all.mutex);
  std::vector<Cleanup> taken;
  std::vector<Cleanup> kept;
  for (Cleanup& cleanup : all.pending) {
    const bool ours = cleanup.owner == ::getpid() && inside(cleanup.location, directory);
    (ours ? taken : kept).push_back(std::move(cleanup));
  }
  all.pending = std::move(kept);
  return taken;
}

}  // namespace

BackendSizes Settings::sizes(const BackendSizes& full) const {
  if (mode == Mode::full) return full;
  return BackendSizes{.drain = 40,
                      .queue_drain = 20,
                      .size_claims = 20,
                      .max_store = 50,
                      .large_store = 50,
                      .long_drain = full.long_drain > 0 ? std::size_t{500} : 0};
}

std::vector<std::size_t> Settings::store_sizes_up_to(std::size_t max_store) const {
  if (mode == Mode::smoke) return {10, 50};
  std::vector<std::size_t> out;
  for (const std::size_t size : store_sizes) {
    if (size <= max_store) out.push_back(size);
  }
  return out;
}

Mode mode_from_environment(bool smoke_flag) {
  if (smoke_flag) return Mode::smoke;
  const char* value = std::getenv("TASKSTORE_BENCH_SMOKE");
  if (value == nullptr) return Mode::full;
  std::string text(value);
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return (text == "1" || text == "true" || text == "yes" || text == "on") ? Mode::smoke
                                                                          : Mode::full;
}

fs::path bench_parent_directory() {
  const char* value = std::getenv("TASKSTORE_BENCH_DIR");
  if (value != nullptr && *value != '\0') return fs::path(value);
  return fs::temp_directory_path();
}

bool on_memory_file_system(const fs::path& path) {
  struct statfs info {};
  if (::statfs(path.c_str(), &info) != 0) return false;
  constexpr long kTmpfsMagic = 0x01021994;
  constexpr long kRamfsMagic = 0x858458f6;
  const auto type = static_cast<long>(info.f_type);
  return type == kTmpfsMagic || type == kRamfsMagic;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return {};
  return one + " " + five + " " + fifteen;
}

ScratchDir::ScratchDir(const fs::path& parent, std::string_view label) {
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw std::runtime_error("create " + parent.string() + ": " + ec.message());
  std::string pattern = (parent / (std::string(label) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  path_ = pattern;
}

void at_scratch_removal(const fs::path& location, std::function<void()> cleanup) {
  Cleanups& all = cleanups();
  std::lock_guard lock(all.mutex);
  all.pending.push_back(Cleanup{location, ::getpid(), std::move(cleanup)});
}

ScratchDir::~ScratchDir() {
  // Outside the registry's lock: a cleanup may take a while (a DROP SCHEMA on a server).
  for (const Cleanup& cleanup : take_cleanups(path_)) {
    try {
      cleanup.run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "taskstore-bench: cleanup of %s: %s\n", cleanup.location.c_str(),
                   e.what());
    }
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
  if (ec) std::fprintf(stderr, "taskstore-bench: cannot remove %s: %s\n", path_.c_str(),
                       ec.message().c_str());
}

}  // namespace taskstore::bench
