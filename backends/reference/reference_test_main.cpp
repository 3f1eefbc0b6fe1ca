// The one main of every test program that runs suites on the reference backends
// (conformance_tests, concurrency_tests, crash_tests, property_tests, queue_tests, ...):
// a program is its suites' objects plus this file, set up by the CMake function
// taskstore_add_reference_test_program (cmake/TaskstoreTargets.cmake), which passes:
//   TASKSTORE_TEST_PROGRAM     the program's name, for messages and its scratch directory
//   TASKSTORE_TEST_BACKENDS    comma-separated: memory, file, sqlite, sqlite_normal (SQLite
//                              with synchronous NORMAL), postgres (from TASKSTORE_PG: without
//                              it, postgres's tests skip with the reason), or `unavailable`
//                              alone (one backend that is never available: the check that
//                              every fixture skips cleanly)
//   TASKSTORE_TEST_SCRATCH_SHM 1 to keep file and SQLite stores under /dev/shm (when it is
//                              there; TASKSTORE_TEST_SCRATCH overrides the parent either way)
// The file and SQLite stores live in a fresh temporary directory, removed at exit.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "taskstore/conformance/fault_layer.hpp"
#include "taskstore/conformance/file_backend.hpp"
#include "taskstore/conformance/memory_backend.hpp"
#include "taskstore/conformance/postgres_backend.hpp"
#include "taskstore/conformance/sqlite_backend.hpp"

namespace {

namespace fs = std::filesystem;
namespace tc = taskstore::conformance;

constexpr const char* kUnavailable =
    "unavailable: a backend that is never available (the check that every fixture skips "
    "cleanly)";

fs::path scratch_parent() {
  if (const char* chosen = std::getenv("TASKSTORE_TEST_SCRATCH"); chosen != nullptr && *chosen) {
    return chosen;
  }
  std::error_code ec;
  // Every file-store operation fsyncs, which costs milliseconds on a disk; tests of the
  // queue check the queue, not durability (the backends' own tests check that on disk).
  if (TASKSTORE_TEST_SCRATCH_SHM && fs::is_directory("/dev/shm", ec) &&
      ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return fs::temp_directory_path();
}

tc::Backend never_available() {
  return tc::Backend{.name = "unavailable",
                     .make_environment = []() -> std::unique_ptr<tc::StoreEnvironment> {
                       throw std::logic_error("make_environment called on an unavailable backend");
                     },
                     .unavailable = kUnavailable};
}

void register_backend_named(const std::string& name, const fs::path& scratch) {
  if (name == "memory") {
    tc::register_backend(tc::memory_backend());
  } else if (name == "file") {
    tc::register_backend(tc::file_backend(scratch / "file"));
  } else if (name == "sqlite") {
    tc::register_backend(tc::sqlite_backend(scratch / "sqlite"));
  } else if (name == "sqlite_normal") {
    tc::Backend normal = tc::sqlite_backend(scratch / "sqlite_normal",
                                            taskstore::SqliteStorageOptions::Synchronous::normal);
    normal.name = "sqlite_normal";
    tc::register_backend(std::move(normal));
  } else if (name == "postgres") {
    tc::register_backend(tc::postgres_backend_from_environment());
  } else if (name == "unavailable") {
    tc::register_backend(never_available());
  } else {
    throw std::invalid_argument("unknown reference backend '" + name +
                                "' in TASKSTORE_TEST_BACKENDS");
  }
}

}  // namespace

int main(int argc, char** argv) {
  taskstore::conformance::load_fault_layer(argv);  // for the power-cut tests
  std::string scratch = (scratch_parent() / (TASKSTORE_TEST_PROGRAM "-XXXXXX")).string();
  if (::mkdtemp(scratch.data()) == nullptr) {
    std::perror(TASKSTORE_TEST_PROGRAM ": mkdtemp");
    return 2;
  }
  int status = 2;
  try {
    std::istringstream names(TASKSTORE_TEST_BACKENDS);
    for (std::string name; std::getline(names, name, ',');) register_backend_named(name, scratch);
    ::testing::InitGoogleTest(&argc, argv);
    status = RUN_ALL_TESTS();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", TASKSTORE_TEST_PROGRAM, e.what());
  }
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
  return status;
}
