// Runs the queue's tests on the reference backends, one ctest entry per test and backend
// (like conformance/tests/reference_backends_main.cpp): postgres too when TASKSTORE_PG
// names a server, else its tests are reported as skipped with the reason.
//
// Registering a backend links the conformance suite in as well; by default only the
// queue's tests run (their names start with "Queue"). --gtest_filter overrides that.
//
// The file and SQLite stores live under /dev/shm when it is there (TASKSTORE_QUEUE_SCRATCH
// overrides): every file-store operation fsyncs, which costs ~8 ms on this kind of disk,
// and the exclusivity test makes some 20,000 of them. These tests check the queue, not
// durability; the backends' own tests check that on the real disk.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "taskstore/conformance/reference_backends.hpp"

namespace {

std::filesystem::path scratch_parent() {
  namespace fs = std::filesystem;
  if (const char* chosen = std::getenv("TASKSTORE_QUEUE_SCRATCH"); chosen != nullptr && *chosen) {
    return chosen;
  }
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return fs::temp_directory_path();
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  namespace tc = taskstore::conformance;
  std::string scratch = (scratch_parent() / "taskstore-queue-XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr) {
    perror("queue_tests: mkdtemp");
    return 2;
  }
  tc::register_backend(tc::memory_backend());
  tc::register_backend(tc::file_backend(fs::path(scratch) / "file"));
  tc::register_backend(tc::sqlite_backend(fs::path(scratch) / "sqlite"));
  tc::register_postgres_from_environment();
  GTEST_FLAG_SET(filter, "Queue*");
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
  return status;
}
