// Runs the conformance suite against the reference backends (postgres when TASKSTORE_PG
// names a server) as a plain googletest program, so ctest lists every test × backend on
// its own. The concurrency, crash and property suites have their own programs and ctest
// labels (conformance/concurrency, conformance/crash, conformance/property), so they are
// left out here by default; --gtest_filter overrides that.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "taskstore/conformance/reference_backends.hpp"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  namespace tc = taskstore::conformance;
  std::string scratch = (fs::temp_directory_path() / "taskstore-conformance-XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr) {
    perror("conformance_tests: mkdtemp");
    return 2;
  }
  tc::register_backend(tc::memory_backend());
  tc::register_backend(tc::file_backend(fs::path(scratch) / "file"));
  tc::register_backend(tc::sqlite_backend(fs::path(scratch) / "sqlite"));
  // The server in TASKSTORE_PG; without one, postgres's tests skip saying how to start it.
  tc::register_postgres_from_environment();
  GTEST_FLAG_SET(filter, "-Concurrency/*:Crash/*:Property/*");
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
  return status;
}
