#pragma once
// The checks each property-test step makes: the backend's answer against the model's, then
// every task and result read back against the model's. A difference fails the RapidCheck
// case (RC_FAIL) with a message that names the requirement it breaks, e.g.
//   RSC-6 violated (reschedule works from any status and keeps counters and metadata)
//     at step 4: reschedule("t1", t0+5s)
//     get_task("t1").attempts: backend 0, model 2
// Part of taskstore::conformance.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "taskstore/conformance/property/model.hpp"
#include "taskstore/conformance/property/store_under_test.hpp"

namespace taskstore::conformance {

enum class Operation : std::uint8_t {
  enqueue,
  dequeue,
  mark_running,
  mark_done,
  get_result,
  purge_results,
  mark_failed,
  get_task,
  reschedule,
  advance_clock,
  dequeue_batch,  // generated only for a backend that declares batch_claims
};

// An operation's bit in GenerationOptions::commands.
constexpr std::uint32_t command_bit(Operation kind) {
  return std::uint32_t{1} << static_cast<unsigned>(kind);
}
// Every operation's bit, dequeue_batch's included.
constexpr std::uint32_t every_command() { return (command_bit(Operation::dequeue_batch) << 1) - 1; }

// "enqueue", "advance_clock", ...
std::string_view operation_name(Operation operation);

// One field that differs between the model's task (or result) and the backend's, shown
// readably.
struct FieldDifference {
  std::string_view field;
  std::string model;
  std::string backend;
};

// The fields of `backend` that differ from `model`, in declaration order. A stamp the
// backend takes from its own clock (updated_at, finished_at) can't be predicted when it
// doesn't share the test's clock: compare it only when told to.
std::vector<FieldDifference> task_differences(const Task& model, const Task& backend,
                                              bool compare_updated_at);
std::vector<FieldDifference> result_differences(const TaskResult& model, const TaskResult& backend,
                                                bool compare_finished_at);

// One step of a sequence, as the checks need it to name the requirement a difference
// breaks.
struct Step {
  std::size_t number = 0;  // 1-based, as the minimal sequence is printed
  std::string text;        // the command as show() prints it
  Operation operation = Operation::advance_clock;
  std::string_view rule;             // the model's rule for the step's answer (Outcome::rule)
  bool model_expects_error = false;  // then the step must change nothing
  std::vector<std::string> touched;  // the ids the step names or claims
};

template <typename T>
Step make_step(std::size_t number, std::string text, Operation operation,
               const Outcome<T>& expected, std::vector<std::string> touched) {
  return Step{.number = number,
              .text = std::move(text),
              .operation = operation,
              .rule = expected.rule,
              .model_expects_error = !expected.ok(),
              .touched = std::move(touched)};
}

// Every field in which `backend` differs from what it was `given`, one
// "\n  field: backend X, given Y" line each (empty if they are equal), for round trips.
std::string describe_differences(const Task& given, const Task& backend);
std::string describe_differences(const TaskResult& given, const TaskResult& backend);

// Fails the RapidCheck case with `message` as its description.
[[noreturn]] void fail_case(const std::string& message);

// Fails the case: "<rule> violated (<title>)", the step, `detail`, and where.
[[noreturn]] void fail_step(std::string_view rule, const Step& step, const std::string& detail,
                            const StoreUnderTest& sut);

// The backend raised the error the model expects (or none if it expects none). A
// NotFoundError or ConflictError must also name the operation and the id (ERR-2).
void expect_error(const Step& step, ErrorKind expected, ErrorKind also_allowed, ErrorKind actual,
                  const std::string& message, const StoreUnderTest& sut);

template <typename T, typename U>
void expect_error(const Step& step, const Outcome<T>& expected, const Observed<U>& actual,
                  const StoreUnderTest& sut) {
  expect_error(step, expected.error, expected.also_allowed, actual.error, actual.message, sut);
}

// dequeue's answer: the same claim as the model's (DEQ-1 ... DEQ-5, FAIL-2).
void expect_claim(const Step& step, const ReferenceModel& before, Timestamp now,
                  const std::optional<Task>& expected, const std::optional<Task>& actual,
                  const StoreUnderTest& sut);
// dequeue_batch's answer: the model's claims, in its order (BAT-1, BAT-3), each claimed as
// one dequeue would (BAT-2).
void expect_batch(const Step& step, const std::vector<Task>& expected,
                  const std::vector<Task>& actual, const StoreUnderTest& sut);
void expect_task_answer(const Step& step, const std::optional<Task>& expected,
                        const std::optional<Task>& actual, const StoreUnderTest& sut);
void expect_result_answer(const Step& step, const std::optional<TaskResult>& expected,
                          const std::optional<TaskResult>& actual, const StoreUnderTest& sut);
void expect_count(const Step& step, std::size_t expected, std::size_t actual,
                  const StoreUnderTest& sut);
void expect_id(const Step& step, const std::string& expected, const std::string& actual,
               const StoreUnderTest& sut);

// Reads back every task and result the model knows of before or after the step, and
// every id the step touched, and compares each with the model after the step.
void expect_store_matches(const Step& step, const ReferenceModel& before,
                          const ReferenceModel& after, StoreUnderTest& sut);

}  // namespace taskstore::conformance
