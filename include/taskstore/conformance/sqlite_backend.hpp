#pragma once
// SqliteStorage's hook into the conformance kit (target taskstore::sqlite_conformance,
// backends/sqlite/conformance/): the Backend to register and the `--backend sqlite:DIR`
// scheme.

#include <filesystem>

#include "taskstore/conformance/registry.hpp"
#include "taskstore/conformance/suite.hpp"
#include "taskstore/sqlite_storage.hpp"

namespace taskstore::conformance {

// One SqliteStorage per test, each in a fresh database file inside `parent`.
Backend sqlite_backend(std::filesystem::path parent,
                       SqliteStorageOptions::Synchronous synchronous =
                           SqliteStorageOptions::Synchronous::full);

// `--backend sqlite:DIR`; in the default run, under the run's scratch directory.
BackendScheme sqlite_scheme();

}  // namespace taskstore::conformance
