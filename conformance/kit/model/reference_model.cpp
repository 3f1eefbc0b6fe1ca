#include "taskstore/conformance/property/model.hpp"

#include <algorithm>
#include <limits>
#include <tuple>

#include "taskstore/errors.hpp"
#include "taskstore/storage.hpp"
#include "taskstore/validation.hpp"

namespace taskstore::conformance {

namespace {

// The model takes its input checks from the spec's shared helpers (validation.hpp, with
// their own unit tests), so it rejects exactly what the contract rejects.
template <typename Check>
bool accepted(Check check) {
  try {
    check();
    return true;
  } catch (const InvalidArgumentError&) {
    return false;
  }
}

bool well_formed_id(const std::string& id) {
  return accepted([&] { validate_task_id("model", id); });
}

}  // namespace

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::none: return "no error";
    case ErrorKind::invalid_argument: return "InvalidArgumentError";
    case ErrorKind::not_found: return "NotFoundError";
    case ErrorKind::conflict: return "ConflictError";
    case ErrorKind::corruption: return "CorruptionError";
    case ErrorKind::storage: return "StorageError";
    case ErrorKind::other: return "an exception that is not a StorageError";
  }
  return "?";
}

ReferenceModel::ReferenceModel(Timestamp start) : clock_(start) {}

template <typename T>
ReferenceModel::Entry* ReferenceModel::find_for_update(const std::string& task_id,
                                                       std::string_view unknown_rule,
                                                       Outcome<T>& outcome) {
  if (!well_formed_id(task_id)) {
    outcome.error = ErrorKind::invalid_argument;
    outcome.rule = "ENQ-5";
    return nullptr;
  }
  const auto it = tasks_.find(task_id);
  if (it == tasks_.end()) {
    outcome.error = ErrorKind::not_found;
    outcome.rule = unknown_rule;
    return nullptr;
  }
  return &it->second;
}

Outcome<std::string> ReferenceModel::enqueue(const Task& task) {
  Outcome<std::string> outcome;
  const bool exists = tasks_.contains(task.id);
  if (!accepted([&] { validate_new_task(task); })) {
    outcome.error = ErrorKind::invalid_argument;
    outcome.rule = well_formed_id(task.id) ? "ENQ-4" : "ENQ-5";
    // An invalid task under an existing id breaks ENQ-4 and ENQ-3 at once; the contract
    // orders neither check first.
    if (exists) outcome.also_allowed = ErrorKind::conflict;
    return outcome;
  }
  if (exists) {
    outcome.error = ErrorKind::conflict;
    outcome.rule = "ENQ-3";
    return outcome;
  }
  tasks_.emplace(task.id, Entry{.task = task, .seq = next_seq_++});
  outcome.value = task.id;
  outcome.rule = "ENQ-1";
  return outcome;
}

std::vector<const Task*> ReferenceModel::due_tasks(Timestamp now) const {
  std::vector<const Entry*> due;
  for (const auto& [id, entry] : tasks_) {
    if (entry.task.status == TaskStatus::PENDING && entry.task.eta <= now) due.push_back(&entry);
  }
  std::sort(due.begin(), due.end(), [](const Entry* a, const Entry* b) {
    return std::tie(a->task.eta, a->seq) < std::tie(b->task.eta, b->seq);
  });
  std::vector<const Task*> tasks;
  tasks.reserve(due.size());
  for (const Entry* entry : due) tasks.push_back(&entry->task);
  return tasks;
}

Outcome<std::optional<Task>> ReferenceModel::dequeue(Timestamp now) {
  Outcome<std::optional<Task>> outcome;
  const auto due = due_tasks(now);
  if (due.empty()) {
    outcome.rule = "DEQ-2";
    return outcome;
  }
  outcome.rule = due.size() == 1 ? "DEQ-1" : "DEQ-4";
  Task& task = tasks_.at(due.front()->id).task;
  task.status = TaskStatus::RUNNING;
  // DEQ-5: attempts stays at 2^31 - 1 once there, rather than overflowing.
  if (task.attempts < std::numeric_limits<std::int32_t>::max()) task.attempts += 1;
  task.updated_at = now;
  outcome.value = task;
  return outcome;
}

Outcome<std::vector<Task>> ReferenceModel::dequeue_batch(Timestamp now, std::size_t max) {
  Outcome<std::vector<Task>> outcome;
  if (max == 0 || max > BaseStorage::kMaxBatchClaim) {
    outcome.error = ErrorKind::invalid_argument;
    outcome.rule = "BAT-3";
    return outcome;
  }
  // Fewer due than asked for: BAT-3 decides how many; otherwise BAT-1 which ones.
  outcome.rule = due_tasks(now).size() < max ? "BAT-3" : "BAT-1";
  while (outcome.value.size() < max) {
    auto claim = dequeue(now);
    if (!claim.value) break;
    outcome.value.push_back(std::move(*claim.value));
  }
  return outcome;
}

Outcome<NoValue> ReferenceModel::mark_running(const std::string& task_id) {
  Outcome<NoValue> outcome;
  Entry* entry = find_for_update(task_id, "ERR-1", outcome);
  if (entry == nullptr) return outcome;
  entry->task.status = TaskStatus::RUNNING;
  entry->task.updated_at = clock_;
  outcome.rule = "RUN-1";
  return outcome;
}

Outcome<NoValue> ReferenceModel::mark_done(const std::string& task_id, const TaskResult& result) {
  Outcome<NoValue> outcome;
  if (!well_formed_id(task_id)) {
    outcome.error = ErrorKind::invalid_argument;
    outcome.rule = "ENQ-5";
    return outcome;
  }
  const bool exists = tasks_.contains(task_id);
  if (!accepted([&] { validate_success_result(task_id, result); })) {
    outcome.error = ErrorKind::invalid_argument;
    outcome.rule = "DONE-3";
    if (!exists) outcome.also_allowed = ErrorKind::not_found;  // ERR-1 holds as well
    return outcome;
  }
  Entry* entry = find_for_update(task_id, "ERR-1", outcome);
  if (entry == nullptr) return outcome;
  outcome.rule = results_.contains(task_id) ? "DONE-2" : "DONE-1";
  results_.insert_or_assign(task_id, result);
  entry->task.status = TaskStatus::SUCCESS;
  entry->task.updated_at = clock_;
  return outcome;
}

Outcome<std::optional<TaskResult>> ReferenceModel::get_result(const std::string& task_id) const {
  Outcome<std::optional<TaskResult>> outcome;
  if (!well_formed_id(task_id)) {
    outcome.error = ErrorKind::invalid_argument;
    outcome.rule = "ENQ-5";
    return outcome;
  }
  const auto it = results_.find(task_id);
  if (it == results_.end()) {
    outcome.rule = "RES-2";
    return outcome;
  }
  outcome.value = it->second;
  outcome.rule = "RES-1";
  return outcome;
}

Outcome<std::size_t> ReferenceModel::purge_results(Timestamp older_than) {
  Outcome<std::size_t> outcome;
  const bool at_boundary = std::any_of(results_.begin(), results_.end(), [&](const auto& item) {
    const Timestamp finished = item.second.finished_at;
    return finished == older_than || finished == older_than - Duration{1};
  });
  outcome.rule = at_boundary ? "PUR-2" : "PUR-1";
  outcome.value = std::erase_if(
      results_, [&](const auto& item) { return item.second.finished_at < older_than; });
  return outcome;
}

Outcome<NoValue> ReferenceModel::mark_failed(const std::string& task_id, const std::string& error,
                                             bool will_retry) {
  Outcome<NoValue> outcome;
  Entry* entry = find_for_update(task_id, "ERR-1", outcome);
  if (entry == nullptr) return outcome;
  entry->task.last_error = error;
  entry->task.updated_at = clock_;
  if (will_retry) {
    entry->task.status = TaskStatus::RETRYING;
    outcome.rule = "FAIL-1";
    return outcome;
  }
  entry->task.status = TaskStatus::FAILED;
  results_.insert_or_assign(task_id, TaskResult{.task_id = task_id,
                                                .status = TaskStatus::FAILED,
                                                .value = {},
                                                .error = error,
                                                .finished_at = clock_});
  outcome.rule = "FAIL-3";
  return outcome;
}

Outcome<std::optional<Task>> ReferenceModel::get_task(const std::string& task_id) const {
  Outcome<std::optional<Task>> outcome;
  if (!well_formed_id(task_id)) {
    outcome.error = ErrorKind::invalid_argument;
    outcome.rule = "ENQ-5";
    return outcome;
  }
  const Task* task = find_task(task_id);
  outcome.rule = task ? "GET-1" : "GET-2";
  if (task) outcome.value = *task;
  return outcome;
}

Outcome<NoValue> ReferenceModel::reschedule(const std::string& task_id, Timestamp new_eta) {
  Outcome<NoValue> outcome;
  Entry* entry = find_for_update(task_id, "RSC-2", outcome);
  if (entry == nullptr) return outcome;
  outcome.rule = entry->task.status == TaskStatus::RETRYING ? "RSC-4" : "RSC-6";
  // Keeps its enqueue order (seq): DEQ-4 orders ties by enqueue, not by reschedule.
  entry->task.status = TaskStatus::PENDING;
  entry->task.eta = new_eta;
  entry->task.updated_at = clock_;
  return outcome;
}

const Task* ReferenceModel::find_task(const std::string& task_id) const {
  const auto it = tasks_.find(task_id);
  return it == tasks_.end() ? nullptr : &it->second.task;
}

const TaskResult* ReferenceModel::find_result(const std::string& task_id) const {
  const auto it = results_.find(task_id);
  return it == results_.end() ? nullptr : &it->second;
}

std::vector<std::string> ReferenceModel::task_ids() const {
  std::vector<const Entry*> entries;
  for (const auto& [id, entry] : tasks_) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const Entry* a, const Entry* b) { return a->seq < b->seq; });
  std::vector<std::string> ids;
  for (const Entry* entry : entries) ids.push_back(entry->task.id);
  return ids;
}

std::vector<std::string> ReferenceModel::result_ids() const {
  std::vector<std::string> ids;
  for (const auto& [id, result] : results_) ids.push_back(id);
  return ids;
}

}  // namespace taskstore::conformance
