#pragma once
// OverlayIo: the I/O layer of a commit group. The group's operations run one after
// another under one hold of the store lock; their writes go to an in-memory overlay
// (dir/name -> new bytes, empty marker created, or removed) instead of the disk, and
// their reads see the overlay first, so each operation sees exactly what it would see had
// the ones before it run alone. commit() then makes the overlay's final state durable
// with one round of syncs, in the order file_store.hpp requires.
//
// Directories: queue/ holds only empty markers (create_empty, remove); every other
// directory holds records (write, remove). results/ is committed before tasks/.

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store_io.hpp"
#include "store_layout.hpp"

namespace taskstore::file_backend {

class OverlayIo final : public StoreIo {
 public:
  explicit OverlayIo(const StoreLayout& layout) : layout_(layout) {}

  std::optional<Bytes> read(const std::filesystem::path& dir, const std::string& name) override;
  bool exists(const std::filesystem::path& dir, const std::string& name) override;
  std::vector<std::string> list(const std::filesystem::path& dir) override;
  void write(const std::filesystem::path& dir, const std::string& name, Bytes bytes) override;
  void create_empty(const std::filesystem::path& dir, const std::string& name) override;
  bool remove(const std::filesystem::path& dir, const std::string& name) override;
  void sync(const std::filesystem::path&) override {}  // commit() syncs each directory once

  // An operation's savepoint: rolling back to it undoes every overlay change made since.
  std::size_t savepoint() const { return journal_.size(); }
  void rollback_to(std::size_t savepoint);

  // Makes the overlay durable, in stages:
  //  1. create the new markers and write every record to a temp file; fsync the temps,
  //     then queue/ (markers are durable before any task that needs them);
  //  2. rename the result temps into place, unlink removed results; fsync results/;
  //  3. rename the task temps into place; fsync tasks/ (a result is durable before the
  //     task that points at it; a claim before its marker goes);
  //  4. unlink the dropped markers (not durable: a surviving marker is stale).
  // A marker created and dropped within the group is never written. If a stage fails,
  // every path the commit may have changed is put back, best effort, as it was before
  // the group, and the error is rethrown.
  void commit();
  // What a failed commit could not put back (its undo failed as well): to be retried.
  const std::vector<Repair>& unrestored() const { return unrestored_; }

 private:
  using Key = std::pair<std::filesystem::path, std::string>;  // dir, name
  enum class State { record, marker, removed };
  struct Entry {
    State state;
    Bytes bytes;  // for State::record
  };
  // The file as it was before the group touched it; unknown if it could not be read
  // (then it is left alone on restore).
  struct Before {
    bool known = false;
    std::optional<Bytes> bytes;
  };

  void set(const Key& key, Entry entry);
  const Entry* find(const Key& key) const;
  int stage_of(const Key& key, const Entry& entry) const;
  void restore(int failed_stage) noexcept;

  const StoreLayout& layout_;
  std::vector<Repair> unrestored_;
  std::map<Key, Entry> entries_;
  std::map<Key, Before> before_;
  // (key, entry before the change) for each change, for rollback_to.
  std::vector<std::pair<Key, std::optional<Entry>>> journal_;
};

}  // namespace taskstore::file_backend
