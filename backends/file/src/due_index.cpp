#include "due_index.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <span>
#include <string_view>

#include "store_layout.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::file_backend {

namespace fs = std::filesystem;

namespace {

// "taskstore due log " and a 20-digit epoch, then '\n': a fixed size, so the lines start
// at the same offset in every epoch.
constexpr std::string_view kMagic = "taskstore due log ";
constexpr std::size_t kEpochDigits = 20;
constexpr std::size_t kHeaderSize = kMagic.size() + kEpochDigits + 1;

std::string header_for(std::uint64_t epoch) {
  std::string digits = std::to_string(epoch);
  return std::string(kMagic) + std::string(kEpochDigits - digits.size(), '0') + digits + "\n";
}

// pread until `size` bytes or the end of the file.
std::string read_at(int fd, std::uint64_t offset, std::size_t size, const fs::path& path) {
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out.data() + done, size - done,
                              static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("pread", path, errno);
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

}  // namespace

DueIndex::DueIndex(fs::path log_path, std::size_t log_limit)
    : log_path_(std::move(log_path)),
      log_limit_(log_limit),
      fd_(open_file(log_path_, O_RDWR | O_CREAT | O_APPEND)) {}

DueIndex::LogState DueIndex::read_state() {
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_errno("fstat", log_path_, errno);
  LogState state;
  state.size = static_cast<std::uint64_t>(st.st_size);
  const std::string header = read_at(fd_.get(), 0, kHeaderSize, log_path_);
  if (header.size() == kHeaderSize && header.starts_with(kMagic) && header.back() == '\n') {
    const char* first = header.data() + kMagic.size();
    const char* last = first + kEpochDigits;
    const auto [end, ec] = std::from_chars(first, last, state.epoch);
    state.header_ok = ec == std::errc() && end == last;
  }
  return state;
}

void DueIndex::restart_log() {
  valid_ = false;  // until the caller is up to date with the new epoch
  const LogState before = read_state();
  const auto now = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  const std::uint64_t epoch = std::max(before.header_ok ? before.epoch + 1 : 0, now);
  if (::ftruncate(fd_.get(), 0) != 0) throw_errno("ftruncate", log_path_, errno);
  append(header_for(epoch));
  epoch_ = epoch;
  offset_ = kHeaderSize;
}

std::uint64_t DueIndex::append(const std::string& line) {
  write_all(fd_.get(), std::as_bytes(std::span(line.data(), line.size())), log_path_);
  const off_t end = ::lseek(fd_.get(), 0, SEEK_CUR);  // O_APPEND: the end after the write
  if (end < 0) throw_errno("lseek", log_path_, errno);
  return static_cast<std::uint64_t>(end);
}

std::uint64_t DueIndex::limit() const {
  return std::max<std::uint64_t>(log_limit_, 128 * names_.size());
}

void DueIndex::will_add(const std::string& name) {
  const std::lock_guard guard(mutex_);
  follow_replaced_log();
  // Claims start the log afresh once they have read it (catch_up). A store nobody claims
  // from is started afresh here, at a far larger size, so that producers alone never
  // make the claimers list queue/ often.
  if (append("+" + name + "\n") > 64 * std::uint64_t{log_limit_}) {
    // The caller creates the marker under the lock it holds now, so whoever lists queue/
    // after this restart sees it.
    restart_log();
  }
}

std::optional<std::string> DueIndex::next_after(const std::string& previous) {
  const std::lock_guard guard(mutex_);
  const auto it = names_.upper_bound(previous);
  if (it == names_.end()) return std::nullopt;
  return *it;
}

void DueIndex::forget_name(const std::string& name) {
  const std::lock_guard guard(mutex_);
  names_.erase(name);
}

void DueIndex::forget() {
  const std::lock_guard guard(mutex_);
  valid_ = false;
}

void DueIndex::rebuild(const std::function<std::vector<std::string>()>& list_queue,
                       std::uint64_t epoch, std::uint64_t offset) {
  valid_ = false;  // until the listing is in: a listing that throws leaves it untrusted
  std::set<std::string> names;
  for (auto& name : list_queue()) {
    if (parse_due_marker_name(name)) names.insert(std::move(name));
  }
  names_.swap(names);
  epoch_ = epoch;
  offset_ = offset;
  valid_ = true;
}

void DueIndex::follow_replaced_log() {
  struct stat by_path {};
  struct stat held {};
  if (::fstat(fd_.get(), &held) != 0) throw_errno("fstat", log_path_, errno);
  const bool same = ::stat(log_path_.c_str(), &by_path) == 0 && by_path.st_dev == held.st_dev &&
                    by_path.st_ino == held.st_ino;
  if (same) return;
  // Removed or replaced behind the store's back: lines written to the old file reach no one.
  fd_ = open_file(log_path_, O_RDWR | O_CREAT | O_APPEND);
  valid_ = false;
}

bool DueIndex::apply_lines(std::uint64_t end) {
  const std::string text = read_at(fd_.get(), offset_, end - offset_, log_path_);
  if (text.size() != end - offset_ || (!text.empty() && text.back() != '\n')) return false;
  std::string_view rest = text;
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    rest.remove_prefix(newline + 1);
    if (line.size() < 2 || line[0] != '+') return false;
    const std::string_view name = line.substr(1);
    if (!parse_due_marker_name(name)) return false;
    names_.emplace(name);
  }
  offset_ = end;
  return true;
}

void DueIndex::catch_up(const std::function<std::vector<std::string>()>& list_queue) {
  const std::lock_guard guard(mutex_);
  follow_replaced_log();
  const LogState state = read_state();
  if (!state.header_ok) {
    // Torn or foreign: start it afresh, so every other instance lists queue/ once too.
    restart_log();
    rebuild(list_queue, epoch_, offset_);
    return;
  }
  const bool trusted = valid_ && state.epoch == epoch_ && state.size >= offset_;
  if (!trusted) {
    rebuild(list_queue, state.epoch, state.size);
  } else if (!apply_lines(state.size)) {
    valid_ = false;
    restart_log();
    rebuild(list_queue, epoch_, offset_);
    return;
  }
  if (offset_ > limit()) {
    restart_log();  // the others list queue/ once; this copy stays up to date
    valid_ = true;
  }
}

}  // namespace taskstore::file_backend
