#pragma once
// The crash cycles' bookkeeping (see taskstore/conformance/crash_driver.hpp): the
// operations a child runs, their one-line form on the report pipe, and what the
// acknowledged history says every task must look like after the child is killed, including
// the states the one operation cut short may have left (CRASH-1, CRASH-2).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::conformance::detail {

enum class CrashOpKind {
  enqueue,
  dequeue,
  dequeue_batch,  // text: the batch's max, in decimal
  mark_running,
  mark_done,
  mark_failed_retry,  // mark_failed(will_retry = true)
  mark_failed_final,  // mark_failed(will_retry = false)
  reschedule,
};

struct CrashOp {
  CrashOpKind kind = CrashOpKind::enqueue;
  std::string id;  // the task; "-" for dequeue and dequeue_batch
  // enqueue: the eta; dequeue, dequeue_batch: now; reschedule: the new eta; mark_done:
  // finished_at.
  Timestamp time{};
  // mark_done: the result value; mark_failed: the error; dequeue_batch: max; else "-"
  std::string text;
};

// How many tasks `op` may claim: 1 for a dequeue, max for a batch, 0 for the rest.
std::size_t claim_capacity(const CrashOp& op);

// "mark_done k3-7 1767225600000001 v3.12": tokens without spaces (ids and texts are made
// by the driver).
std::string encode(const CrashOp& op);
std::optional<CrashOp> decode_op(std::string_view line);
std::string_view to_string(CrashOpKind kind);

// The task `enqueue` stores, and the result `mark_done` stores, for an operation.
Task crash_task(const std::string& id, Timestamp eta, Timestamp created_at);
TaskResult done_result(const CrashOp& op);

// One task as the acknowledged history says it must be. updated_at is never compared: the
// backend stamps it from its own clock.
struct ExpectedTask {
  Task task;
  std::optional<TaskResult> result;
  bool finished_at_known = true;  // false for the FAILED result of mark_failed(false)
};

// Whether the stored task and result are what `expected` says.
bool matches(const ExpectedTask& expected, const std::optional<Task>& task,
             const std::optional<TaskResult>& result);
// "SUCCESS eta=t+2s attempts=1 last_error=none result=SUCCESS/'v3.1'", for messages.
std::string brief(const std::optional<Task>& task, const std::optional<TaskResult>& result,
                  Timestamp base);
std::string brief(const ExpectedTask& expected, Timestamp base);

// The full effect of `op` on a task it names (for dequeue: the claim at op.time).
ExpectedTask applied(const ExpectedTask& before, const CrashOp& op);
// The partial effect a crash may leave (CRASH-2): the new result of mark_done or
// mark_failed(false) stored while the task is unchanged. nullopt for other operations.
std::optional<ExpectedTask> result_only(const ExpectedTask& before, const CrashOp& op);

// Whether every way the stored task and result differ from `expected` is a way `op` would
// change them: the difference may then be `op` showing half-way (CRASH-2), not an
// acknowledged operation lost (CRASH-1). A vanished task is never within reach.
bool within_reach(const ExpectedTask& expected, const CrashOp& op, const std::optional<Task>& task,
                  const std::optional<TaskResult>& result);

// Due at `now`: what dequeue(now) may claim.
bool is_due(const ExpectedTask& expected, Timestamp now);

}  // namespace taskstore::conformance::detail
