#pragma once
// Worker processes racing for the tasks of one store: the helper behind the conformance
// suite's multi-process tests (DEQ-7, CON-3, CON-4), public so a backend author can run the
// same race on their own store, in their own tests or tools.
//
// The workers are forked from the calling process, not exec'd: a backend registered in a
// test program exists only in that program, so each child opens its own instance through
// the same StoreEnvironment (environment.open()).

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "taskstore/conformance/registry.hpp"
#include "taskstore/storage.hpp"
#include "taskstore/task.hpp"
#include "taskstore/time.hpp"

namespace taskstore::conformance {

struct ClaimRaceOptions {
  int workers = 4;  // claiming processes, each with its own instance
  Timestamp now{};  // the argument of every dequeue
  // Enqueued, in this order, by one more process while the workers claim; empty for a
  // race over what the store already holds. Ids must not contain a newline.
  std::vector<Task> to_enqueue;
  // 0: every worker claims with dequeue. N: odd workers claim with dequeue_batch(now, N)
  // instead (the store must claim batches), racing the even ones' single claims (BAT-4).
  std::size_t batch = 0;
  // The whole race must end by then; past it every child is killed and the report says so.
  std::chrono::seconds timeout{120};
};

struct WorkerProcessReport {
  std::vector<std::string> claimed;  // task ids, in the order this worker claimed them
  std::string failure;               // empty if the worker ended cleanly
};

struct ClaimRaceReport {
  std::vector<WorkerProcessReport> workers;
  std::vector<std::string> enqueued;  // ids whose enqueue returned in the enqueuer process
  std::string enqueuer_failure;       // empty if there was no enqueuer or it ended cleanly
  bool timed_out = false;

  // Every failure above in one text ("" if none), for a test's message.
  std::string failures() const;
};

// Forks `options.workers` processes that each open an instance with environment.open(),
// wait for a common start, then claim with dequeue(options.now) (or in batches: see
// ClaimRaceOptions::batch) until a claim that began
// after the enqueuer process (if any) had finished returns nothing; each reports its claims
// to the caller over a pipe. With options.to_enqueue, an enqueuer process enqueues those
// tasks meanwhile and wakes idle workers after each one (no polling, no sleeps).
//
// The caller must hold no open instance of the store and run no other threads when it
// calls this (a forked child inherits only the calling thread, and the reference backends
// refuse an instance opened by another process). Children leave with _exit. The call
// returns once every child has ended; it never waits past options.timeout.
ClaimRaceReport run_claim_race(StoreEnvironment& environment, const ClaimRaceOptions& options);

// Another process that works on the store when told to: a test holds an instance open
// while this process writes through its own, and checks what the open instance then sees
// (CON-4). The process is forked in the constructor, before the caller opens anything, so
// the caller may open instances (and start their threads) afterwards. The child opens its
// instance at its first step and runs steps[i] each time run(i) asks.
class StoreProcess {
 public:
  using Step = std::function<void(BaseStorage& store, boost::asio::io_context& io)>;

  // Forks now: the caller must hold no open instance and run no other threads yet.
  StoreProcess(StoreEnvironment& environment, std::vector<Step> steps,
               std::chrono::seconds timeout = std::chrono::seconds(60));
  // Ends the child (it closes its instance) and reaps it.
  ~StoreProcess();
  StoreProcess(const StoreProcess&) = delete;
  StoreProcess& operator=(const StoreProcess&) = delete;

  // Runs steps[i] in the child and waits until it returns. Returns "" if it did, else what
  // went wrong: the step's error, the child's end, or no answer within the timeout.
  std::string run(std::size_t i);

 private:
  struct Child;
  std::unique_ptr<Child> child_;
};

}  // namespace taskstore::conformance
