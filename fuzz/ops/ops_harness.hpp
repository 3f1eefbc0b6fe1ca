#pragma once
// The differential operation-sequence harness behind fuzz_ops_memory, fuzz_ops_file and
// fuzz_ops_sqlite: the input decodes (ops_format.hpp) into steps that run on a fresh
// store of the backend and on the ReferenceModel, each compared exactly as the property
// tests compare them (taskstore/conformance/property/step_checks.hpp): the answer, the error kind,
// then every task and result read back. A difference aborts with the requirement it
// breaks and the steps so far.

#include <cstddef>
#include <cstdint>

#include "taskstore/conformance/registry.hpp"

namespace taskstore::fuzz::ops {

// Runs one input against a fresh store made by `backend`; aborts on any difference.
void run_sequence(const conformance::Backend& backend, const std::uint8_t* data,
                  std::size_t size);

}  // namespace taskstore::fuzz::ops
