#pragma once
// Shared by the suite files: the per-area fixtures, their instantiation over every
// registered backend, and small assertion helpers.

#include <gtest/gtest.h>

#include <exception>
#include <functional>
#include <string>
#include <typeinfo>

#include "taskstore/conformance/fixture.hpp"
#include "taskstore/conformance/registry.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::conformance {

// TASKSTORE_INSTANTIATE_SUITE(Fixture) is public, in taskstore/conformance/fixture.hpp.

// Defines the anchor that keeps a suite file linked (see suite_anchors.hpp).
#define TASKSTORE_SUITE_ANCHOR(name) \
  namespace detail {                 \
  int suite_anchor_##name() { return 1; } \
  }

// Runs `operation` and returns the message of the `Error` it throws. Records a test
// failure, naming `expected`, if it throws nothing or something else.
template <typename Error>
std::string error_message(const char* expected, const std::function<void()>& operation) {
  try {
    operation();
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected " << expected << ", but got " << typeid(e).name() << ": "
                  << e.what();
    return "";
  }
  ADD_FAILURE() << "expected " << expected << ", but nothing was thrown";
  return "";
}

#define TASKSTORE_ERROR_MESSAGE(Error, statement) \
  ::taskstore::conformance::error_message<Error>(#Error, [&] { statement; })

}  // namespace taskstore::conformance
