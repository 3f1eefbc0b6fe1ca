#include "taskstore/conformance/crash_driver.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "child_process.hpp"
#include "crash_model.hpp"
#include "taskstore/conformance/fault_layer.hpp"
#include "taskstore/conformance/power_cut.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {

namespace {

using namespace std::chrono_literals;
using detail::ChildProcess;
using detail::CrashOp;
using detail::CrashOpKind;
using detail::ExpectedTask;
using detail::LineReader;
using detail::write_line;

// Every time of a run is an offset from the suite's t0.
constexpr Timestamp kBase = from_micros(1'767'225'600'000'001);
// The `now` of the child's dequeues: tasks with an eta up to kBase + 1 s are due.
constexpr Timestamp kChildNow = kBase + std::chrono::seconds(1);
// The `now` of the parent's drains: every PENDING task of a run is due.
constexpr Timestamp kDrainNow = kBase + std::chrono::hours(24);
// A child that is never killed stops after this many operations (and fails the run).
constexpr int kMaxChildOperations = 100'000;

// Report lines from the child:
//   R         the store is open
//   B <op>    the operation is about to start (encode(op))
//   A <id>    it returned; for dequeue, the claimed id or "-"
//   E <text>  the child failed (its last line)

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

Timestamp random_eta(std::mt19937_64& rng) {
  static constexpr std::array<int, 5> kOffsets{-1, 0, 1, 2, 60};  // seconds; the last never due
  return kBase + std::chrono::seconds(
                     kOffsets[std::uniform_int_distribution<std::size_t>(0, kOffsets.size() - 1)(rng)]);
}

// The child's next operation: a fresh enqueue, a dequeue, or a change to a known task.
CrashOp next_operation(std::mt19937_64& rng, const std::vector<std::string>& ids, int cycle,
                       int n) {
  const std::string tag = std::to_string(cycle) + "." + std::to_string(n);
  const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
  if (ids.empty() || roll < 20) {
    return CrashOp{.kind = CrashOpKind::enqueue,
                   .id = "c" + std::to_string(cycle) + "-" + std::to_string(n),
                   .time = random_eta(rng),
                   .text = ""};
  }
  if (roll < 45) return CrashOp{.kind = CrashOpKind::dequeue, .id = "-", .time = kChildNow, .text = ""};
  CrashOp op{.id = ids[std::uniform_int_distribution<std::size_t>(0, ids.size() - 1)(rng)]};
  if (roll < 50) {
    op.kind = CrashOpKind::mark_running;
  } else if (roll < 65) {
    op.kind = CrashOpKind::mark_done;
    op.time = kBase + std::chrono::microseconds(cycle * 1000 + n);
    op.text = "v" + tag;
  } else if (roll < 73) {
    op.kind = CrashOpKind::mark_failed_retry;
    op.text = "e" + tag;
  } else if (roll < 80) {
    op.kind = CrashOpKind::mark_failed_final;
    op.text = "e" + tag;
  } else {
    op.kind = CrashOpKind::reschedule;
    op.time = random_eta(rng);
  }
  return op;
}

// Runs `op` on the store; returns the claimed id for a dequeue ("-" if none), else "-".
std::string run_operation(BaseStorage& store, boost::asio::io_context& io, const CrashOp& op) {
  switch (op.kind) {
    case CrashOpKind::enqueue:
      sync_wait(io, store.enqueue(detail::crash_task(op.id, op.time, kBase)));
      break;
    case CrashOpKind::dequeue: {
      const auto task = sync_wait(io, store.dequeue(op.time));
      return task ? task->id : "-";
    }
    case CrashOpKind::mark_running:
      sync_wait(io, store.mark_running(op.id));
      break;
    case CrashOpKind::mark_done:
      sync_wait(io, store.mark_done(op.id, detail::done_result(op)));
      break;
    case CrashOpKind::mark_failed_retry:
    case CrashOpKind::mark_failed_final:
      sync_wait(io, store.mark_failed(op.id, op.text, op.kind == CrashOpKind::mark_failed_retry));
      break;
    case CrashOpKind::reschedule:
      sync_wait(io, store.reschedule(op.id, op.time));
      break;
  }
  return "-";
}

// The child: opens the store and runs operations until it is killed, announcing each one
// before it starts and acknowledging it the moment it returns.
int child_loop(StoreEnvironment& environment, int report_fd, std::vector<std::string> ids,
               std::uint64_t seed, int cycle) {
  ::signal(SIGPIPE, SIG_IGN);
  std::mt19937_64 rng(seed);
  try {
    const std::shared_ptr<BaseStorage> store = environment.open();
    boost::asio::io_context io;
    if (!write_line(report_fd, "R")) return 3;
    for (int n = 0; n < kMaxChildOperations; ++n) {
      const CrashOp op = next_operation(rng, ids, cycle, n);
      if (!write_line(report_fd, "B " + detail::encode(op))) return 3;
      const std::string claimed = run_operation(*store, io, op);
      if (!write_line(report_fd, "A " + claimed)) return 3;
      if (op.kind == CrashOpKind::enqueue) ids.push_back(op.id);
    }
    write_line(report_fd, "E ran " + std::to_string(kMaxChildOperations) +
                              " operations and was never killed");
    return 3;
  } catch (const std::exception& e) {
    write_line(report_fd, "E " + one_line(e.what()));
  } catch (...) {
    write_line(report_fd, "E an exception that is not a std::exception");
  }
  return 2;
}

// When the parent kills a child.
struct KillPlan {
  enum class Moment { before_open, between_operations, into_next_operation };
  Moment moment = Moment::between_operations;
  int after_acknowledged = 0;
  std::chrono::microseconds delay{0};

  std::string describe() const {
    switch (moment) {
      case Moment::before_open:
        return "killed " + std::to_string(delay.count()) + " us after the fork";
      case Moment::between_operations:
        return "killed after " + std::to_string(after_acknowledged) + " acknowledged operations";
      case Moment::into_next_operation:
        return "killed " + std::to_string(delay.count()) + " us into the operation after " +
               std::to_string(after_acknowledged) + " acknowledged ones";
    }
    return "";
  }
};

KillPlan plan_kill(std::mt19937_64& rng, const CrashRunOptions& options) {
  KillPlan plan;
  const int roll = std::uniform_int_distribution<int>(0, 19)(rng);
  plan.moment = roll == 0  ? KillPlan::Moment::before_open
                : roll < 7 ? KillPlan::Moment::between_operations
                           : KillPlan::Moment::into_next_operation;
  plan.after_acknowledged =
      std::uniform_int_distribution<int>(0, std::max(0, options.max_acknowledged_per_kill))(rng);
  plan.delay = std::chrono::microseconds(std::uniform_int_distribution<std::int64_t>(
      0, std::max<std::int64_t>(0, options.max_kill_delay.count()))(rng));
  return plan;
}

// The parent's picture of the store: what the acknowledged history says of every task.
class History {
 public:
  explicit History(CrashRunReport& report) : report_(report) {}

  const std::vector<std::string>& ids() const { return ids_; }
  std::size_t size() const { return tasks_.size(); }

  // Takes an acknowledged operation into the history. A dequeue must have claimed a task
  // the history says is due, and may come back empty only if none is.
  void acknowledge(const CrashOp& op, const std::string& claimed, const std::string& context) {
    if (op.kind == CrashOpKind::enqueue) {
      tasks_[op.id] = ExpectedTask{.task = detail::crash_task(op.id, op.time, kBase)};
      ids_.push_back(op.id);
      return;
    }
    if (op.kind == CrashOpKind::dequeue) {
      if (claimed == "-") {
        for (const auto& id : ids_) {
          if (detail::is_due(tasks_.at(id), op.time)) {
            broken(context + "an acknowledged dequeue returned nothing, but task '" +
                                  id + "' is due by the acknowledged history (" +
                                  detail::brief(tasks_.at(id), kBase) + ")");
            return;
          }
        }
        return;
      }
      const auto it = tasks_.find(claimed);
      if (it == tasks_.end()) {
        broken(context + "an acknowledged dequeue claimed '" + claimed +
                              "', which was never enqueued");
      } else if (!detail::is_due(it->second, op.time)) {
        broken(context + "an acknowledged dequeue claimed '" + claimed +
                              "', which is not due by the acknowledged history (" +
                              detail::brief(it->second, kBase) + "): a second claim");
      } else {
        it->second = detail::applied(it->second, CrashOp{.kind = CrashOpKind::dequeue,
                                                         .id = claimed,
                                                         .time = op.time,
                                                         .text = ""});
      }
      return;
    }
    const auto it = tasks_.find(op.id);
    if (it == tasks_.end()) {
      broken(context + "the child changed unknown task '" + op.id + "'");
      return;
    }
    it->second = detail::applied(it->second, op);
  }

  // Reads every task back from a reopened store and checks it against the history, letting
  // `in_flight` (the operation cut short, if any) show wholly, not at all, or (mark_done,
  // mark_failed without retry) by its result alone. Then takes what the store holds as the
  // history, since it is one of the states allowed. Returns whether `in_flight` showed.
  bool verify(BaseStorage& store, boost::asio::io_context& io,
              const std::optional<CrashOp>& in_flight, const std::string& context) {
    std::vector<std::string> ids = ids_;
    const bool enqueue_in_flight = in_flight && in_flight->kind == CrashOpKind::enqueue;
    if (enqueue_in_flight) ids.push_back(in_flight->id);
    bool visible = false;
    bool claim_seen = false;
    const std::string cut_short =
        in_flight ? " (in flight at the kill: " + detail::encode(*in_flight) + ")" : "";
    for (const auto& id : ids) {
      std::optional<Task> task;
      std::optional<TaskResult> result;
      try {
        task = sync_wait(io, store.get_task(id));
        result = sync_wait(io, store.get_result(id));
      } catch (const std::exception& e) {
        broken(context + "reading task '" + id + "' failed: " + e.what());
        continue;
      }
      const auto it = tasks_.find(id);
      if (it == tasks_.end()) {  // the enqueue cut short
        if (!task && !result) continue;
        const ExpectedTask fresh{.task = detail::crash_task(id, in_flight->time, kBase)};
        if (detail::matches(fresh, task, result)) {
          visible = true;
          tasks_[id] = fresh;
          ids_.push_back(id);
        } else {
          broken(context + "task '" + id + "', whose enqueue was cut short, is " +
                                detail::brief(task, result, kBase) + ", not as enqueued");
        }
        continue;
      }
      const ExpectedTask& expected = it->second;
      bool allowed = detail::matches(expected, task, result);
      if (!allowed && in_flight && in_flight->kind != CrashOpKind::dequeue &&
          in_flight->id == id) {
        const auto partial = detail::result_only(expected, *in_flight);
        allowed = detail::matches(detail::applied(expected, *in_flight), task, result) ||
                  (partial && detail::matches(*partial, task, result));
        visible = allowed;
      }
      if (!allowed && in_flight && in_flight->kind == CrashOpKind::dequeue && !claim_seen &&
          detail::is_due(expected, in_flight->time) &&
          detail::matches(detail::applied(expected, *in_flight), task, result)) {
        allowed = claim_seen = visible = true;
      }
      if (!allowed) {
        std::string violation = context + "task '" + id + "' is " +
                                detail::brief(task, result, kBase) +
                                ", but its acknowledged history gives " +
                                detail::brief(expected, kBase) + cut_short;
        // A difference the cut-short operation could make is that operation showing
        // half-way (CRASH-2/4); any other is an acknowledged operation lost (CRASH-1/3).
        bool half_way = false;
        if (in_flight && in_flight->kind == CrashOpKind::dequeue) {
          CrashOp claim = *in_flight;
          claim.id = id;
          half_way = detail::is_due(expected, in_flight->time) &&
                     detail::within_reach(expected, claim, task, result);
        } else if (in_flight && in_flight->id == id) {
          half_way = detail::within_reach(expected, *in_flight, task, result);
        }
        if (half_way) {
          broken(std::move(violation));
        } else {
          lost(std::move(violation));
        }
        continue;
      }
      it->second = ExpectedTask{.task = *task, .result = result};
    }
    return visible;
  }

  // Dequeues until nothing is due at kDrainNow: every PENDING task must come out exactly
  // once, as the history says it is, and nothing else.
  void drain(BaseStorage& store, boost::asio::io_context& io, const std::string& context) {
    std::set<std::string> claimed;
    for (std::size_t round = 0;; ++round) {
      if (round > tasks_.size()) {
        broken(context + "the drain claimed more tasks than the store holds");
        return;
      }
      std::optional<Task> task;
      try {
        task = sync_wait(io, store.dequeue(kDrainNow));
      } catch (const std::exception& e) {
        broken(context + "a dequeue of the drain failed: " + e.what());
        return;
      }
      if (!task) break;
      const auto it = tasks_.find(task->id);
      if (it == tasks_.end()) {
        broken(context + "the drain claimed '" + task->id +
                              "', which was never enqueued");
        return;
      }
      if (!claimed.insert(task->id).second || it->second.task.status != TaskStatus::PENDING) {
        broken(context + "the drain claimed '" + task->id + "', which is " +
                              detail::brief(it->second, kBase) + ": a second claim");
        return;
      }
      ExpectedTask after = detail::applied(
          it->second,
          CrashOp{.kind = CrashOpKind::dequeue, .id = task->id, .time = kDrainNow, .text = ""});
      if (!detail::matches(after, task, after.result)) {
        broken(context + "the drain returned '" + task->id + "' as " +
                              detail::brief(task, after.result, kBase) + ", expected " +
                              detail::brief(after, kBase));
        return;
      }
      it->second = std::move(after);
    }
    for (const auto& id : ids_) {
      if (tasks_.at(id).task.status == TaskStatus::PENDING) {
        broken(context + "task '" + id +
                              "' is PENDING and due, but the drain never claimed it");
      }
    }
  }

 private:
  // An acknowledged operation that is missing or shows otherwise (CRASH-1, CRASH-3).
  void lost(std::string violation) {
    report_.violations.push_back(std::move(violation));
    report_.acknowledged_lost = true;
  }
  // A state the contract never allows, whatever was acknowledged (CRASH-2, CRASH-4).
  void broken(std::string violation) {
    report_.violations.push_back(std::move(violation));
    report_.inconsistent = true;
  }

  std::map<std::string, ExpectedTask> tasks_;
  std::vector<std::string> ids_;  // in enqueue order
  CrashRunReport& report_;
};

}  // namespace

std::string CrashRunReport::summary() const {
  std::ostringstream out;
  out << kills << (power_cut ? " power cuts, " : " kills, ") << acknowledged
      << " acknowledged operations, " << cut_short
      << " cut short (" << cut_short_visible << " visible), " << tasks << " tasks";
  return out.str();
}

// The power cut of a run, if it has one.
std::optional<PowerCut> power_cut_for(const StoreEnvironment& environment,
                                      const CrashRunOptions& options) {
  if (!options.power_cut) return std::nullopt;
  const std::optional<std::filesystem::path> directory = environment.files_directory();
  if (!directory) {
    throw std::invalid_argument("power cuts need a store with a files_directory(); " +
                                environment.location() + " has none");
  }
  if (!FaultLayer::loaded()) {
    throw std::invalid_argument("power cuts need the fault layer: " + fault_layer_absence());
  }
  return std::optional<PowerCut>(std::in_place, *directory);
}

CrashRunReport run_crash_cycles(StoreEnvironment& environment, const CrashRunOptions& options) {
  CrashRunReport report;
  report.power_cut = options.power_cut;
  History history(report);
  const auto steady_now = [] { return std::chrono::steady_clock::now(); };

  // Opens the store in the parent, runs `check` on it and closes it again before the next
  // fork. Returns false (with a violation) if the store can't be opened.
  const auto with_store = [&](const std::string& context, const auto& check) {
    try {
      boost::asio::io_context io;
      const std::shared_ptr<BaseStorage> store = environment.open();
      check(*store, io);
      return true;
    } catch (const std::exception& e) {
      report.violations.push_back(context + "opening the store failed: " + e.what());
      report.inconsistent = true;
      return false;
    }
  };
  // The store exists before the first child opens it, as a deployed one would.
  if (!with_store("before the first cycle: ", [](BaseStorage&, boost::asio::io_context&) {})) {
    return report;
  }
  bool any_kill = false;
  std::optional<PowerCut> power_cut = power_cut_for(environment, options);

  for (int cycle = 0; cycle < options.kills; ++cycle) {
    std::mt19937_64 rng(options.seed ^ (0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(cycle + 1)));
    const KillPlan plan = plan_kill(rng, options);
    const std::uint64_t child_seed = rng();
    const std::string context = "cycle " + std::to_string(cycle + 1) + " of " +
                                std::to_string(options.kills) + " (seed " +
                                std::to_string(options.seed) + ", " +
                                (options.power_cut ? "power cut: " : "") + plan.describe() + "): ";

    if (power_cut) power_cut->take_baseline();  // the parent's own writes count as durable
    detail::Pipe pipe = detail::make_pipe();
    ChildProcess child = ChildProcess::fork([&] {
      pipe.read.close();
      if (power_cut) {
        try {
          power_cut->start_recording_here();
        } catch (const std::exception& e) {
          write_line(pipe.write.get(), "E " + one_line(e.what()));
          return 2;
        }
      }
      return child_loop(environment, pipe.write.get(), history.ids(), child_seed, cycle);
    });
    pipe.write.close();
    LineReader reader(std::move(pipe.read));

    bool killed = false;
    const auto kill_child = [&] {
      any_kill = true;
      child.kill();
      killed = true;
    };
    if (plan.moment == KillPlan::Moment::before_open) {
      std::this_thread::sleep_for(plan.delay);  // picks the kill's moment; decides nothing
      kill_child();
    }
    int acknowledged = 0;
    std::optional<CrashOp> in_flight;
    std::string child_error;
    for (;;) {
      std::string line;
      const auto status = reader.next(line, steady_now() + options.stall_timeout);
      if (status == LineReader::Status::end_of_file) break;
      if (status == LineReader::Status::timed_out) {
        report.violations.push_back(context + "the child reported nothing for " +
                                    std::to_string(options.stall_timeout.count()) + " s");
        if (killed) break;
        kill_child();
        continue;
      }
      if (line.starts_with("B ")) {
        in_flight = detail::decode_op(std::string_view(line).substr(2));
        if (!in_flight) report.violations.push_back(context + "bad report line '" + line + "'");
      } else if (line.starts_with("A ") && in_flight) {
        const bool first_finding = report.violations.empty();
        history.acknowledge(*in_flight, line.substr(2), context);
        // A wrong answer while nothing has crashed yet: not a crash-consistency finding.
        if (first_finding && !any_kill && !report.violations.empty()) {
          report.before_first_kill = true;
        }
        in_flight.reset();
        ++acknowledged;
      } else if (line.starts_with("E ")) {
        child_error = line.substr(2);
      } else if (line != "R") {
        report.violations.push_back(context + "bad report line '" + line + "'");
      }
      if (killed) continue;
      const bool target_reached = acknowledged == plan.after_acknowledged;
      if (plan.moment == KillPlan::Moment::between_operations && target_reached &&
          (line == "R" || line.starts_with("A "))) {
        kill_child();
      } else if (plan.moment == KillPlan::Moment::into_next_operation && target_reached &&
                 line.starts_with("B ")) {
        std::this_thread::sleep_for(plan.delay);  // picks the kill's moment; decides nothing
        kill_child();
      }
    }
    const std::optional<int> status = child.wait(steady_now() + options.stall_timeout);
    if (!status || !WIFSIGNALED(*status) || WTERMSIG(*status) != SIGKILL) {
      report.violations.push_back(
          context + "the child was not killed: it " +
          (status ? detail::describe_wait_status(*status) : std::string("did not end")) +
          (child_error.empty() ? "" : ": " + child_error));
    }
    if (power_cut && report.violations.empty()) {
      if (!power_cut->wait_for_recorders(steady_now() + options.stall_timeout)) {
        report.violations.push_back(context + "a process of the store still ran " +
                                    std::to_string(options.stall_timeout.count()) +
                                    " s after the power cut");
      } else {
        try {
          power_cut->apply();
        } catch (const std::exception& e) {
          report.violations.push_back(context + "the power cut could not be applied: " + e.what());
        }
      }
    }
    report.acknowledged += acknowledged;
    if (!report.violations.empty()) break;

    if (in_flight) ++report.cut_short;
    // Every other cycle drains; in between, PENDING tasks live through crashes too. The last
    // cycle leaves its PENDING tasks to the final reopen's drain.
    const bool drain = (options.kills - cycle) % 2 == 0;
    with_store(context, [&](BaseStorage& store, boost::asio::io_context& io) {
      if (history.verify(store, io, in_flight, context) && in_flight) ++report.cut_short_visible;
      if (drain && report.violations.empty()) history.drain(store, io, context + "drain: ");
    });
    if (!report.violations.empty()) break;
    ++report.kills;
  }

  if (report.violations.empty()) {
    const std::string context = "final reopen (seed " + std::to_string(options.seed) + "): ";
    with_store(context, [&](BaseStorage& store, boost::asio::io_context& io) {
      history.verify(store, io, std::nullopt, context);
      if (report.violations.empty()) history.drain(store, io, context + "drain: ");
    });
  }
  report.tasks = history.size();
  return report;
}

}  // namespace taskstore::conformance
