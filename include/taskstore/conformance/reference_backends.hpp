#pragma once
// Registrations of taskstore's three reference backends with the conformance suite.

#include <filesystem>

#include "taskstore/conformance/registry.hpp"
#include "taskstore/sqlite_storage.hpp"

namespace taskstore::conformance {

// One MemoryStorage per test.
Backend memory_backend();

// One FileStorage per test, each in a fresh subdirectory of `parent` (created if needed).
Backend file_backend(std::filesystem::path parent);

// One SqliteStorage per test, each in a fresh database file inside `parent`.
Backend sqlite_backend(std::filesystem::path parent,
                       SqliteStorageOptions::Synchronous synchronous =
                           SqliteStorageOptions::Synchronous::full);

}  // namespace taskstore::conformance
