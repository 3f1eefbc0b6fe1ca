#pragma once
// The RapidCheck state machine over BaseStorage: one command per operation (all nine)
// plus advancing the clock. Each command generates its own arguments from the model's
// state (ids mostly from a small pool so operations meet existing tasks, sometimes fresh
// or malformed; arbitrary payloads; times at the boundaries), runs on the backend and on
// the model, compares the answer and the error, and then reads back every task and result
// (step_checks.hpp). Part of taskstore::conformance.
//
// Seam for the queue's property tests: the commands are templates over the system under
// test, which only has to offer `StoreUnderTest& storage()`. A system that holds an
// AsyncTaskQueue over a StoreUnderTest can mix these commands with its own:
//
//   struct QueueSystem { StoreUnderTest& storage(); AsyncTaskQueue& queue(); ... };
//   class CompleteTask : public rc::state::Command<ReferenceModel, QueueSystem> { ... };
//   auto commands = storage_commands<QueueSystem, CompleteTask>(options);
//
// The model stays ReferenceModel: queue commands express their effect on the store
// through its nine operations and its clock.

#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "taskstore/conformance/property/model.hpp"
#include "taskstore/conformance/property/show.hpp"
#include "taskstore/conformance/property/step_checks.hpp"
#include "taskstore/conformance/property/store_under_test.hpp"

namespace taskstore::conformance {

struct GenerationOptions {
  // False when the backend stamps times from its own clock (StoreUnderTest::shares_clock).
  // The FAILED results of mark_failed(will_retry = false) would then carry finished_at
  // values the model can't know, and purges of them couldn't be predicted, so such
  // commands are not generated.
  bool predictable_stamps = true;
  // The backend's declared time range (Capabilities::times): absolute times are drawn
  // well inside it, so the offsets added to them stay inside too.
  TimeRange times = kWidestTimeRange;
  // The commands generated (bit 1 << Operation, one per command); all by default. A run limited to some
  // requirements (--filter) generates only the commands that reach them.
  std::uint32_t commands = ~std::uint32_t{0};

  // 1 if `kind` is generated, else 0: a factor for its weight.
  std::size_t uses(Operation kind) const {
    return (commands >> static_cast<unsigned>(kind)) & 1U;
  }
};

// The commands a run needs to check the requirements `ids` (e.g. {"PUR-2"}: enqueue,
// mark_done, mark_failed, purge_results, get_result and clock steps), as
// GenerationOptions::commands. An ID whose commands it does not know needs all of them.
std::uint32_t commands_for(const std::vector<std::string>& ids);

// A time argument, kept relative to what it was drawn from (the clock, a task's eta, a
// result's finished_at) and resolved against the model when the step runs. A purge "at
// the finished_at of t1" stays exactly there when shrinking removes the clock steps
// before it, so failures at a boundary shrink to their few essential steps.
struct TimeArg {
  enum class Base : std::uint8_t { clock, eta_of, finished_at_of, absolute };

  Base base = Base::clock;
  std::string id;        // the task, for eta_of and finished_at_of
  Duration offset{0};    // added to the base
  Timestamp absolute{};  // the time, for Base::absolute

  // The time in `model`; the clock stands in for a task or result the model doesn't hold.
  Timestamp resolve(const ReferenceModel& model) const;
  // "clock+1s", "eta(\"t1\")-1us", "finished_at(\"t2\")", "t0-73s"; with a model, the
  // resolved time follows: "finished_at(\"t2\")=t0+5s".
  std::string show(const ReferenceModel* model = nullptr) const;
};

// Model-aware generators of command arguments (definitions in command_arguments.cpp).
namespace arguments {

// The ids most commands use, so that operations hit existing tasks often.
const std::vector<std::string>& id_pool();
// Mostly a known task or the pool, sometimes a fresh valid id, sometimes a malformed one.
rc::Gen<std::string> task_id(const ReferenceModel& model);
// A task to enqueue, eta left to the TimeArg: mostly valid, sometimes one that breaks one
// of enqueue's rules (ENQ-4, ENQ-5).
rc::Gen<Task> task(const ReferenceModel& model);
// At or next to the clock or a task's eta (equal etas make ties, DEQ-4); now and then
// anywhere in `times`.
rc::Gen<TimeArg> eta(const ReferenceModel& model, const TimeRange& times);
// dequeue's `now`: at or next to the clock or a task's eta (DEQ-3's boundary).
rc::Gen<TimeArg> dequeue_time(const ReferenceModel& model, const TimeRange& times);
// A cutoff or finished_at: at or next to the clock or a result's finished_at (PUR-2).
rc::Gen<TimeArg> finish_time(const ReferenceModel& model, const TimeRange& times);
// A result for mark_done, finished_at left to a TimeArg: mostly valid, sometimes for
// another id or not SUCCESS (DONE-3).
rc::Gen<TaskResult> result(const std::string& task_id);
rc::Gen<std::string> error_text();
// dequeue_batch's max: mostly small (1 to 4, so batches meet the end of the due tasks),
// sometimes 0 or past kMaxBatchClaim (BAT-3).
rc::Gen<std::size_t> batch_size();
rc::Gen<Duration> clock_step();

}  // namespace arguments

// Every storage command implements apply, run and describe: none of RapidCheck's
// do-nothing defaults can be inherited by accident.
template <typename System>
class StorageCommand : public rc::state::Command<ReferenceModel, System> {
 public:
  void apply(ReferenceModel& model) const override = 0;
  void run(const ReferenceModel& model, System& system) const override = 0;
  void show(std::ostream& os) const final { os << describe(nullptr); }
  // The step as written in a sequence; given the model the step runs on, with its time
  // arguments resolved, for failure messages.
  virtual std::string describe(const ReferenceModel* model) const = 0;
};

template <typename System>
class EnqueueCommand final : public StorageCommand<System> {
 public:
  EnqueueCommand(const ReferenceModel& model, const GenerationOptions& options)
      : task_(*arguments::task(model)), eta_(*arguments::eta(model, options.times)) {}
  void apply(ReferenceModel& model) const override { model.enqueue(task_at(model)); }
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    const Task task = task_at(before);
    ReferenceModel after = before;
    const auto expected = after.enqueue(task);
    const auto actual = sut.call(sut.store().enqueue(task));
    const Step step =
        make_step(sut.begin_step(), describe(&before), Operation::enqueue, expected, {task.id});
    expect_error(step, expected, actual, sut);
    if (expected.ok()) expect_id(step, expected.value, *actual.value, sut);
    expect_store_matches(step, before, after, sut);
  }
  std::string describe(const ReferenceModel* model) const override {
    return "enqueue(" + show_task(task_, eta_.show(model)) + ")";
  }

 private:
  Task task_at(const ReferenceModel& model) const {
    Task task = task_;
    task.eta = eta_.resolve(model);
    return task;
  }

  Task task_;
  TimeArg eta_;
};

template <typename System>
class DequeueCommand final : public StorageCommand<System> {
 public:
  DequeueCommand(const ReferenceModel& model, const GenerationOptions& options)
      : now_(*arguments::dequeue_time(model, options.times)) {}
  void apply(ReferenceModel& model) const override { model.dequeue(now_.resolve(model)); }
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    const Timestamp now = now_.resolve(before);
    ReferenceModel after = before;
    const auto expected = after.dequeue(now);
    const auto actual = sut.call(sut.store().dequeue(now));
    std::vector<std::string> claimed;
    if (expected.value) claimed.push_back(expected.value->id);
    if (actual.value && *actual.value) claimed.push_back((*actual.value)->id);
    const Step step =
        make_step(sut.begin_step(), describe(&before), Operation::dequeue, expected, claimed);
    expect_error(step, expected, actual, sut);
    expect_claim(step, before, now, expected.value, *actual.value, sut);
    expect_store_matches(step, before, after, sut);
  }
  std::string describe(const ReferenceModel* model) const override {
    return "dequeue(" + now_.show(model) + ")";
  }

 private:
  TimeArg now_;
};

template <typename System>
class DequeueBatchCommand final : public StorageCommand<System> {
 public:
  DequeueBatchCommand(const ReferenceModel& model, const GenerationOptions& options)
      : now_(*arguments::dequeue_time(model, options.times)), max_(*arguments::batch_size()) {}
  void apply(ReferenceModel& model) const override {
    model.dequeue_batch(now_.resolve(model), max_);
  }
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    const Timestamp now = now_.resolve(before);
    ReferenceModel after = before;
    const auto expected = after.dequeue_batch(now, max_);
    const auto actual = sut.call(sut.store().dequeue_batch(now, max_));
    std::vector<std::string> claimed;
    for (const Task& task : expected.value) claimed.push_back(task.id);
    if (actual.value) {
      for (const Task& task : *actual.value) claimed.push_back(task.id);
    }
    const Step step = make_step(sut.begin_step(), describe(&before), Operation::dequeue_batch,
                                expected, claimed);
    expect_error(step, expected, actual, sut);
    if (expected.ok()) expect_batch(step, expected.value, *actual.value, sut);
    expect_store_matches(step, before, after, sut);
  }
  std::string describe(const ReferenceModel* model) const override {
    return "dequeue_batch(" + now_.show(model) + ", " + std::to_string(max_) + ")";
  }

 private:
  TimeArg now_;
  std::size_t max_;
};

template <typename System>
class MarkRunningCommand final : public StorageCommand<System> {
 public:
  MarkRunningCommand(const ReferenceModel& model, const GenerationOptions&)
      : id_(*arguments::task_id(model)) {}
  void apply(ReferenceModel& model) const override { model.mark_running(id_); }
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    ReferenceModel after = before;
    const auto expected = after.mark_running(id_);
    const auto actual = sut.call(sut.store().mark_running(id_));
    const Step step =
        make_step(sut.begin_step(), describe(&before), Operation::mark_running, expected, {id_});
    expect_error(step, expected, actual, sut);
    expect_store_matches(step, before, after, sut);
  }
  std::string describe(const ReferenceModel*) const override {
    return "mark_running(" + show_text(id_) + ")";
  }

 private:
  std::string id_;
};

template <typename System>
class MarkDoneCommand final : public StorageCommand<System> {
 public:
  MarkDoneCommand(const ReferenceModel& model, const GenerationOptions& options)
      : id_(*arguments::task_id(model)),
        result_(*arguments::result(id_)),
        finished_at_(*arguments::finish_time(model, options.times)) {}
  void apply(ReferenceModel& model) const override { model.mark_done(id_, result_at(model)); }
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    const TaskResult result = result_at(before);
    ReferenceModel after = before;
    const auto expected = after.mark_done(id_, result);
    const auto actual = sut.call(sut.store().mark_done(id_, result));
    const Step step =
        make_step(sut.begin_step(), describe(&before), Operation::mark_done, expected, {id_});
    expect_error(step, expected, actual, sut);
    expect_store_matches(step, before, after, sut);
  }
  std::string describe(const ReferenceModel* model) const override {
    return "mark_done(" + show_text(id_) + ", " + show_result(result_, finished_at_.show(model)) +
           ")";
  }

 private:
  TaskResult result_at(const ReferenceModel& model) const {
    TaskResult result = result_;
    result.finished_at = finished_at_.resolve(model);
    return result;
  }

  std::string id_;
  TaskResult result_;
  TimeArg finished_at_;
};

template <typename System>
class GetResultCommand final : public StorageCommand<System> {
 public:
  GetResultCommand(const ReferenceModel& model, const GenerationOptions&)
      : id_(*arguments::task_id(model)) {}
  void apply(ReferenceModel&) const override {}  // a read: the model is unchanged
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    const auto expected = before.get_result(id_);
    const auto actual = sut.call(sut.store().get_result(id_));
    const Step step =
        make_step(sut.begin_step(), describe(&before), Operation::get_result, expected, {id_});
    expect_error(step, expected, actual, sut);
    if (expected.ok()) expect_result_answer(step, expected.value, *actual.value, sut);
    expect_store_matches(step, before, before, sut);
  }
  std::string describe(const ReferenceModel*) const override {
    return "get_result(" + show_text(id_) + ")";
  }

 private:
  std::string id_;
};

template <typename System>
class PurgeResultsCommand final : public StorageCommand<System> {
 public:
  PurgeResultsCommand(const ReferenceModel& model, const GenerationOptions& options)
      : cutoff_(*arguments::finish_time(model, options.times)) {}
  void apply(ReferenceModel& model) const override { model.purge_results(cutoff_.resolve(model)); }
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    const Timestamp cutoff = cutoff_.resolve(before);
    ReferenceModel after = before;
    const auto expected = after.purge_results(cutoff);
    const auto actual = sut.call(sut.store().purge_results(cutoff));
    const Step step =
        make_step(sut.begin_step(), describe(&before), Operation::purge_results, expected, {});
    expect_error(step, expected, actual, sut);
    // Which results went says more than how many: compare the store first.
    expect_store_matches(step, before, after, sut);
    expect_count(step, expected.value, *actual.value, sut);
  }
  std::string describe(const ReferenceModel* model) const override {
    return "purge_results(" + cutoff_.show(model) + ")";
  }

 private:
  TimeArg cutoff_;
};

template <typename System>
class MarkFailedCommand final : public StorageCommand<System> {
 public:
  MarkFailedCommand(const ReferenceModel& model, const GenerationOptions& options)
      : id_(*arguments::task_id(model)),
        error_(*arguments::error_text()),
        will_retry_(options.predictable_stamps ? *rc::gen::arbitrary<bool>()
                                               : *rc::gen::just(true)) {}
  void apply(ReferenceModel& model) const override { model.mark_failed(id_, error_, will_retry_); }
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    ReferenceModel after = before;
    const auto expected = after.mark_failed(id_, error_, will_retry_);
    const auto actual = sut.call(sut.store().mark_failed(id_, error_, will_retry_));
    const Step step =
        make_step(sut.begin_step(), describe(&before), Operation::mark_failed, expected, {id_});
    expect_error(step, expected, actual, sut);
    expect_store_matches(step, before, after, sut);
  }
  std::string describe(const ReferenceModel* model) const override {
    std::string out = "mark_failed(" + show_text(id_) + ", " + show_text(error_) +
                      ", will_retry=" + (will_retry_ ? "true" : "false") + ")";
    if (model) out += " at clock=" + show_time(model->now());
    return out;
  }

 private:
  std::string id_;
  std::string error_;
  bool will_retry_;
};

template <typename System>
class GetTaskCommand final : public StorageCommand<System> {
 public:
  GetTaskCommand(const ReferenceModel& model, const GenerationOptions&)
      : id_(*arguments::task_id(model)) {}
  void apply(ReferenceModel&) const override {}  // a read: the model is unchanged
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    const auto expected = before.get_task(id_);
    const auto actual = sut.call(sut.store().get_task(id_));
    const Step step =
        make_step(sut.begin_step(), describe(&before), Operation::get_task, expected, {id_});
    expect_error(step, expected, actual, sut);
    if (expected.ok()) expect_task_answer(step, expected.value, *actual.value, sut);
    expect_store_matches(step, before, before, sut);
  }
  std::string describe(const ReferenceModel*) const override {
    return "get_task(" + show_text(id_) + ")";
  }

 private:
  std::string id_;
};

template <typename System>
class RescheduleCommand final : public StorageCommand<System> {
 public:
  RescheduleCommand(const ReferenceModel& model, const GenerationOptions& options)
      : id_(*arguments::task_id(model)), eta_(*arguments::eta(model, options.times)) {}
  void apply(ReferenceModel& model) const override { model.reschedule(id_, eta_.resolve(model)); }
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    const Timestamp eta = eta_.resolve(before);
    ReferenceModel after = before;
    const auto expected = after.reschedule(id_, eta);
    const auto actual = sut.call(sut.store().reschedule(id_, eta));
    const Step step =
        make_step(sut.begin_step(), describe(&before), Operation::reschedule, expected, {id_});
    expect_error(step, expected, actual, sut);
    expect_store_matches(step, before, after, sut);
  }
  std::string describe(const ReferenceModel* model) const override {
    return "reschedule(" + show_text(id_) + ", " + eta_.show(model) + ")";
  }

 private:
  std::string id_;
  TimeArg eta_;
};

// Moves the clock the model and the store share.
template <typename System>
class AdvanceClockCommand final : public StorageCommand<System> {
 public:
  AdvanceClockCommand(const ReferenceModel&, const GenerationOptions&)
      : by_(*arguments::clock_step()) {}
  void apply(ReferenceModel& model) const override { model.set_clock(model.now() + by_); }
  void run(const ReferenceModel& before, System& system) const override {
    StoreUnderTest& sut = system.storage();
    sut.set_clock(before.now() + by_);
    sut.begin_step();
  }
  std::string describe(const ReferenceModel* model) const override {
    std::string out = "advance_clock(" + show_duration(by_) + ")";
    if (model) out += " to " + show_time(model->now() + by_);
    return out;
  }

 private:
  Duration by_;
};

// The generator function for rc::state: the storage commands, weighted towards the
// operations that change state, plus any `Extra` commands (constructed from the model)
// with weight `extra_weight` in 30.
template <typename System, typename... Extra>
auto storage_commands(GenerationOptions options, std::size_t extra_weight = 10) {
  using Cmd = std::shared_ptr<const rc::state::Command<ReferenceModel, System>>;
  return [options, extra_weight](const ReferenceModel& model) -> rc::Gen<Cmd> {
    namespace sg = rc::state::gen;
    const auto weight = [&options](Operation kind, std::size_t w) {
      return w * options.uses(kind);
    };
    rc::Gen<Cmd> storage = rc::gen::weightedOneOf<Cmd>({
        {weight(Operation::enqueue, 5),
         sg::execOneOfWithArgs<EnqueueCommand<System>>()(model, options)},
        {weight(Operation::dequeue, 4),
         sg::execOneOfWithArgs<DequeueCommand<System>>()(model, options)},
        {weight(Operation::mark_running, 2),
         sg::execOneOfWithArgs<MarkRunningCommand<System>>()(model, options)},
        {weight(Operation::mark_done, 3),
         sg::execOneOfWithArgs<MarkDoneCommand<System>>()(model, options)},
        {weight(Operation::get_result, 1),
         sg::execOneOfWithArgs<GetResultCommand<System>>()(model, options)},
        {weight(Operation::purge_results, 2),
         sg::execOneOfWithArgs<PurgeResultsCommand<System>>()(model, options)},
        {weight(Operation::mark_failed, 3),
         sg::execOneOfWithArgs<MarkFailedCommand<System>>()(model, options)},
        {weight(Operation::get_task, 1),
         sg::execOneOfWithArgs<GetTaskCommand<System>>()(model, options)},
        {weight(Operation::reschedule, 3),
         sg::execOneOfWithArgs<RescheduleCommand<System>>()(model, options)},
        {weight(Operation::advance_clock, 2),
         sg::execOneOfWithArgs<AdvanceClockCommand<System>>()(model, options)},
        {weight(Operation::dequeue_batch, 4),
         sg::execOneOfWithArgs<DequeueBatchCommand<System>>()(model, options)},
    });
    if constexpr (sizeof...(Extra) == 0) {
      (void)extra_weight;
      return storage;
    } else {
      return rc::gen::weightedOneOf<Cmd>({
          {30 - extra_weight, storage},
          {extra_weight, sg::execOneOfWithArgs<Extra...>()(model)},
      });
    }
  };
}

}  // namespace taskstore::conformance
