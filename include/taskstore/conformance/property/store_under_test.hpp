#pragma once
// StoreUnderTest: the "system under test" of the property tests. A fresh store of one
// registered backend, opened with a clock the test sets (so the backend stamps the same
// times as the reference model), and a way to run an operation and observe its value or
// the kind of error it raised. Part of taskstore::conformance.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>

#include "taskstore/conformance/property/model.hpp"
#include "taskstore/conformance/registry.hpp"
#include "taskstore/storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {

// What an operation on the backend gave: its value, or an error and its message.
template <typename T>
struct Observed {
  std::optional<T> value;  // set exactly when error is none
  ErrorKind error = ErrorKind::none;
  std::string message;
};

// The kind of the exception being handled; call inside a catch block.
ErrorKind classify_current_exception(std::string& message);

class StoreUnderTest {
 public:
  // Makes a fresh environment of `backend` and opens a store on it whose clock reads
  // `start`. A backend whose environment can't take a clock is opened with open();
  // shares_clock() then says so.
  StoreUnderTest(const Backend& backend, Timestamp start);
  ~StoreUnderTest();

  StoreUnderTest(const StoreUnderTest&) = delete;
  StoreUnderTest& operator=(const StoreUnderTest&) = delete;

  // The storage commands reach the store through `system.storage()`, so a larger system
  // (the queue over this store) can run them too; for this class it is itself.
  StoreUnderTest& storage() { return *this; }

  BaseStorage& store() { return *store_; }
  const std::string& backend_name() const { return backend_name_; }
  std::string location() const;

  // Numbers the steps of a sequence (1, 2, ...) for failure messages.
  std::size_t begin_step() { return ++steps_; }

  // True if the store stamps times from the clock below, false if from its own.
  bool shares_clock() const { return shares_clock_; }
  void set_clock(Timestamp now) { clock_->store(to_micros(now)); }

  // Runs `op` to completion and records its value or its error.
  template <typename T>
  Observed<T> call(Awaitable<T> op) {
    Observed<T> observed;
    try {
      observed.value = sync_wait(io_, std::move(op));
    } catch (...) {
      observed.error = classify_current_exception(observed.message);
    }
    return observed;
  }
  Observed<NoValue> call(Awaitable<void> op);

 private:
  std::string backend_name_;
  // Shared with the store's clock, which may be read on the backend's own threads.
  std::shared_ptr<std::atomic<std::int64_t>> clock_;
  std::unique_ptr<StoreEnvironment> environment_;
  std::shared_ptr<BaseStorage> store_;
  bool shares_clock_ = false;
  std::size_t steps_ = 0;
  boost::asio::io_context io_;
};

}  // namespace taskstore::conformance
