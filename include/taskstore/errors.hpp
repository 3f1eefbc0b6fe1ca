#pragma once
// Typed errors of the storage contract. Every failed operation raises a StorageError;
// callers that care why catch one of the derived types.

#include <stdexcept>
#include <string>

namespace taskstore {

// Base of every error a storage operation raises: I/O failures, a locked database that
// stayed locked past the retry budget, and all the more specific errors below.
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The operation named a task that the store does not hold.
class NotFoundError : public StorageError {
 public:
  using StorageError::StorageError;
};

// enqueue was given an id that the store already holds.
class ConflictError : public StorageError {
 public:
  using StorageError::StorageError;
};

// Stored data could not be read back: truncated, checksum mismatch, foreign file, wrong
// column type. The message names the file or row.
class CorruptionError : public StorageError {
 public:
  using StorageError::StorageError;
};

// The caller passed something the contract does not accept (empty name, non-PENDING
// task to enqueue, negative max_retries, ...). Nothing was changed.
class InvalidArgumentError : public StorageError {
 public:
  using StorageError::StorageError;
};

}  // namespace taskstore
