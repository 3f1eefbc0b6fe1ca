// OverlayIo::commit: one round of syncs for a whole group, in file_store.hpp's order.

#include <unistd.h>

#include "overlay_io.hpp"
#include "posix_file.hpp"

namespace taskstore::file_backend {

namespace fs = std::filesystem;

namespace {

constexpr int kNothing = 0;  // the entry leaves the disk as it is

}  // namespace

// The commit stage that changes `key` on disk (see commit()), or kNothing.
int OverlayIo::stage_of(const Key& key, const Entry& entry) const {
  const bool was_present = before_.at(key).present();
  if (key.first == layout_.queue_dir()) {
    if (entry.state == State::marker && !was_present) return 1;
    if (entry.state == State::removed && was_present) return 4;
    return kNothing;  // created and dropped in the group, or already there
  }
  const int stage = key.first == layout_.results_dir() ? 2 : 3;
  if (entry.state == State::record) return stage;
  if (entry.state == State::removed && was_present) return stage;
  return kNothing;
}

void OverlayIo::commit() {
  struct Pending {
    const Key* key;
    TempFile temp;
    bool renamed = false;
  };
  std::vector<Pending> temps;
  // Renames the temps of `dir` into place and applies its removals, then syncs it once.
  const auto replace_in = [&](const fs::path& dir) {
    bool changed = false;
    for (Pending& pending : temps) {
      if (pending.key->first != dir) continue;
      rename_file(pending.temp.path, dir / pending.key->second);
      pending.renamed = true;
      changed = true;
    }
    for (const auto& [key, entry] : entries_) {
      if (key.first == dir && entry.state == State::removed && stage_of(key, entry) != kNothing) {
        remove_file(dir / key.second);
        changed = true;
      }
    }
    if (changed) fsync_directory(dir);
  };

  int stage = 1;
  try {
    bool markers_created = false;
    for (const auto& [key, entry] : entries_) {
      if (stage_of(key, entry) == 1) {
        create_empty_file(key.first / key.second);
        markers_created = true;
      }
    }
    // Every record is written, and its writeback started, before any is synced.
    for (const auto& [key, entry] : entries_) {
      if (entry.state == State::record) {
        temps.push_back(Pending{&key, write_temp_file(key.first, key.second, entry.bytes)});
      }
    }
    if (temps.size() > 1) {
      for (const Pending& pending : temps) start_writeback(pending.temp);
    }
    for (Pending& pending : temps) sync_and_close(pending.temp);
    if (markers_created) fsync_directory(layout_.queue_dir());

    stage = 2;
    replace_in(layout_.results_dir());
    stage = 3;
    replace_in(layout_.tasks_dir());
  } catch (...) {
    for (const Pending& pending : temps) {
      if (!pending.renamed) ::unlink(pending.temp.path.c_str());  // best effort
    }
    restore(stage);
    throw;
  }
  // Stage 4 is past the point of no return: every claim and result is durable and
  // readers may have seen them. A marker that can't be removed is only stale (dequeue
  // drops it), so its error must not fail, let alone undo, a group that has committed.
  for (const auto& [key, entry] : entries_) {
    if (stage_of(key, entry) != 4) continue;
    try {
      remove_file(key.first / key.second);
    } catch (...) {
    }
  }
}

void OverlayIo::restore(int failed_stage) noexcept {
  // Tasks first, then results, then markers: a new task is gone before the marker created
  // for it. A task put back PENDING still has its marker, since markers are removed only
  // in stage 4, which never fails (see commit()).
  for (const fs::path& dir : {layout_.tasks_dir(), layout_.results_dir(), layout_.queue_dir()}) {
    bool removed_any = false;
    for (const auto& [key, entry] : entries_) {
      if (key.first != dir) continue;
      const int stage = stage_of(key, entry);
      const Before& before = before_.at(key);
      if (stage == kNothing || stage > failed_stage || !before.known) continue;
      try {
        const fs::path path = dir / key.second;
        if (!before.bytes) {
          removed_any = remove_file(path) || removed_any;
        } else if (dir == layout_.queue_dir()) {
          create_empty_file(path);
          fsync_directory(dir);
        } else {
          write_file_atomically(dir, key.second, *before.bytes);
        }
      } catch (...) {
        // Best effort: the group's error is what the callers get.
      }
    }
    if (removed_any) {
      try {
        fsync_directory(dir);
      } catch (...) {
      }
    }
  }
}

}  // namespace taskstore::file_backend
