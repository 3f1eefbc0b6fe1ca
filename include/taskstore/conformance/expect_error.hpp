#pragma once
// Checks that an operation raises the error the contract names, and returns its message
// so a test can check what it says: TASKSTORE_ERROR_MESSAGE(NotFoundError, run(op)).

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>

#include "taskstore/conformance/fixture.hpp"
#include "taskstore/conformance/registry.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::conformance {

// The readable name of an exception's dynamic type ("taskstore::NotFoundError").
std::string type_name_of(const std::exception& e);

// Runs `operation` and returns the message of the `Error` it throws. Records a test
// failure, naming `expected`, if it throws nothing or something else; an error of another
// type still gives its message, so that checks of what the message says report only what
// is wrong with the message, not the wrong type a second time.
template <typename Error>
std::string error_message(const char* expected, const std::function<void()>& operation) {
  try {
    operation();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected " << expected << ", but got " << type_name_of(e) << ": "
                  << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected " << expected << ", but nothing was thrown";
  return "";
}

#define TASKSTORE_ERROR_MESSAGE(Error, statement) \
  ::taskstore::conformance::error_message<Error>(#Error, [&] { statement; })

}  // namespace taskstore::conformance
