#include "queue_test.hpp"

namespace taskstore::queue::testing {

void QueueTest::SetUpBackend() {
  ConformanceTest::SetUpBackend();
  clock_ = std::make_shared<ManualClock>(t0());
  io_ = std::make_unique<boost::asio::io_context>();
  work_.emplace(io_->get_executor());
  for (std::size_t i = 0; i < executor_threads(); ++i) {
    threads_.emplace_back([this] {
      io_->run();
      std::lock_guard lock(threads_mutex_);
      ++threads_done_;
      threads_changed_.notify_all();
    });
  }
}

void QueueTest::TearDownBackend() {
  if (queue_) {
    try {
      // A test that stopped its queue gets an empty report; one that failed half-way has
      // its handlers abandoned at once, so that no storage call is left in flight.
      call(queue_->shutdown(Duration::zero()));
    } catch (const std::exception& e) {
      ADD_FAILURE() << "shutdown at the end of the test failed: " << e.what();
    }
  }
  // The store may have failed to open before the executor existed.
  if (io_) stop_executor();
  queue_.reset();
  io_.reset();
  counting_.reset();
  ConformanceTest::TearDownBackend();
}

void QueueTest::stop_executor() {
  // Let the executor run out of work rather than stop it: a store's pool thread may still
  // be returning from posting a completion here (offload keeps the executor's work count
  // up until then), and destroying the executor under it would crash. Abandoned handlers
  // sleep on the manual clock: a century wakes them, and they finish.
  work_.reset();
  clock_->advance(std::chrono::hours(24 * 365 * 100));
  std::unique_lock lock(threads_mutex_);
  if (!threads_changed_.wait_for(lock, kPatience,
                                 [&] { return threads_done_ == threads_.size(); })) {
    ADD_FAILURE() << "the queue's executor still had work " << kPatience.count()
                  << " s after the test; stopping it";
    io_->stop();
  }
  lock.unlock();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

QueueOptions QueueTest::options(std::size_t workers) const {
  QueueOptions o;
  o.workers = workers;
  o.poll_interval = 1h;
  o.clock = clock_;
  o.random = seeded_uniform_random(42);
  return o;
}

AsyncTaskQueue& QueueTest::make_queue(QueueOptions queue_options) {
  return make_queue(std::move(queue_options), nullptr);
}

AsyncTaskQueue& QueueTest::make_queue(QueueOptions queue_options, const StoreWrap& wrap) {
  if (queue_) call(queue_->shutdown(Duration::zero()));
  queue_.reset();
  std::shared_ptr<BaseStorage> instance = open_another_instance();
  if (wrap) instance = wrap(std::move(instance));
  counting_ = std::make_shared<tc::CountingStorage>(std::move(instance));
  queue_ = std::make_unique<AsyncTaskQueue>(counting_, io_->get_executor(), queue_options);
  loops_ = queue_options.workers + (queue_options.result_ttl ? 1 : 0);
  return *queue_;
}

void QueueTest::start() {
  queue_->start();
  settle();
}

void QueueTest::settle() { settle(loops_); }

void QueueTest::settle(std::size_t sleepers) {
  if (clock_->wait_for_sleepers(sleepers, kPatience)) return;
  throw std::runtime_error("the queue did not settle: " + std::to_string(clock_->sleepers()) +
                           " coroutines sleep on the manual clock, expected " +
                           std::to_string(sleepers));
}

void QueueTest::advance(Duration by) {
  clock_->advance(by);
  settle();
}

std::string QueueTest::enqueue(std::string name, std::string payload,
                               EnqueueOptions enqueue_options) {
  return call(queue().enqueue(std::move(name), to_bytes(payload), std::move(enqueue_options)));
}

std::function<void()> rethrower(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const NotFoundError& e) {
    return [m = std::string(e.what())] { throw NotFoundError(m); };
  } catch (const ConflictError& e) {
    return [m = std::string(e.what())] { throw ConflictError(m); };
  } catch (const CorruptionError& e) {
    return [m = std::string(e.what())] { throw CorruptionError(m); };
  } catch (const InvalidArgumentError& e) {
    return [m = std::string(e.what())] { throw InvalidArgumentError(m); };
  } catch (const StorageError& e) {
    return [m = std::string(e.what())] { throw StorageError(m); };
  } catch (const std::invalid_argument& e) {
    return [m = std::string(e.what())] { throw std::invalid_argument(m); };
  } catch (const std::logic_error& e) {
    return [m = std::string(e.what())] { throw std::logic_error(m); };
  } catch (const std::exception& e) {
    return [m = std::string(e.what())] { throw std::runtime_error(m); };
  } catch (...) {
    return [] { throw std::runtime_error("an exception that is not a std::exception"); };
  }
}

StorageCall call_of(StorageOperation operation, std::string task_id, std::optional<Timestamp> time,
                    std::optional<bool> will_retry) {
  return StorageCall{.operation = operation,
                     .task_id = std::move(task_id),
                     .time = time,
                     .will_retry = will_retry};
}

}  // namespace taskstore::queue::testing
