#pragma once
// Crash cycles: the helper behind the conformance suite's crash-consistency test (CRASH-1,
// CRASH-2), public so a backend author can run it on their own store, in their own tests
// or tools.
//
// Each cycle forks a child that opens the store through the StoreEnvironment and runs, on
// one thread or on several at once, a seeded random loop of enqueue, dequeue (and, on a
// store that claims batches, dequeue_batch), mark_running, mark_done, mark_failed (with and
// without retry) and reschedule. The threads act as
// workers would: each changes only tasks it enqueued or claimed and still holds, and every
// thread's dequeues contend for the due tasks (the rules, and how overlapping operations
// are ordered, are in conformance/kit/crash_history.hpp). Just before each operation a
// thread writes it to a pipe, and the moment it returns writes its acknowledgement
// (write(2), no buffering). The parent
// SIGKILLs the child after a random number of acknowledgements, between two operations or
// a random short while into the next one, or now and then before the child has even opened
// the store. It then reopens the store itself and checks it against the acknowledged
// history:
//  - the store opens without error, and every task reads without error;
//  - every acknowledged enqueue is present, and every task has exactly the status, eta,
//    attempts, last_error and result (SUCCESS value, or FAILED error) its acknowledged
//    operations give it, every other field as enqueued;
//  - each operation in flight at the kill shows wholly or not at all; only mark_done and
//    mark_failed(will_retry = false) may show just their new result, and each claim in
//    flight may have taken due tasks up to its capacity (one, or a batch's max), each
//    claim whole (a batch cut short may show some of its claims: CRASH-2 says why);
//  - each acknowledged claim took tasks that were due while it ran (a task is never claimed
//    twice) and came back short only when every other task due all along could have gone
//    to another claim then in flight;
//  - a drain (dequeue until nothing is due) claims every PENDING task exactly once and
//    nothing else.
// The same store is reused by every cycle, so whatever a crash leaves behind (temporary
// files, a hot journal, stale index entries) meets every later open and operation; after
// the last cycle the store is opened once more, checked and drained.
//
// With `power_cut` (CRASH-3, CRASH-4) each kill is a simulated power cut: the child records
// through the fault layer what its store made durable, and before the parent reopens the
// store its directory is rebuilt as a power loss at that moment leaves it (see
// taskstore/conformance/power_cut.hpp). The checks are the same.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "taskstore/conformance/registry.hpp"

namespace taskstore::conformance {

struct CrashRunOptions {
  int kills = 50;          // cycles: children killed and checked
  // Decides every operation, argument, thread count and kill moment. A cycle on one thread
  // replays exactly; on several, each thread's operations replay but their interleaving is
  // the machine's.
  std::uint64_t seed = 1;
  // A quarter of the cycles run on one thread, the others on 2 to this many (1: all on one).
  int max_threads = 3;
  // A child is killed after 0 to this many acknowledged operations.
  int max_acknowledged_per_kill = 24;
  // The longest a kill may land into the next operation (a random share of it).
  std::chrono::microseconds max_kill_delay{2000};
  // A child that reports nothing for this long is killed and the run fails: never a hang.
  std::chrono::seconds stall_timeout{60};
  // Every kill is a power cut. Needs the fault layer in this process and an environment
  // with a files_directory(); run_crash_cycles throws std::invalid_argument otherwise.
  bool power_cut = false;
  // A third of the claims are dequeue_batch calls of 2 to 4 (the store must claim batches).
  bool batch_claims = false;
};

struct CrashRunReport {
  int kills = 0;         // cycles completed and checked
  int acknowledged = 0;  // operations acknowledged over all cycles
  int concurrent_kills = 0;  // cycles whose child ran more than one thread
  int overlapping = 0;   // operations that began while another was in flight
  int batch_claims = 0;  // dequeue_batch calls begun
  int cut_short = 0;     // cycles whose kill caught an operation in flight
  int cut_short_visible = 0;  // ... whose effect (whole, or the result alone) was then visible
  std::size_t tasks = 0;      // tasks in the store at the end
  // Broken promises, each naming the cycle, the seed and the operation that showed it.
  // The run stops at the first cycle with any.
  std::vector<std::string> violations;
  // The first violation was a wrong answer to an operation (a claim of a task that was not
  // due, say) seen before any child was killed: the store had never crashed, so it is an
  // ordinary contract failure, which the requirement it breaks reports, and CRASH-1 and
  // CRASH-2 were not checked. A store that cannot be opened, or a child that stalls or
  // dies on its own, is not one: those only the crash run sees, and they fail it.
  bool before_first_kill = false;

  bool power_cut = false;  // the kills were power cuts
  // What the violations show, for one failing ID per root cause. Neither is set when the
  // run itself broke down (a child that stalled or died on its own): that fails both.
  bool acknowledged_lost = false;  // an acknowledged operation missing or changed (CRASH-1/3)
  bool inconsistent = false;  // a state never allowed: the store does not open, a task is
                              // claimed twice or lost from the queue (CRASH-2/4)

  // "50 kills (37 on several threads), 640 acknowledged operations (212 overlapping, 40
  // batch claims), 33 cut short (14 visible), 152 tasks" (or "50 power cuts ...").
  std::string summary() const;
};

// Runs options.kills crash cycles on the store of `environment` (which must be persistent).
// The caller must hold no open instance of the store and run no other threads (see
// run_claim_race in process_workers.hpp for why). Never waits on a child longer than
// options.stall_timeout at a time.
CrashRunReport run_crash_cycles(StoreEnvironment& environment, const CrashRunOptions& options);

}  // namespace taskstore::conformance
