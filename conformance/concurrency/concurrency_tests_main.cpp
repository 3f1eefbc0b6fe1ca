// Runs the concurrency suites (Concurrency/*: dequeuers racing enqueuers on threads, worker
// processes sharing a store) on the reference backends (postgres when TASKSTORE_PG names a
// server), one ctest entry per test and backend.
//
// Registering a backend links the core conformance suite in as well; by default only this
// folder's suites run. --gtest_filter overrides that.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "taskstore/conformance/reference_backends.hpp"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  namespace tc = taskstore::conformance;
  std::string scratch = (fs::temp_directory_path() / "taskstore-concurrency-XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr) {
    perror("concurrency_tests: mkdtemp");
    return 2;
  }
  tc::register_backend(tc::memory_backend());
  tc::register_backend(tc::file_backend(fs::path(scratch) / "file"));
  tc::register_backend(tc::sqlite_backend(fs::path(scratch) / "sqlite"));
  // The server in TASKSTORE_PG; without one, postgres's tests skip saying how to start it.
  tc::register_postgres_from_environment();
  GTEST_FLAG_SET(filter, "Concurrency/*");
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
  return status;
}
