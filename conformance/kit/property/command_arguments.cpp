// Arguments for the storage commands, and TimeArg. Everything is drawn from what the model
// holds, so a short sequence still meets existing ids, equal etas, and times exactly at an
// eta or a finished_at, where the contract's boundaries (DEQ-3, PUR-2, RSC-7) are.
#include <algorithm>
#include <limits>

#include "taskstore/conformance/property/generators.hpp"
#include "taskstore/conformance/property/storage_commands.hpp"

namespace taskstore::conformance::arguments {

namespace {

using namespace std::chrono_literals;
using generators::kT0;

// Payloads, results and errors stay short: the point is arbitrary bytes, not volume.
constexpr int kMaxBytes = 24;

// Exactly at the base, a microsecond either side, or a few seconds away.
rc::Gen<Duration> offset() {
  return rc::gen::weightedElement<Duration>({
      {6, Duration{0}},
      {3, Duration{-1us}},
      {3, Duration{1us}},
      {2, Duration{1s}},
      {1, Duration{-1s}},
      {2, Duration{5s}},
      {1, Duration{-5s}},
  });
}

// `times` less a margin at each end, so that a sequence of offsets from a time drawn
// there (a few seconds a step) stays inside `times`.
TimeRange inside(const TimeRange& times) {
  constexpr Duration kMargin = std::chrono::hours(24);
  if (times.latest - times.earliest <= 4 * kMargin) return times;
  return {times.earliest + kMargin, times.latest - kMargin};
}

// A TimeArg on the clock or on one of `ids` (whose etas or finished_ats `base` names);
// rarely an arbitrary absolute time inside `times`.
rc::Gen<TimeArg> time_arg(TimeArg::Base base, std::vector<std::string> ids,
                          const TimeRange& times) {
  auto on_clock = rc::gen::map(
      offset(), [](Duration d) { return TimeArg{.base = TimeArg::Base::clock, .offset = d}; });
  auto anywhere = rc::gen::map(generators::any_timestamp(inside(times)), [](Timestamp t) {
    return TimeArg{.base = TimeArg::Base::absolute, .absolute = t};
  });
  if (ids.empty()) return rc::gen::weightedOneOf<TimeArg>({{20, on_clock}, {1, anywhere}});
  auto on_id = rc::gen::map(rc::gen::pair(rc::gen::elementOf(ids), offset()),
                            [base](const std::pair<std::string, Duration>& p) {
                              return TimeArg{.base = base, .id = p.first, .offset = p.second};
                            });
  // Anchored on a task first: shrinking tries earlier alternatives first, and a time tied
  // to a task keeps failing when the clock steps before it are shrunk away.
  return rc::gen::weightedOneOf<TimeArg>({{10, on_id}, {10, on_clock}, {1, anywhere}});
}

rc::Gen<std::string> name() {
  return rc::gen::weightedOneOf<std::string>({
      {6, rc::gen::element<std::string>("job", "mail.send", "report\xc3\xa9")},
      {1, rc::gen::nonEmpty(generators::text(12))},
  });
}

// A valid PENDING task with small counters (its eta is the command's TimeArg).
Task plausible_task(std::string id) {
  Task task;
  task.id = std::move(id);
  task.name = *name();
  task.payload = *generators::bytes(kMaxBytes);
  task.attempts = *rc::gen::weightedElement<std::int32_t>({{6, 0}, {2, 1}, {1, 3}, {1, 1000}});
  task.max_retries = *rc::gen::inRange<std::int32_t>(0, 6);
  if (*rc::gen::weightedElement<bool>({{3, false}, {1, true}})) {
    task.retry = *generators::retry_policy();
  }
  if (*rc::gen::weightedElement<bool>({{3, false}, {1, true}})) {
    task.schedule = IntervalSchedule{*rc::gen::element<Duration>(1us, 1s, 90s)};
  }
  if (*rc::gen::weightedElement<bool>({{3, false}, {1, true}})) {
    task.last_error = *generators::text(kMaxBytes);
  }
  task.created_at = kT0;
  task.updated_at = kT0;
  return task;
}

// Breaks exactly one of the rules enqueue checks (ENQ-4, ENQ-5).
Task invalid_task(Task task) {
  switch (*rc::gen::inRange(0, 7)) {
    case 0: task.name.clear(); break;
    case 1:
      task.status = *rc::gen::element(TaskStatus::RUNNING, TaskStatus::SUCCESS, TaskStatus::FAILED,
                                      TaskStatus::RETRYING);
      break;
    case 2:
      task.attempts = *rc::gen::element<std::int32_t>(-1, std::numeric_limits<std::int32_t>::min());
      break;
    case 3: task.max_retries = -1; break;
    case 4: task.retry.delay = -1us; break;
    case 5: task.schedule = IntervalSchedule{*rc::gen::element<Duration>(0us, -1s)}; break;
    default: task.id = *generators::malformed_task_id(); break;
  }
  return task;
}

}  // namespace

const std::vector<std::string>& id_pool() {
  static const std::vector<std::string> pool = {"t1", "t2", "t3", "t4"};
  return pool;
}

rc::Gen<std::string> task_id(const ReferenceModel& model) {
  const auto known = model.task_ids();
  if (known.empty()) {
    return rc::gen::weightedOneOf<std::string>({
        {10, rc::gen::elementOf(id_pool())},
        {1, generators::valid_task_id()},
        {1, generators::malformed_task_id()},
    });
  }
  return rc::gen::weightedOneOf<std::string>({
      {6, rc::gen::elementOf(id_pool())},
      {12, rc::gen::elementOf(known)},
      {1, generators::valid_task_id()},
      {1, generators::malformed_task_id()},
  });
}

namespace {

// Mostly a pool id not in use yet, so sequences build up several tasks; sometimes one in
// use (ENQ-3) or a fresh arbitrary id.
rc::Gen<std::string> id_to_enqueue(const ReferenceModel& model) {
  std::vector<std::string> unused;
  for (const auto& id : id_pool()) {
    if (model.find_task(id) == nullptr) unused.push_back(id);
  }
  if (unused.empty()) {
    return rc::gen::weightedOneOf<std::string>({
        {3, rc::gen::elementOf(id_pool())},
        {1, generators::valid_task_id()},
    });
  }
  return rc::gen::weightedOneOf<std::string>({
      {12, rc::gen::elementOf(unused)},
      {3, rc::gen::elementOf(id_pool())},
      {1, generators::valid_task_id()},
  });
}

}  // namespace

rc::Gen<Task> task(const ReferenceModel& model) {
  return rc::gen::exec([model] {
    Task plain = plausible_task(*id_to_enqueue(model));
    const bool valid = *rc::gen::weightedElement<bool>({{9, true}, {1, false}});
    return valid ? plain : invalid_task(std::move(plain));
  });
}

rc::Gen<TimeArg> eta(const ReferenceModel& model, const TimeRange& times) {
  return time_arg(TimeArg::Base::eta_of, model.task_ids(), times);
}

rc::Gen<TimeArg> dequeue_time(const ReferenceModel& model, const TimeRange& times) {
  return time_arg(TimeArg::Base::eta_of, model.task_ids(), times);
}

rc::Gen<TimeArg> finish_time(const ReferenceModel& model, const TimeRange& times) {
  return time_arg(TimeArg::Base::finished_at_of, model.result_ids(), times);
}

rc::Gen<std::size_t> batch_size() {
  return rc::gen::weightedOneOf<std::size_t>({
      {20, rc::gen::inRange<std::size_t>(1, 5)},
      {1, rc::gen::just(std::size_t{0})},
      {1, rc::gen::just(BaseStorage::kMaxBatchClaim + 1)},
  });
}

rc::Gen<TaskResult> result(const std::string& task_id) {
  return rc::gen::exec([task_id] {
    TaskResult result;
    result.task_id = task_id;
    result.status = TaskStatus::SUCCESS;
    result.value = *generators::bytes(kMaxBytes);
    if (*rc::gen::weightedElement<bool>({{3, false}, {1, true}})) {
      result.error = *generators::text(kMaxBytes);
    }
    switch (*rc::gen::weightedElement<int>({{18, 0}, {1, 1}, {1, 2}})) {
      case 1: result.task_id = task_id == "t1" ? "t2" : "t1"; break;  // DONE-3: another id
      case 2: result.status = TaskStatus::FAILED; break;              // DONE-3: not SUCCESS
      default: break;
    }
    return result;
  });
}

rc::Gen<std::string> error_text() {
  return rc::gen::weightedOneOf<std::string>({
      {3, rc::gen::element<std::string>("boom", "503 from upstream", "")},
      {1, generators::text(kMaxBytes)},
  });
}

rc::Gen<Duration> clock_step() {
  return rc::gen::weightedElement<Duration>({{2, 1us}, {3, 1s}, {1, 5s}});
}

}  // namespace taskstore::conformance::arguments

namespace taskstore::conformance {

Timestamp TimeArg::resolve(const ReferenceModel& model) const {
  switch (base) {
    case Base::clock: break;
    case Base::eta_of:
      if (const Task* task = model.find_task(id)) return task->eta + offset;
      break;
    case Base::finished_at_of:
      if (const TaskResult* result = model.find_result(id)) return result->finished_at + offset;
      break;
    case Base::absolute: return absolute;
  }
  return model.now() + offset;
}

std::string TimeArg::show(const ReferenceModel* model) const {
  const std::string plus = offset.count() == 0 ? std::string() : show_duration(offset);
  std::string out;
  switch (base) {
    case Base::clock: out = "clock" + plus; break;
    case Base::eta_of: out = "eta(" + show_text(id) + ")" + plus; break;
    case Base::finished_at_of: out = "finished_at(" + show_text(id) + ")" + plus; break;
    case Base::absolute: return show_time(absolute);
  }
  if (model) out += "=" + show_time(resolve(*model));
  return out;
}

}  // namespace taskstore::conformance

namespace taskstore::conformance {

std::uint32_t commands_for(const std::vector<std::string>& ids) {
  using K = Operation;
  const auto mask = [](std::initializer_list<K> kinds) {
    std::uint32_t out = 0;
    for (const K kind : kinds) out |= std::uint32_t{1} << static_cast<unsigned>(kind);
    return out;
  };
  // What reaches each group of requirements: the operations it is about, those that make
  // the statuses it speaks of, and reads that show the effect.
  const std::vector<std::pair<std::string, std::uint32_t>> groups{
      {"ENQ-", mask({K::enqueue, K::dequeue, K::get_task, K::advance_clock})},
      {"DEQ-", mask({K::enqueue, K::dequeue, K::mark_running, K::mark_done, K::mark_failed,
                     K::reschedule, K::get_task, K::advance_clock})},
      {"RUN-", mask({K::enqueue, K::dequeue, K::mark_running, K::get_task})},
      {"DONE-", mask({K::enqueue, K::dequeue, K::mark_done, K::get_result, K::get_task})},
      {"RES-", mask({K::enqueue, K::mark_done, K::mark_failed, K::get_result})},
      {"PUR-", mask({K::enqueue, K::mark_done, K::mark_failed, K::purge_results, K::get_result,
                     K::get_task, K::advance_clock})},
      {"FAIL-", mask({K::enqueue, K::dequeue, K::mark_failed, K::get_task, K::get_result})},
      {"GET-", mask({K::enqueue, K::dequeue, K::mark_failed, K::get_task})},
      {"RSC-", mask({K::enqueue, K::dequeue, K::mark_done, K::mark_failed, K::reschedule,
                     K::get_task, K::advance_clock})},
      {"BAT-", mask({K::enqueue, K::dequeue, K::dequeue_batch, K::mark_running, K::mark_done,
                     K::mark_failed, K::reschedule, K::get_task, K::advance_clock})},
  };
  std::uint32_t commands = 0;
  for (const std::string& id : ids) {
    const auto group = std::find_if(groups.begin(), groups.end(),
                                    [&](const auto& g) { return id.rfind(g.first, 0) == 0; });
    if (group == groups.end()) return ~std::uint32_t{0};  // ERR-, RT-: every operation
    commands |= group->second;
  }
  return commands == 0 ? ~std::uint32_t{0} : commands;
}

}  // namespace taskstore::conformance
