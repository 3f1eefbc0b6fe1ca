#pragma once
// What one run of a task came to: the handler's result bytes, or the error it failed
// with. complete_task takes one and decides what the storage must record.

#include <string>

#include "taskstore/task.hpp"

namespace taskstore::queue {

class TaskOutcome {
 public:
  static TaskOutcome success(Bytes value);
  static TaskOutcome failure(std::string error);

  bool succeeded() const { return succeeded_; }
  // The handler's bytes (empty for a failure).
  const Bytes& value() const { return value_; }
  // The error text (empty for a success).
  const std::string& error() const { return error_; }

 private:
  TaskOutcome(bool succeeded, Bytes value, std::string error);

  bool succeeded_;
  Bytes value_;
  std::string error_;
};

}  // namespace taskstore::queue
