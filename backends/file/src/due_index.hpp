#pragma once
// DueIndex: an instance's ordered copy of the names in queue/, so a claim finds the next
// due task in O(log n) instead of listing a directory that holds a marker per PENDING
// task (FILE-9).
//
// How instances (threads, processes) see each other's markers: every writer, under the
// store's lock, appends a line to DIR/DUE-LOG ("+<name>") for each marker it is about to
// create. Before a claim, under the lock, an instance reads the lines added since it last
// looked and adds the names. Removals are not logged: a name whose marker another
// instance removed is stale, and the claim that meets it reads its task, finds it not
// PENDING with that eta and seq, and drops it (so a failed group's removals never reach
// the others). The log is an accelerator, never the truth: it is not synced, and an
// instance lists queue/ again whenever it can't trust what it has:
//   - at open;
//   - when the log was started afresh (its header's epoch changed) by an instance that
//     found it over its size limit or damaged;
//   - when a line does not parse (a torn append), or the log is shorter than expected;
//   - after a write of this instance failed or a commit group was rolled back (forget());
//   - when DUE-LOG was removed or replaced behind the store's back.
// Limits: every process must run a build that writes DUE-LOG (a writer that does not is
// never seen by open instances, only by the next open), and the log relies on O_APPEND,
// which network file systems (NFS) do not make atomic across hosts.
// A line is written before its marker exists, so a crash or a failed write can leave a
// line naming a marker that never appeared: stale like any other, and dropped the same way.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "posix_file.hpp"

namespace taskstore::file_backend {

class DueIndex {
 public:
  // Opens (creating it if missing) the log at `log_path`; starts it afresh once it grows
  // past `log_limit` bytes (or 128 bytes per indexed name, if that is more).
  DueIndex(std::filesystem::path log_path, std::size_t log_limit);

  // The caller holds the store's lock for every call below.

  // Records that `name` is about to be created in queue/. Throws StorageError if the line
  // can't be written: the caller then fails before changing anything. A log grown to 64
  // times its limit (nobody claims) is started afresh here too.
  void will_add(const std::string& name);

  // Brings the copy up to date with every instance's changes; `list_queue` lists queue/
  // when it must be read afresh.
  void catch_up(const std::function<std::vector<std::string>()>& list_queue);
  // The first name after `previous` in (eta, seq) order ("" for the first of all).
  std::optional<std::string> next_after(const std::string& previous);
  // Drops `name` from this copy (its marker was removed, or the claim found it stale).
  void forget_name(const std::string& name);
  // The copy can no longer be trusted (a failed write or group): the next catch_up lists
  // queue/.
  void forget();

 private:
  struct LogState {
    bool header_ok = false;
    std::uint64_t epoch = 0;
    std::uint64_t size = 0;
  };
  LogState read_state();
  // Reopens the log if the file at its path is no longer the one held open.
  void follow_replaced_log();
  void restart_log();
  void rebuild(const std::function<std::vector<std::string>()>& list_queue, std::uint64_t epoch,
               std::uint64_t offset);
  // Applies the lines in [offset_, end); false if one of them does not parse.
  bool apply_lines(std::uint64_t end);
  // Appends `line`; returns the log's size after it.
  std::uint64_t append(const std::string& line);
  std::uint64_t limit() const;

  std::filesystem::path log_path_;
  std::size_t log_limit_;
  UniqueFd fd_;
  std::mutex mutex_;  // the store's lock already serialises callers; this tells TSan so
  std::set<std::string> names_;
  bool valid_ = false;
  std::uint64_t epoch_ = 0;
  std::uint64_t offset_ = 0;
};

}  // namespace taskstore::file_backend
