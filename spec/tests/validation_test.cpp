#include "taskstore/validation.hpp"
#include "taskstore/storage.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "taskstore/errors.hpp"

namespace taskstore {
namespace {

Task valid_task() {
  Task t;
  t.id = "task-1";
  t.name = "send_email";
  return t;
}

TEST(ValidateTaskId, AcceptsUtf8AndRejectsBadIds) {
  EXPECT_NO_THROW(validate_task_id("op", "t\xc3\xa9\xe2\x82\xac-\xf0\x9f\x98\x80"));
  EXPECT_THROW(validate_task_id("op", ""), InvalidArgumentError);
  EXPECT_THROW(validate_task_id("op", std::string("a\0b", 3)), InvalidArgumentError);
  EXPECT_THROW(validate_task_id("op", "\xff"), InvalidArgumentError);
  EXPECT_THROW(validate_task_id("op", "\xc3"), InvalidArgumentError);          // truncated
  EXPECT_THROW(validate_task_id("op", "\xc0\xaf"), InvalidArgumentError);      // overlong
  EXPECT_THROW(validate_task_id("op", "\xed\xa0\x80"), InvalidArgumentError);  // surrogate
  EXPECT_NO_THROW(validate_task_id("op", std::string(Task::kMaxIdBytes, 'x')));
  EXPECT_THROW(validate_task_id("op", std::string(Task::kMaxIdBytes + 1, 'x')),
               InvalidArgumentError);
}

TEST(ValidateNewTask, RejectsEachInvalidFieldWithItsName) {
  EXPECT_NO_THROW(validate_new_task(valid_task()));

  auto expect_rejected = [](Task t, const std::string& words) {
    try {
      validate_new_task(t);
      ADD_FAILURE() << "accepted a task that should be rejected for: " << words;
    } catch (const InvalidArgumentError& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  Task t = valid_task();
  t.name.clear();
  expect_rejected(t, "empty name");
  t = valid_task();
  t.status = TaskStatus::RUNNING;
  expect_rejected(t, "status RUNNING");
  t = valid_task();
  t.max_retries = -1;
  expect_rejected(t, "negative max_retries");
  t = valid_task();
  t.retry.backoff = static_cast<RetryPolicy::Backoff>(7);
  expect_rejected(t, "unknown retry backoff (7)");
  t = valid_task();
  t.status = static_cast<TaskStatus>(9);
  expect_rejected(t, "status INVALID");
  t = valid_task();
  t.attempts = -1;
  expect_rejected(t, "negative attempts");
  t = valid_task();
  t.schedule = IntervalSchedule{Duration{0}};
  expect_rejected(t, "interval");
  t = valid_task();
  t.retry.delay = Duration{-5};
  expect_rejected(t, "retry delay");
}

TEST(ValidateSuccessResult, RequiresMatchingIdAndSuccessStatus) {
  TaskResult r{.task_id = "a", .status = TaskStatus::SUCCESS};
  EXPECT_NO_THROW(validate_success_result("a", r));
  EXPECT_THROW(validate_success_result("b", r), InvalidArgumentError);
  r.status = TaskStatus::FAILED;
  EXPECT_THROW(validate_success_result("a", r), InvalidArgumentError);
}

TEST(ValidateBatchSize, AcceptsOneToTheLimitOnly) {
  EXPECT_NO_THROW(validate_batch_size(1));
  EXPECT_NO_THROW(validate_batch_size(BaseStorage::kMaxBatchClaim));
  EXPECT_THROW(validate_batch_size(0), InvalidArgumentError);
  EXPECT_THROW(validate_batch_size(BaseStorage::kMaxBatchClaim + 1), InvalidArgumentError);
}

TEST(TaskStatusNames, RoundTrip) {
  for (auto s : {TaskStatus::PENDING, TaskStatus::RUNNING, TaskStatus::SUCCESS,
                 TaskStatus::FAILED, TaskStatus::RETRYING}) {
    EXPECT_EQ(parse_task_status(to_string(s)), s);
  }
  EXPECT_EQ(parse_task_status("pending"), std::nullopt);
}

TEST(BackoffNames, RoundTrip) {
  for (auto b : {RetryPolicy::Backoff::fixed, RetryPolicy::Backoff::exponential}) {
    EXPECT_EQ(parse_backoff(to_string(b)), b);
  }
  EXPECT_EQ(parse_backoff("Fixed"), std::nullopt);
  EXPECT_EQ(parse_backoff(""), std::nullopt);
}

// googletest prints these through operator<<: names and fields, never "1-byte object <03>".
TEST(Printers, StatusesBackoffsTasksAndResultsPrintInWords) {
  EXPECT_EQ(::testing::PrintToString(TaskStatus::RETRYING), "RETRYING");
  EXPECT_EQ(::testing::PrintToString(RetryPolicy::Backoff::exponential), "exponential");
  EXPECT_EQ(::testing::PrintToString(RetryPolicy{.backoff = RetryPolicy::Backoff::fixed,
                                                 .delay = Duration{5}}),
            "fixed/5us/max 0us");
  EXPECT_EQ(::testing::PrintToString(IntervalSchedule{Duration{7}}), "every 7us");
  Task task;
  task.id = "t1";
  task.name = "job";
  task.status = TaskStatus::RUNNING;
  EXPECT_EQ(::testing::PrintToString(task), describe(task));
  EXPECT_NE(describe(task).find("id=\"t1\""), std::string::npos);
  EXPECT_NE(describe(task).find("status=RUNNING"), std::string::npos);
  const TaskResult result{.task_id = "t1", .status = TaskStatus::FAILED, .error = "boom"};
  EXPECT_EQ(::testing::PrintToString(result), describe(result));
  EXPECT_EQ(::testing::PrintToString(std::optional<TaskStatus>(TaskStatus::PENDING)),
            "(PENDING)");
}

// Bytes print as escaped text, never as googletest's list of 1-byte objects.
TEST(Printers, BytesPrintAsEscapedText) {
  EXPECT_EQ(::testing::PrintToString(to_bytes(std::string("ok\0\xff\"", 5))),
            "\"ok\\x00\\xff\\x22\"");
  EXPECT_EQ(::testing::PrintToString(Bytes{}), "\"\"");
  const Bytes large(100, std::byte{'a'});
  EXPECT_EQ(::testing::PrintToString(large), "\"" + std::string(64, 'a') + "\"...(100 bytes)");
  std::ostringstream out;
  out << to_bytes("payload");
  EXPECT_EQ(out.str(), "\"payload\"");
}

}  // namespace
}  // namespace taskstore
