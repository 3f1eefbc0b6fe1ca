#pragma once
// Turning enqueue's arguments into the Task the storage keeps (spec QUE-4), after the
// queue's own checks (QUE-16), and making task ids.

#include <mutex>
#include <random>
#include <string>

#include "taskstore/queue/enqueue_options.hpp"
#include "taskstore/task.hpp"

namespace taskstore::queue::detail {

// The PENDING task that enqueue(name, payload, options) at `now` stores, with `id` unless
// the options name one. Throws InvalidArgumentError naming what is wrong.
Task make_new_task(std::string name, Bytes payload, const EnqueueOptions& options, Timestamp now,
                   std::string id);

// "-5000000 µs": how messages show a duration.
std::string describe_duration(Duration d);

// Random task ids: 32 lowercase hex digits (128 bits). Thread-safe.
class TaskIdGenerator {
 public:
  TaskIdGenerator();
  std::string next();

 private:
  std::mutex mutex_;
  std::mt19937_64 engine_;
};

}  // namespace taskstore::queue::detail
