// The queue's commands for the property tests, and the model of what AsyncTaskQueue must do
// to the store: spec section 2 (QUE-*) and seed 000 ("complete_task ... should fetch task
// from storage and handle retry/interval logic"; "should use provided task object without
// additional storage call"). Each command plays its expected storage calls on the
// ReferenceModel, runs on the queue, and compares the queue's answer, the calls it made and
// the store with the model.
#include <algorithm>
#include <initializer_list>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "queue_commands.hpp"
#include "taskstore/conformance/property/generators.hpp"
#include "taskstore/conformance/property/show.hpp"
#include "taskstore/conformance/property/step_checks.hpp"
#include "taskstore/validation.hpp"

namespace taskstore::queue::property {

namespace {

using namespace std::chrono_literals;
using tc::ErrorKind;
using tc::FieldDifference;
using tc::result_differences;
using tc::task_differences;
using tc::GenerationOptions;
using tc::Operation;
using tc::ReferenceModel;
using tc::show_bytes;
using tc::show_duration;
using tc::show_text;
using tc::show_time;
using tc::Step;
using tc::StorageCall;
using tc::StorageOperation;
using tc::StoreUnderTest;
using tc::TimeArg;
using CommandPtr = std::shared_ptr<const QueueCommand>;

// Payloads, results and errors stay short, as in the storage commands.
constexpr int kMaxBytes = 24;
// Sequences get up to 0.5 × size steps (50 at RapidCheck's default max_size), where the
// storage property's get 0.6: a worker step makes four or five durable writes, and at 0.6
// the file store took 1.4 to 1.9 times as long as the storage property does.
constexpr double kStepsPerSize = 0.5;
// Etas the queue computes must stay at most this far out for a step to be generated, so
// that the storage commands' times relative to an eta (± 5 s) never overflow. Only
// exponential backoff from a task enqueued through storage (large delay, many attempts, no
// cap) goes further; backends need not store times beyond ±2^61 µs anyway (RT-1).
constexpr Timestamp kLatestEta = from_micros(std::int64_t{1} << 62);
// The furthest an idle worker's sleep until the next eta moves the clock in one step.
constexpr Duration kLongestSleep = 1h;

// ---------------------------------------------------------------------------------------
// Time as the spec computes it (QUE-4, QUE-8, QUE-9), written from the spec, not from the
// queue's code.

// t + d for d ≥ 0, saturating at the largest Timestamp (QUE-8: "saturating instead of
// overflowing").
Timestamp later(Timestamp t, Duration d) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::int64_t at = to_micros(t);
  if (at > 0 && d.count() > kMax - at) return Timestamp::max();
  return t + d;
}

// QUE-8: the wait after failed attempt number `attempts` (attempts below 1 count as 1, as
// retry_policy.hpp says; the spec only speaks of attempts ≥ 1).
Duration retry_delay_for(const RetryPolicy& policy, std::int32_t attempts) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::int64_t base = std::max<std::int64_t>(0, policy.delay.count());
  if (policy.backoff == RetryPolicy::Backoff::fixed) return Duration{base};
  const int doublings = std::max<std::int32_t>(attempts, 1) - 1;
  std::int64_t delay = base;  // base × 2^doublings, saturating
  if (base != 0) delay = doublings >= 63 || base > (kMax >> doublings) ? kMax : base << doublings;
  if (policy.max_delay.count() > 0) delay = std::min(delay, policy.max_delay.count());
  if (policy.jitter) {
    // Equal jitter, drawn from [d/2, d] by the queue's random source (ours is fixed).
    const std::int64_t lo = delay / 2;
    delay = std::clamp(fixed_jitter_draw(lo, delay), lo, delay);
  }
  return Duration{delay};
}

bool well_formed(const std::string& id) {
  try {
    validate_task_id("model", id);
    return true;
  } catch (const InvalidArgumentError&) {
    return false;
  }
}

std::string show_retry(const RetryPolicy& retry) {
  std::string out(to_string(retry.backoff));
  out += " " + show_duration(retry.delay);
  if (retry.max_delay.count() != 0) out += " cap " + show_duration(retry.max_delay);
  if (retry.jitter) out += " jitter";
  return out;
}

std::string show_call(const StorageCall& call) {
  std::string out(to_string(call.operation));
  out += "(";
  std::string separator;
  if (!call.task_id.empty()) {
    out += show_text(call.task_id);
    separator = ", ";
  }
  if (call.time) {
    out += separator + show_time(*call.time);
    separator = ", ";
  }
  if (call.will_retry) out += separator + "will_retry=" + (*call.will_retry ? "true" : "false");
  return out + ")";
}

std::string describe_error(ErrorKind kind, const std::string& message) {
  if (kind == ErrorKind::none) return "succeeded";
  return "raised " + std::string(tc::to_string(kind)) + " (" + message + ")";
}

// ---------------------------------------------------------------------------------------
// What the queue must do to the store: a list of storage calls, played on the model.

struct ExpectedCall {
  StorageCall call;                  // as CountingStorage records it
  std::string subject;               // the task the call changes (for dequeue, the claim)
  std::optional<Task> task;          // enqueue's task
  std::optional<TaskResult> result;  // mark_done's result
  std::string error;                 // mark_failed's error
  std::string_view rule;             // the requirement that asks for this call
  std::string_view eta_rule;         // reschedule: the requirement that sets its eta
};

struct Expectation {
  std::vector<ExpectedCall> calls;  // in order, up to and including one that fails
  bool last_call_fails = false;
  ErrorKind error = ErrorKind::none;  // what the command must raise
  ErrorKind also_allowed = ErrorKind::none;
  std::string_view error_rule;     // the requirement behind `error`
  std::string_view rule;           // the requirement the step checks when it succeeds
  std::string_view get_task_rule;  // what a get_task the model doesn't expect breaks
  std::optional<Task> claimed;     // worker_step: what dequeue claims

  bool ok() const { return error == ErrorKind::none; }
  std::string_view outcome_rule() const { return ok() ? rule : error_rule; }
  // The calls that take effect: a call that fails changes nothing.
  std::size_t effective_calls() const { return calls.size() - (last_call_fails ? 1 : 0); }
};

ExpectedCall call_of(StorageOperation operation, const std::string& id, std::string_view rule) {
  ExpectedCall c;
  c.call.operation = operation;
  c.call.task_id = id;
  c.subject = id;
  c.rule = rule;
  return c;
}

// A worker's dequeue(now), as CountingStorage records it (no task id), claiming `subject`
// ("" for none) under `rule`.
ExpectedCall claim_call(Timestamp now, const std::string& subject, std::string_view rule) {
  ExpectedCall c;
  c.call.operation = StorageOperation::dequeue;
  c.call.time = now;
  c.subject = subject;
  c.rule = rule;
  return c;
}

ExpectedCall mark_failed_call(const std::string& id, const std::string& error, bool will_retry,
                              std::string_view rule) {
  ExpectedCall c = call_of(StorageOperation::mark_failed, id, rule);
  c.call.will_retry = will_retry;
  c.error = error;
  return c;
}

ExpectedCall reschedule_call(const std::string& id, Timestamp eta, std::string_view rule,
                             std::string_view eta_rule) {
  ExpectedCall c = call_of(StorageOperation::reschedule, id, rule);
  c.call.time = eta;
  c.eta_rule = eta_rule;
  return c;
}

template <typename T>
bool took_effect(Expectation& e, const tc::Outcome<T>& outcome) {
  if (outcome.ok()) return true;
  e.last_call_fails = true;
  e.error = outcome.error;
  e.also_allowed = outcome.also_allowed;
  e.error_rule = outcome.rule;
  return false;
}

// Adds `call` to the expectation and plays it on the model; false if it fails there (the
// queue then stops and raises its error).
bool perform(ReferenceModel& model, ExpectedCall call, Expectation& e) {
  const ExpectedCall& c = e.calls.emplace_back(std::move(call));
  switch (c.call.operation) {
    case StorageOperation::enqueue: return took_effect(e, model.enqueue(*c.task));
    case StorageOperation::mark_running: return took_effect(e, model.mark_running(c.subject));
    case StorageOperation::mark_done: return took_effect(e, model.mark_done(c.subject, *c.result));
    case StorageOperation::mark_failed:
      return took_effect(e, model.mark_failed(c.subject, c.error, *c.call.will_retry));
    case StorageOperation::get_task: return took_effect(e, model.get_task(c.subject));
    case StorageOperation::reschedule:
      return took_effect(e, model.reschedule(c.subject, *c.call.time));
    case StorageOperation::dequeue:
    case StorageOperation::dequeue_batch:
    case StorageOperation::get_result:
    case StorageOperation::purge_results: break;
  }
  throw std::logic_error("perform: not a call the queue's commands make");
}

// complete_task once the task is known (QUE-5 … QUE-9), at the model's clock, which is the
// queue clock's now.
void play_completion(ReferenceModel& model, const Task& task, const TaskOutcome& outcome,
                     Expectation& e) {
  const Timestamp now = model.now();
  const std::string& id = task.id;
  if (outcome.succeeded()) {
    // QUE-5: mark_done with a SUCCESS result holding the handler's bytes, finished now.
    e.rule = "QUE-5";
    ExpectedCall done = call_of(StorageOperation::mark_done, id, "QUE-5");
    done.result = TaskResult{.task_id = id,
                             .status = TaskStatus::SUCCESS,
                             .value = outcome.value(),
                             .error = std::nullopt,
                             .finished_at = now};
    if (!perform(model, std::move(done), e)) return;
    // QUE-9: an interval task runs again one interval after this run.
    if (task.schedule) {
      perform(model, reschedule_call(id, later(now, task.schedule->interval), "QUE-9", "QUE-9"), e);
    }
    return;
  }
  // QUE-6: attempts count claims, so attempts ≤ max_retries leaves a retry in the budget.
  const bool retry = task.attempts <= task.max_retries;
  e.rule = retry ? "QUE-6" : "QUE-7";
  if (!perform(model, mark_failed_call(id, outcome.error(), retry, e.rule), e)) return;
  if (retry) {
    // QUE-6 reschedules the retry; QUE-8 says when.
    const Timestamp eta = later(now, retry_delay_for(task.retry, task.attempts));
    perform(model, reschedule_call(id, eta, "QUE-6", "QUE-8"), e);
  } else if (task.schedule) {
    // QUE-7 then QUE-9: after a final failure the schedule goes on.
    perform(model, reschedule_call(id, later(now, task.schedule->interval), "QUE-9", "QUE-9"), e);
  }
}

// ---------------------------------------------------------------------------------------
// The checks of a queue step. Each names the requirement a difference breaks.

std::string differences_text(const std::string& read, const std::vector<FieldDifference>& diffs) {
  std::string out;
  for (const auto& d : diffs) {
    if (!out.empty()) out += "\n  ";
    out += read + "." + std::string(d.field) + ": backend " + d.backend + ", model " + d.model;
  }
  return out;
}

// Whether `call` sets `field` of its task ("presence" for the task itself, "result" for
// its result).
bool sets(const ExpectedCall& call, std::string_view field) {
  const auto any_of = [&](std::initializer_list<std::string_view> fields) {
    return std::find(fields.begin(), fields.end(), field) != fields.end();
  };
  switch (call.call.operation) {
    case StorageOperation::enqueue: return field != "result";
    case StorageOperation::dequeue:
    case StorageOperation::dequeue_batch: return any_of({"status", "attempts", "updated_at"});
    case StorageOperation::mark_running: return any_of({"status", "updated_at"});
    case StorageOperation::mark_done: return any_of({"status", "updated_at", "result"});
    case StorageOperation::mark_failed:
      return any_of({"status", "last_error", "updated_at"}) ||
             (field == "result" && !*call.call.will_retry);
    case StorageOperation::reschedule: return any_of({"status", "eta", "updated_at"});
    case StorageOperation::get_result:
    case StorageOperation::purge_results:
    case StorageOperation::get_task: return false;
  }
  return false;
}

// The requirement that a difference in `field` of task `id` breaks: that of the last call
// of the step that sets the field (for a reschedule's eta, the rule that computes it),
// else that of the step's last call on the task (which had to keep it), else the step's.
std::string_view field_rule(const Expectation& e, const std::string& id, std::string_view field) {
  std::string_view setter;
  std::string_view last;
  for (std::size_t i = 0; i < e.effective_calls(); ++i) {
    const ExpectedCall& call = e.calls[i];
    if (call.subject != id) continue;
    last = call.rule;
    if (sets(call, field)) setter = field == "eta" && !call.eta_rule.empty() ? call.eta_rule : call.rule;
  }
  if (!setter.empty()) return setter;
  if (!last.empty()) return last;
  return e.outcome_rule();
}

Step make_queue_step(StoreUnderTest& sut, std::string text, const Expectation& e,
                     std::vector<std::string> touched) {
  return Step{.number = sut.begin_step(),
              .text = std::move(text),
              .operation = Operation::mark_done,
              .rule = e.outcome_rule(),
              .model_expects_error = !e.ok(),
              .touched = std::move(touched)};
}

// The command's answer: the error the model expects, or none. An InvalidArgumentError for
// bad input names the operation (QUE-16).
void check_answer(const Step& step, const Expectation& e, ErrorKind actual,
                  const std::string& message, std::string_view operation,
                  const StoreUnderTest& sut) {
  const bool allowed =
      actual == e.error || (e.also_allowed != ErrorKind::none && actual == e.also_allowed);
  if (!allowed) {
    std::string expected = e.ok() ? std::string("success") : std::string(tc::to_string(e.error));
    if (e.also_allowed != ErrorKind::none) expected += " or " + std::string(tc::to_string(e.also_allowed));
    tc::fail_step(e.outcome_rule(), step,
                  std::string(operation) + " " + describe_error(actual, message) +
                      ", the model expects " + expected,
                  sut);
  }
  if (actual == ErrorKind::invalid_argument && e.error_rule == "QUE-16" &&
      message.find(operation) == std::string::npos) {
    tc::fail_step("QUE-16", step,
                  "the InvalidArgumentError does not name the operation '" +
                      std::string(operation) + "': " + message,
                  sut);
  }
}

std::string show_calls(const std::vector<StorageCall>& calls) {
  if (calls.empty()) return "(none)";
  std::string out;
  for (const auto& call : calls) out += (out.empty() ? "" : ", ") + show_call(call);
  return out;
}

// The storage calls the queue made, in order, against the model's list (QUE-1 and QUE-2
// count get_task; QUE-5 … QUE-9 name the calls; QUE-16: bad input makes none).
void check_calls(const Step& step, const Expectation& e, QueueSystem& system) {
  const std::vector<StorageCall> actual = system.calls().calls();
  std::vector<StorageCall> expected;
  for (const auto& c : e.calls) expected.push_back(c.call);
  for (std::size_t i = 0; i < std::max(actual.size(), expected.size()); ++i) {
    const bool made = i < actual.size();
    const bool due = i < expected.size();
    if (made && due && actual[i] == expected[i]) continue;
    std::string_view rule = e.outcome_rule();
    std::string what;
    const std::string number = std::to_string(i + 1);
    if (!made) {
      rule = e.calls[i].rule;
      what = "the queue did not make call " + number + ", " + show_call(expected[i]);
    } else if (!due) {
      what = "the queue made an extra call " + number + ", " + show_call(actual[i]);
    } else {
      rule = e.calls[i].rule;
      const bool only_the_time_differs =
          actual[i].operation == expected[i].operation && actual[i].task_id == expected[i].task_id &&
          actual[i].will_retry == expected[i].will_retry;
      if (only_the_time_differs && !e.calls[i].eta_rule.empty()) rule = e.calls[i].eta_rule;
      what = "call " + number + " is " + show_call(actual[i]) + ", the model expects " +
             show_call(expected[i]);
    }
    if (made && actual[i].operation == StorageOperation::get_task &&
        !(due && expected[i].operation == StorageOperation::get_task) && !e.get_task_rule.empty()) {
      rule = e.get_task_rule;
    }
    tc::fail_step(rule, step,
                  what + "\n  calls made:     " + show_calls(actual) +
                      "\n  calls expected: " + show_calls(expected),
                  system.storage());
  }
}

// Task `id` and its result in the store against the model after the step.
void check_task(const Step& step, const Expectation& e, const std::string& id,
                const ReferenceModel& after, StoreUnderTest& sut) {
  const std::string read = "get_task(" + show_text(id) + ")";
  const auto got = sut.call(sut.store().get_task(id));
  if (got.error != ErrorKind::none) {
    tc::fail_step("GET-1", step, read + " " + describe_error(got.error, got.message), sut);
  }
  const Task* model = after.find_task(id);
  const std::optional<Task>& backend = *got.value;
  if (!model && backend) {
    tc::fail_step(field_rule(e, id, "presence"), step,
                  read + " returns " + tc::show_task(*backend) + ", the model has no such task",
                  sut);
  }
  if (model && !backend) {
    tc::fail_step(field_rule(e, id, "presence"), step,
                  read + " returns nothing, the model has " + tc::show_task(*model), sut);
  }
  if (model) {
    const auto diffs = task_differences(*model, *backend, sut.shares_clock());
    if (!diffs.empty()) {
      tc::fail_step(field_rule(e, id, diffs.front().field), step, differences_text(read, diffs),
                    sut);
    }
  }

  const std::string read_result = "get_result(" + show_text(id) + ")";
  const auto result = sut.call(sut.store().get_result(id));
  if (result.error != ErrorKind::none) {
    tc::fail_step("RES-1", step, read_result + " " + describe_error(result.error, result.message),
                  sut);
  }
  const TaskResult* model_result = after.find_result(id);
  const std::optional<TaskResult>& backend_result = *result.value;
  if (model_result == nullptr && backend_result) {
    tc::fail_step(field_rule(e, id, "result"), step,
                  read_result + " returns " + tc::show_result(*backend_result) +
                      ", the model has no result",
                  sut);
  }
  if (model_result != nullptr && !backend_result) {
    tc::fail_step(field_rule(e, id, "result"), step,
                  read_result + " returns nothing, the model has " + tc::show_result(*model_result),
                  sut);
  }
  if (model_result != nullptr) {
    // A FAILED result's finished_at comes from the backend's clock, which is the model's
    // only when the backend takes the test's clock.
    const bool compare_finished_at =
        sut.shares_clock() || model_result->status != TaskStatus::FAILED;
    const auto diffs = result_differences(*model_result, *backend_result, compare_finished_at);
    if (!diffs.empty()) {
      tc::fail_step(field_rule(e, id, "result"), step, differences_text(read_result, diffs), sut);
    }
  }
}

// The tasks a queue step touched, and every other task and result, left as the model has
// them.
void check_store(const Step& step, const Expectation& e, const ReferenceModel& before,
                 const ReferenceModel& after, const std::vector<std::string>& touched,
                 QueueSystem& system) {
  StoreUnderTest& sut = system.storage();
  std::set<std::string> ids;
  for (const auto& id : touched) {
    if (well_formed(id)) ids.insert(id);
  }
  for (const auto& call : e.calls) {
    if (well_formed(call.subject)) ids.insert(call.subject);
  }
  for (const auto& id : ids) check_task(step, e, id, after, sut);
  // The rest of the store: a difference there breaks the step's rule too (the queue
  // changed a task it had no business with).
  Step rest = step;
  rest.touched.clear();
  rest.model_expects_error = false;
  rest.rule = e.outcome_rule();
  tc::expect_store_matches(rest, before, after, sut);
}

// Everything a queue step must have done: the calls, in order, and the store.
void check_effects(const Step& step, const Expectation& e, const ReferenceModel& before,
                   const ReferenceModel& after, const std::vector<std::string>& touched,
                   QueueSystem& system) {
  check_calls(step, e, system);
  check_store(step, e, before, after, touched, system);
}

// Counts a step's outcome for the run's summary.
void tally(QueueSystem& system, const Expectation& e) {
  auto& counts = system.tally;
  ++counts[std::string(e.outcome_rule())];
  for (std::size_t i = 0; i < e.effective_calls(); ++i) {
    if (e.calls[i].call.operation == StorageOperation::reschedule) {
      ++counts[std::string(e.calls[i].eta_rule) + " reschedule"];
    }
  }
}

// ---------------------------------------------------------------------------------------
// Arguments.

// A handler run, or a run's outcome given to complete_task.
struct HandlerPlan {
  enum class Kind : std::uint8_t { succeed, throw_error, throw_other };

  Kind kind = Kind::succeed;
  Bytes value;
  std::string error;

  // What a worker makes of the run (workers.cpp; QUE-11: a std::exception's what(), which
  // ends at the first NUL of the text it was made with). As complete_task's argument, the
  // failure's text as it is.
  TaskOutcome outcome() const {
    switch (kind) {
      case Kind::succeed: return TaskOutcome::success(value);
      case Kind::throw_error: return TaskOutcome::failure(error);
      case Kind::throw_other: break;
    }
    return TaskOutcome::failure(kNonStandardException);
  }
  TaskOutcome outcome_of_run() const {
    if (kind == Kind::throw_error) return TaskOutcome::failure(error.c_str());
    return outcome();
  }

  // A handler that runs this way.
  TaskHandler handler() const {
    return [plan = *this](Task) -> Awaitable<Bytes> {
      if (plan.kind == Kind::throw_error) throw std::runtime_error(plan.error);
      if (plan.kind == Kind::throw_other) throw 42;
      co_return plan.value;
    };
  }

  std::string show_as_handler() const {
    switch (kind) {
      case Kind::succeed: return "handler returns " + show_bytes(value);
      case Kind::throw_error: return "handler throws " + show_text(error);
      case Kind::throw_other: break;
    }
    return "handler throws a non-std exception";
  }

  std::string show_as_outcome() const {
    return kind == Kind::succeed ? "success(" + show_bytes(value) + ")"
                                 : "failure(" + show_text(error) + ")";
  }
};

rc::Gen<HandlerPlan> handler_plan(bool non_standard_exceptions) {
  return rc::gen::exec([non_standard_exceptions] {
    HandlerPlan plan;
    using Kind = HandlerPlan::Kind;
    plan.kind = non_standard_exceptions
                    ? *rc::gen::weightedElement<Kind>(
                          {{4, Kind::succeed}, {4, Kind::throw_error}, {1, Kind::throw_other}})
                    : *rc::gen::element(Kind::succeed, Kind::throw_error);
    if (plan.kind == HandlerPlan::Kind::succeed) plan.value = *tc::generators::bytes(kMaxBytes);
    if (plan.kind == HandlerPlan::Kind::throw_error) plan.error = *tc::arguments::error_text();
    return plan;
  });
}

// An id for queue.enqueue: mostly a pool id not in use yet, sometimes one in use (ENQ-3).
rc::Gen<std::string> id_to_enqueue(const ReferenceModel& model) {
  const auto& pool = tc::arguments::id_pool();
  std::vector<std::string> unused;
  for (const auto& id : pool) {
    if (model.find_task(id) == nullptr) unused.push_back(id);
  }
  if (unused.empty()) return rc::gen::elementOf(pool);
  return rc::gen::weightedOneOf<std::string>({{8, rc::gen::elementOf(unused)},
                                              {1, rc::gen::elementOf(pool)}});
}

// ---------------------------------------------------------------------------------------
// The commands.

// A queue command: what it must do is played on the model (apply) and checked on the
// queue (run). Steps whose computed etas would leave the range the storage commands can
// handle are not generated; nor, on a backend that stamps from its own clock, steps that
// store a FAILED result (its finished_at can't be predicted, as GenerationOptions says).
class QueueStep : public QueueCommand {
 public:
  explicit QueueStep(const GenerationOptions& options) : options_(options) {}

  void checkPreconditions(const ReferenceModel& model) const final {
    ReferenceModel copy = model;
    const Expectation e = play(copy);
    for (const auto& c : e.calls) {
      if (c.call.operation == StorageOperation::reschedule) RC_PRE(*c.call.time <= kLatestEta);
      if (c.call.operation == StorageOperation::mark_failed && !options_.predictable_stamps) {
        RC_PRE(*c.call.will_retry);
      }
    }
  }
  void apply(ReferenceModel& model) const final { play(model); }
  void show(std::ostream& os) const final { os << describe(nullptr); }

  // What the step must do, played on `model`.
  virtual Expectation play(ReferenceModel& model) const = 0;
  // The start of a step's run: the queue's clock set to the model's, no calls recorded
  // yet, and what the step must do, played on `after` (the model before the step).
  Expectation start_run(ReferenceModel& after, QueueSystem& system) const {
    system.sync_clock(after.now());
    system.calls().clear();
    return play(after);
  }
  // The step as written in a sequence; with the model it runs on, with times resolved.
  virtual std::string describe(const ReferenceModel* model) const = 0;

 protected:
  static std::string at_clock(const ReferenceModel* model) {
    return model ? " at clock=" + show_time(model->now()) : std::string();
  }

 private:
  GenerationOptions options_;
};

// queue.enqueue(name, payload, options): QUE-4, or QUE-16 for bad options.
class QueueEnqueueCommand final : public QueueStep {
 public:
  QueueEnqueueCommand(const ReferenceModel& model, const GenerationOptions& options)
      : QueueStep(options) {
    id_ = *id_to_enqueue(model);
    name_ = *rc::gen::element<std::string>("job", "mail.send");
    payload_ = *tc::generators::bytes(kMaxBytes);
    timing_ = *rc::gen::weightedElement<Timing>(
        {{3, Timing::now}, {4, Timing::delay}, {3, Timing::eta}});
    delay_ = *rc::gen::element<Duration>(0us, 1us, 1s, 5s, 90s);
    eta_ = *tc::arguments::eta(model, options.times);
    max_retries_ = *rc::gen::inRange<std::int32_t>(0, 4);
    retry_.backoff =
        *rc::gen::element(RetryPolicy::Backoff::fixed, RetryPolicy::Backoff::exponential);
    retry_.delay = *rc::gen::element<Duration>(0us, 1us, 1s, 5s, 1h);
    retry_.max_delay = *rc::gen::element<Duration>(0us, 3s, 1min);
    retry_.jitter = retry_.backoff == RetryPolicy::Backoff::exponential &&
                    *rc::gen::weightedElement<bool>({{3, false}, {1, true}});
    if (*rc::gen::weightedElement<bool>({{2, false}, {1, true}})) {
      interval_ = *rc::gen::element<Duration>(1us, 1s, 90s);
    }
    // Now and then, exactly one of the inputs QUE-16 says enqueue rejects.
    switch (*rc::gen::weightedElement<int>({{50, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5},
                                            {1, 6}, {1, 7}, {1, 8}, {1, 9}})) {
      case 1: name_.clear(); break;
      case 2: timing_ = Timing::both; break;
      case 3:
        timing_ = Timing::delay;
        delay_ = -1s;
        break;
      case 4: max_retries_ = -1; break;
      case 5: retry_.delay = -1us; break;
      case 6: retry_.max_delay = -1s; break;
      case 7:
        retry_.backoff = RetryPolicy::Backoff::fixed;
        retry_.jitter = true;
        break;
      case 8: interval_ = *rc::gen::element<Duration>(0us, -1s); break;
      case 9: id_ = *tc::generators::malformed_task_id(); break;
      default: break;
    }
  }

  Expectation play(ReferenceModel& model) const override {
    Expectation e;
    const EnqueueOptions options = options_at(model);
    if (rejected(options)) {
      e.error = ErrorKind::invalid_argument;
      e.error_rule = "QUE-16";
      e.rule = "QUE-16";
      return e;
    }
    // QUE-4: PENDING, built from the options, attempts 0, stamped with the queue's now.
    e.rule = "QUE-4";
    const Timestamp now = model.now();
    Task task;
    task.id = id_;
    task.name = name_;
    task.payload = payload_;
    task.status = TaskStatus::PENDING;
    task.eta = options.eta ? *options.eta : later(now, options.delay.value_or(Duration{0}));
    task.attempts = 0;
    task.max_retries = max_retries_;
    task.retry = retry_;
    if (interval_) task.schedule = IntervalSchedule{*interval_};
    task.created_at = now;
    task.updated_at = now;
    ExpectedCall call = call_of(StorageOperation::enqueue, id_, "QUE-4");
    call.task = std::move(task);
    perform(model, std::move(call), e);  // ConflictError for an id in use (ENQ-3)
    return e;
  }

  void run(const ReferenceModel& before, QueueSystem& system) const override {
    StoreUnderTest& sut = system.storage();
    ReferenceModel after = before;
    const Expectation e = start_run(after, system);
    const auto actual = sut.call(system.queue().enqueue(name_, payload_, options_at(before)));
    const Step step = make_queue_step(sut, describe(&before), e, {id_});
    check_answer(step, e, actual.error, actual.message, "enqueue", sut);
    if (e.ok() && *actual.value != id_) {
      tc::fail_step("QUE-4", step,
                    "enqueue returned " + show_text(*actual.value) + ", not the id given", sut);
    }
    check_effects(step, e, before, after, {id_}, system);
    tally(system, e);
  }

  std::string describe(const ReferenceModel* model) const override {
    std::string out = "queue.enqueue(" + show_text(name_) + ", " + show_bytes(payload_) +
                      ", id=" + show_text(id_);
    if (timing_ == Timing::delay || timing_ == Timing::both) {
      out += ", delay=" + show_duration(delay_);
    }
    if (timing_ == Timing::eta || timing_ == Timing::both) out += ", eta=" + eta_.show(model);
    out += ", max_retries=" + std::to_string(max_retries_) + ", retry=" + show_retry(retry_);
    if (interval_) out += ", interval=" + show_duration(*interval_);
    return out + ")" + at_clock(model);
  }

 private:
  enum class Timing : std::uint8_t { now, delay, eta, both };

  EnqueueOptions options_at(const ReferenceModel& model) const {
    EnqueueOptions options;
    options.id = id_;
    if (timing_ == Timing::delay || timing_ == Timing::both) options.delay = delay_;
    if (timing_ == Timing::eta || timing_ == Timing::both) options.eta = eta_.resolve(model);
    options.max_retries = max_retries_;
    options.retry = retry_;
    options.interval = interval_;
    return options;
  }

  // QUE-16's list for enqueue.
  bool rejected(const EnqueueOptions& options) const {
    return !well_formed(id_) || name_.empty() || (options.eta && options.delay) ||
           (options.delay && *options.delay < Duration{0}) || options.max_retries < 0 ||
           options.retry.delay < Duration{0} || options.retry.max_delay < Duration{0} ||
           (options.retry.jitter && options.retry.backoff != RetryPolicy::Backoff::exponential) ||
           (options.interval && *options.interval <= Duration{0});
  }

  std::string id_;
  std::string name_;
  Bytes payload_;
  Timing timing_ = Timing::now;
  Duration delay_{0};
  TimeArg eta_;
  std::int32_t max_retries_ = 0;
  RetryPolicy retry_;
  std::optional<Duration> interval_;
};

// One turn of a worker's loop (workers.cpp, run_worker and run_claimed) at the clock's
// now: dequeue; if a task is claimed, the handler, then complete_task (the claim left it
// RUNNING at now, so a worker makes no mark_running for it: QUE-18)
// with the claimed task. The storage calls go through the queue's store, as the worker's
// do. The worker has a handler for every name (the plan's), so QUE-10 never arises.
class WorkerStepCommand final : public QueueStep {
 public:
  WorkerStepCommand(const ReferenceModel&, const GenerationOptions& options)
      : QueueStep(options), plan_(*handler_plan(true)) {}

  Expectation play(ReferenceModel& model) const override {
    Expectation e;
    const Timestamp now = model.now();
    const auto claim = model.dequeue(now);
    e.calls.push_back(claim_call(now, claim.value ? claim.value->id : "", claim.rule));
    e.rule = claim.rule;
    e.claimed = claim.value;
    if (!claim.value) return e;
    const Task task = *claim.value;
    e.get_task_rule = "QUE-2";  // the worker has the task: no storage read
    play_completion(model, task, plan_.outcome_of_run(), e);
    return e;
  }

  void run(const ReferenceModel& before, QueueSystem& system) const override {
    StoreUnderTest& sut = system.storage();
    ReferenceModel after = before;
    const Expectation e = start_run(after, system);
    std::vector<std::string> touched;
    if (e.claimed) touched.push_back(e.claimed->id);
    const Step step = make_queue_step(sut, describe(&before), e, touched);

    BaseStorage& store = system.queue().storage();
    const Timestamp now = before.now();
    const auto claim = sut.call(store.dequeue(now));
    if (claim.error != ErrorKind::none) {
      tc::fail_step(e.calls.front().rule, step,
                    "dequeue " + describe_error(claim.error, claim.message), sut);
    }
    tc::expect_claim(step, before, now, e.claimed, *claim.value, sut);
    ErrorKind error = ErrorKind::none;
    std::string message;
    if (*claim.value) {
      const Task task = **claim.value;
      const TaskHandler handler = plan_.handler();
      TaskOutcome outcome = system.run_handler(handler, task);
      const auto completed =
          sut.call(system.queue().complete_task(task.id, std::move(outcome), task));
      error = completed.error;
      message = completed.message;
    }
    check_answer(step, e, error, message, "complete_task", sut);
    check_effects(step, e, before, after, touched, system);
    tally(system, e);
  }

  std::string describe(const ReferenceModel* model) const override {
    return "worker_step(" + plan_.show_as_handler() + ")" + at_clock(model);
  }

 private:
  HandlerPlan plan_;
};

// The queue's own workers (QueueSystem::kWorkers of them, claiming up to kPrefetch ahead:
// the real loop of workers.cpp, with batch claims where the store makes them) run until
// every one sleeps, with the plan's handler for the names the queue has handlers for.
// Which worker takes which task, and when, is theirs to decide; each task's course is
// not. So the model plays one worker claiming and completing every task due at the
// clock's now in turn (QUE-10 for a name without a handler), and the store must end as it
// does. The calls are checked as a whole: the model's claims, each made once, at now
// (QUE-12, QUE-17); mark_running exactly for the tasks that waited in the buffer, those a
// batch returned after its first (QUE-18); and the model's completions, in any order.
class RunWorkersCommand final : public QueueStep {
 public:
  RunWorkersCommand(const ReferenceModel&, const GenerationOptions& options)
      : QueueStep(options), plan_(*handler_plan(true)) {}

  Expectation play(ReferenceModel& model) const override {
    Expectation e;
    const Timestamp now = model.now();
    RC_PRE(!model.due_tasks(now).empty());  // idle workers would only sleep again
    e.rule = "QUE-17";
    e.get_task_rule = "QUE-2";  // a worker has its task: no storage read
    for (std::size_t runs = 0;; ++runs) {
      // A task that fails again and again with no delay would keep the workers busy: such
      // a step is not generated.
      RC_PRE(runs < kMostRuns);
      const auto claim = model.dequeue(now);
      if (!claim.value) break;
      const Task task = *claim.value;
      e.calls.push_back(claim_call(now, task.id, claim.rule));
      if (QueueSystem::has_handler(task.name)) {
        play_completion(model, task, plan_.outcome_of_run(), e);
      } else {
        e.rule = "QUE-10";
        perform(model,
                mark_failed_call(task.id,
                                 "no handler is registered for task name '" + task.name + "'",
                                 false, "QUE-10"),
                e);
      }
      // A storage error would only be logged by the worker: such a step is not generated.
      RC_PRE(!e.last_call_fails);
    }
    return e;
  }

  void run(const ReferenceModel& before, QueueSystem& system) const override {
    StoreUnderTest& sut = system.storage();
    ReferenceModel after = before;
    const Expectation e = start_run(after, system);
    const Step step = make_queue_step(sut, describe(&before), e, before.task_ids());
    const QueueSystem::WorkersRun workers = system.run_workers(plan_.handler(), 60s);
    if (!workers.went_idle) {
      tc::fail_step("QUE-17", step, "the workers were still busy 60 s after they started", sut);
    }
    if (!workers.shutdown.released.empty() || !workers.shutdown.errors.empty()) {
      // Released claims are tasks the buffer still held while every worker slept.
      tc::fail_step("QUE-17", step, "the queue's shutdown, with every worker asleep, released " +
                                        std::to_string(workers.shutdown.released.size()) +
                                        " claims and met " +
                                        std::to_string(workers.shutdown.errors.size()) + " errors",
                    sut);
    }
    check_worker_calls(step, e, before.now(), workers.claims, system);
    check_store(step, e, before, after, before.task_ids(), system);
    tally(system, e);
    // How much of the run went through the prefetch buffer, for the summary.
    for (const auto& ids : workers.claims) {
      if (ids.size() > 1) system.tally["QUE-17 from the buffer"] += ids.size() - 1;
    }
  }

  std::string describe(const ReferenceModel* model) const override {
    return "run_workers(" + std::to_string(QueueSystem::kWorkers) + " workers, prefetch " +
           std::to_string(QueueSystem::kPrefetch) + ", " + plan_.show_as_handler() + ")" +
           at_clock(model);
  }

 private:
  static constexpr std::size_t kMostRuns = 64;

  static void check_worker_calls(const Step& step, const Expectation& e, Timestamp now,
                                 const std::vector<std::vector<std::string>>& claimed,
                                 QueueSystem& system) {
    StoreUnderTest& sut = system.storage();
    const std::vector<StorageCall> made = system.calls().calls();
    const auto all_calls = [&] {
      std::vector<StorageCall> expected;
      for (const auto& c : e.calls) expected.push_back(c.call);
      return "\n  calls made:     " + show_calls(made) + "\n  calls expected, in some order: " +
             show_calls(expected);
    };
    // The claims: each at now, and between them the model's claims, each once.
    std::map<std::string, int> claims;  // the model's count minus the workers'
    std::map<std::string, int> buffered;  // times returned by a batch after its first task
    bool batches = false;
    for (const auto& c : e.calls) {
      if (c.call.operation == StorageOperation::dequeue) ++claims[c.subject];
    }
    for (const StorageCall& call : made) {
      const bool claim = call.operation == StorageOperation::dequeue ||
                         call.operation == StorageOperation::dequeue_batch;
      if (claim && call.time != now) {
        tc::fail_step("QUE-17", step, "a worker claimed at another time than the clock's now: " +
                                          show_call(call) + all_calls(), sut);
      }
      batches = batches || call.operation == StorageOperation::dequeue_batch;
    }
    for (const auto& ids : claimed) {
      for (std::size_t i = 0; i < ids.size(); ++i) {
        --claims[ids[i]];
        if (i > 0) ++buffered[ids[i]];
      }
    }
    for (const auto& [id, count] : claims) {
      if (count < 0) {
        tc::fail_step("QUE-12", step, "the workers claimed task " + show_text(id) + " " +
                                          std::to_string(-count) +
                                          " more times than the model" + all_calls(), sut);
      }
      if (count > 0) {
        tc::fail_step(batches ? "QUE-17" : "QUE-13", step,
                      "the workers went to sleep with task " + show_text(id) +
                          " still due, claimed " + std::to_string(count) +
                          " fewer times than the model" + all_calls(), sut);
      }
    }
    // mark_running: once each time a task is taken from the buffer (a task retried with no
    // delay is claimed again in the same run), never otherwise (QUE-18).
    std::map<std::string, int> running;
    for (const StorageCall& call : made) {
      if (call.operation == StorageOperation::mark_running) ++running[call.task_id];
    }
    for (const auto& [id, times] : buffered) {
      if (running[id] != times) {
        tc::fail_step("QUE-18", step, "task " + show_text(id) + " waited in the prefetch buffer " +
                                      std::to_string(times) + " times and was marked running " +
                                      std::to_string(running[id]) + " times" + all_calls(), sut);
      }
    }
    for (const auto& [id, count] : running) {
      if (count > 0 && !buffered.contains(id)) {
        tc::fail_step("QUE-18", step, "task " + show_text(id) + " was marked running, but the "
                                      "claim that returned it had just made it RUNNING" +
                                      all_calls(), sut);
      }
    }
    // The completions: the model's, as a multiset (the workers' order is theirs).
    std::multiset<std::string> expected;
    std::map<std::string, std::string_view> rule_of;
    for (std::size_t i = 0; i < e.effective_calls(); ++i) {
      const ExpectedCall& c = e.calls[i];
      if (c.call.operation == StorageOperation::dequeue) continue;
      expected.insert(show_call(c.call));
      rule_of.emplace(show_call(c.call), c.rule);
    }
    std::multiset<std::string> completions;
    for (const StorageCall& call : made) {
      if (call.operation == StorageOperation::dequeue ||
          call.operation == StorageOperation::dequeue_batch ||
          call.operation == StorageOperation::mark_running) {
        continue;
      }
      completions.insert(show_call(call));
    }
    for (const auto& call : expected) {
      if (completions.count(call) < expected.count(call)) {
        tc::fail_step(rule_of.at(call), step, "the workers did not make the call " + call + all_calls(),
                      sut);
      }
    }
    for (const auto& call : completions) {
      if (expected.count(call) < completions.count(call)) {
        const bool read = call.starts_with("get_task");
        tc::fail_step(read ? e.get_task_rule : e.outcome_rule(), step,
                      "the workers made an extra call " + call + all_calls(), sut);
      }
    }
  }

  HandlerPlan plan_;
};

// queue.complete_task(id, outcome, task) with the task object, as seed 000's "task object
// is already available" scenario gets it (get_task, i.e. as the model holds it): QUE-2,
// QUE-5 … QUE-9; QUE-16 for a malformed id or a task with another id. For an id the store
// doesn't hold, a made-up task: the queue's first storage call raises NotFoundError.
class CompleteWithTaskCommand final : public QueueStep {
 public:
  CompleteWithTaskCommand(const ReferenceModel& model, const GenerationOptions& options)
      : QueueStep(options),
        id_(*tc::arguments::task_id(model)),
        plan_(*handler_plan(false)),
        other_id_(*rc::gen::weightedElement<bool>({{15, false}, {1, true}})) {}

  Expectation play(ReferenceModel& model) const override {
    Expectation e;
    if (!well_formed(id_) || other_id_) {
      e.error = ErrorKind::invalid_argument;
      e.error_rule = "QUE-16";
      e.rule = "QUE-16";
      return e;
    }
    e.get_task_rule = "QUE-2";
    play_completion(model, given(model), plan_.outcome(), e);
    return e;
  }

  void run(const ReferenceModel& before, QueueSystem& system) const override {
    StoreUnderTest& sut = system.storage();
    ReferenceModel after = before;
    const Expectation e = start_run(after, system);
    const auto actual =
        sut.call(system.queue().complete_task(id_, plan_.outcome(), given(before)));
    const Step step = make_queue_step(sut, describe(&before), e, {id_});
    check_answer(step, e, actual.error, actual.message, "complete_task", sut);
    check_effects(step, e, before, after, {id_}, system);
    tally(system, e);
  }

  std::string describe(const ReferenceModel* model) const override {
    std::string task = other_id_ ? "task of " + show_text(other_id()) : "task";
    if (model) task = model->find_task(id_) ? task + " as stored" : "made-up " + task;
    return "queue.complete_task(" + show_text(id_) + ", " + plan_.show_as_outcome() + ", " +
           task + ")" + at_clock(model);
  }

 private:
  std::string other_id() const { return id_ == "t1" ? "t2" : "t1"; }

  Task given(const ReferenceModel& model) const {
    Task task;
    if (const Task* stored = model.find_task(id_)) {
      task = *stored;
    } else {
      task.id = id_;
      task.name = "job";
      task.status = TaskStatus::RUNNING;
      task.eta = model.now();
      task.attempts = 1;
      task.created_at = model.now();
      task.updated_at = model.now();
    }
    if (other_id_) task.id = other_id();
    return task;
  }

  std::string id_;
  HandlerPlan plan_;
  bool other_id_;
};

// queue.complete_task(id, outcome) without a task: one get_task (QUE-1), NotFoundError
// for an unknown id (QUE-3), then QUE-5 … QUE-9; QUE-16 for a malformed id.
class CompleteWithoutTaskCommand final : public QueueStep {
 public:
  CompleteWithoutTaskCommand(const ReferenceModel& model, const GenerationOptions& options)
      : QueueStep(options), id_(*tc::arguments::task_id(model)), plan_(*handler_plan(false)) {}

  Expectation play(ReferenceModel& model) const override {
    Expectation e;
    if (!well_formed(id_)) {
      e.error = ErrorKind::invalid_argument;
      e.error_rule = "QUE-16";
      e.rule = "QUE-16";
      return e;
    }
    e.rule = "QUE-1";
    if (!perform(model, call_of(StorageOperation::get_task, id_, "QUE-1"), e)) return e;
    const Task* stored = model.find_task(id_);
    if (stored == nullptr) {
      e.error = ErrorKind::not_found;
      e.error_rule = "QUE-3";
      return e;
    }
    const Task task = *stored;
    play_completion(model, task, plan_.outcome(), e);
    return e;
  }

  void run(const ReferenceModel& before, QueueSystem& system) const override {
    StoreUnderTest& sut = system.storage();
    ReferenceModel after = before;
    const Expectation e = start_run(after, system);
    const auto actual = sut.call(system.queue().complete_task(id_, plan_.outcome()));
    const Step step = make_queue_step(sut, describe(&before), e, {id_});
    check_answer(step, e, actual.error, actual.message, "complete_task", sut);
    check_effects(step, e, before, after, {id_}, system);
    tally(system, e);
  }

  std::string describe(const ReferenceModel* model) const override {
    return "queue.complete_task(" + show_text(id_) + ", " + plan_.show_as_outcome() + ")" +
           at_clock(model);
  }

 private:
  std::string id_;
  HandlerPlan plan_;
};

// An idle worker sleeps until the earliest eta it knows of (QUE-13): the clock moves to
// the next PENDING task's eta, if one is due within kLongestSleep. This lets retries and
// interval runs come due without waiting for the storage commands' clock steps.
class SleepUntilNextEtaCommand final : public QueueCommand {
 public:
  SleepUntilNextEtaCommand(const ReferenceModel&, const GenerationOptions&) {}

  void checkPreconditions(const ReferenceModel& model) const override {
    RC_PRE(next_eta(model).has_value());
  }
  void apply(ReferenceModel& model) const override { model.set_clock(*next_eta(model)); }
  void run(const ReferenceModel& before, QueueSystem& system) const override {
    const Timestamp to = *next_eta(before);
    system.storage().set_clock(to);
    system.sync_clock(to);
    system.storage().begin_step();
  }
  void show(std::ostream& os) const override { os << "worker_sleeps_until_next_eta()"; }

 private:
  static std::optional<Timestamp> next_eta(const ReferenceModel& model) {
    std::optional<Timestamp> next;
    const Timestamp now = model.now();
    for (const auto& id : model.task_ids()) {
      const Task* task = model.find_task(id);
      if (task->status != TaskStatus::PENDING || task->eta <= now) continue;
      if (task->eta - now > kLongestSleep) continue;
      if (!next || task->eta < *next) next = task->eta;
    }
    return next;
  }
};

}  // namespace

std::function<rc::Gen<std::shared_ptr<const QueueCommand>>(const ReferenceModel&)>
queue_commands(GenerationOptions options) {
  // The seam: the storage commands over this system, with the queue's own.
  auto storage = tc::storage_commands<QueueSystem>(options);
  return [options, storage](const ReferenceModel& model) -> rc::Gen<CommandPtr> {
    namespace sg = rc::state::gen;
    return rc::gen::weightedOneOf<CommandPtr>({
        {12, storage(model)},
        {4, sg::execOneOfWithArgs<QueueEnqueueCommand>()(model, options)},
        {6, sg::execOneOfWithArgs<WorkerStepCommand>()(model, options)},
        {3, sg::execOneOfWithArgs<RunWorkersCommand>()(model, options)},
        {2, sg::execOneOfWithArgs<CompleteWithTaskCommand>()(model, options)},
        {2, sg::execOneOfWithArgs<CompleteWithoutTaskCommand>()(model, options)},
        {2, sg::execOneOfWithArgs<SleepUntilNextEtaCommand>()(model, options)},
    });
  };
}

tc::PropertyVerdict check_queue_against_model(const tc::Backend& backend, int runs,
                                              const StoreDecorator& wrap) {
  bool takes_a_clock = false;
  {
    const StoreUnderTest probe(backend, tc::generators::kT0);
    takes_a_clock = probe.shares_clock();
  }
  // The storage commands here are the queue's setting; batch claims have their own property
  // (BAT-1 ... BAT-3) and must not fail a queue run.
  const GenerationOptions options{
      .predictable_stamps = takes_a_clock,
      .commands = tc::every_command() & ~tc::command_bit(tc::Operation::dequeue_batch)};
  std::size_t steps = 0;
  std::size_t longest = 0;
  std::map<std::string, std::size_t> outcomes;
  tc::PropertyVerdict verdict = tc::check_sequences(
      "queue model on '" + backend.name + "'", runs, [&] {
        const ReferenceModel initial(tc::generators::kT0);
        const auto commands = *rc::gen::scale(
            kStepsPerSize, rc::state::gen::commands(initial, queue_commands(options)));
        QueueSystem system(backend, tc::generators::kT0, wrap);
        rc::state::runAll(commands, initial, system);
        steps += commands.size();
        longest = std::max(longest, commands.size());
        for (const auto& [what, count] : system.tally) outcomes[what] += count;
      });
  if (verdict.passed) {
    verdict.report += " (" + std::to_string(steps) + " steps, longest sequence " +
                      std::to_string(longest) + "; queue steps by rule:";
    for (const auto& [what, count] : outcomes) verdict.report += " " + what + " ×" + std::to_string(count);
    verdict.report += ")";
    if (!takes_a_clock) {
      verdict.report += "; the backend takes no clock: updated_at unchecked, no final failures";
    }
  }
  return verdict;
}

}  // namespace taskstore::queue::property
