// FileStorage: runs each FileStore operation on the backend's own pool, so a caller's
// executor never waits on the disk or on another process's lock. Writes go through
// GroupCommit: those that queue up while a group is being committed share the next one
// (write_group.hpp); reads run on the pool directly.
//
// Each operation names its work lambda before the co_await: g++ 12 destroys a lambda
// temporary written inside a co_await expression twice (a double free once it captures
// a std::string), while a named lambda moved into offload is destroyed once.

#include "taskstore/file_storage.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/thread_pool.hpp>
#include <span>
#include <type_traits>
#include <utility>

#include "file_store.hpp"
#include "write_group.hpp"
#include "taskstore/internal/group_commit.hpp"
#include "taskstore/offload.hpp"
#include "taskstore/validation.hpp"

namespace taskstore {

namespace {

using file_backend::Session;

// Wraps `work` so that an I/O or corruption error also says which operation and task it
// came from. The message still starts with what the error names (usually a file path);
// NotFound, Conflict and InvalidArgument errors already name the operation and pass as is.
// The wrapper takes whatever arguments `work` does (none for reads, the Session for writes).
template <typename Work>
auto with_context(std::string context, Work work) {
  return [context = std::move(context), work = std::move(work)]<typename... Args>(
             Args&... args) mutable -> std::invoke_result_t<Work&, Args&...> {
    try {
      return work(args...);
    } catch (const NotFoundError&) {
      throw;
    } catch (const ConflictError&) {
      throw;
    } catch (const InvalidArgumentError&) {
      throw;
    } catch (const CorruptionError& e) {
      throw CorruptionError(std::string(e.what()) + " (during " + context + ")");
    } catch (const StorageError& e) {
      throw StorageError(std::string(e.what()) + " (during " + context + ")");
    } catch (const std::exception& e) {
      // e.g. std::bad_alloc for a huge file: still a typed error for the caller.
      throw StorageError(std::string(e.what()) + " (during " + context + ")");
    }
  };
}

std::string about(std::string_view operation, const std::string& task_id) {
  return std::string(operation) + " of task '" + task_id + "'";
}

}  // namespace

class FileStorage::Impl {
 public:
  explicit Impl(const FileStorageOptions& options)
      : store(options.directory, options.clock),
        pool(std::max<std::size_t>(1, options.io_threads)),
        writes(pool.get_executor(), options.max_group_size,
               [this, max = options.max_group_size](
                   std::span<file_backend::WriteOperation* const> group) {
                 // max_group_size = 1 asks for every write alone: the direct path, no overlay.
                 file_backend::commit_write_group(store, group, /*direct=*/max <= 1);
               }) {}

  // Waits for work already posted: it refers to `store`. Then puts back, if it can, what
  // a failed write left owed (FILE-7); a forked child never touches the parent's store.
  ~Impl() {
    pool.join();
    if (::getpid() == owner) store.settle_repairs_on_close();
  }

  // A child forked from the opening process has no pool threads (work would never run)
  // and shares the parent's descriptors: it must open its own instance.
  void check_process(std::string_view operation) const {
    if (::getpid() != owner) {
      throw StorageError(std::string(operation) + ": file store " + store.layout().root().string() +
                         " was opened by process " + std::to_string(owner) +
                         "; a forked child must open its own instance");
    }
  }

  // Queues `work(session)` (wrapped by with_context) into the next commit group.
  template <typename Work>
  auto write(std::string_view operation, std::string task_id, Work work) {
    check_process(operation);
    std::string context = task_id.empty() ? std::string(operation) : about(operation, task_id);
    return writes.submit(operation, std::move(task_id),
                         with_context(std::move(context), std::move(work)));
  }

  file_backend::FileStore store;
  boost::asio::thread_pool pool;
  GroupCommit<file_backend::Session> writes;
  const pid_t owner = ::getpid();
};

FileStorage::FileStorage(FileStorageOptions options) : impl_(std::make_unique<Impl>(options)) {}

FileStorage::~FileStorage() = default;

const std::filesystem::path& FileStorage::directory() const { return impl_->store.layout().root(); }

GroupCommitStats FileStorage::group_commit_stats() const { return impl_->writes.stats(); }

std::filesystem::path FileStorage::task_path(const std::string& task_id) const {
  return impl_->store.layout().task_file(task_id);
}

std::filesystem::path FileStorage::lock_path() const { return impl_->store.layout().lock_file(); }

std::filesystem::path FileStorage::result_path(const std::string& task_id) const {
  return impl_->store.layout().result_file(task_id);
}

Awaitable<std::string> FileStorage::enqueue(Task task) {
  impl_->check_process("enqueue");
  validate_new_task(task);
  std::string id = task.id;
  auto op = impl_->write("enqueue", std::move(id),
                         [store = &impl_->store, task = std::move(task)](Session& session) {
                           return store->enqueue(session, task);
                         });
  co_return co_await std::move(op);
}

Awaitable<std::optional<Task>> FileStorage::dequeue(Timestamp now) {
  auto op = impl_->write("dequeue", {}, [store = &impl_->store, now](Session& session) {
    return store->dequeue(session, now);
  });
  co_return co_await std::move(op);
}

Awaitable<std::vector<Task>> FileStorage::dequeue_batch(Timestamp now, std::size_t max) {
  impl_->check_process("dequeue_batch");
  validate_batch_size(max);
  auto op = impl_->write("dequeue_batch", {}, [store = &impl_->store, now, max](Session& session) {
    return store->dequeue_batch(session, now, max);
  });
  co_return co_await std::move(op);
}

Awaitable<void> FileStorage::mark_running(std::string task_id) {
  impl_->check_process("mark_running");
  validate_task_id("mark_running", task_id);
  std::string id = task_id;
  auto op = impl_->write("mark_running", std::move(id),
                         [store = &impl_->store, task_id = std::move(task_id)](Session& session) {
                           store->mark_running(session, task_id);
                         });
  co_await std::move(op);
}

Awaitable<void> FileStorage::mark_done(std::string task_id, TaskResult result) {
  impl_->check_process("mark_done");
  validate_success_result(task_id, result);
  std::string id = task_id;
  auto op = impl_->write(
      "mark_done", std::move(id),
      [store = &impl_->store, task_id = std::move(task_id), result = std::move(result)](
          Session& session) { store->mark_done(session, task_id, result); });
  co_await std::move(op);
}

Awaitable<std::optional<TaskResult>> FileStorage::get_result(std::string task_id) {
  impl_->check_process("get_result");
  validate_task_id("get_result", task_id);
  auto context = about("get_result", task_id);
  auto work = with_context(
      std::move(context),
      [store = &impl_->store, task_id = std::move(task_id)] { return store->get_result(task_id); });
  co_return co_await offload(impl_->pool.get_executor(), std::move(work));
}

Awaitable<std::size_t> FileStorage::purge_results(Timestamp older_than) {
  auto op =
      impl_->write("purge_results", {}, [store = &impl_->store, older_than](Session& session) {
        return store->purge_results(session, older_than);
      });
  co_return co_await std::move(op);
}

Awaitable<void> FileStorage::mark_failed(std::string task_id, std::string error, bool will_retry) {
  impl_->check_process("mark_failed");
  validate_task_id("mark_failed", task_id);
  std::string id = task_id;
  auto op = impl_->write(
      "mark_failed", std::move(id),
      [store = &impl_->store, task_id = std::move(task_id), error = std::move(error),
       will_retry](Session& session) { store->mark_failed(session, task_id, error, will_retry); });
  co_await std::move(op);
}

Awaitable<std::optional<Task>> FileStorage::get_task(std::string task_id) {
  impl_->check_process("get_task");
  validate_task_id("get_task", task_id);
  auto context = about("get_task", task_id);
  auto work = with_context(
      std::move(context),
      [store = &impl_->store, task_id = std::move(task_id)] { return store->get_task(task_id); });
  co_return co_await offload(impl_->pool.get_executor(), std::move(work));
}

Awaitable<void> FileStorage::reschedule(std::string task_id, Timestamp new_eta) {
  impl_->check_process("reschedule");
  validate_task_id("reschedule", task_id);
  std::string id = task_id;
  auto op = impl_->write("reschedule", std::move(id),
                         [store = &impl_->store, task_id = std::move(task_id), new_eta](
                             Session& session) { store->reschedule(session, task_id, new_eta); });
  co_await std::move(op);
}

}  // namespace taskstore
