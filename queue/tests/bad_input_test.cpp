// Bad input (QUE-16, QUE-3): typed errors with clear messages, and nothing reaches the
// storage.
#include "queue_test.hpp"

namespace taskstore::queue::testing {
namespace {

class BadInputTest : public QueueTest {
 protected:
  void SetUpBackend() override {
    QueueTest::SetUpBackend();
    make_queue();
  }

  // enqueue(name, options) must throw InvalidArgumentError whose message holds every
  // one of `words`, and store nothing.
  void expect_rejected(const std::string& name, const EnqueueOptions& o,
                       std::initializer_list<std::string_view> words) {
    counting().clear();
    const std::string message =
        TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, enqueue(name, "payload", o));
    for (const auto word : words) {
      EXPECT_NE(message.find(word), std::string::npos)
          << "the message does not say '" << word << "': " << message;
    }
    EXPECT_EQ(counting().count(StorageOperation::enqueue), 0u) << "a rejected task reached storage";
  }
};

TEST_P(BadInputTest, Enqueue_RejectsBadOptionsBeforeStoring) {
  TASKSTORE_REQUIREMENTS("QUE-16");
  expect_rejected("", {}, {"enqueue", "empty name"});
  expect_rejected("job", {.delay = -5s}, {"enqueue", "negative delay", "-5000000 µs"});
  expect_rejected("job", {.max_retries = -1}, {"enqueue", "negative max_retries", "-1"});
  expect_rejected("job", {.retry = {.delay = -1s}}, {"negative retry delay"});
  expect_rejected("job",
                  {.retry = {.backoff = RetryPolicy::Backoff::exponential, .max_delay = -1s}},
                  {"negative retry max_delay"});
  expect_rejected("job", {.retry = {.delay = 1s, .jitter = true}}, {"jitter", "exponential"});
  expect_rejected("job", {.interval = 0s}, {"non-positive interval", "0 µs"});
  expect_rejected("job", {.interval = -1min}, {"non-positive interval"});
  expect_rejected("job", {.eta = t0(), .delay = 1s}, {"both an eta and a delay"});
  expect_rejected("job", {.id = ""}, {"enqueue", "task id is empty"});
  expect_rejected("job", {.id = std::string(101, 'x')}, {"enqueue", "101 bytes"});
  expect_rejected("job", {.id = std::string("a\0b", 3)}, {"NUL"});
  EXPECT_FALSE(run(store().dequeue(t0() + 24h * 365)).has_value()) << "something was stored";
}

TEST_P(BadInputTest, Enqueue_DuplicateIdIsAConflictAndLeavesTheTaskAlone) {
  TASKSTORE_REQUIREMENTS("QUE-16", "QUE-4");
  enqueue("job", "first", {.id = "same"});
  EXPECT_THROW(enqueue("job", "second", {.id = "same"}), ConflictError);
  EXPECT_EQ(text(must_get("same").payload), "first");
}

TEST_P(BadInputTest, CompleteTask_RejectsMalformedAndMismatchedIds) {
  TASKSTORE_REQUIREMENTS("QUE-16", "QUE-3");
  add_task("real");
  counting().clear();
  std::string message = TASKSTORE_ERROR_MESSAGE(
      InvalidArgumentError,
      call(queue().complete_task("", TaskOutcome::success({}), std::nullopt)));
  EXPECT_NE(message.find("complete_task"), std::string::npos) << message;
  message = TASKSTORE_ERROR_MESSAGE(
      InvalidArgumentError,
      call(queue().complete_task("other", TaskOutcome::success({}), must_get("real"))));
  EXPECT_NE(message.find("'real'"), std::string::npos) << message;
  EXPECT_NE(message.find("'other'"), std::string::npos) << message;
  EXPECT_TRUE(counting().calls().empty()) << describe(counting().calls());

  // An unknown id is not bad input but a missing task: NotFoundError, never "nothing".
  message = TASKSTORE_ERROR_MESSAGE(
      NotFoundError,
      call(queue().complete_task("nobody", TaskOutcome::failure("x"), std::nullopt)));
  EXPECT_NE(message.find("'nobody'"), std::string::npos) << message;
  EXPECT_EQ(must_get("real").status, TaskStatus::PENDING);
}

TEST_P(BadInputTest, RegisterHandler_RejectsEmptyNamesEmptyHandlersAndDuplicates) {
  TASKSTORE_REQUIREMENTS("QUE-16");
  auto ok = [](Task) -> Awaitable<Bytes> { co_return Bytes{}; };
  std::string message =
      TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, queue().register_handler("", ok));
  EXPECT_NE(message.find("register_handler"), std::string::npos) << message;
  message =
      TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, queue().register_handler("job", TaskHandler{}));
  EXPECT_NE(message.find("'job'"), std::string::npos) << message;
  queue().register_handler("job", ok);
  message = TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, queue().register_handler("job", ok));
  EXPECT_NE(message.find("already registered"), std::string::npos) << message;
}

TEST_P(BadInputTest, QueueOptionsAndShutdown_RejectNonsense) {
  TASKSTORE_REQUIREMENTS("QUE-16");
  auto make = [&](QueueOptions o) {
    AsyncTaskQueue rejected(open_another_instance(), executor(), o);
  };
  QueueOptions o = options();
  o.workers = 0;
  EXPECT_NE(TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, make(o)).find("workers"),
            std::string::npos);
  o = options();
  o.poll_interval = 0s;
  EXPECT_NE(TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, make(o)).find("poll_interval"),
            std::string::npos);
  o = options();
  o.result_ttl = ResultTtl{.ttl = 0s, .period = 1s};
  EXPECT_NE(TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, make(o)).find("result_ttl.ttl"),
            std::string::npos);
  o = options();
  o.result_ttl = ResultTtl{.ttl = 1s, .period = -1s};
  EXPECT_NE(TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, make(o)).find("result_ttl.period"),
            std::string::npos);
  o = options();
  o.prefetch = BaseStorage::kMaxBatchClaim;  // the worker's own task would not fit
  EXPECT_NE(TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, make(o)).find("prefetch"),
            std::string::npos);
  EXPECT_THROW(AsyncTaskQueue(nullptr, executor(), options()), std::invalid_argument);

  const std::string message =
      TASKSTORE_ERROR_MESSAGE(InvalidArgumentError, call(queue().shutdown(-1s)));
  EXPECT_NE(message.find("grace"), std::string::npos) << message;
  EXPECT_FALSE(queue().stopping()) << "a rejected shutdown stopped the queue";
}

TASKSTORE_INSTANTIATE_QUEUE_SUITE(BadInputTest);

}  // namespace
}  // namespace taskstore::queue::testing
