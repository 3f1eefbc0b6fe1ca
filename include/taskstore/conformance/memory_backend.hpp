#pragma once
// MemoryStorage's hook into the conformance kit (target taskstore::memory_conformance,
// backends/memory/conformance/): the Backend to register and the `--backend memory` scheme.

#include "taskstore/conformance/registry.hpp"
#include "taskstore/conformance/suite.hpp"

namespace taskstore::conformance {

// One MemoryStorage per test.
Backend memory_backend();

// `--backend memory`; in the default run.
BackendScheme memory_scheme();

}  // namespace taskstore::conformance
