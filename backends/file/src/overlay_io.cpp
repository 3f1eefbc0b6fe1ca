// OverlayIo's reads, writes and savepoints; the commit is in overlay_commit.cpp.

#include "overlay_io.hpp"

#include <set>
#include "posix_file.hpp"

namespace taskstore::file_backend {

namespace fs = std::filesystem;

const OverlayIo::Entry* OverlayIo::find(const Key& key) const {
  const auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

void OverlayIo::set(const Key& key, Entry entry) {
  if (!before_.contains(key)) {
    // Kept so a failed commit can put the file back as it was before the group.
    Before before;
    try {
      before.bytes = read_file(key.first / key.second);
      before.known = true;
    } catch (...) {
      // A file that can't be read (a planted symlink, an I/O error) is left alone.
    }
    before_.emplace(key, std::move(before));
  }
  const Entry* previous = find(key);
  journal_.emplace_back(key, previous ? std::optional<Entry>(*previous) : std::nullopt);
  entries_.insert_or_assign(key, std::move(entry));
}

void OverlayIo::rollback_to(std::size_t savepoint) {
  while (journal_.size() > savepoint) {
    auto& [key, previous] = journal_.back();
    if (previous) {
      entries_.insert_or_assign(key, std::move(*previous));
    } else {
      entries_.erase(key);
    }
    journal_.pop_back();
  }
}

std::optional<Bytes> OverlayIo::read(const fs::path& dir, const std::string& name) {
  if (const Entry* entry = find({dir, name})) {
    switch (entry->state) {
      case State::record:
        return entry->bytes;
      case State::marker:
        return Bytes{};
      case State::removed:
        return std::nullopt;
    }
  }
  return read_file(dir / name);
}

bool OverlayIo::exists(const fs::path& dir, const std::string& name) {
  if (const Entry* entry = find({dir, name})) return entry->state != State::removed;
  return file_exists(dir / name);
}

std::vector<std::string> OverlayIo::list(const fs::path& dir) {
  std::vector<std::string> names = list_directory(dir);
  const auto first = entries_.lower_bound({dir, std::string()});
  if (first == entries_.end() || first->first.first != dir) return names;  // untouched
  std::erase_if(names, [&](const std::string& name) {
    const Entry* entry = find({dir, name});
    return entry && entry->state == State::removed;
  });
  // A file the overlay holds is listed once, whether or not it was on disk before the
  // group (which a failed read of its earlier state leaves unknown).
  const std::set<std::string> listed(names.begin(), names.end());
  for (auto it = first; it != entries_.end() && it->first.first == dir; ++it) {
    if (it->second.state != State::removed && !listed.contains(it->first.second)) {
      names.push_back(it->first.second);
    }
  }
  return names;
}

void OverlayIo::write(const fs::path& dir, const std::string& name, Bytes bytes) {
  set({dir, name}, Entry{State::record, std::move(bytes)});
}

void OverlayIo::create_empty(const fs::path& dir, const std::string& name) {
  if (exists(dir, name)) return;  // as O_CREAT without O_TRUNC: an existing file stays
  set({dir, name}, Entry{State::marker, {}});
}

bool OverlayIo::remove(const fs::path& dir, const std::string& name) {
  if (!exists(dir, name)) return false;
  set({dir, name}, Entry{State::removed, {}});
  return true;
}

}  // namespace taskstore::file_backend
