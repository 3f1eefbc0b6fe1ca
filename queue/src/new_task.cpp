#include "new_task.hpp"

#include <cstdio>

#include "taskstore/errors.hpp"
#include "taskstore/validation.hpp"
#include "time_arithmetic.hpp"

namespace taskstore::queue::detail {

namespace {

[[noreturn]] void reject(const std::string& what) {
  throw InvalidArgumentError("enqueue: " + what + "; nothing was stored");
}

}  // namespace

std::string describe_duration(Duration d) { return std::to_string(d.count()) + " µs"; }

Task make_new_task(std::string name, Bytes payload, const EnqueueOptions& options, Timestamp now,
                   std::string id) {
  if (options.id) {
    validate_task_id("enqueue", *options.id);
    id = *options.id;
  }
  const std::string who = "task '" + id + "'";
  if (name.empty()) reject(who + " has an empty name");
  if (options.eta && options.delay) reject(who + " has both an eta and a delay; give one");
  if (options.delay && *options.delay < Duration::zero()) {
    reject(who + " has a negative delay (" + describe_duration(*options.delay) + ")");
  }
  if (options.max_retries < 0) {
    reject(who + " has a negative max_retries (" + std::to_string(options.max_retries) + ")");
  }
  if (options.retry.delay < Duration::zero()) {
    reject(who + " has a negative retry delay (" + describe_duration(options.retry.delay) + ")");
  }
  if (options.retry.max_delay < Duration::zero()) {
    reject(who + " has a negative retry max_delay (" + describe_duration(options.retry.max_delay) +
           ")");
  }
  if (options.retry.jitter && options.retry.backoff != RetryPolicy::Backoff::exponential) {
    reject(who + " asks for retry jitter on a fixed delay; jitter needs exponential backoff");
  }
  if (options.interval && *options.interval <= Duration::zero()) {
    reject(who + " has a non-positive interval (" + describe_duration(*options.interval) + ")");
  }

  Task task;
  task.id = std::move(id);
  task.name = std::move(name);
  task.payload = std::move(payload);
  task.status = TaskStatus::PENDING;
  task.eta = options.eta ? *options.eta : add_saturating(now, options.delay.value_or(Duration{}));
  task.attempts = 0;
  task.max_retries = options.max_retries;
  task.retry = options.retry;
  if (options.interval) task.schedule = IntervalSchedule{*options.interval};
  task.created_at = now;
  task.updated_at = now;
  validate_new_task(task);  // the storage's own checks, so the words match every backend's
  return task;
}

TaskIdGenerator::TaskIdGenerator() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device(),
                     device(), device(), device(), device()};
  engine_.seed(seed);
}

std::string TaskIdGenerator::next() {
  std::uint64_t halves[2];
  {
    std::lock_guard lock(mutex_);
    halves[0] = engine_();
    halves[1] = engine_();
  }
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(halves[0]),
                static_cast<unsigned long long>(halves[1]));
  return text;
}

}  // namespace taskstore::queue::detail
