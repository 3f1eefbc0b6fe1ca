#include "taskstore/conformance/crash_driver.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <charconv>
#include <map>
#include <mutex>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "child_process.hpp"
#include "crash_history.hpp"
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

using detail::kChildNow;
using detail::kCrashBase;

// A child thread that is never killed stops after this many operations (and fails the run).
constexpr int kMaxThreadOperations = 100'000;

// Report lines from the child (each one write(2), so threads' lines never mix):
//   R             the store is open
//   B <t> <op>    thread t is about to start the operation (encode(op))
//   A <t> <ids>   it returned; for dequeue and dequeue_batch, the claimed ids
//                 (comma-separated) or "-"
//   E <text>      the child failed (its last line)

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

Timestamp random_eta(std::mt19937_64& rng) {
  static constexpr std::array<int, 5> kOffsets{-1, 0, 1, 2, 60};  // seconds; from 2 not due
  return kCrashBase + std::chrono::seconds(kOffsets[std::uniform_int_distribution<std::size_t>(
                          0, kOffsets.size() - 1)(rng)]);
}

// A thread's next operation: a fresh enqueue, a claim (with `batches`, one in three is a
// batch of 2 to 4), or a change to a task it holds.
CrashOp next_operation(std::mt19937_64& rng, const std::vector<std::string>& held,
                       const std::string& tag, bool batches) {
  const int roll = std::uniform_int_distribution<int>(0, 99)(rng);
  if (held.empty() || roll < 20) {
    return CrashOp{.kind = CrashOpKind::enqueue, .id = "c" + tag, .time = random_eta(rng), .text = ""};
  }
  if (roll < 45) {
    if (batches && roll < 29) {
      return CrashOp{.kind = CrashOpKind::dequeue_batch, .id = "-", .time = kChildNow,
                     .text = std::to_string(std::uniform_int_distribution<int>(2, 4)(rng))};
    }
    return CrashOp{.kind = CrashOpKind::dequeue, .id = "-", .time = kChildNow, .text = ""};
  }
  CrashOp op{.id = held[std::uniform_int_distribution<std::size_t>(0, held.size() - 1)(rng)]};
  if (roll < 50) {
    op.kind = CrashOpKind::mark_running;
  } else if (roll < 65) {
    op.kind = CrashOpKind::mark_done;
    op.time = kCrashBase + std::chrono::microseconds(roll);
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

// Runs `op` on the store; returns the claimed ids of a claim, comma-separated, or "-".
std::string run_operation(BaseStorage& store, boost::asio::io_context& io, const CrashOp& op) {
  switch (op.kind) {
    case CrashOpKind::enqueue:
      sync_wait(io, store.enqueue(detail::crash_task(op.id, op.time, kCrashBase)));
      break;
    case CrashOpKind::dequeue: {
      const auto task = sync_wait(io, store.dequeue(op.time));
      return task ? task->id : "-";
    }
    case CrashOpKind::dequeue_batch: {
      const auto tasks = sync_wait(io, store.dequeue_batch(op.time, detail::claim_capacity(op)));
      std::string ids;
      for (const Task& task : tasks) ids += (ids.empty() ? "" : ",") + task.id;
      return ids.empty() ? "-" : ids;
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

// What a child runs: its threads, each with the tasks it may change (crash_history.hpp).
struct ChildWorkload {
  std::vector<std::vector<std::string>> held;  // one list per thread
  // One thread, which holds every task and never lets go: it changes due tasks too
  // (mark_done on one, a reschedule to later), which threads would race dequeues for.
  bool holds_all = false;
  bool batches = false;  // some claims are batches (the store claims batches)
  std::uint64_t seed = 0;
  int cycle = 0;
};

// One thread of the child: runs operations until the process is killed, announcing each
// before it starts and acknowledging it the moment it returns. Holds the tasks it enqueued
// or claimed, and lets go of one when it makes it due (then any thread's dequeue may take
// it). Throws what the store throws.
void worker_loop(BaseStorage& store, int report_fd, std::vector<std::string> held,
                 const ChildWorkload& workload, int thread, const std::atomic<bool>& stop) {
  const int cycle = workload.cycle;
  const std::uint64_t seed = workload.seed + static_cast<std::uint64_t>(thread);
  std::mt19937_64 rng(seed);
  boost::asio::io_context io;
  const std::string prefix = " " + std::to_string(thread) + " ";
  for (int n = 0; n < kMaxThreadOperations && !stop; ++n) {
    const CrashOp op = next_operation(
        rng, held, std::to_string(cycle) + "." + std::to_string(thread) + "." + std::to_string(n),
        workload.batches);
    if (!write_line(report_fd, "B" + prefix + detail::encode(op))) throw std::runtime_error("the report pipe closed");
    const std::string claimed = run_operation(store, io, op);
    if (!write_line(report_fd, "A" + prefix + claimed)) throw std::runtime_error("the report pipe closed");
    const bool now_due = op.time <= kChildNow;
    if (workload.holds_all) {
      if (op.kind == CrashOpKind::enqueue) held.push_back(op.id);
      continue;
    }
    if (op.kind == CrashOpKind::enqueue && !now_due) held.push_back(op.id);
    if (detail::claim_capacity(op) > 0 && claimed != "-") {
      for (std::size_t start = 0; start <= claimed.size();) {
        const std::size_t comma = std::min(claimed.find(',', start), claimed.size());
        held.push_back(claimed.substr(start, comma - start));
        start = comma + 1;
      }
    }
    if (op.kind == CrashOpKind::reschedule && now_due) std::erase(held, op.id);
  }
  if (!stop) throw std::runtime_error("ran " + std::to_string(kMaxThreadOperations) +
                                      " operations and was never killed");
}

// The child: opens the store and runs its threads until it is killed.
int child_loop(StoreEnvironment& environment, int report_fd, const ChildWorkload& workload) {
  ::signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> stop{false};
  std::mutex error_mutex;
  // The first failure is reported at once: another thread may be blocked in the store.
  const auto fail = [&](const std::string& error) {
    const std::lock_guard lock(error_mutex);
    if (!stop.exchange(true)) write_line(report_fd, "E " + one_line(error));
  };
  try {
    const std::shared_ptr<BaseStorage> store = environment.open();
    if (!write_line(report_fd, "R")) return 3;
    std::vector<std::jthread> threads;
    for (std::size_t t = 0; t < workload.held.size(); ++t) {
      threads.emplace_back([&, t] {
        try {
          worker_loop(*store, report_fd, workload.held[t], workload, static_cast<int>(t), stop);
        } catch (const std::exception& e) {
          fail(e.what());
        } catch (...) {
          fail("an exception that is not a std::exception");
        }
      });
    }
  } catch (const std::exception& e) {
    fail(e.what());
  } catch (...) {
    fail("an exception that is not a std::exception");
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

}  // namespace

std::string CrashRunReport::summary() const {
  std::ostringstream out;
  out << kills << (power_cut ? " power cuts (" : " kills (") << concurrent_kills
      << " on several threads), " << acknowledged << " acknowledged operations (" << overlapping
      << " overlapping" << (batch_claims > 0 ? ", " + std::to_string(batch_claims) + " batch claims" : "")
      << "), " << cut_short
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
  detail::CrashHistory history(report);
  long line_number = 0;  // report lines of all cycles, numbered from 1
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
    ChildWorkload workload{.held = {}, .batches = options.batch_claims, .seed = rng(), .cycle = cycle};
    // One thread in a quarter of the cycles (whose history is the seed's alone), else two
    // or more contending for the due tasks; the held tasks are dealt out round the threads.
    const int threads = std::uniform_int_distribution<int>(0, 3)(rng) == 0 || options.max_threads < 2
                            ? 1
                            : std::uniform_int_distribution<int>(2, options.max_threads)(rng);
    workload.held.resize(static_cast<std::size_t>(threads));
    workload.holds_all = threads == 1;
    const std::vector<std::string> holdable =
        workload.holds_all ? history.all_ids() : history.holdable();
    for (std::size_t i = 0; i < holdable.size(); ++i) {
      workload.held[i % workload.held.size()].push_back(holdable[i]);
    }
    if (threads > 1) ++report.concurrent_kills;
    const std::string context = "cycle " + std::to_string(cycle + 1) + " of " +
                                std::to_string(options.kills) + " (seed " +
                                std::to_string(options.seed) + ", " + std::to_string(threads) +
                                (threads == 1 ? " thread, " : " threads, ") +
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
      return child_loop(environment, pipe.write.get(), workload);
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
    detail::Flights in_flight;
    std::string child_error;
    // "B 2 mark_done ..." and "A 2 k1": the thread's number and the rest.
    const auto thread_of = [](std::string_view rest, std::string_view& tail) -> std::optional<int> {
      const auto space = rest.find(' ');
      int thread = 0;
      if (space == std::string_view::npos ||
          std::from_chars(rest.data(), rest.data() + space, thread).ptr != rest.data() + space) {
        return std::nullopt;
      }
      tail = rest.substr(space + 1);
      return thread;
    };
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
      ++line_number;
      std::string_view tail;
      const std::optional<int> thread =
          line.size() > 2 ? thread_of(std::string_view(line).substr(2), tail) : std::nullopt;
      if (line.starts_with("B ")) {
        const std::optional<CrashOp> op = thread ? detail::decode_op(tail) : std::nullopt;
        if (!op || in_flight.contains(*thread)) {
          report.violations.push_back(context + "bad report line '" + line + "'");
        } else {
          if (!in_flight.empty()) ++report.overlapping;
          if (op->kind == CrashOpKind::dequeue_batch) ++report.batch_claims;
          in_flight[*thread] = detail::Flight{.op = *op, .begun = line_number, .applied = false};
        }
      } else if (line.starts_with("A ")) {
        if (!thread || !in_flight.contains(*thread)) {
          report.violations.push_back(context + "bad report line '" + line + "'");
          continue;
        }
        const bool first_finding = report.violations.empty();
        history.acknowledge(*thread, std::string(tail), line_number, in_flight, context);
        // A wrong answer while nothing has crashed yet: not a crash-consistency finding.
        if (first_finding && !any_kill && !report.violations.empty()) {
          report.before_first_kill = true;
        }
        ++acknowledged;
      } else if (line.starts_with("E ")) {
        child_error = line.substr(2);
      } else if (line != "R") {
        report.violations.push_back(context + "bad report line '" + line + "'");
      }
      if (killed) continue;
      // With several threads, acknowledgements may come before the next begin line.
      const bool target_reached = acknowledged >= plan.after_acknowledged;
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
    // A store in another process (an exec driver) dies a moment after the child.
    if (const auto directory = environment.files_directory();
        directory && !environment.runs_in_this_process() && report.violations.empty() &&
        !detail::wait_until_no_process_holds(*directory, steady_now() + options.stall_timeout)) {
      report.violations.push_back(context + "a process still had the store's files open " +
                                  std::to_string(options.stall_timeout.count()) +
                                  " s after the child was killed");
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

    const bool cut_short = std::ranges::any_of(
        in_flight, [](const auto& entry) { return !entry.second.applied; });
    if (cut_short) ++report.cut_short;
    // Every other cycle drains; in between, PENDING tasks live through crashes too. The last
    // cycle leaves its PENDING tasks to the final reopen's drain.
    const bool drain = (options.kills - cycle) % 2 == 0;
    with_store(context, [&](BaseStorage& store, boost::asio::io_context& io) {
      if (history.verify(store, io, in_flight, context) && cut_short) ++report.cut_short_visible;
      if (drain && report.violations.empty()) history.drain(store, io, context + "drain: ");
    });
    if (!report.violations.empty()) break;
    ++report.kills;
  }

  if (report.violations.empty()) {
    const std::string context = "final reopen (seed " + std::to_string(options.seed) + "): ";
    with_store(context, [&](BaseStorage& store, boost::asio::io_context& io) {
      history.verify(store, io, {}, context);
      if (report.violations.empty()) history.drain(store, io, context + "drain: ");
    });
  }
  report.tasks = history.size();
  return report;
}

}  // namespace taskstore::conformance
