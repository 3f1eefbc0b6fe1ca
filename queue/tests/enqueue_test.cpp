// enqueue (QUE-4): the stored task is exactly what the options say.
#include <set>

#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class QueueEnqueueTest : public QueueTest {
 protected:
  void SetUpBackend() override {
    QueueTest::SetUpBackend();
    make_queue();
  }
};

TEST_P(QueueEnqueueTest, StoresAPendingTaskBuiltFromTheOptions) {
  TASKSTORE_REQUIREMENTS("QUE-4");
  clock().advance(5s);
  const RetryPolicy policy{
      .backoff = RetryPolicy::Backoff::exponential, .delay = 2s, .max_delay = 1min, .jitter = true};
  const std::string id =
      enqueue("email.send", std::string("to\0me", 5),
              {.id = "mail-1", .delay = 30s, .max_retries = 4, .retry = policy, .interval = 1h});
  EXPECT_EQ(id, "mail-1");
  Task expected;
  expected.id = "mail-1";
  expected.name = "email.send";
  expected.payload = to_bytes(std::string("to\0me", 5));
  expected.status = TaskStatus::PENDING;
  expected.eta = t0() + 35s;
  expected.attempts = 0;
  expected.max_retries = 4;
  expected.retry = policy;
  expected.schedule = IntervalSchedule{1h};
  expected.created_at = t0() + 5s;
  expected.updated_at = t0() + 5s;
  const Task stored = must_get(id);
  EXPECT_EQ(stored, expected) << describe(stored);
}

TEST_P(QueueEnqueueTest, EtaOrNow_AndDefaults) {
  TASKSTORE_REQUIREMENTS("QUE-4");
  const std::string at = enqueue("job", "", {.eta = t0() - 1h});
  EXPECT_EQ(must_get(at).eta, t0() - 1h) << "an eta in the past is kept as given";
  const Task now = must_get(enqueue("job", ""));
  EXPECT_EQ(now.eta, t0());
  EXPECT_EQ(now.max_retries, 0);
  EXPECT_EQ(now.retry, RetryPolicy{});
  EXPECT_FALSE(now.schedule.has_value());
  EXPECT_FALSE(now.last_error.has_value());
}

TEST_P(QueueEnqueueTest, GeneratedIds_Are32HexDigitsAndUnique) {
  TASKSTORE_REQUIREMENTS("QUE-4");
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    const std::string id = enqueue("job", "");
    EXPECT_EQ(id.size(), 32u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    EXPECT_TRUE(ids.insert(id).second) << "repeated id " << id;
    EXPECT_EQ(must_get(id).id, id);
  }
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(QueueEnqueueTest);

}  // namespace
}  // namespace taskstore::queue::testing
