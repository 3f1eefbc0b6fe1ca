#include "taskstore/conformance/property/step_checks.hpp"

#include <rapidcheck.h>

#include <algorithm>
#include <set>

#include "taskstore/conformance/requirements.hpp"
#include "taskstore/conformance/property/show.hpp"
#include "taskstore/validation.hpp"

namespace taskstore::conformance {

namespace {

std::string show_optional_text(const std::optional<std::string>& text) {
  return text ? show_text(*text) : std::string("(none)");
}

std::string show_schedule(const std::optional<IntervalSchedule>& schedule) {
  return schedule ? "every " + std::to_string(schedule->interval.count()) + "us"
                  : std::string("(none)");
}

std::string show_retry(const RetryPolicy& retry) {
  return std::string(to_string(retry.backoff)) + " delay=" + std::to_string(retry.delay.count()) +
         "us max_delay=" + std::to_string(retry.max_delay.count()) + "us" +
         (retry.jitter ? " jitter" : "");
}

}  // namespace

std::vector<FieldDifference> task_differences(const Task& model, const Task& backend,
                                              bool compare_updated_at) {
  std::vector<FieldDifference> out;
  auto add = [&](std::string_view field, bool same, std::string m, std::string b) {
    if (!same) out.push_back({field, std::move(m), std::move(b)});
  };
  add("id", model.id == backend.id, show_text(model.id), show_text(backend.id));
  add("name", model.name == backend.name, show_text(model.name), show_text(backend.name));
  add("payload", model.payload == backend.payload, show_bytes(model.payload),
      show_bytes(backend.payload));
  add("status", model.status == backend.status, std::string(to_string(model.status)),
      std::string(to_string(backend.status)));
  add("eta", model.eta == backend.eta, show_time(model.eta), show_time(backend.eta));
  add("attempts", model.attempts == backend.attempts, std::to_string(model.attempts),
      std::to_string(backend.attempts));
  add("max_retries", model.max_retries == backend.max_retries, std::to_string(model.max_retries),
      std::to_string(backend.max_retries));
  add("retry", model.retry == backend.retry, show_retry(model.retry), show_retry(backend.retry));
  add("schedule", model.schedule == backend.schedule, show_schedule(model.schedule),
      show_schedule(backend.schedule));
  add("last_error", model.last_error == backend.last_error, show_optional_text(model.last_error),
      show_optional_text(backend.last_error));
  add("created_at", model.created_at == backend.created_at, show_time(model.created_at),
      show_time(backend.created_at));
  if (compare_updated_at) {
    add("updated_at", model.updated_at == backend.updated_at, show_time(model.updated_at),
        show_time(backend.updated_at));
  }
  return out;
}

std::vector<FieldDifference> result_differences(const TaskResult& model, const TaskResult& backend,
                                                bool compare_finished_at) {
  std::vector<FieldDifference> out;
  auto add = [&](std::string_view field, bool same, std::string m, std::string b) {
    if (!same) out.push_back({field, std::move(m), std::move(b)});
  };
  add("task_id", model.task_id == backend.task_id, show_text(model.task_id),
      show_text(backend.task_id));
  add("status", model.status == backend.status, std::string(to_string(model.status)),
      std::string(to_string(backend.status)));
  add("value", model.value == backend.value, show_bytes(model.value), show_bytes(backend.value));
  add("error", model.error == backend.error, show_optional_text(model.error),
      show_optional_text(backend.error));
  if (compare_finished_at) {
    add("finished_at", model.finished_at == backend.finished_at, show_time(model.finished_at),
        show_time(backend.finished_at));
  }
  return out;
}

namespace {

bool touched(const Step& step, const std::string& id) {
  return std::find(step.touched.begin(), step.touched.end(), id) != step.touched.end();
}

// The requirement a difference in task `id`'s `field` breaks, given what the step did.
std::string_view task_rule(const Step& step, const std::string& id, std::string_view field) {
  if (step.model_expects_error) return step.rule;  // a rejected operation changes nothing
  if (!touched(step, id)) {
    switch (step.operation) {
      case Operation::dequeue: return "DEQ-1";  // exactly one task is claimed
      case Operation::dequeue_batch: return "BAT-1";  // only the batch's tasks are claimed
      case Operation::purge_results: return "PUR-3";
      case Operation::advance_clock: return "GET-1";
      default: return step.rule;
    }
  }
  switch (step.operation) {
    case Operation::enqueue: return field == "presence" ? "ENQ-1" : "RT-1";
    case Operation::dequeue: return "DEQ-5";
    case Operation::dequeue_batch: return "BAT-2";
    case Operation::mark_running: return field == "attempts" ? "RUN-2" : "RUN-1";
    case Operation::mark_done: return "DONE-1";
    case Operation::mark_failed: return step.rule;  // FAIL-1 or FAIL-3
    case Operation::reschedule:
      if (field == "eta") return "RSC-1";
      if (field == "status") return step.rule;  // RSC-4 from RETRYING, else RSC-6
      return "RSC-6";
    case Operation::purge_results: return "PUR-3";
    case Operation::get_result: return "RES-1";
    case Operation::get_task:
    case Operation::advance_clock: return "GET-1";
  }
  return step.rule;
}

// The requirement a difference in the result of `id` breaks.
std::string_view result_rule(const Step& step, const std::string& id, std::string_view field) {
  if (step.model_expects_error) return step.rule;  // ERR-1: no orphan result; DONE-3
  if (touched(step, id)) {
    switch (step.operation) {
      case Operation::mark_done: return field == "presence" ? step.rule : "RT-2";
      case Operation::mark_failed: return step.rule;
      default: break;
    }
  }
  switch (step.operation) {
    case Operation::purge_results: return step.rule;  // PUR-1, or PUR-2 at the boundary
    case Operation::get_result: return "RES-1";
    case Operation::get_task:
    case Operation::advance_clock: return "RES-1";
    default: return step.rule;
  }
}

std::string differences_text(std::string_view read, const std::vector<FieldDifference>& diffs,
                             std::string_view expected = "model") {
  std::string out;
  for (const auto& d : diffs) {
    out += "\n  " + (read.empty() ? std::string() : std::string(read) + ".") +
           std::string(d.field) + ": backend " + d.backend + ", " + std::string(expected) + " " +
           d.model;
  }
  return out;
}

std::string describe_error(ErrorKind kind, const std::string& message) {
  if (kind == ErrorKind::none) return "succeeded";
  return "raised " + std::string(to_string(kind)) + " (" + message + ")";
}

std::string expected_error_text(ErrorKind expected, ErrorKind also_allowed) {
  if (expected == ErrorKind::none) return "success";
  std::string out(to_string(expected));
  if (also_allowed != ErrorKind::none) out += " or " + std::string(to_string(also_allowed));
  return out;
}

bool well_formed(const std::string& id) {
  try {
    validate_task_id("check", id);
    return true;
  } catch (const InvalidArgumentError&) {
    return false;
  }
}

void compare_task(const Step& step, const std::string& id, const Task* model, StoreUnderTest& sut) {
  const std::string read = "get_task(" + show_text(id) + ")";
  const auto got = sut.call(sut.store().get_task(id));
  if (got.error != ErrorKind::none) {
    // A read that raises breaks GET-1 for a stored task, GET-2 for an unknown id.
    fail_step(model ? "GET-1" : "GET-2", step, read + " " + describe_error(got.error, got.message),
              sut);
  }
  const std::optional<Task>& backend = *got.value;
  if (!model && backend) {
    fail_step(task_rule(step, id, "presence"), step,
              read + " returns " + show_task(*backend) + ", the model has no such task", sut);
  }
  if (model && !backend) {
    fail_step(task_rule(step, id, "presence"), step,
              read + " returns nothing, the model has " + show_task(*model), sut);
  }
  if (!model) return;
  const auto diffs = task_differences(*model, *backend, sut.shares_clock());
  if (!diffs.empty()) {
    fail_step(task_rule(step, id, diffs.front().field), step,
              differences_text(read, diffs).substr(3), sut);
  }
}

void compare_result(const Step& step, const std::string& id, const TaskResult* model,
                    StoreUnderTest& sut) {
  const std::string read = "get_result(" + show_text(id) + ")";
  const auto got = sut.call(sut.store().get_result(id));
  if (got.error != ErrorKind::none) {
    fail_step("RES-1", step, read + " " + describe_error(got.error, got.message), sut);
  }
  const std::optional<TaskResult>& backend = *got.value;
  if (!model && backend) {
    fail_step(result_rule(step, id, "presence"), step,
              read + " returns " + show_result(*backend) + ", the model has no result", sut);
  }
  if (model && !backend) {
    fail_step(result_rule(step, id, "presence"), step,
              read + " returns nothing, the model has " + show_result(*model), sut);
  }
  if (!model) return;
  // Without the test's clock, a FAILED result's finished_at comes from the backend's own.
  const bool stamped_by_backend = model->status == TaskStatus::FAILED;
  const auto diffs =
      result_differences(*model, *backend, sut.shares_clock() || !stamped_by_backend);
  if (!diffs.empty()) {
    fail_step(result_rule(step, id, diffs.front().field), step,
              differences_text(read, diffs).substr(3), sut);
  }
}

}  // namespace

std::string_view operation_name(Operation operation) {
  switch (operation) {
    case Operation::enqueue: return "enqueue";
    case Operation::dequeue: return "dequeue";
    case Operation::mark_running: return "mark_running";
    case Operation::mark_done: return "mark_done";
    case Operation::get_result: return "get_result";
    case Operation::purge_results: return "purge_results";
    case Operation::mark_failed: return "mark_failed";
    case Operation::get_task: return "get_task";
    case Operation::reschedule: return "reschedule";
    case Operation::advance_clock: return "advance_clock";
    case Operation::dequeue_batch: return "dequeue_batch";
  }
  return "?";
}

std::string describe_differences(const Task& model, const Task& backend) {
  return differences_text("", task_differences(model, backend, true), "given");
}

std::string describe_differences(const TaskResult& model, const TaskResult& backend) {
  return differences_text("", result_differences(model, backend, true), "given");
}

void fail_case(const std::string& message) {
  // What RC_FAIL throws, without the file and line of this helper, which would only
  // stand between the reader and the requirement.
  throw rc::detail::CaseResult(rc::detail::CaseResult::Type::Failure, message);
}

void fail_step(std::string_view rule, const Step& step, const std::string& detail,
               const StoreUnderTest& sut) {
  std::string message = std::string(rule) + " violated";
  if (const Requirement* r = find_requirement(rule)) message += " (" + std::string(r->title) + ")";
  message += "\n  at step " + std::to_string(step.number) + ": " + step.text;
  message += "\n  " + detail;
  message += "\n  backend '" + sut.backend_name() + "' at " + sut.location();
  if (!sut.shares_clock()) message += " (stamps from its own clock: updated_at not compared)";
  fail_case(message);
}

void expect_error(const Step& step, ErrorKind expected, ErrorKind also_allowed, ErrorKind actual,
                  const std::string& message, const StoreUnderTest& sut) {
  const bool allowed =
      actual == expected || (also_allowed != ErrorKind::none && actual == also_allowed);
  if (!allowed) {
    fail_step(step.rule, step,
              "the backend " + describe_error(actual, message) + ", the model expects " +
                  expected_error_text(expected, also_allowed),
              sut);
  }
  // ERR-2: errors about a task say which operation and which task.
  if ((actual == ErrorKind::not_found || actual == ErrorKind::conflict) && !step.touched.empty()) {
    const std::string& id = step.touched.front();
    const std::string_view operation = operation_name(step.operation);
    if (message.find(id) == std::string::npos || message.find(operation) == std::string::npos) {
      fail_step("ERR-2", step,
                std::string(to_string(actual)) + " message does not name the operation '" +
                    std::string(operation) + "' and the task " + show_text(id) + ": " + message,
                sut);
    }
  }
}

void expect_claim(const Step& step, const ReferenceModel& before, Timestamp now,
                  const std::optional<Task>& expected, const std::optional<Task>& actual,
                  const StoreUnderTest& sut) {
  if (!expected && !actual) return;
  if (actual && (!expected || expected->id != actual->id)) {
    const Task* known = before.find_task(actual->id);
    std::string_view rule = expected ? "DEQ-4" : "DEQ-2";
    std::string why = "it is due, but the model claims " +
                      (expected ? show_text(expected->id) : std::string("nothing")) + " first";
    if (!known) {
      why = "the model holds no such task";
    } else if (known->status == TaskStatus::RETRYING) {
      rule = "FAIL-2";
      why = "it is RETRYING, which is never due until rescheduled";
    } else if (known->status != TaskStatus::PENDING) {
      rule = "DEQ-3";
      why = "it is " + std::string(to_string(known->status)) + ", not PENDING";
    } else if (known->eta > now) {
      rule = "DEQ-3";
      why = "its eta " + show_time(known->eta) + " is after now " + show_time(now);
    }
    fail_step(rule, step, "dequeue claimed " + show_task(*actual) + ": " + why, sut);
  }
  if (expected && !actual) {
    std::string_view rule = "DEQ-1";
    std::string why = show_text(expected->id) + " is due (eta " +
                      show_time(before.find_task(expected->id)->eta) + ", now " + show_time(now) +
                      ")";
    if (before.find_task(expected->id)->eta == now) {
      rule = "DEQ-3";
    } else {
      for (const std::string& id : before.task_ids()) {
        const Task* other = before.find_task(id);
        if (other->status != TaskStatus::PENDING && other->eta <= now) rule = "DEQ-8";
      }
    }
    fail_step(rule, step, "dequeue returned nothing, but " + why, sut);
  }
  const auto diffs = task_differences(*expected, *actual, /*compare_updated_at=*/true);
  if (!diffs.empty()) {
    fail_step("DEQ-5", step, differences_text("the claimed task", diffs).substr(3), sut);
  }
}

void expect_batch(const Step& step, const std::vector<Task>& expected,
                  const std::vector<Task>& actual, const StoreUnderTest& sut) {
  const auto ids = [](const std::vector<Task>& tasks) {
    std::string out;
    for (const Task& task : tasks) out += (out.empty() ? "" : ", ") + show_text(task.id);
    return "[" + out + "]";
  };
  bool same_ids = expected.size() == actual.size();
  for (std::size_t i = 0; same_ids && i < expected.size(); ++i) {
    same_ids = expected[i].id == actual[i].id;
  }
  if (!same_ids) {
    fail_step(step.rule, step,
              "dequeue_batch claimed " + ids(actual) + ", the model claims " + ids(expected) +
                  " (the first due tasks, in dequeue order)",
              sut);
  }
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto diffs = task_differences(expected[i], actual[i], /*compare_updated_at=*/true);
    if (!diffs.empty()) {
      fail_step("BAT-2", step,
                differences_text("the batch's task " + show_text(expected[i].id), diffs).substr(3),
                sut);
    }
  }
}

void expect_task_answer(const Step& step, const std::optional<Task>& expected,
                        const std::optional<Task>& actual, const StoreUnderTest& sut) {
  if (expected.has_value() != actual.has_value()) {
    fail_step(step.rule, step,
              "get_task returned " + (actual ? show_task(*actual) : std::string("nothing")) +
                  ", the model expects " +
                  (expected ? show_task(*expected) : std::string("nothing")),
              sut);
  }
  if (!expected) return;
  const auto diffs = task_differences(*expected, *actual, sut.shares_clock());
  if (!diffs.empty()) fail_step("GET-1", step, differences_text("get_task", diffs).substr(3), sut);
}

void expect_result_answer(const Step& step, const std::optional<TaskResult>& expected,
                          const std::optional<TaskResult>& actual, const StoreUnderTest& sut) {
  if (expected.has_value() != actual.has_value()) {
    fail_step(step.rule, step,
              "get_result returned " + (actual ? show_result(*actual) : std::string("nothing")) +
                  ", the model expects " +
                  (expected ? show_result(*expected) : std::string("nothing")),
              sut);
  }
  if (!expected) return;
  const bool stamped_by_backend = expected->status == TaskStatus::FAILED;
  const auto diffs =
      result_differences(*expected, *actual, sut.shares_clock() || !stamped_by_backend);
  if (!diffs.empty()) {
    fail_step("RES-1", step, differences_text("get_result", diffs).substr(3), sut);
  }
}

void expect_count(const Step& step, std::size_t expected, std::size_t actual,
                  const StoreUnderTest& sut) {
  // Called once the store matched the model: the right results went (PUR-2's boundary
  // included), so a wrong count is the count's own requirement.
  if (expected != actual) {
    fail_step("PUR-1", step,
              "purge_results returned " + std::to_string(actual) + ", the model expects " +
                  std::to_string(expected),
              sut);
  }
}

void expect_id(const Step& step, const std::string& expected, const std::string& actual,
               const StoreUnderTest& sut) {
  if (expected != actual) {
    fail_step(
        "ENQ-1", step,
        "enqueue returned " + show_text(actual) + ", the model expects " + show_text(expected),
        sut);
  }
}

void expect_store_matches(const Step& step, const ReferenceModel& before,
                          const ReferenceModel& after, StoreUnderTest& sut) {
  std::set<std::string> ids;
  for (auto& id : after.task_ids()) ids.insert(std::move(id));
  for (auto& id : before.result_ids()) ids.insert(std::move(id));
  for (auto& id : after.result_ids()) ids.insert(std::move(id));
  for (const auto& id : step.touched) {
    if (well_formed(id)) ids.insert(id);
  }
  for (const auto& id : ids) {
    compare_task(step, id, after.find_task(id), sut);
    compare_result(step, id, after.find_result(id), sut);
  }
}

}  // namespace taskstore::conformance
