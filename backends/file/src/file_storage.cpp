// FileStorage: runs each FileStore operation on the backend's own pool, so a caller's
// executor never waits on the disk or on another process's lock.
//
// Each operation names its work lambda before the co_await: g++ 12 destroys a lambda
// temporary written inside a co_await expression twice (a double free once it captures
// a std::string), while a named lambda moved into offload is destroyed once.

#include "taskstore/file_storage.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/thread_pool.hpp>
#include <utility>

#include "file_store.hpp"
#include "taskstore/offload.hpp"
#include "taskstore/validation.hpp"

namespace taskstore {

namespace {

// Wraps `work` so that an I/O or corruption error also says which operation and task it
// came from. The message still starts with what the error names (usually a file path);
// NotFound, Conflict and InvalidArgument errors already name the operation and pass as is.
template <typename Work>
auto with_context(std::string context, Work work) {
  return [context = std::move(context), work = std::move(work)]() mutable -> decltype(work()) {
    try {
      return work();
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
        pool(std::max<std::size_t>(1, options.io_threads)) {}

  // Waits for work already posted: it refers to `store`.
  ~Impl() { pool.join(); }

  // A child forked from the opening process has no pool threads (work would never run)
  // and shares the parent's descriptors: it must open its own instance.
  void check_process(std::string_view operation) const {
    if (::getpid() != owner) {
      throw StorageError(std::string(operation) + ": file store " + store.layout().root().string() +
                         " was opened by process " + std::to_string(owner) +
                         "; a forked child must open its own instance");
    }
  }

  file_backend::FileStore store;
  boost::asio::thread_pool pool;
  const pid_t owner = ::getpid();
};

FileStorage::FileStorage(FileStorageOptions options) : impl_(std::make_unique<Impl>(options)) {}

FileStorage::~FileStorage() = default;

const std::filesystem::path& FileStorage::directory() const { return impl_->store.layout().root(); }

std::filesystem::path FileStorage::task_path(const std::string& task_id) const {
  return impl_->store.layout().task_file(task_id);
}

std::filesystem::path FileStorage::result_path(const std::string& task_id) const {
  return impl_->store.layout().result_file(task_id);
}

Awaitable<std::string> FileStorage::enqueue(Task task) {
  impl_->check_process("enqueue");
  validate_new_task(task);
  auto context = about("enqueue", task.id);
  auto work = with_context(std::move(context), [store = &impl_->store, task = std::move(task)] {
    return store->enqueue(task);
  });
  co_return co_await offload(impl_->pool.get_executor(), std::move(work));
}

Awaitable<std::optional<Task>> FileStorage::dequeue(Timestamp now) {
  impl_->check_process("dequeue");
  auto work = with_context("dequeue", [store = &impl_->store, now] { return store->dequeue(now); });
  co_return co_await offload(impl_->pool.get_executor(), std::move(work));
}

Awaitable<void> FileStorage::mark_running(std::string task_id) {
  impl_->check_process("mark_running");
  validate_task_id("mark_running", task_id);
  auto context = about("mark_running", task_id);
  auto work = with_context(
      std::move(context),
      [store = &impl_->store, task_id = std::move(task_id)] { store->mark_running(task_id); });
  co_await offload(impl_->pool.get_executor(), std::move(work));
}

Awaitable<void> FileStorage::mark_done(std::string task_id, TaskResult result) {
  impl_->check_process("mark_done");
  validate_success_result(task_id, result);
  auto context = about("mark_done", task_id);
  auto work = with_context(std::move(context),
                           [store = &impl_->store, task_id = std::move(task_id),
                            result = std::move(result)] { store->mark_done(task_id, result); });
  co_await offload(impl_->pool.get_executor(), std::move(work));
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
  impl_->check_process("purge_results");
  auto work = with_context("purge_results", [store = &impl_->store, older_than] {
    return store->purge_results(older_than);
  });
  co_return co_await offload(impl_->pool.get_executor(), std::move(work));
}

Awaitable<void> FileStorage::mark_failed(std::string task_id, std::string error, bool will_retry) {
  impl_->check_process("mark_failed");
  validate_task_id("mark_failed", task_id);
  auto context = about("mark_failed", task_id);
  auto work = with_context(std::move(context), [store = &impl_->store, task_id = std::move(task_id),
                                                error = std::move(error), will_retry] {
    store->mark_failed(task_id, error, will_retry);
  });
  co_await offload(impl_->pool.get_executor(), std::move(work));
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
  auto context = about("reschedule", task_id);
  auto work = with_context(std::move(context), [store = &impl_->store, task_id = std::move(task_id),
                                                new_eta] { store->reschedule(task_id, new_eta); });
  co_await offload(impl_->pool.get_executor(), std::move(work));
}

}  // namespace taskstore
