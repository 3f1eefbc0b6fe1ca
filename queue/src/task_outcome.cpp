#include "taskstore/queue/task_outcome.hpp"

#include <utility>

namespace taskstore::queue {

TaskOutcome::TaskOutcome(bool succeeded, Bytes value, std::string error)
    : succeeded_(succeeded), value_(std::move(value)), error_(std::move(error)) {}

TaskOutcome TaskOutcome::success(Bytes value) { return TaskOutcome(true, std::move(value), {}); }

TaskOutcome TaskOutcome::failure(std::string error) {
  return TaskOutcome(false, {}, std::move(error));
}

}  // namespace taskstore::queue
