#pragma once
// FileStorage's hook into the conformance kit (target taskstore::file_conformance,
// backends/file/conformance/): the Backend to register and the `--backend file:DIR` scheme.

#include <filesystem>

#include "taskstore/conformance/registry.hpp"
#include "taskstore/conformance/suite.hpp"

namespace taskstore::conformance {

// One FileStorage per test, each in a fresh subdirectory of `parent` (created if needed).
Backend file_backend(std::filesystem::path parent);

// `--backend file:DIR`; in the default run, under the run's scratch directory.
BackendScheme file_scheme();

}  // namespace taskstore::conformance
