#pragma once
// Typed errors of the storage contract. Every failed operation raises a StorageError;
// callers that care why catch one of the derived types.

#include <exception>
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

// An optional feature the backend does not offer: a conformance hook
// (StoreEnvironment::corrupt_task, hold_write_lock) or an optional capability. The message
// says why, in the backend's words; the conformance suite reports the tests that need the
// feature as SKIP with it. Never an answer to one of the nine operations of the contract.
class NotSupportedError : public StorageError {
 public:
  using StorageError::StorageError;
};

// The exception being handled, as an error of the contract with `prefix` before and
// `suffix` after its message: a CorruptionError stays one, anything else becomes a
// StorageError. Backends use it to hand a failure shared by several operations (a group
// commit that failed) to each of them, naming that operation. Call only inside a catch.
inline std::exception_ptr rewrap_current_error(const std::string& prefix,
                                               const std::string& suffix) {
  try {
    throw;
  } catch (const CorruptionError& e) {
    return std::make_exception_ptr(CorruptionError(prefix + e.what() + suffix));
  } catch (const std::exception& e) {
    return std::make_exception_ptr(StorageError(prefix + e.what() + suffix));
  } catch (...) {
    return std::make_exception_ptr(StorageError(prefix + "unknown error" + suffix));
  }
}

}  // namespace taskstore
