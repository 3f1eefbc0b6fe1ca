#include "taskstore/conformance/property/store_under_test.hpp"

#include <stdexcept>

namespace taskstore::conformance {

ErrorKind classify_current_exception(std::string& message) {
  // Most derived first: every typed error is also a StorageError.
  try {
    throw;
  } catch (const InvalidArgumentError& e) {
    message = e.what();
    return ErrorKind::invalid_argument;
  } catch (const NotFoundError& e) {
    message = e.what();
    return ErrorKind::not_found;
  } catch (const ConflictError& e) {
    message = e.what();
    return ErrorKind::conflict;
  } catch (const CorruptionError& e) {
    message = e.what();
    return ErrorKind::corruption;
  } catch (const StorageError& e) {
    message = e.what();
    return ErrorKind::storage;
  } catch (const std::exception& e) {
    message = e.what();
    return ErrorKind::other;
  } catch (...) {
    message = "an exception of unknown type";
    return ErrorKind::other;
  }
}

StoreUnderTest::StoreUnderTest(const Backend& backend, Timestamp start)
    : backend_name_(backend.name),
      clock_(std::make_shared<std::atomic<std::int64_t>>(to_micros(start))),
      environment_(backend.make_environment()) {
  if (!environment_) {
    throw std::runtime_error("backend '" + backend.name + "' made no environment");
  }
  store_ = environment_->open_with_clock([clock = clock_] { return from_micros(clock->load()); });
  shares_clock_ = store_ != nullptr;
  if (!store_) store_ = environment_->open();
  if (!store_) throw std::runtime_error("backend '" + backend.name + "' opened no store");
}

StoreUnderTest::~StoreUnderTest() {
  store_.reset();  // before the environment removes where it lives
  environment_.reset();
}

std::string StoreUnderTest::location() const { return environment_->location(); }

Observed<NoValue> StoreUnderTest::call(Awaitable<void> op) {
  Observed<NoValue> observed;
  try {
    sync_wait(io_, std::move(op));
    observed.value = NoValue{};
  } catch (...) {
    observed.error = classify_current_exception(observed.message);
  }
  return observed;
}

}  // namespace taskstore::conformance
