// Runs the property tests against the reference backends (postgres when TASKSTORE_PG
// names a server), file and SQLite stores in a fresh temporary directory (under TMPDIR,
// if set) that is removed afterwards.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "taskstore/conformance/reference_backends.hpp"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  namespace tc = taskstore::conformance;
  std::string scratch = (fs::temp_directory_path() / "taskstore-property-XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr) {
    std::perror("property_tests: mkdtemp");
    return 2;
  }
  tc::register_backend(tc::memory_backend());
  tc::register_backend(tc::file_backend(fs::path(scratch) / "file"));
  tc::register_backend(tc::sqlite_backend(fs::path(scratch) / "sqlite"));
  // The server in TASKSTORE_PG; without one, postgres's tests skip saying how to start it.
  tc::register_postgres_from_environment();
  // Registering a backend also links the whole conformance suite (see registry.cpp); it
  // runs under the `conformance` label already, so this program runs only the properties
  // unless told otherwise with --gtest_filter.
  GTEST_FLAG_SET(filter, "Property/*");
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
  return status;
}
