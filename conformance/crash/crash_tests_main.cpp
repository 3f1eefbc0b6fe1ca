// Runs the crash suite (Crash/*) on the reference backends, one ctest entry per backend:
// memory (skipped: not persistent), file, sqlite (synchronous FULL) and sqlite_normal
// (synchronous NORMAL, which the spec says keeps every commit through a process crash) and
// postgres when TASKSTORE_PG is set.
//
// Registering a backend links the core conformance suite in as well; by default only the
// crash suite runs. --gtest_filter overrides that.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "taskstore/conformance/reference_backends.hpp"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  namespace tc = taskstore::conformance;
  std::string scratch = (fs::temp_directory_path() / "taskstore-crash-XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr) {
    perror("crash_tests: mkdtemp");
    return 2;
  }
  tc::register_backend(tc::memory_backend());
  tc::register_backend(tc::file_backend(fs::path(scratch) / "file"));
  tc::register_backend(tc::sqlite_backend(fs::path(scratch) / "sqlite"));
  tc::Backend normal = tc::sqlite_backend(fs::path(scratch) / "sqlite_normal",
                                          taskstore::SqliteStorageOptions::Synchronous::normal);
  normal.name = "sqlite_normal";
  tc::register_backend(std::move(normal));
  // The server in TASKSTORE_PG; without one, postgres's tests skip saying how to start it.
  tc::register_postgres_from_environment();
  GTEST_FLAG_SET(filter, "Crash/*");
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
  return status;
}
