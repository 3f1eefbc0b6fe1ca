#pragma once
// The queue tests' fixture: a conformance-style test (one instance per registered
// backend) that also has an AsyncTaskQueue on the test's store, a ManualClock that the
// test moves, and executor threads for the queue.
//
// How a test proceeds: start the queue, make something happen (enqueue, advance the
// clock), then settle(): wait until every loop of the queue sleeps on the manual clock,
// which means the queue has done all it can until time moves again. Then check the store.
// Waits are bounded by kPatience of real time and fail the test when it runs out; no test
// sleeps to pass time.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "taskstore/conformance/expect_error.hpp"
#include "taskstore/conformance/counting_storage.hpp"
#include "taskstore/queue/async_task_queue.hpp"
#include "taskstore/queue/manual_clock.hpp"

namespace taskstore::queue::testing {

namespace tc = taskstore::conformance;
using namespace std::chrono_literals;
using tc::StorageCall;
using tc::StorageOperation;

// The longest a test waits for the queue, in real time, before it fails.
inline constexpr std::chrono::seconds kPatience{60};

// An operation's outcome, carried to the test thread without its exception object:
// libstdc++ counts references to exceptions in code ThreadSanitizer cannot see, so an
// exception thrown on the queue's executor and read on the test thread looks like a race.
// The error is rebuilt on the test thread instead, with the same type and message.
template <typename T>
struct Settled {
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  std::function<void()> rethrow;  // throws a copy of the error, if there was one
};

// A function that throws an exception of the same type (among those tests expect) and
// message as `error`.
std::function<void()> rethrower(std::exception_ptr error);

template <typename T>
Awaitable<Settled<T>> settled(Awaitable<T> op) {
  Settled<T> outcome;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(op);
      outcome.value = true;
    } else {
      outcome.value = co_await std::move(op);
    }
  } catch (...) {
    outcome.rethrow = rethrower(std::current_exception());
  }
  co_return outcome;
}

class QueueTest : public tc::ConformanceTest {
 protected:
  void SetUpBackend() override;
  void TearDownBackend() override;

  // Threads that run the queue's executor; a fixture overrides this for more.
  virtual std::size_t executor_threads() const { return 1; }

  // Options with the manual clock, `workers` workers and a one-hour poll interval (so
  // that only wake-ups and advance() move the queue).
  QueueOptions options(std::size_t workers = 2) const;

  // Makes the queue (not started) on a CountingStorage over another instance of the
  // test's store. Replaces any earlier queue, which must have been shut down.
  AsyncTaskQueue& make_queue(QueueOptions queue_options);
  // The same with the instance wrapped by `wrap` under the CountingStorage.
  using StoreWrap = std::function<std::shared_ptr<BaseStorage>(std::shared_ptr<BaseStorage>)>;
  AsyncTaskQueue& make_queue(QueueOptions queue_options, const StoreWrap& wrap);
  AsyncTaskQueue& make_queue() { return make_queue(options()); }
  // Starts it, and settles.
  void start();

  // Runs `op` on the queue's executor and returns its value (or rethrows its error).
  template <typename T>
  T call(Awaitable<T> op) {
    auto future = spawn(std::move(op));
    return wait(future);
  }

  // Starts `op` on the queue's executor without waiting for it; wait() gets its value.
  template <typename T>
  std::future<Settled<T>> spawn(Awaitable<T> op) {
    return boost::asio::co_spawn(*io_, settled(std::move(op)), boost::asio::use_future);
  }
  // The value of a spawned operation, or its error rethrown here; throws if it is not
  // ready within kPatience.
  template <typename T>
  static T wait(std::future<Settled<T>>& future) {
    if (future.wait_for(kPatience) != std::future_status::ready) {
      throw std::runtime_error("a queue operation did not finish within the test's patience");
    }
    Settled<T> outcome = future.get();
    if (outcome.rethrow) outcome.rethrow();
    if constexpr (!std::is_void_v<T>) return std::move(*outcome.value);
  }

  // Waits until `sleepers` coroutines (by default every loop of the started queue) sleep
  // on the manual clock. Throws if they don't within kPatience.
  void settle();
  void settle(std::size_t sleepers);
  // advance() then settle().
  void advance(Duration by);

  std::string enqueue(std::string name, std::string payload, EnqueueOptions enqueue_options = {});
  ShutdownReport shutdown(Duration grace) { return call(queue().shutdown(grace)); }

  AsyncTaskQueue& queue() { return *queue_; }
  boost::asio::any_io_executor executor() { return io_->get_executor(); }
  tc::CountingStorage& counting() const { return *counting_; }
  ManualClock& clock() const { return *clock_; }

  // The calls naming `task_id`, without dequeues (which name none).
  std::vector<StorageCall> calls_for(const std::string& task_id) const {
    return counting_->calls_for(task_id);
  }

  static std::string text(const Bytes& bytes) {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }

  std::shared_ptr<ManualClock> clock_;
  std::size_t loops_ = 0;  // loops of the started queue: its workers and the TTL loop

 private:
  void stop_executor();

  std::unique_ptr<boost::asio::io_context> io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::mutex threads_mutex_;
  std::condition_variable threads_changed_;
  std::size_t threads_done_ = 0;  // executor threads whose run() returned
  std::shared_ptr<tc::CountingStorage> counting_;
  std::unique_ptr<AsyncTaskQueue> queue_;
};

// Instantiates a queue test suite once per registered backend, like the conformance
// suite's TASKSTORE_INSTANTIATE_SUITE but under the prefix "Queue" ("Queue/RetryFlowTest.
// …/sqlite"): registering backends links the whole conformance suite into this program
// too, and the main runs only tests whose names start with "Queue".
#define TASKSTORE_INSTANTIATE_QUEUE_SUITE(Fixture)                                          \
  INSTANTIATE_TEST_SUITE_P(                                                                 \
      Queue, Fixture, ::testing::ValuesIn(::taskstore::conformance::registered_backends()), \
      [](const ::testing::TestParamInfo<::taskstore::conformance::Backend>& info) {         \
        return info.param.name;                                                             \
      })

// Whether `operation` claims: a dequeue, or a dequeue_batch (the workers' claim when the
// store claims batches and the queue prefetches, QUE-17).
inline bool is_claim(StorageOperation operation) {
  return operation == StorageOperation::dequeue || operation == StorageOperation::dequeue_batch;
}

// Expected storage calls, for comparing with CountingStorage's record.
StorageCall call_of(StorageOperation operation, std::string task_id,
                    std::optional<Timestamp> time = std::nullopt,
                    std::optional<bool> will_retry = std::nullopt);

}  // namespace taskstore::queue::testing
