#include "taskstore/conformance/io_error_sweep.hpp"

#include <boost/asio/io_context.hpp>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include "taskstore/conformance/expect_error.hpp"
#include "taskstore/conformance/fault_layer.hpp"
#include "taskstore/errors.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {

namespace {

using namespace std::chrono_literals;

constexpr unsigned kEveryKind = kFaultWrite | kFaultSync | kFaultOpen | kFaultRename |
                                kFaultUnlink | kFaultTruncate;

Timestamp t0() { return from_micros(1'767'225'600'000'001); }

Task task(const std::string& id, Timestamp eta) {
  Task t;
  t.id = id;
  t.name = "sweep.noop";
  t.payload = to_bytes("payload of " + id);
  t.eta = eta;
  t.max_retries = 3;
  t.created_at = t0();
  t.updated_at = t0();
  return t;
}

// What the workload was told: which operations were acknowledged, and what it was handed.
struct Outcome {
  std::vector<std::string> log;                // "enqueue a: ok", "dequeue 1: StorageError ..."
  std::set<std::string> enqueued;              // acknowledged enqueues
  std::set<std::string> held;                  // returned by an acknowledged dequeue
  std::map<std::string, TaskStatus> finished;  // acknowledged mark_done / mark_failed(final)
  std::vector<std::string> wrong_errors;       // failures that were not StorageError
  bool any_failed = false;
  // 'c' may be RUNNING because the workload marked it so: until its reschedule is
  // acknowledged, RUNNING is what mark_running left.
  bool c_may_run = false;
  bool batch_ran = false;     // the store claims batches, and the workload made one
  bool batch_failed = false;  // ... which raised
  std::map<std::string, Task> before_batch;  // the PENDING tasks as the batch found them
  std::set<std::string> drained;             // claimed by check_state's drain
};

// A fixed mixed workload: every kind of write, on tasks in every state.
// With `batch_start`, the workload ends with a batch claim (BAT-6), and batch_start runs
// right before it.
void run_workload(BaseStorage& store, boost::asio::io_context& io, Outcome& out,
                  const std::function<void()>& batch_start) {
  const auto step = [&](const std::string& what, const std::function<void()>& op) {
    try {
      op();
      out.log.push_back(what + ": ok");
      return true;
    } catch (const StorageError& e) {
      out.any_failed = true;
      out.log.push_back(what + ": " + type_name_of(e) + " (" + e.what() + ")");
    } catch (const std::exception& e) {
      out.any_failed = true;
      out.log.push_back(what + ": " + type_name_of(e) + " (" + e.what() + ")");
      out.wrong_errors.push_back(what + " raised " + type_name_of(e) + " (" + e.what() +
                                 "), not a StorageError");
    }
    return false;
  };
  for (const Task& t : {task("a", t0() - 3s), task("b", t0() - 2s), task("c", t0() + 1h),
                        task("d", t0() - 1s)}) {
    if (step("enqueue " + t.id, [&] { sync_wait(io, store.enqueue(t)); })) {
      out.enqueued.insert(t.id);
    }
  }
  const auto claim = [&](const std::string& what) {
    std::optional<Task> got;
    if (step(what, [&] { got = sync_wait(io, store.dequeue(t0())); }) && got) {
      out.held.insert(got->id);
      return got->id;
    }
    return std::string();
  };
  const std::string first = claim("dequeue 1");
  if (!first.empty() && step("mark_done " + first, [&] {
        sync_wait(io, store.mark_done(first, TaskResult{.task_id = first,
                                                        .value = to_bytes("v"),
                                                        .finished_at = t0()}));
      })) {
    out.finished[first] = TaskStatus::SUCCESS;
  }
  const std::string second = claim("dequeue 2");
  if (!second.empty()) {
    step("mark_failed " + second + " (retry)",
         [&] { sync_wait(io, store.mark_failed(second, "transient", true)); });
    // Acknowledged, the reschedule ends the claim: nobody holds the task any more.
    if (step("reschedule " + second, [&] { sync_wait(io, store.reschedule(second, t0())); })) {
      out.held.erase(second);
    }
  }
  const std::string third = claim("dequeue 3");
  if (!third.empty() && step("mark_failed " + third + " (final)", [&] {
        sync_wait(io, store.mark_failed(third, "gave up", false));
      })) {
    out.finished[third] = TaskStatus::FAILED;
  }
  out.c_may_run = true;
  step("mark_running c", [&] { sync_wait(io, store.mark_running("c")); });
  if (step("reschedule c", [&] { sync_wait(io, store.reschedule("c", t0() - 10s)); })) {
    out.c_may_run = false;
  }
  step("purge_results", [&] { sync_wait(io, store.purge_results(t0() - 1h)); });
  // A batch takes what is due by now ('c' and the rescheduled second claim): BAT-6.
  if (batch_start && store.claims_batches()) {
    for (const std::string id : {"a", "b", "c", "d"}) {
      step("get_task " + id + " before the batch", [&] {
        const auto got = sync_wait(io, store.get_task(id));
        if (got && got->status == TaskStatus::PENDING) out.before_batch.emplace(id, *got);
      });
    }
    batch_start();
    out.batch_ran = true;
    std::vector<Task> batch;
    if (step("dequeue_batch (max 3)", [&] { batch = sync_wait(io, store.dequeue_batch(t0(), 3)); })) {
      for (const Task& t : batch) out.held.insert(t.id);
    } else {
      out.batch_failed = true;
    }
  }
}

// The state a store shows after the workload, checked against what the workload was told
// (IOERR-1): acknowledged work is there, a RUNNING task was handed to someone, and every
// PENDING task can be claimed. Drains the store: what it claims joins out.held.
// A claim nobody holds after a batch that raised is the batch's own finding (BAT-6), kept
// in `batch_found`.
void check_state(BaseStorage& store, boost::asio::io_context& io, Outcome& out,
                 const std::string& when, std::vector<std::string>& found,
                 std::vector<std::string>& batch_found) {
  const auto problem = [&](const std::string& what) { found.push_back(when + ": " + what); };
  try {
    std::set<std::string> pending;
    for (const std::string id : {"a", "b", "c", "d"}) {
      const auto got = sync_wait(io, store.get_task(id));
      if (!got) {
        if (out.enqueued.count(id) != 0) problem("acknowledged enqueue of '" + id + "' is missing");
        continue;
      }
      if (got->status == TaskStatus::RUNNING && out.held.count(id) == 0 &&
          !(id == std::string("c") && out.c_may_run)) {
        const std::string what = "'" + id + "' is RUNNING but no acknowledged dequeue handed it out";
        if (out.batch_failed) {
          batch_found.push_back(when + ": " + what + " (after a dequeue_batch that raised)");
        } else {
          problem(what);
        }
      }
      if (got->status == TaskStatus::PENDING) pending.insert(id);
      // A batch that raised leaves each task it found PENDING as it was (BAT-6).
      const auto before = out.before_batch.find(id);
      if (out.batch_failed && before != out.before_batch.end() && out.drained.count(id) == 0 &&
          got->status == TaskStatus::PENDING &&
          (got->eta != before->second.eta || got->attempts != before->second.attempts)) {
        batch_found.push_back(when + ": '" + id + "' changed under a dequeue_batch that raised: eta " +
                              format_timestamp(before->second.eta) + " -> " +
                              format_timestamp(got->eta) + ", attempts " +
                              std::to_string(before->second.attempts) + " -> " +
                              std::to_string(got->attempts));
      }
      if (const auto f = out.finished.find(id); f != out.finished.end()) {
        if (got->status != f->second) {
          problem("'" + id + "' is " + std::string(to_string(got->status)) +
                  ", but its acknowledged completion made it " + std::string(to_string(f->second)));
        }
        if (!sync_wait(io, store.get_result(id))) {
          problem("the acknowledged result of '" + id + "' is missing");
        }
      }
    }
    // Every PENDING task is due by now; the claims must find each one, and nothing else.
    std::set<std::string> drained;
    while (const auto claimed = sync_wait(io, store.dequeue(t0() + 24h))) {
      if (!drained.insert(claimed->id).second) {
        problem("dequeue handed out '" + claimed->id + "' twice");
        break;
      }
      out.held.insert(claimed->id);
      out.drained.insert(claimed->id);
      if (pending.count(claimed->id) == 0) {
        problem("dequeue handed out '" + claimed->id + "', which get_task did not show PENDING");
      }
    }
    for (const auto& id : pending) {
      if (drained.count(id) == 0) problem("'" + id + "' is PENDING but dequeue cannot find it");
    }
  } catch (const std::exception& e) {
    problem(std::string("reading the store failed: ") + type_name_of(e) + " (" + e.what() + ")");
  }
}

struct SweepCase {
  long nth;
  int error;
  bool persist;

  std::string name() const {
    return std::string(persist ? "persisting " : "one ") + strerrorname(error) + " at call " +
           std::to_string(nth) + " of the workload";
  }
  static std::string strerrorname(int error) {
    switch (error) {
      case EIO: return "EIO";
      case ENOSPC: return "ENOSPC";
      default: return "errno " + std::to_string(error);
    }
  }
};

// Opens an instance that stamps from a fixed clock where it can, so a case replays alike.
std::shared_ptr<BaseStorage> open_store(StoreEnvironment& environment) {
  if (auto store = environment.open_with_clock([] { return t0(); })) return store;
  return environment.open();
}

std::string described(const SweepCase& c, const std::vector<std::string>& problems,
                      const Outcome& out) {
  std::string text = c.name() + ":\n";
  for (const auto& p : problems) text += "  " + p + "\n";
  text += "  the workload saw:\n";
  for (const auto& line : out.log) text += "    " + line + "\n";
  return text;
}

class Sweep {
 public:
  Sweep(const Backend& backend, const FaultLayer& layer, const IoErrorSweepOptions& options,
        IoErrorSweepReport& report)
      : backend_(backend), layer_(layer), options_(options), report_(report) {}

  // The first call of the workload that a case fails: the batch's first with
  // options.batch_only (known once count_calls has run), else the first.
  long first_case() const { return first_case_; }

  // A new store under the layer's scope.
  std::unique_ptr<StoreEnvironment> fresh() const {
    auto environment = backend_.make_environment();
    const auto directory = environment->files_directory();
    if (!directory) {
      throw std::invalid_argument("the I/O-error sweep needs a store with a files_directory(); " +
                                  environment->location() + " has none");
    }
    layer_.set_scope(directory->string());
    return environment;
  }

  long count_calls() {
    const auto environment = fresh();
    boost::asio::io_context io;
    const auto store = open_store(*environment);
    Outcome out;
    const long before = layer_.calls(kEveryKind);
    run_workload(*store, io, out, batch_start([&] {
      first_case_ = layer_.calls(kEveryKind) - before + 1;
    }));
    const long calls = layer_.calls(kEveryKind) - before;
    if (options_.batch_only) report_.batches = out.batch_ran;
    if (out.any_failed) {
      std::string log;
      for (const auto& line : out.log) log += "\n  " + line;
      report_.unusable.push_back("the workload fails with no fault armed:" + log);
    }
    if (calls == 0 && !environment->runs_in_this_process()) {
      report_.unreachable =
          "not checked: the fault layer saw none of the system calls of the process that runs "
          "the store under " + environment->location() +
          " (a program that does not load LD_PRELOAD libraries, a static binary or raw system "
          "calls escape it)";
    } else if (calls <= 3) {
      report_.unusable.push_back("the fault layer saw " + std::to_string(calls) +
                                 " calls of the store's I/O under " + environment->location() +
                                 ": is every file of the store under files_directory(), "
                                 "written through the C library?");
    }
    return calls;
  }

  void run_case(const SweepCase& c) {
    ++report_.cases;
    const auto environment = fresh();
    boost::asio::io_context io;
    Outcome out;
    std::vector<std::string> broken;     // IOERR-1
    std::vector<std::string> unhealed;   // IOERR-2
    std::vector<std::string> batch_broken;  // BAT-6
    {
      std::shared_ptr<BaseStorage> store;
      try {
        store = open_store(*environment);
      } catch (const std::exception& e) {
        unhealed.push_back(std::string("opening a new store failed: ") + e.what());
        report_.recovery.push_back(described(c, unhealed, out));
        return;
      }
      const long fired_before = layer_.fired();
      layer_.arm(kEveryKind, c.nth, c.error, c.persist);
      run_workload(*store, io, out, batch_start([] {}));
      layer_.clear();
      if (layer_.fired() > fired_before) ++report_.fired;
      broken.insert(broken.end(), out.wrong_errors.begin(), out.wrong_errors.end());
      // IOERR-2: the same instance works again once the fault is gone.
      bool instance_works = false;
      try {
        sync_wait(io, store->enqueue(task("after", t0() - 1h)));
        const auto claimed = sync_wait(io, store->dequeue(t0() - 30min));
        if (!claimed || claimed->id != "after") {
          unhealed.push_back("after the fault cleared, the same instance did not claim a new task");
        } else {
          sync_wait(io, store->mark_done("after", TaskResult{.task_id = "after", .finished_at = t0()}));
          instance_works = true;
        }
      } catch (const std::exception& e) {
        unhealed.push_back(std::string("after the fault cleared, the same instance failed: ") +
                           type_name_of(e) + " (" + e.what() + ")");
      }
      // An instance that stays broken is IOERR-2's finding alone: its reads would fail too.
      if (instance_works) check_state(*store, io, out, "same instance", broken, batch_broken);
    }
    try {
      const auto reopened = environment->open();
      check_state(*reopened, io, out, "reopened", broken, batch_broken);
    } catch (const std::exception& e) {
      unhealed.push_back(std::string("the store does not reopen: ") + e.what());
    }
    if (out.batch_ran) report_.batches = true;
    if (out.batch_failed) ++report_.batch_raised;
    if (!batch_broken.empty()) report_.batch_all_or_nothing.push_back(described(c, batch_broken, out));
    if (!broken.empty()) report_.all_or_nothing.push_back(described(c, broken, out));
    if (!unhealed.empty()) report_.recovery.push_back(described(c, unhealed, out));
  }

 private:
  // The workload's batch hook: `hook` with options.batch_only, else none (no batch).
  std::function<void()> batch_start(std::function<void()> hook) const {
    return options_.batch_only ? std::move(hook) : std::function<void()>();
  }

  const Backend& backend_;
  const FaultLayer& layer_;
  const IoErrorSweepOptions& options_;
  IoErrorSweepReport& report_;
  long first_case_ = 1;
};

}  // namespace

std::string IoErrorSweepReport::summary() const {
  return std::to_string(calls) + " calls x each errno x once/persisting: " +
         std::to_string(cases) + " cases, " + std::to_string(fired) + " fired a fault";
}

IoErrorSweepReport run_io_error_sweep(const Backend& backend, const IoErrorSweepOptions& options) {
  const auto layer = FaultLayer::loaded();
  if (!layer) {
    throw std::invalid_argument("the I/O-error sweep needs the fault layer: " +
                                fault_layer_absence());
  }
  IoErrorSweepReport report;
  // The scope is cleared on every way out, an exception included.
  struct ScopeCleared {
    const FaultLayer& layer;
    ~ScopeCleared() {
      layer.clear();
      layer.set_scope("");
    }
  } scope_cleared{*layer};
  Sweep sweep(backend, *layer, options, report);
  report.calls = sweep.count_calls();
  if (!report.unusable.empty() || !report.unreachable.empty()) return report;
  if (options.batch_only && !report.batches) return report;  // nothing to sweep
  for (long nth = sweep.first_case(); nth <= report.calls; ++nth) {
    for (const int error : options.errors) {
      for (const bool persist : {false, true}) sweep.run_case({nth, error, persist});
    }
  }
  if (report.fired * 4 < report.cases) {
    report.unusable.push_back("most armed faults never fired (" + report.summary() +
                              "): the store's I/O differs from run to run");
  }
  return report;
}

}  // namespace taskstore::conformance
