// Runs the queue's property tests against the three reference backends, file and SQLite
// stores in a fresh temporary directory (under TMPDIR, if set) that is removed afterwards.
// Random sequences mix the storage commands with queue.enqueue, worker steps and
// complete_task (queue_commands.hpp), every step compared with the reference model.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "queue_commands.hpp"
#include "taskstore/conformance/fixture.hpp"
#include "taskstore/conformance/reference_backends.hpp"

namespace taskstore::queue::property {
namespace {

class QueueModelProperty : public ::testing::TestWithParam<tc::Backend> {};

TEST_P(QueueModelProperty, RandomSequences_OfQueueAndStorageCommands_MatchTheReferenceModel) {
  TASKSTORE_REQUIREMENTS("QUE-1", "QUE-2", "QUE-3", "QUE-4", "QUE-5", "QUE-6", "QUE-7", "QUE-8",
                         "QUE-9", "QUE-16");
  const tc::PropertyVerdict verdict = check_queue_against_model(GetParam(), tc::property_runs());
  if (!verdict.passed) {
    tc::record_violated_requirements(verdict.violated);
    FAIL() << verdict.report;
  }
  std::cout << verdict.report << '\n';
}

INSTANTIATE_TEST_SUITE_P(QueueProperty, QueueModelProperty,
                         ::testing::ValuesIn(tc::registered_backends()),
                         [](const ::testing::TestParamInfo<tc::Backend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace taskstore::queue::property

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  namespace tc = taskstore::conformance;
  std::string scratch = (fs::temp_directory_path() / "taskstore-queue-property-XXXXXX").string();
  if (::mkdtemp(scratch.data()) == nullptr) {
    std::perror("queue_property_tests: mkdtemp");
    return 2;
  }
  tc::register_backend(tc::memory_backend());
  tc::register_backend(tc::file_backend(fs::path(scratch) / "file"));
  tc::register_backend(tc::sqlite_backend(fs::path(scratch) / "sqlite"));
  // Registering a backend also links the whole conformance suite (see registry.cpp), which
  // runs under its own labels: this program runs the queue's properties unless told
  // otherwise with --gtest_filter.
  GTEST_FLAG_SET(filter, "QueueProperty/*");
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
  return status;
}
