#include "file_store.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <system_error>
#include <vector>

#include "owed_repairs.hpp"
#include "posix_file.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::file_backend {

namespace fs = std::filesystem;

namespace {

fs::path absolute_path(const fs::path& directory) {
  std::error_code ec;
  fs::path path = fs::absolute(directory, ec);
  if (ec) throw StorageError("resolve " + directory.string() + ": " + ec.message());
  return path;
}

}  // namespace

FileStore::FileStore(const fs::path& directory, Clock clock, FileStoreTuning tuning)
    : layout_(absolute_path(directory)), clock_(clock ? std::move(clock) : system_clock()) {
  // Each directory this creates must be durable in its parent, however many levels.
  std::vector<fs::path> created;
  for (fs::path p = layout_.root(); !p.empty() && !fs::exists(p); p = p.parent_path()) {
    created.push_back(p);
    if (p == p.parent_path()) break;
  }
  std::error_code ec;
  fs::create_directories(layout_.root(), ec);
  if (ec) {
    throw StorageError("create directory " + layout_.root().string() + ": " + ec.message());
  }
  for (auto it = created.rbegin(); it != created.rend(); ++it) fsync_directory(it->parent_path());
  // A foreign directory is rejected before the lock file is created in it.
  inspect_layout(layout_);
  DirectoryLock held = lock();
  create_layout(layout_, inspect_layout(layout_));
  remove_temp_leftovers(layout_);
  due_index_.emplace(layout_.due_log_file(), tuning.due_log_limit);
  // Repairs a process died owing (FILE-7) come first: a claim put back PENDING here is
  // then one the heal below finds whole.
  repairs_ = read_owed_notes(layout_);
  try {
    settle_repairs();
  } catch (const StorageError&) {
    // Still owed, in memory and in their notes: every write fails until they are settled.
  }
  const HealedQueue healed = heal_due_index();
  held.raise_sequence_floor(healed.highest_seq);
  // The heal's listing, with what it restored, is queue/ as it stands: no second listing.
  due_index_->catch_up([&] { return healed.markers; });
}

void FileStore::add_marker(StoreIo& io, const std::string& name) {
  due_index_->will_add(name);
  io.create_empty(layout_.queue_dir(), name);
}

FileStore::HealedQueue FileStore::heal_due_index() {
  std::uint64_t highest = 0;
  std::set<std::string> markers;
  for (auto& name : list_directory(layout_.queue_dir())) {
    if (const auto marker = parse_due_marker_name(name)) {
      highest = std::max(highest, marker->seq);
      markers.insert(std::move(name));
    }
  }
  DirectIo io;
  bool restored = false;
  for (const auto& name : list_directory(layout_.tasks_dir())) {
    if (!name.ends_with(".task")) continue;
    std::optional<StoredTask> stored;
    try {
      stored = read_task_file(io, name);
    } catch (const CorruptionError&) {
      continue;  // a damaged task is reported when it is read (GET-3), never here
    }
    if (!stored) continue;
    highest = std::max(highest, stored->seq);
    if (stored->task.status != TaskStatus::PENDING) continue;
    const std::string marker = due_marker_name(stored->task.eta, stored->seq, stored->task.id);
    if (markers.count(marker) != 0) continue;
    add_marker(io, marker);
    markers.insert(marker);
    restored = true;
  }
  if (restored) io.sync(layout_.queue_dir());
  return HealedQueue{.highest_seq = highest,
                     .markers = std::vector<std::string>(markers.begin(), markers.end())};
}

std::optional<StoredTask> FileStore::read_task_file(StoreIo& io,
                                                    const std::string& file_name) const {
  const auto bytes = io.read(layout_.tasks_dir(), file_name);
  if (!bytes) return std::nullopt;
  const fs::path path = layout_.tasks_dir() / file_name;
  StoredTask stored = decode_task(*bytes, path.string());
  if (StoreLayout::task_file_name(stored.task.id) != file_name) {
    throw CorruptionError(path.string() + ": holds task '" + stored.task.id +
                          "', which belongs in another file");
  }
  return stored;
}

StoredTask FileStore::read_existing(StoreIo& io, std::string_view operation,
                                    const std::string& id) const {
  auto stored = read_task_file(io, StoreLayout::task_file_name(id));
  if (!stored) {
    throw NotFoundError(std::string(operation) + ": task '" + id + "' not found in file store " +
                        layout_.root().string());
  }
  return std::move(*stored);
}

void FileStore::write_task(StoreIo& io, const StoredTask& stored) {
  io.write(layout_.tasks_dir(), StoreLayout::task_file_name(stored.task.id), encode_task(stored));
}

void FileStore::write_result(StoreIo& io, const TaskResult& result) {
  io.write(layout_.results_dir(), StoreLayout::result_file_name(result.task_id),
           encode_result(result));
}

void FileStore::owe_repairs(const std::vector<Repair>& repairs) {
  const std::lock_guard guard(repairs_mutex_);
  for (Repair repair : repairs) {
    repair.note = write_owed_note(layout_, repair);
    repairs_.push_back(std::move(repair));
  }
}

void FileStore::settle_repairs() {
  const std::lock_guard guard(repairs_mutex_);
  while (!repairs_.empty()) {
    const Repair& repair = repairs_.front();
    const fs::path path = repair.dir / repair.name;
    try {
      std::optional<Bytes> now;
      bool readable = true;
      try {
        now = read_file(path);
      } catch (const CorruptionError&) {
        readable = false;  // not what the failed write left: someone else's now
      }
      // Only a file that still holds what the failed write left is put back; one that
      // holds anything else was written since, by this store or another process.
      if (readable && now == repair.left && now != repair.put_back) {
        // A marker put back is logged first, as any new marker is (due_index.hpp).
        if (repair.put_back && repair.dir == layout_.queue_dir()) due_index_->will_add(repair.name);
        // A task put back PENDING needs its due marker, which another process's dequeue
        // may have dropped as stale meanwhile. The marker is durable before the task, as
        // in enqueue: should the marker fail, the task still holds what the failed write
        // left, so the repair is tried again rather than leaving a PENDING task unseen.
        if (repair.put_back && repair.dir == layout_.tasks_dir()) {
          const StoredTask stored = decode_task(*repair.put_back, path.string());
          if (stored.task.status == TaskStatus::PENDING) {
            DirectIo io;
            add_marker(io, due_marker_name(stored.task.eta, stored.seq, stored.task.id));
            fsync_directory(layout_.queue_dir());
          }
        }
        apply_repair(repair);
        // A removal's fsync is ours, also when the file was already gone: an earlier
        // unlink may have happened without its fsync.
        if (!repair.put_back) fsync_directory(repair.dir);
      }
    } catch (const std::exception& e) {
      throw StorageError("file store " + layout_.root().string() + ": a write that failed " +
                         "earlier could not be undone yet (" + path.string() + ": " + e.what() +
                         "); every write fails until it can");
    }
    if (!repairs_.front().note.empty()) remove_file(repairs_.front().note);
    repairs_.erase(repairs_.begin());
  }
}

void FileStore::settle_repairs_on_close() noexcept {
  {
    // Nothing owed, nothing to lock: the lock may be held elsewhere in this very process
    // (a test holding the write lock while an instance closes), and waiting would hang.
    const std::lock_guard guard(repairs_mutex_);
    if (repairs_.empty()) return;
  }
  try {
    const DirectoryLock held = lock();
    settle_repairs();
  } catch (...) {
    // What can't be put back now is what a crash at this point would leave.
  }
}

void FileStore::drop_marker(StoreIo& io, const StoredTask& before) {
  if (before.task.status != TaskStatus::PENDING) return;
  remove_stale_marker(io, due_marker_name(before.task.eta, before.seq, before.task.id));
}

void FileStore::remove_stale_marker(StoreIo& io, const std::string& name) {
  // Called once the record that made the marker stale is durable: the operation has
  // happened, so a failed unlink must not report it failed (a claim so reported would be
  // held by nobody). The marker stays stale, and dequeue drops it.
  due_index_->forget_name(name);
  try {
    io.remove(layout_.queue_dir(), name);
  } catch (const StorageError&) {
  }
}

std::string FileStore::enqueue(const Task& task) {
  return direct([&](Session& session) { return enqueue(session, task); });
}

std::optional<Task> FileStore::dequeue(Timestamp now) {
  return direct([&](Session& session) { return dequeue(session, now); });
}

void FileStore::mark_running(const std::string& id) {
  direct([&](Session& session) { mark_running(session, id); });
}

void FileStore::mark_done(const std::string& id, const TaskResult& result) {
  direct([&](Session& session) { mark_done(session, id, result); });
}

void FileStore::mark_failed(const std::string& id, const std::string& error, bool will_retry) {
  direct([&](Session& session) { mark_failed(session, id, error, will_retry); });
}

void FileStore::reschedule(const std::string& id, Timestamp new_eta) {
  direct([&](Session& session) { reschedule(session, id, new_eta); });
}

std::size_t FileStore::purge_results(Timestamp older_than) {
  return direct([&](Session& session) { return purge_results(session, older_than); });
}

std::string FileStore::enqueue(Session& session, const Task& task) {
  StoreIo& io = session.io;
  if (io.exists(layout_.tasks_dir(), StoreLayout::task_file_name(task.id))) {
    throw ConflictError("enqueue: task '" + task.id + "' already exists in file store " +
                        layout_.root().string());
  }
  const StoredTask stored{task, session.lock.next_sequence()};
  // The marker is durable before the task is: a PENDING task always has its marker.
  add_marker(io, due_marker_name(task.eta, stored.seq, task.id));
  io.sync(layout_.queue_dir());
  write_task(io, stored);
  return task.id;
}

std::optional<Task> FileStore::dequeue(Session& session, Timestamp now) {
  StoreIo& io = session.io;
  due_index_->catch_up([&] { return io.list(layout_.queue_dir()); });
  // The names sort by (eta, seq): see store_layout.hpp.
  std::string name;
  while (auto next = due_index_->next_after(name)) {
    name = std::move(*next);
    const auto marker = parse_due_marker_name(name);
    if (!marker) continue;  // the index holds only well-formed names
    if (marker->eta > now) break;
    std::optional<StoredTask> stored;
    try {
      stored = read_task_file(io, marker->task_file_name());
    } catch (const CorruptionError&) {
      // A damaged task is passed over, marker and all, so it never stops the queue;
      // get_task and reschedule still report the damage (DEQ-9). This instance stops
      // reading it at every claim; the marker stays for the next open.
      due_index_->forget_name(name);
      continue;
    }
    const bool valid = stored && stored->task.status == TaskStatus::PENDING &&
                       stored->task.eta == marker->eta && stored->seq == marker->seq;
    if (!valid) {
      remove_stale_marker(io, name);  // left by a crash or a status change
      continue;
    }
    const StoredTask before = *stored;
    Task& task = stored->task;
    task.status = TaskStatus::RUNNING;
    if (task.attempts < std::numeric_limits<std::int32_t>::max()) ++task.attempts;
    task.updated_at = now;
    // The claim is durable before the marker goes, so a crash can't hand it out twice.
    try {
      write_task(io, *stored);
    } catch (...) {
      // The rename may have happened before the failure (e.g. in the directory fsync):
      // put the PENDING record back so the task stays claimable, then report the error.
      // If that fails too, the store owes the record and puts it back before its next
      // write (FILE-7).
      try {
        write_task(io, before);
      } catch (...) {
        owe_repairs({Repair{layout_.tasks_dir(), StoreLayout::task_file_name(before.task.id),
                            encode_task(before), encode_task(*stored)}});
      }
      throw;
    }
    remove_stale_marker(io, name);  // the claim is durable: the marker is stale now
    return std::move(task);
  }
  return std::nullopt;
}

std::vector<Task> FileStore::dequeue_batch(Session& session, Timestamp now, std::size_t max) {
  std::vector<Task> batch;
  while (batch.size() < max) {
    std::optional<Task> task = dequeue(session, now);
    if (!task) break;
    batch.push_back(std::move(*task));
  }
  return batch;
}

void FileStore::mark_running(Session& session, const std::string& id) {
  const StoredTask before = read_existing(session.io, "mark_running", id);
  StoredTask after = before;
  after.task.status = TaskStatus::RUNNING;
  after.task.updated_at = clock_();
  write_task(session.io, after);
  drop_marker(session.io, before);
}

void FileStore::mark_done(Session& session, const std::string& id, const TaskResult& result) {
  const StoredTask before = read_existing(session.io, "mark_done", id);
  write_result(session.io, result);
  StoredTask after = before;
  after.task.status = TaskStatus::SUCCESS;
  after.task.updated_at = clock_();
  write_task(session.io, after);
  drop_marker(session.io, before);
}

void FileStore::mark_failed(Session& session, const std::string& id, const std::string& error,
                            bool will_retry) {
  const StoredTask before = read_existing(session.io, "mark_failed", id);
  const Timestamp now = clock_();
  if (!will_retry) {
    write_result(session.io, TaskResult{.task_id = id,
                                        .status = TaskStatus::FAILED,
                                        .value = {},
                                        .error = error,
                                        .finished_at = now});
  }
  StoredTask after = before;
  after.task.last_error = error;
  after.task.status = will_retry ? TaskStatus::RETRYING : TaskStatus::FAILED;
  after.task.updated_at = now;
  write_task(session.io, after);
  drop_marker(session.io, before);
}

void FileStore::reschedule(Session& session, const std::string& id, Timestamp new_eta) {
  StoreIo& io = session.io;
  const StoredTask before = read_existing(io, "reschedule", id);
  StoredTask after = before;
  after.task.status = TaskStatus::PENDING;
  after.task.eta = new_eta;
  after.task.updated_at = clock_();
  const std::string new_marker = due_marker_name(new_eta, after.seq, id);
  // The new marker is durable before the task says PENDING with the new eta.
  add_marker(io, new_marker);
  io.sync(layout_.queue_dir());
  write_task(io, after);
  if (due_marker_name(before.task.eta, before.seq, id) != new_marker) drop_marker(io, before);
}

std::size_t FileStore::purge_results(Session& session, Timestamp older_than) {
  StoreIo& io = session.io;
  const fs::path& dir = layout_.results_dir();
  std::size_t removed = 0;
  for (const auto& name : io.list(dir)) {
    if (!name.ends_with(".result") || name.starts_with(kTempPrefix)) continue;
    const auto bytes = io.read(dir, name);
    if (!bytes) continue;
    Timestamp finished_at;
    try {
      finished_at = decode_result(*bytes, (dir / name).string()).finished_at;
    } catch (const CorruptionError&) {
      continue;  // PUR-5: left in place, where get_result keeps reporting the damage
    }
    if (finished_at < older_than && io.remove(dir, name)) ++removed;
  }
  if (removed > 0) io.sync(dir);
  return removed;
}

std::optional<Task> FileStore::get_task(const std::string& id) const {
  DirectIo io;
  auto stored = read_task_file(io, StoreLayout::task_file_name(id));
  if (!stored) return std::nullopt;
  return std::move(stored->task);
}

std::optional<TaskResult> FileStore::get_result(const std::string& id) const {
  const fs::path path = layout_.result_file(id);
  const auto bytes = read_file(path);
  if (!bytes) return std::nullopt;
  TaskResult result = decode_result(*bytes, path.string());
  if (result.task_id != id) {
    throw CorruptionError(path.string() + ": holds the result of task '" + result.task_id +
                          "', expected '" + id + "'");
  }
  return result;
}

}  // namespace taskstore::file_backend
