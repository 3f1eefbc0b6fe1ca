#include "ops_harness.hpp"

#include <rapidcheck.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../common/byte_reader.hpp"
#include "../common/harness.hpp"
#include "ops_format.hpp"
#include "taskstore/conformance/property/model.hpp"
#include "taskstore/conformance/property/show.hpp"
#include "taskstore/conformance/property/step_checks.hpp"
#include "taskstore/conformance/property/storage_commands.hpp"
#include "taskstore/conformance/property/store_under_test.hpp"

namespace taskstore::fuzz::ops {

namespace {

using conformance::expect_claim;
using conformance::expect_count;
using conformance::expect_error;
using conformance::expect_id;
using conformance::expect_result_answer;
using conformance::expect_store_matches;
using conformance::expect_task_answer;
using conformance::make_step;
using conformance::Operation;
using conformance::ReferenceModel;
using conformance::show_duration;
using conformance::show_result;
using conformance::show_task;
using conformance::show_text;
using conformance::show_time;
using conformance::Step;
using conformance::StoreUnderTest;
using conformance::TimeArg;

static_assert(kSpecialIds[0].size() == Task::kMaxIdBytes, "the longest valid id");
static_assert(kSpecialIds[7].size() == Task::kMaxIdBytes + 1, "one byte too long");

// Turns input bytes into arguments, drawing ids and anchors from what the model holds,
// the way the property tests' generators do (ops_format.hpp has the layout).
class Decoder {
 public:
  explicit Decoder(ByteReader& in) : in_(in) {}

  bool done() const { return in_.empty(); }
  Operation operation() { return static_cast<Operation>(in_.u8() % kOperations); }

  std::string id(const ReferenceModel& model) {
    const std::uint8_t s = in_.u8();
    if (s < kKnownIdBase) return std::string(kPoolIds[s % kPoolIds.size()]);
    if (s < kSpecialIdBase) {
      const auto known = model.task_ids();
      if (known.empty()) return std::string(kPoolIds[s % kPoolIds.size()]);
      return known[(s - kKnownIdBase) % known.size()];
    }
    if (s < kRawIdBase) return std::string(kSpecialIds[(s - kSpecialIdBase) % kSpecialIds.size()]);
    return in_.text(in_.u8() % (kMaxRawId + 1));
  }

  std::string text() { return in_.text(in_.u8() % (kMaxText + 1)); }

  Bytes payload() { return to_bytes(in_.text(in_.u8() % (kMaxPayload + 1))); }

  std::string name() {
    const std::uint8_t s = in_.u8();
    if (s < kEmptyNameBase) return std::string(kNames[s % kNames.size()]);
    if (s < kRawNameBase) return {};
    return text();
  }

  // A time anchored, for kind 1, on one of `anchors` by `base` (eta_of or finished_at_of).
  TimeArg time(TimeArg::Base base, const std::vector<std::string>& anchors) {
    const std::uint8_t s = in_.u8();
    const Duration offset = kOffsets[(s >> 2) & 7];
    switch (s & 3) {
      case time_kind::kClock:
        return TimeArg{.base = TimeArg::Base::clock, .offset = offset};
      case time_kind::kAnchor: {
        const std::uint8_t pick = in_.u8();
        if (anchors.empty()) return TimeArg{.base = TimeArg::Base::clock, .offset = offset};
        return TimeArg{.base = base, .id = anchors[pick % anchors.size()], .offset = offset};
      }
      case time_kind::kTable:
        return TimeArg{.base = TimeArg::Base::absolute, .absolute = kTimes[(s >> 2) & 7]};
      default: {
        const std::uint64_t span = (std::uint64_t{1} << 62) + 1;
        const auto micros = static_cast<std::int64_t>(in_.u64() % span) - kTimeLimit;
        return TimeArg{.base = TimeArg::Base::absolute, .absolute = from_micros(micros)};
      }
    }
  }

  // A task to enqueue (its eta is the returned TimeArg, resolved when the step runs).
  std::pair<Task, TimeArg> task(const ReferenceModel& model) {
    Task task;
    task.id = id(model);
    task.name = name();
    task.payload = payload();
    task.created_at = kT0;
    task.updated_at = kT0;
    const std::uint8_t flags = in_.u8();
    if (flags & flag::kSchedule) {
      task.schedule = IntervalSchedule{kIntervals[in_.u8() % kIntervals.size()]};
    }
    if (flags & flag::kLastError) task.last_error = text();
    if (flags & flag::kRetry) {
      const std::uint8_t r = in_.u8();
      task.retry = RetryPolicy{
          .backoff = (r & 1) ? RetryPolicy::Backoff::exponential : RetryPolicy::Backoff::fixed,
          .delay = kRetryDelays[(r >> 2) & 3],
          .max_delay = kRetryDelays[(r >> 4) & 3],
          .jitter = ((r >> 1) & 1) != 0};
    }
    if (flags & flag::kCounters) {
      const std::uint8_t c = in_.u8();
      task.attempts = kAttempts[c & 7];
      task.max_retries = kMaxRetries[(c >> 3) & 7];
    }
    if (flags & flag::kStatus) task.status = static_cast<TaskStatus>(in_.u8() % 5);
    if (flags & flag::kStamps) {
      const std::uint8_t t = in_.u8();
      task.created_at = kTimes[t & 7];
      task.updated_at = kTimes[(t >> 3) & 7];
    }
    TimeArg eta = time(TimeArg::Base::eta_of, model.task_ids());
    return {std::move(task), std::move(eta)};
  }

  // A result for mark_done(id, ...) (finished_at is the returned TimeArg).
  std::pair<TaskResult, TimeArg> result(const std::string& task_id, const ReferenceModel& model) {
    TaskResult result;
    const std::uint8_t r = in_.u8();
    if (r < kOtherResultIdBase) {
      result.task_id = task_id;
    } else if (r < kRawResultIdBase) {
      result.task_id = task_id == "t1" ? "t2" : "t1";
    } else {
      result.task_id = id(model);
    }
    const std::uint8_t s = in_.u8();
    result.status = s < kResultStatusBase ? TaskStatus::SUCCESS : static_cast<TaskStatus>(s % 5);
    result.value = payload();
    if (in_.u8() & 1) result.error = text();
    TimeArg finished_at = time(TimeArg::Base::finished_at_of, model.result_ids());
    return {std::move(result), std::move(finished_at)};
  }

  Duration clock_step() { return kClockSteps[in_.u8() % kClockSteps.size()]; }
  std::size_t batch_size() { return kBatchSizes[in_.u8() & 7]; }
  bool flag_bit() { return (in_.u8() & 1) != 0; }

 private:
  ByteReader& in_;
};

// Runs one decoded step on the model and the store and compares them, as the commands in
// storage_commands.hpp do. `log` gets the step's text first, for the failure report.
void run_step(Decoder& in, ReferenceModel& model, StoreUnderTest& sut,
              std::vector<std::string>& log) {
  const ReferenceModel before = model;
  switch (in.operation()) {
    case Operation::enqueue: {
      auto [proto, eta] = in.task(before);
      Task task = proto;
      task.eta = eta.resolve(before);
      log.push_back("enqueue(" + show_task(proto, eta.show(&before)) + ")");
      const auto expected = model.enqueue(task);
      const auto actual = sut.call(sut.store().enqueue(task));
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::enqueue, expected, {task.id});
      expect_error(step, expected, actual, sut);
      if (expected.ok()) expect_id(step, expected.value, *actual.value, sut);
      expect_store_matches(step, before, model, sut);
      return;
    }
    case Operation::dequeue: {
      const TimeArg at = in.time(TimeArg::Base::eta_of, before.task_ids());
      const Timestamp now = at.resolve(before);
      log.push_back("dequeue(" + at.show(&before) + ")");
      const auto expected = model.dequeue(now);
      const auto actual = sut.call(sut.store().dequeue(now));
      std::vector<std::string> claimed;
      if (expected.value) claimed.push_back(expected.value->id);
      if (actual.value && *actual.value) claimed.push_back((*actual.value)->id);
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::dequeue, expected, claimed);
      expect_error(step, expected, actual, sut);
      expect_claim(step, before, now, expected.value, *actual.value, sut);
      expect_store_matches(step, before, model, sut);
      return;
    }
    case Operation::dequeue_batch: {
      const TimeArg at = in.time(TimeArg::Base::eta_of, before.task_ids());
      const Timestamp now = at.resolve(before);
      const std::size_t max = in.batch_size();
      log.push_back("dequeue_batch(" + at.show(&before) + ", " + std::to_string(max) + ")");
      const auto expected = model.dequeue_batch(now, max);
      const auto actual = sut.call(sut.store().dequeue_batch(now, max));
      std::vector<std::string> claimed;
      for (const Task& task : expected.value) claimed.push_back(task.id);
      if (actual.value) {
        for (const Task& task : *actual.value) claimed.push_back(task.id);
      }
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::dequeue_batch, expected, claimed);
      expect_error(step, expected, actual, sut);
      if (expected.ok()) expect_batch(step, expected.value, *actual.value, sut);
      expect_store_matches(step, before, model, sut);
      return;
    }
    case Operation::mark_running: {
      const std::string id = in.id(before);
      log.push_back("mark_running(" + show_text(id) + ") at clock=" + show_time(before.now()));
      const auto expected = model.mark_running(id);
      const auto actual = sut.call(sut.store().mark_running(id));
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::mark_running, expected, {id});
      expect_error(step, expected, actual, sut);
      expect_store_matches(step, before, model, sut);
      return;
    }
    case Operation::mark_done: {
      const std::string id = in.id(before);
      auto [proto, finished_at] = in.result(id, before);
      TaskResult result = proto;
      result.finished_at = finished_at.resolve(before);
      log.push_back("mark_done(" + show_text(id) + ", " +
                    show_result(proto, finished_at.show(&before)) + ") at clock=" +
                    show_time(before.now()));
      const auto expected = model.mark_done(id, result);
      const auto actual = sut.call(sut.store().mark_done(id, result));
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::mark_done, expected, {id});
      expect_error(step, expected, actual, sut);
      expect_store_matches(step, before, model, sut);
      return;
    }
    case Operation::get_result: {
      const std::string id = in.id(before);
      log.push_back("get_result(" + show_text(id) + ")");
      const auto expected = before.get_result(id);
      const auto actual = sut.call(sut.store().get_result(id));
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::get_result, expected, {id});
      expect_error(step, expected, actual, sut);
      if (expected.ok()) expect_result_answer(step, expected.value, *actual.value, sut);
      expect_store_matches(step, before, before, sut);
      return;
    }
    case Operation::purge_results: {
      const TimeArg at = in.time(TimeArg::Base::finished_at_of, before.result_ids());
      const Timestamp cutoff = at.resolve(before);
      log.push_back("purge_results(" + at.show(&before) + ")");
      const auto expected = model.purge_results(cutoff);
      const auto actual = sut.call(sut.store().purge_results(cutoff));
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::purge_results, expected, {});
      expect_error(step, expected, actual, sut);
      // Which results went says more than how many: compare the store first.
      expect_store_matches(step, before, model, sut);
      expect_count(step, expected.value, *actual.value, sut);
      return;
    }
    case Operation::mark_failed: {
      const std::string id = in.id(before);
      const std::string error = in.text();
      const bool will_retry = in.flag_bit();
      log.push_back("mark_failed(" + show_text(id) + ", " + show_text(error) +
                    ", will_retry=" + (will_retry ? "true" : "false") +
                    ") at clock=" + show_time(before.now()));
      const auto expected = model.mark_failed(id, error, will_retry);
      const auto actual = sut.call(sut.store().mark_failed(id, error, will_retry));
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::mark_failed, expected, {id});
      expect_error(step, expected, actual, sut);
      expect_store_matches(step, before, model, sut);
      return;
    }
    case Operation::get_task: {
      const std::string id = in.id(before);
      log.push_back("get_task(" + show_text(id) + ")");
      const auto expected = before.get_task(id);
      const auto actual = sut.call(sut.store().get_task(id));
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::get_task, expected, {id});
      expect_error(step, expected, actual, sut);
      if (expected.ok()) expect_task_answer(step, expected.value, *actual.value, sut);
      expect_store_matches(step, before, before, sut);
      return;
    }
    case Operation::reschedule: {
      const std::string id = in.id(before);
      const TimeArg at = in.time(TimeArg::Base::eta_of, before.task_ids());
      const Timestamp eta = at.resolve(before);
      log.push_back("reschedule(" + show_text(id) + ", " + at.show(&before) + ") at clock=" +
                    show_time(before.now()));
      const auto expected = model.reschedule(id, eta);
      const auto actual = sut.call(sut.store().reschedule(id, eta));
      const Step step =
          make_step(sut.begin_step(), log.back(), Operation::reschedule, expected, {id});
      expect_error(step, expected, actual, sut);
      expect_store_matches(step, before, model, sut);
      return;
    }
    case Operation::advance_clock: {
      const Duration by = in.clock_step();
      log.push_back("advance_clock(" + show_duration(by) + ") to " +
                    show_time(before.now() + by));
      model.set_clock(before.now() + by);
      sut.set_clock(before.now() + by);
      sut.begin_step();
      return;
    }
  }
}

std::string numbered(const std::vector<std::string>& steps) {
  std::string out;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    out += "\n  " + std::to_string(i + 1) + ". " + steps[i];
  }
  return out;
}

}  // namespace

void run_sequence(const conformance::Backend& backend, const std::uint8_t* data,
                  std::size_t size) {
  ByteReader reader({data, size});
  Decoder in(reader);
  ReferenceModel model(kT0);
  std::vector<std::string> log;
  std::optional<StoreUnderTest> sut;
  try {
    sut.emplace(backend, kT0);
  } catch (const std::exception& e) {
    fail_harness("cannot open a fresh '" + backend.name + "' store: " + e.what());
  }
  if (!sut->shares_clock()) {
    fail_harness("backend '" + backend.name + "' does not take the model's clock");
  }
  try {
    for (std::size_t n = 0; n < kMaxSteps && !in.done(); ++n) run_step(in, model, *sut, log);
  } catch (const rc::detail::CaseResult& result) {
    // What the step checks raise (fail_case): the message names the requirement.
    fail_report(result.description + "\n  the sequence (" + backend.name + "):" + numbered(log));
  } catch (const std::exception& e) {
    fail_harness(std::string("unexpected exception: ") + e.what() + numbered(log));
  }
  // TASKSTORE_FUZZ_VERBOSE=1 shows what an input does (replay one file with it).
  static const bool verbose = std::getenv("TASKSTORE_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "%zu steps, all as the model says:%s\n", log.size(), numbered(log).c_str());
}

}  // namespace taskstore::fuzz::ops
