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
  // A file whose state before the group could not be read may or may not be there: the
  // group creates or removes it anyway (both are idempotent), so a failed read can never
  // skip a write, such as the due marker of a new task.
  const Before& before = before_.at(key);
  const bool surely_present = before.known && before.bytes.has_value();
  const bool surely_absent = before.known && !before.bytes.has_value();
  if (key.first == layout_.queue_dir()) {
    if (entry.state == State::marker && !surely_present) return 1;
    if (entry.state == State::removed && !surely_absent) return 4;
    return kNothing;  // created and dropped in the group, or already there
  }
  const int stage = key.first == layout_.results_dir() ? 2 : 3;
  if (entry.state == State::record) return stage;
  if (entry.state == State::removed && !surely_absent) return stage;
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
  bool tasks_unrestored = false;
  for (const fs::path& dir : {layout_.tasks_dir(), layout_.results_dir(), layout_.queue_dir()}) {
    // A task that could not be put back may still need the marker this group created:
    // leave the markers (a stale one is harmless; dequeue drops it).
    if (dir == layout_.queue_dir() && tasks_unrestored) break;
    bool removed_any = false;
    for (const auto& [key, entry] : entries_) {
      if (key.first != dir) continue;
      const int stage = stage_of(key, entry);
      const Before& before = before_.at(key);
      if (stage == kNothing || stage > failed_stage || !before.known) continue;
      Repair repair{dir, key.second, before.bytes,
                    entry.state == State::removed ? std::nullopt
                                                  : std::optional<Bytes>(entry.bytes)};
      try {
        removed_any = apply_repair(repair) || removed_any;
      } catch (...) {
        // The group's error is what the callers get. A marker left behind is only stale;
        // a record is owed, and the store puts it back before its next write (FILE-7).
        if (dir == layout_.queue_dir()) continue;
        if (dir == layout_.tasks_dir()) tasks_unrestored = true;
        unrestored_.push_back(std::move(repair));
      }
    }
    if (removed_any) {
      try {
        fsync_directory(dir);
      } catch (...) {
        // The removals may not be durable: a crash could bring the files back, which the
        // next open treats as what a crash leaves (stale markers, temps).
      }
    }
  }
}

}  // namespace taskstore::file_backend
