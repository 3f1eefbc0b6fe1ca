#pragma once
// FileStore: the file store's operations as plain blocking calls. FileStorage runs each
// of them on its pool; tests may call them directly.
//
// Durability order (a crash between any two steps loses no acknowledged PENDING task and
// never lets a task be claimed twice):
//  enqueue:     create the due marker, fsync queue/; write the task atomically.
//               Crash after the marker: the marker names a missing task, so it is stale.
//  dequeue:     write the task back RUNNING atomically, then unlink its marker.
//               Crash before the unlink: the marker names a RUNNING task, so it is stale.
//  reschedule:  create the new marker, fsync queue/; write the task PENDING with the new
//               eta; unlink the old marker. Crash after the new marker: its eta differs
//               from the task's, so it is stale and the task keeps its old state.
//  mark_done / mark_failed(will_retry = false): write the result, then the task.
//               Crash between: a result for a task still RUNNING; the retried
//               operation replaces both.
// A marker is valid only if the task file it names is PENDING with the marker's eta and
// seq; dequeue unlinks stale ones as it meets them. Every write happens under the
// directory lock; readers take no lock because every file is replaced by rename.
// Dequeue finds markers in the instance's in-memory index (due_index.hpp), never by
// listing queue/, so a claim costs O(log n) in the number of PENDING tasks (FILE-9).
//
// Each write operation comes in two forms: the plain one takes the lock and writes
// directly (durable on return); the one taking a Session runs under a lock the caller
// holds, through the caller's I/O layer, so a commit group (overlay_io.hpp) can run many
// operations under one hold and make them durable together in the same order.

#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "directory_lock.hpp"
#include "due_index.hpp"
#include "record_codec.hpp"
#include "store_io.hpp"
#include "store_layout.hpp"
#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::file_backend {

// Settings tests change to reach rare paths quickly.
struct FileStoreTuning {
  // DUE-LOG is started afresh past this size (or 128 bytes per due marker, if more).
  std::size_t due_log_limit = std::size_t{1} << 20;
};

class FileStore {
 public:
  // Opens the store in `directory`, creating it (with parents) if needed.
  FileStore(const std::filesystem::path& directory, Clock clock, FileStoreTuning tuning = {});

  // Arguments are assumed valid (FileStorage validates them before it gets here).
  std::string enqueue(const Task& task);
  std::optional<Task> dequeue(Timestamp now);
  void mark_running(const std::string& id);
  void mark_done(const std::string& id, const TaskResult& result);
  void mark_failed(const std::string& id, const std::string& error, bool will_retry);
  void reschedule(const std::string& id, Timestamp new_eta);
  std::size_t purge_results(Timestamp older_than);
  std::optional<Task> get_task(const std::string& id) const;
  std::optional<TaskResult> get_result(const std::string& id) const;

  // The same operations inside a session (the caller holds session.lock).
  std::string enqueue(Session& session, const Task& task);
  std::optional<Task> dequeue(Session& session, Timestamp now);
  // Up to `max` claims in claim order. All or nothing only through an overlay session,
  // whose rollback undoes the claims made before a failure (write_group.cpp sees to it).
  std::vector<Task> dequeue_batch(Session& session, Timestamp now, std::size_t max);
  void mark_running(Session& session, const std::string& id);
  void mark_done(Session& session, const std::string& id, const TaskResult& result);
  void mark_failed(Session& session, const std::string& id, const std::string& error,
                   bool will_retry);
  void reschedule(Session& session, const std::string& id, Timestamp new_eta);
  std::size_t purge_results(Session& session, Timestamp older_than);

  // Files a failed write could not put back (its undo failed too). Until they are put
  // back, a RUNNING task may have nobody holding it, so every write of this instance first
  // settles them (settle_repairs, under the lock) and fails while it can't, and closing
  // tries once more (FILE-7). Reads in the meantime see the file as the failure left it.
  void owe_repairs(const std::vector<Repair>& repairs);
  // Throws StorageError, naming the file and the error, if a repair still fails.
  void settle_repairs();
  // A last try when the instance closes, under the lock; errors are dropped.
  void settle_repairs_on_close() noexcept;

  // A commit group failed or rolled an operation back: the in-memory due index may hold
  // less than queue/ does, so the next claim lists queue/ afresh.
  void forget_due_index() { due_index_->forget(); }

  // Blocks until this caller holds the store's writer lock.
  DirectoryLock lock() const { return DirectoryLock(layout_.lock_file()); }
  const StoreLayout& layout() const { return layout_; }

 private:
  // Runs `operation(session)` under the lock, writing directly.
  template <typename Operation>
  auto direct(Operation operation) {
    DirectIo io;
    DirectoryLock held = lock();
    settle_repairs();
    Session session{io, held};
    return operation(session);
  }

  // Opening heals the due index (FILE-8): a PENDING task whose due marker a failure lost
  // (a process that died owing a put-back, say) gets it back, durably. Stale markers are
  // left to dequeue, which drops them as it meets them. Returns the highest sequence
  // number in use, by a marker or by a task, so none is handed out twice, and the
  // markers queue/ then holds, for the due index.
  struct HealedQueue {
    std::uint64_t highest_seq = 0;
    std::vector<std::string> markers;
  };
  HealedQueue heal_due_index();

  // The task stored under `file_name` in tasks/, checked to be the task with that hex id.
  std::optional<StoredTask> read_task_file(StoreIo& io, const std::string& file_name) const;
  // The task, or NotFoundError naming `operation`.
  StoredTask read_existing(StoreIo& io, std::string_view operation, const std::string& id) const;
  void write_task(StoreIo& io, const StoredTask& stored);
  void write_result(StoreIo& io, const TaskResult& result);
  // Unlinks the marker of `before` if it was PENDING (so it had one). Not durable: a
  // marker that survives a crash is stale and dequeue drops it.
  void drop_marker(StoreIo& io, const StoredTask& before);
  // Unlinks a due marker that is stale, best effort: not durable, and a failure leaves a
  // stale marker, which dequeue drops.
  void remove_stale_marker(StoreIo& io, const std::string& name);

  // Creates a due marker (through `io`), logging it first so other instances see it.
  void add_marker(StoreIo& io, const std::string& name);

  StoreLayout layout_;
  Clock clock_;
  std::optional<DueIndex> due_index_;  // opened once the store's directory exists
  std::mutex repairs_mutex_;
  std::vector<Repair> repairs_;
};

}  // namespace taskstore::file_backend
