#pragma once
// GroupSession: what a group commit's operations run on. It wraps the group's connection
// and batches the operations a queue's workers make most: claims, mark_running and
// mark_done. Run one at a time, each costs a round trip or three to the server; in a
// batch, all the group's claims take one statement and all its mark_running and mark_done
// one more, whatever their number.
//
// The group commit runs each batchable operation twice. First while planning: the
// operation only records what it asks for. Then run_batches() runs the batch statements,
// and on the second run (replay) each operation gets its own outcome, in the order it
// asked. The operations of one group are concurrent calls, so any order among them is one
// their callers could have seen; the batches put the claims first, then the by-id writes,
// then everything else in arrival order. An operation the batch could not settle (a second
// write to the same task, a claim the batch ran short of) runs on its own in replay.

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "connection.hpp"
#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::postgres {

class GroupSession {
 public:
  explicit GroupSession(Connection& connection) : connection_(connection) {}

  Connection& connection() { return connection_; }

  // Whether the operation named `operation` (GroupCommit's name) goes through a batch.
  static bool batchable(std::string_view operation) {
    return operation == "dequeue" || operation == "mark_running" || operation == "mark_done";
  }

  // The batchable operations (queries.hpp says what each does). While planning they
  // record the request and return nothing; in replay they return or throw its outcome;
  // outside a group's batching (direct) they run on their own.
  std::optional<Task> claim(Timestamp now, std::vector<std::int64_t>& damaged);
  void mark_running(const std::string& task_id, Timestamp now);
  void mark_done(const std::string& task_id, const TaskResult& result, Timestamp now);

  // For the group commit. start_planning() forgets earlier requests. run_batches() opens
  // the transaction and runs the batches in it, all in one round trip; should a row they
  // wrote turn out damaged it records it (passed over from then on) and throws
  // UndoAndRetry. stop_batching() returns to direct mode.
  void start_planning();
  void run_batches();
  void stop_batching();

 private:
  enum class Mode { direct, planning, replay };

  struct ClaimRequest {
    Timestamp now;
    std::optional<Task> task;
    bool settled = false;
  };
  struct WriteRequest {
    std::string task_id;
    Timestamp now;
    const TaskResult* result;  // mark_done's (alive in its operation); null for mark_running
    std::exception_ptr error;  // NotFoundError, found by the batch
    bool batched = false;
    bool settled = false;
  };

  static const std::string& claim_sql();
  Params claim_batch_params() const;
  void settle_claims(const Result& rows);
  static const std::string& write_sql();
  Params write_batch_params();
  void settle_writes(const Result& rows);

  Connection& connection_;
  Mode mode_ = Mode::direct;
  std::vector<ClaimRequest> claims_;
  std::vector<WriteRequest> writes_;
  std::size_t next_claim_ = 0;
  std::size_t next_write_ = 0;
  // Rows found damaged by a batch claim in this group, passed over by every later claim.
  std::vector<std::int64_t> damaged_;
  // Tasks whose rows a batch write found damaged: their writes run alone from then on.
  std::unordered_set<std::string> unbatched_;
};

}  // namespace taskstore::postgres
