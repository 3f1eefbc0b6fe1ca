#pragma once
// The crash cycles' picture of the store (see taskstore/conformance/crash_driver.hpp):
// what the acknowledged history says of every task, built from the child's report lines
// and checked against the store after each kill (CRASH-1..4).
//
// The child runs its workload on one or more threads, as workers would: a thread changes
// only tasks it enqueued or claimed and still holds, and lets go of a task when it makes
// it due (an enqueue or a reschedule to an eta that has come), after which only a dequeue
// takes it. So at most one operation other than a dequeue is ever in flight on a task, and
// every thread's dequeues contend for the same due tasks. The report pipe orders the lines
// of all threads as they were written: an acknowledgement before a begin line means the
// first operation returned before the second started. One reordering is allowed, the only
// one this workload can produce: a dequeue may return a task before the operation that
// made it due has been acknowledged; that operation then took effect first.

#include <boost/asio/io_context.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crash_model.hpp"
#include "taskstore/conformance/crash_driver.hpp"
#include "taskstore/storage.hpp"

namespace taskstore::conformance::detail {

// Every time of a run is an offset from the suite's t0.
inline constexpr Timestamp kCrashBase = from_micros(1'767'225'600'000'001);
// The `now` of the child's dequeues: tasks with an eta up to kCrashBase + 1 s are due.
inline constexpr Timestamp kChildNow = kCrashBase + std::chrono::seconds(1);
// The `now` of the parent's drains: every PENDING task of a run is due.
inline constexpr Timestamp kDrainNow = kCrashBase + std::chrono::hours(24);

// An operation a child thread has begun and not yet acknowledged.
struct Flight {
  CrashOp op;
  long begun = 0;        // the report line that began it (lines are numbered from 1)
  bool applied = false;  // taken into the history early, as a dequeue showed it had run
};
using Flights = std::map<int, Flight>;  // by the child's thread number

class CrashHistory {
 public:
  explicit CrashHistory(CrashRunReport& report) : report_(report) {}

  std::size_t size() const { return tasks_.size(); }

  // The tasks a child's threads may change: all but those PENDING and due at kChildNow,
  // which belong to whichever thread's dequeue claims them.
  std::vector<std::string> holdable() const;
  // Every task, in enqueue order: what a child on one thread holds.
  const std::vector<std::string>& all_ids() const { return ids_; }

  // Takes `thread`'s operation, acknowledged at report line `line` with `claimed` (the ids a
  // dequeue or batch claimed, comma-separated, or "-"), into the history, and removes it
  // from `flights`. A claim must take tasks that were due while it ran, at most its
  // capacity (1, or a batch's max), and may come back short only if every other task due
  // when it began could have gone to another claim in flight, and did: once those have all
  // returned, each such task must be one they claimed.
  void acknowledge(int thread, const std::string& claimed, long line, Flights& flights,
                   const std::string& context);

  // Reads every task back from a reopened store and checks it against the history, letting
  // each operation in `flights` (cut short by the kill) show wholly, not at all, or
  // (mark_done, mark_failed without retry) by its result alone, and the claims in flight
  // take at most their capacity of due tasks between them, each claim whole (a batch may
  // show any of its claims: see CRASH-2). Then takes what the store holds as the history, since it
  // is one of the states allowed. Returns whether any operation in flight showed.
  bool verify(BaseStorage& store, boost::asio::io_context& io, const Flights& flights,
              const std::string& context);

  // Dequeues until nothing is due at kDrainNow: every PENDING task must come out exactly
  // once, as the history says it is, and nothing else.
  void drain(BaseStorage& store, boost::asio::io_context& io, const std::string& context);

 private:
  // What a task is after `op` (an enqueue: the task as enqueued).
  ExpectedTask state_after(const CrashOp& op) const;
  void apply(const CrashOp& op, long line);
  // `flights` holds the other threads' operations in flight.
  void claim(const std::string& id, const CrashOp& dequeue, long line, Flights& flights,
             const std::string& context);
  // A claim that returned `returned` tasks, fewer than its capacity.
  void check_short_claim(const Flight& flight, std::size_t returned, const Flights& flights,
                         const std::string& context);
  void settle_excuses(int thread, const std::vector<std::string>& claimed,
                      const std::string& context);

  // An acknowledged operation that is missing or shows otherwise (CRASH-1, CRASH-3).
  void lost(std::string violation);
  // A state the contract never allows, whatever was acknowledged (CRASH-2, CRASH-4).
  void broken(std::string violation);

  std::map<std::string, ExpectedTask> tasks_;
  std::map<std::string, long> due_since_;  // the report line after which a task was due
  std::vector<std::string> ids_;           // in enqueue order
  // A short claim excused by other claims in flight: the tasks due all along, which those
  // (by thread) must claim between them. Dropped at a kill.
  struct Excuse {
    std::string what;  // "dequeue returned nothing", for the message
    std::set<std::string> due;
    std::set<int> claims;
  };
  std::vector<Excuse> excuses_;
  CrashRunReport& report_;
};

}  // namespace taskstore::conformance::detail
