#include "taskstore/conformance/power_cut.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "taskstore/conformance/fault_layer.hpp"

namespace taskstore::conformance {

namespace fs = std::filesystem;

namespace {

using namespace std::chrono_literals;

std::string read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_whole(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out.flush()) throw std::runtime_error("power cut: cannot write " + path.string());
}

ino_t inode_of(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) throw std::runtime_error("power cut: cannot stat " + path.string());
  return st.st_ino;
}

// Records `directory` and everything under it as durable, under baseline ids "b<n>".
class Baseline {
 public:
  explicit Baseline(const fs::path& shadow) : shadow_(shadow) {}

  std::string record(const fs::path& path) {
    const ino_t inode = inode_of(path);
    if (const auto it = ids_.find(inode); it != ids_.end()) return it->second;  // a hard link
    const std::string id = "b" + std::to_string(++count_);
    ids_.emplace(inode, id);
    write_whole(shadow_ / ("ino-" + std::to_string(inode)), id);
    if (fs::is_directory(fs::symlink_status(path))) {
      std::string listing;
      for (const auto& entry : fs::directory_iterator(path)) {
        const auto status = entry.symlink_status();
        if (!fs::is_regular_file(status) && !fs::is_directory(status)) continue;
        listing += std::string(fs::is_directory(status) ? "d " : "f ") + record(entry.path()) +
                   " " + entry.path().filename().string() + "\n";
      }
      write_whole(shadow_ / ("dir-" + id), listing);
    } else {
      fs::copy_file(path, shadow_ / ("data-" + id), fs::copy_options::overwrite_existing);
    }
    return id;
  }

 private:
  fs::path shadow_;
  int count_ = 0;
  std::map<ino_t, std::string> ids_;
};

// Rebuilds a directory from its durable listing; files listed under several names (hard
// links) are linked again.
class Rebuild {
 public:
  explicit Rebuild(const fs::path& shadow) : shadow_(shadow) {}

  void directory(const fs::path& path, const std::string& id) {
    const fs::path listing = shadow_ / ("dir-" + id);
    if (!fs::exists(listing)) return;  // never synced: no entry of it is durable
    std::istringstream lines(read_whole(listing));
    std::string line;
    while (std::getline(lines, line)) {
      const auto first = line.find(' ');
      const auto second = line.find(' ', first + 1);
      if (line.size() < 5 || first != 1 || second == std::string::npos) {
        throw std::runtime_error("power cut: bad line '" + line + "' in " + listing.string());
      }
      const std::string entry_id = line.substr(2, second - 2);
      const fs::path target = path / line.substr(second + 1);
      if (line[0] == 'd') {
        fs::create_directory(target);
        directory(target, entry_id);
      } else {
        file(target, entry_id);
      }
    }
  }

 private:
  void file(const fs::path& target, const std::string& id) {
    if (const auto it = placed_.find(id); it != placed_.end()) {
      fs::create_hard_link(it->second, target);
      return;
    }
    const fs::path data = shadow_ / ("data-" + id);
    if (fs::exists(data)) {
      fs::copy_file(data, target);
    } else {
      write_whole(target, "");  // the entry is durable, none of the content is
    }
    placed_.emplace(id, target);
  }

  fs::path shadow_;
  std::map<std::string, fs::path> placed_;
};

}  // namespace

// The path is kept as given: the layer compares it with the paths the store opens, which a
// store builds from the same environment (a path through a symlink is outside the model).
PowerCut::PowerCut(fs::path store_directory)
    : store_directory_(std::move(store_directory)), shadow_("taskstore-power-cut") {
  if (!fs::is_directory(store_directory_)) {
    throw std::invalid_argument("power cut: '" + store_directory_.string() +
                                "' is not an existing directory");
  }
}

void PowerCut::take_baseline() {
  for (const auto& entry : fs::directory_iterator(shadow())) fs::remove_all(entry.path());
  write_whole(shadow() / "root", Baseline(shadow()).record(store_directory_));
}

void PowerCut::start_recording_here() const {
  const auto layer = FaultLayer::loaded();
  if (!layer) {
    throw std::runtime_error("power cut: no fault layer: " + fault_layer_absence());
  }
  ::setenv("TASKSTORE_FAULT_SCOPE", store_directory_.c_str(), 1);
  ::setenv("TASKSTORE_POWER_CUT_SHADOW", shadow().c_str(), 1);
  layer->record_power_cut(store_directory_.string(), shadow().string());
}

bool PowerCut::wait_for_recorders(std::chrono::steady_clock::time_point deadline) const {
  const int fd = ::open((shadow() / "alive").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("power cut: cannot open " + (shadow() / "alive").string());
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return false;
    }
    std::this_thread::sleep_for(2ms);
  }
  ::close(fd);
  return true;
}

void PowerCut::apply() const {
  const std::string root = read_whole(shadow() / "root");
  if (root.empty()) throw std::runtime_error("power cut: no baseline in " + shadow().string());
  for (const auto& entry : fs::directory_iterator(store_directory_)) fs::remove_all(entry.path());
  Rebuild(shadow()).directory(store_directory_, root);
}

}  // namespace taskstore::conformance
