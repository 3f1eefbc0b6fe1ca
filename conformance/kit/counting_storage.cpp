#include "taskstore/conformance/counting_storage.hpp"

#include <stdexcept>

namespace taskstore::conformance {

std::string_view to_string(StorageOperation operation) {
  switch (operation) {
    case StorageOperation::enqueue:
      return "enqueue";
    case StorageOperation::dequeue:
      return "dequeue";
    case StorageOperation::mark_running:
      return "mark_running";
    case StorageOperation::mark_done:
      return "mark_done";
    case StorageOperation::get_result:
      return "get_result";
    case StorageOperation::purge_results:
      return "purge_results";
    case StorageOperation::mark_failed:
      return "mark_failed";
    case StorageOperation::get_task:
      return "get_task";
    case StorageOperation::reschedule:
      return "reschedule";
    case StorageOperation::dequeue_batch:
      return "dequeue_batch";
  }
  return "unknown";
}

std::string describe(const StorageCall& call) {
  std::string text(to_string(call.operation));
  text += "(";
  std::string separator;
  if (!call.task_id.empty()) {
    text += "'" + call.task_id + "'";
    separator = ", ";
  }
  if (call.time) {
    text += separator + format_timestamp(*call.time);
    separator = ", ";
  }
  if (call.will_retry) text += separator + "will_retry=" + (*call.will_retry ? "true" : "false");
  if (call.max) text += separator + "max=" + std::to_string(*call.max);
  return text + ")";
}

std::string describe(const std::vector<StorageCall>& calls) {
  std::string text;
  for (const auto& call : calls) text += "\n  " + describe(call);
  return calls.empty() ? "(no calls)" : text;
}

CountingStorage::CountingStorage(std::shared_ptr<BaseStorage> inner)
    : StorageWrapper(std::move(inner)) {}

void CountingStorage::record(const StorageCall& call) {
  std::lock_guard lock(mutex_);
  calls_.push_back(call);
}

Awaitable<void> CountingStorage::observe(const StorageCall& call) {
  if (observer_) {
    auto observation = observer_(call);
    co_await std::move(observation);
  }
}

void CountingStorage::set_observer(Observer observer) { observer_ = std::move(observer); }

// Each forwarding call passes named values to the inner store: g++ 12 destroys braced
// temporaries inside a co_await expression twice (see the README's toolchain notes).

Awaitable<std::string> CountingStorage::enqueue(Task task) {
  const StorageCall call{.operation = StorageOperation::enqueue, .task_id = task.id};
  record(call);
  std::string id = co_await StorageWrapper::enqueue(std::move(task));
  co_await observe(call);
  co_return id;
}

Awaitable<std::optional<Task>> CountingStorage::dequeue(Timestamp now) {
  const StorageCall call{.operation = StorageOperation::dequeue, .time = now};
  record(call);
  std::optional<Task> task = co_await StorageWrapper::dequeue(now);
  co_await observe(call);
  co_return task;
}

Awaitable<std::vector<Task>> CountingStorage::dequeue_batch(Timestamp now, std::size_t max) {
  const StorageCall call{.operation = StorageOperation::dequeue_batch, .time = now, .max = max};
  record(call);
  std::vector<Task> batch = co_await StorageWrapper::dequeue_batch(now, max);
  co_await observe(call);
  co_return batch;
}

Awaitable<void> CountingStorage::mark_running(std::string task_id) {
  const StorageCall call{.operation = StorageOperation::mark_running, .task_id = task_id};
  record(call);
  co_await StorageWrapper::mark_running(std::move(task_id));
  co_await observe(call);
}

Awaitable<void> CountingStorage::mark_done(std::string task_id, TaskResult result) {
  const StorageCall call{.operation = StorageOperation::mark_done, .task_id = task_id};
  record(call);
  co_await StorageWrapper::mark_done(std::move(task_id), std::move(result));
  co_await observe(call);
}

Awaitable<std::optional<TaskResult>> CountingStorage::get_result(std::string task_id) {
  const StorageCall call{.operation = StorageOperation::get_result, .task_id = task_id};
  record(call);
  std::optional<TaskResult> result = co_await StorageWrapper::get_result(std::move(task_id));
  co_await observe(call);
  co_return result;
}

Awaitable<std::size_t> CountingStorage::purge_results(Timestamp older_than) {
  const StorageCall call{.operation = StorageOperation::purge_results, .time = older_than};
  record(call);
  const std::size_t purged = co_await StorageWrapper::purge_results(older_than);
  co_await observe(call);
  co_return purged;
}

Awaitable<void> CountingStorage::mark_failed(std::string task_id, std::string error,
                                             bool will_retry) {
  const StorageCall call{
      .operation = StorageOperation::mark_failed, .task_id = task_id, .will_retry = will_retry};
  record(call);
  co_await StorageWrapper::mark_failed(std::move(task_id), std::move(error), will_retry);
  co_await observe(call);
}

Awaitable<std::optional<Task>> CountingStorage::get_task(std::string task_id) {
  const StorageCall call{.operation = StorageOperation::get_task, .task_id = task_id};
  record(call);
  std::optional<Task> task = co_await StorageWrapper::get_task(std::move(task_id));
  co_await observe(call);
  co_return task;
}

Awaitable<void> CountingStorage::reschedule(std::string task_id, Timestamp new_eta) {
  const StorageCall call{
      .operation = StorageOperation::reschedule, .task_id = task_id, .time = new_eta};
  record(call);
  co_await StorageWrapper::reschedule(std::move(task_id), new_eta);
  co_await observe(call);
}

std::vector<StorageCall> CountingStorage::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

std::vector<StorageCall> CountingStorage::calls_for(std::string_view task_id) const {
  std::lock_guard lock(mutex_);
  std::vector<StorageCall> selected;
  for (const auto& call : calls_) {
    if (call.task_id == task_id) selected.push_back(call);
  }
  return selected;
}

std::size_t CountingStorage::count(StorageOperation operation) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& call : calls_) n += call.operation == operation ? 1 : 0;
  return n;
}

std::size_t CountingStorage::count(StorageOperation operation, std::string_view task_id) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& call : calls_)
    n += (call.operation == operation && call.task_id == task_id) ? 1 : 0;
  return n;
}

void CountingStorage::clear() {
  std::lock_guard lock(mutex_);
  calls_.clear();
}

}  // namespace taskstore::conformance
