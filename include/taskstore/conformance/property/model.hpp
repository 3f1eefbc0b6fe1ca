#pragma once
// ReferenceModel: the storage contract of spec/requirements.md section 1 as plain data.
// It keeps tasks, results and a clock of its own, does no I/O, and answers each of the
// nine operations the way every backend must. Property tests run the same operations on
// a backend and on the model and compare every answer; the queue's tests can build on it
// for the storage side of the queue's behaviour.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::conformance {

// How an operation ended. The typed errors of errors.hpp, plus `storage` for a plain
// StorageError and `other` for anything that is not a StorageError at all.
enum class ErrorKind : std::uint8_t {
  none,
  invalid_argument,
  not_found,
  conflict,
  corruption,
  storage,
  other,
};

// "no error", "InvalidArgumentError", ...
std::string_view to_string(ErrorKind kind);

// What the contract says an operation gives: a value, or an error of a given kind. Where
// the contract allows either of two errors (an invalid result for an unknown task is both
// DONE-3 and ERR-1), `also_allowed` names the second. `rule` is the requirement ID that
// decides this answer, for failure messages.
template <typename T>
struct Outcome {
  T value{};
  ErrorKind error = ErrorKind::none;
  ErrorKind also_allowed = ErrorKind::none;
  std::string_view rule;

  bool ok() const { return error == ErrorKind::none; }
  bool allows(ErrorKind kind) const {
    return kind == error || (also_allowed != ErrorKind::none && kind == also_allowed);
  }
};

// For the operations that return nothing.
using NoValue = std::monostate;

class ReferenceModel {
 public:
  // An empty store whose clock reads `start`.
  explicit ReferenceModel(Timestamp start);

  // The clock: what a store under test reads where an operation has no `now` argument
  // (updated_at of mark_running, mark_done, mark_failed and reschedule; finished_at of
  // the FAILED result of mark_failed(will_retry = false)).
  Timestamp now() const { return clock_; }
  void set_clock(Timestamp now) { clock_ = now; }

  // The nine operations of BaseStorage, each with the semantics of its requirements.
  Outcome<std::string> enqueue(const Task& task);
  Outcome<std::optional<Task>> dequeue(Timestamp now);
  // The optional batch claim (BAT-1 ... BAT-3): max dequeues in one step.
  Outcome<std::vector<Task>> dequeue_batch(Timestamp now, std::size_t max);
  Outcome<NoValue> mark_running(const std::string& task_id);
  Outcome<NoValue> mark_done(const std::string& task_id, const TaskResult& result);
  Outcome<std::optional<TaskResult>> get_result(const std::string& task_id) const;
  Outcome<std::size_t> purge_results(Timestamp older_than);
  Outcome<NoValue> mark_failed(const std::string& task_id, const std::string& error,
                               bool will_retry);
  Outcome<std::optional<Task>> get_task(const std::string& task_id) const;
  Outcome<NoValue> reschedule(const std::string& task_id, Timestamp new_eta);

  // Inspection, for generators and checks. Pointers stay valid until the next mutation.
  const Task* find_task(const std::string& task_id) const;
  const TaskResult* find_result(const std::string& task_id) const;
  // Every task id, in enqueue order; every id that has a result, in id order.
  std::vector<std::string> task_ids() const;
  std::vector<std::string> result_ids() const;
  // The tasks dequeue(now) may return (PENDING, eta <= now), in claim order.
  std::vector<const Task*> due_tasks(Timestamp now) const;

  friend bool operator==(const ReferenceModel&, const ReferenceModel&) = default;

 private:
  struct Entry {
    Task task;
    std::uint64_t seq = 0;  // enqueue order, the tie-breaker among equal etas (DEQ-4)

    friend bool operator==(const Entry&, const Entry&) = default;
  };

  // The entry of a known task, or an Outcome error for a malformed or unknown id.
  template <typename T>
  Entry* find_for_update(const std::string& task_id, std::string_view unknown_rule,
                         Outcome<T>& outcome);

  Timestamp clock_;
  std::map<std::string, Entry> tasks_;
  std::map<std::string, TaskResult> results_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace taskstore::conformance
