// Group commit (FILE-6): writes that queue up behind a commit share the next one, each
// caller still gets its own outcome, and the group leaves on disk exactly what the same
// writes would have left one by one. The tests hold the store's lock (as another process
// would) so that the first group waits on it and the other writes queue behind it; the
// groups are then read from the backend's counters, never inferred from timing.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include "group_commit_harness.hpp"
#include "store_layout.hpp"
#include "taskstore/errors.hpp"
#include "test_support.hpp"

namespace taskstore::file_test {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A write under test; its expected outcome is "ok" (with ":<id>" for a dequeue, naming
// the task it claimed), "not found", "conflict" or "corruption".
using Write = test_support::GroupWrite<FileStorage>;
using test_support::finished;

Awaitable<std::string> enqueued(FileStorage& storage, Task task) {
  co_await storage.enqueue(std::move(task));
  co_return std::string();
}

Awaitable<std::string> claimed(FileStorage& storage, std::int64_t now) {
  const auto task = co_await storage.dequeue(from_micros(now));
  co_return task ? ":" + task->id : std::string(":none");
}

// Holds the store's writer lock through a descriptor of its own, as another process would.
class LockHolder {
 public:
  explicit LockHolder(const fs::path& store_dir)
      : fd_(::open((store_dir / "LOCK").c_str(), O_RDWR | O_CLOEXEC)) {
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(::flock(fd_, LOCK_EX), 0);
  }
  ~LockHolder() {
    release();
    ::close(fd_);
  }
  void release() { ::flock(fd_, LOCK_UN); }

 private:
  int fd_;
};

class FileGroupCommit : public ::testing::Test {
 protected:
  // Two pool threads: one leads the group stuck on the lock, the other queues the rest
  // in the order they were started.
  std::unique_ptr<FileStorage> open(std::size_t max_group_size) const {
    return std::make_unique<FileStorage>(FileStorageOptions{.directory = dir_.path(),
                                                            .io_threads = 2,
                                                            .clock = clock_.clock(),
                                                            .max_group_size = max_group_size});
  }

  // a, b, c and z are PENDING at eta 1000; z's record is then damaged.
  void preload(FileStorage& storage) {
    for (const char* id : {"a", "b", "c", "z"}) sync_wait(io_, storage.enqueue(make_task(id)));
    write_bytes(storage.task_path("z"), {std::byte{'x'}, std::byte{'y'}});
  }

  // Runs `writes` while the store's lock is held, as another process would hold it.
  std::map<std::string, std::string> run_behind_lock(FileStorage& storage,
                                                     const std::vector<Write>& writes) {
    LockHolder holder(dir_.path());
    return test_support::run_behind_hold(io_, storage, writes, [&] { holder.release(); });
  }

  // The mixed writes below, in this order, whatever groups they land in.
  static std::vector<Write> mixed_writes() {
    return {
        {"mark_running a", [](FileStorage& s) { return finished(s.mark_running("a")); }, "ok"},
        {"mark_running missing", [](FileStorage& s) { return finished(s.mark_running("missing")); },
         "not found"},
        {"enqueue a again", [](FileStorage& s) { return enqueued(s, make_task("a")); }, "conflict"},
        {"enqueue d", [](FileStorage& s) { return enqueued(s, make_task("d")); }, "ok"},
        {"mark_running d", [](FileStorage& s) { return finished(s.mark_running("d")); }, "ok"},
        {"enqueue e", [](FileStorage& s) { return enqueued(s, make_task("e", 10)); }, "ok"},
        {"dequeue", [](FileStorage& s) { return claimed(s, 5000); }, "ok:e"},
        {"mark_running z", [](FileStorage& s) { return finished(s.mark_running("z")); },
         "corruption"},
        {"mark_done b",
         [](FileStorage& s) {
           TaskResult result{.task_id = "b",
                             .status = TaskStatus::SUCCESS,
                             .value = to_bytes("42"),
                             .error = {},
                             .finished_at = from_micros(6000)};
           return finished(s.mark_done("b", std::move(result)));
         },
         "ok"},
        {"reschedule c",
         [](FileStorage& s) { return finished(s.reschedule("c", from_micros(7000))); }, "ok"},
        {"mark_failed missing2",
         [](FileStorage& s) { return finished(s.mark_failed("missing2", "boom", false)); },
         "not found"},
    };
  }

  // The state the mixed writes must leave, read through a fresh instance so it is what
  // reached the directory.
  void expect_mixed_writes_durable() {
    auto reopened = open(1);
    const auto task = [&](const char* id) { return sync_wait(io_, reopened->get_task(id)); };
    ASSERT_TRUE(task("a").has_value());
    EXPECT_EQ(task("a")->status, TaskStatus::RUNNING);
    EXPECT_EQ(task("b")->status, TaskStatus::SUCCESS);
    const auto b_result = sync_wait(io_, reopened->get_result("b"));
    ASSERT_TRUE(b_result.has_value());
    EXPECT_EQ(b_result->value, to_bytes("42"));
    EXPECT_EQ(task("c")->status, TaskStatus::PENDING);
    EXPECT_EQ(task("c")->eta, from_micros(7000));
    EXPECT_EQ(task("d")->status, TaskStatus::RUNNING);
    EXPECT_EQ(task("e")->status, TaskStatus::RUNNING);
    EXPECT_EQ(task("e")->attempts, 1);
    EXPECT_FALSE(task("missing").has_value());
    EXPECT_FALSE(sync_wait(io_, reopened->get_result("missing2")).has_value());

    // One valid marker per PENDING task (c at its new eta, and damaged z), none for d
    // and e, which stopped being PENDING within the writes; no temp file anywhere.
    std::map<std::string, Timestamp> markers;
    for (const auto& name : file_names(dir_.path() / "queue")) {
      const auto marker = file_backend::parse_due_marker_name(name);
      ASSERT_TRUE(marker.has_value()) << name;
      markers[marker->id_hex] = marker->eta;
    }
    const std::map<std::string, Timestamp> expected = {
        {file_backend::hex_encode("c"), from_micros(7000)},
        {file_backend::hex_encode("z"), from_micros(1000)}};
    EXPECT_EQ(markers, expected);
    for (const char* sub : {"tasks", "results", "queue"}) {
      for (const auto& name : file_names(dir_.path() / sub)) {
        EXPECT_FALSE(name.starts_with("tmp-")) << sub << "/" << name;
      }
    }
    // Nothing else is due: c waits for 7000, z is damaged.
    EXPECT_FALSE(sync_wait(io_, reopened->dequeue(from_micros(6999))).has_value());
  }

  TempDir dir_;
  TestClock clock_{5000};
  asio::io_context io_;
};

// Checks: FILE-6, FILE-2, ERR-1
TEST_F(FileGroupCommit, WritesQueuedBehindACommitShareOneAndKeepTheirOwnOutcomes) {
  auto storage = open(256);
  preload(*storage);
  const GroupCommitStats before = storage->group_commit_stats();
  const auto writes = mixed_writes();
  const auto outcomes = run_behind_lock(*storage, writes);
  for (const Write& write : writes) {
    EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;
  }
  // The first write waited on the lock alone; the ten behind it shared one commit.
  const GroupCommitStats after = storage->group_commit_stats();
  EXPECT_EQ(after.operations - before.operations, writes.size());
  EXPECT_EQ(after.groups - before.groups, 2u);
  EXPECT_EQ(after.largest_group, writes.size() - 1);
  storage.reset();
  expect_mixed_writes_durable();
}

// Checks: FILE-6
TEST_F(FileGroupCommit, AGroupSizeOfOneCommitsEveryWriteAlone) {
  auto storage = open(1);
  preload(*storage);
  const GroupCommitStats before = storage->group_commit_stats();
  const auto writes = mixed_writes();
  const auto outcomes = run_behind_lock(*storage, writes);
  for (const Write& write : writes) {
    EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;
  }
  const GroupCommitStats after = storage->group_commit_stats();
  EXPECT_EQ(after.groups - before.groups, writes.size());
  EXPECT_EQ(after.largest_group, 1u);
  storage.reset();
  expect_mixed_writes_durable();
}

// Checks: FILE-6, FILE-2
TEST_F(FileGroupCommit, ATaskEnqueuedAndClaimedInOneGroupLeavesNoMarker) {
  auto storage = open(256);
  const std::vector<Write> writes = {
      {"purge",
       [](FileStorage& s) -> Awaitable<std::string> {
         co_await s.purge_results(from_micros(0));
         co_return std::string();
       },
       "ok"},
      {"enqueue x", [](FileStorage& s) { return enqueued(s, make_task("x", 10)); }, "ok"},
      {"dequeue", [](FileStorage& s) { return claimed(s, 5000); }, "ok:x"},
  };
  const auto outcomes = run_behind_lock(*storage, writes);
  for (const Write& write : writes) {
    EXPECT_EQ(outcomes.at(write.label), write.expected) << write.label;
  }
  EXPECT_EQ(storage->group_commit_stats().largest_group, 2u);
  EXPECT_TRUE(file_names(dir_.path() / "queue").empty());
  EXPECT_EQ(sync_wait(io_, storage->get_task("x"))->status, TaskStatus::RUNNING);
}

// Checks: FILE-6, FILE-2, ERR-2, SQL-9
TEST_F(FileGroupCommit, ACommitThatFailsFailsEveryWriteInItAndPutsTheStoreBack) {
  auto storage = open(256);
  for (const char* id : {"a", "b", "c"}) sync_wait(io_, storage->enqueue(make_task(id)));
  // A directory where b's result goes: the commit's rename of that result fails, after
  // the new markers and every temp file were made durable.
  const fs::path blocker = storage->result_path("b");
  fs::create_directories(blocker / "occupied");
  const std::vector<Write> writes = {
      {"mark_running c", [](FileStorage& s) { return finished(s.mark_running("c")); }, "ok"},
      {"dequeue", [](FileStorage& s) { return claimed(s, 5000); }, ""},
      {"enqueue n", [](FileStorage& s) { return enqueued(s, make_task("n", 10)); }, ""},
      {"mark_running missing", [](FileStorage& s) { return finished(s.mark_running("missing")); },
       ""},
      {"mark_done b",
       [](FileStorage& s) {
         TaskResult result{.task_id = "b", .finished_at = from_micros(6000)};
         return finished(s.mark_done("b", std::move(result)));
       },
       ""},
  };
  const auto outcomes = run_behind_lock(*storage, writes);
  EXPECT_EQ(outcomes.at("mark_running c"), "ok");
  // A write that failed on its own keeps its own error (SQL-9), and is not counted among
  // the writes the commit took down.
  EXPECT_EQ(outcomes.at("mark_running missing"), "not found");
  const std::map<std::string, std::string> named = {
      {"dequeue", "(during dequeue, one of 3 writes committed together)"},
      {"enqueue n", "(during enqueue of task 'n', one of 3 writes committed together)"},
      {"mark_done b", "(during mark_done of task 'b', one of 3 writes committed together)"}};
  for (const auto& [label, context] : named) {
    const std::string& outcome = outcomes.at(label);
    EXPECT_TRUE(outcome.starts_with("other error: rename to " + blocker.string())) << outcome;
    EXPECT_NE(outcome.find(context), std::string::npos) << outcome;
  }

  // Nothing of the failed group is left: no claim, no new task or marker, no temp file.
  fs::remove_all(blocker);
  storage.reset();
  auto reopened = open(1);
  EXPECT_FALSE(sync_wait(io_, reopened->get_task("n")).has_value());
  EXPECT_EQ(sync_wait(io_, reopened->get_task("b"))->status, TaskStatus::PENDING);
  EXPECT_FALSE(sync_wait(io_, reopened->get_result("b")).has_value());
  EXPECT_EQ(file_names(dir_.path() / "queue").size(), 2u);  // a's and b's
  for (const char* sub : {"tasks", "results", "queue"}) {
    for (const auto& name : file_names(dir_.path() / sub)) {
      EXPECT_FALSE(name.starts_with("tmp-")) << sub << "/" << name;
    }
  }
  const auto again = sync_wait(io_, reopened->dequeue(from_micros(5000)));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id, "a");
  EXPECT_EQ(again->attempts, 1);
}

// Checks: FILE-6, DEQ-6
TEST_F(FileGroupCommit, AMarkerThatCannotBeRemovedDoesNotUndoACommittedClaim) {
  auto storage = open(256);
  sync_wait(io_, storage->enqueue(make_task("a")));
  // a's marker becomes a non-empty directory of the same name, so unlinking it (the last
  // stage of a claim's commit, after the claim is durable) fails.
  const auto markers = file_names(dir_.path() / "queue");
  ASSERT_EQ(markers.size(), 1u);
  const fs::path marker = dir_.path() / "queue" / markers.front();
  fs::remove(marker);
  fs::create_directories(marker / "occupied");

  const auto claimed = sync_wait(io_, storage->dequeue(from_micros(5000)));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, "a");
  EXPECT_EQ(sync_wait(io_, storage->get_task("a"))->status, TaskStatus::RUNNING);
  // The claim stands: the marker left behind is stale and hands "a" out to no one.
  fs::remove_all(marker);
  EXPECT_FALSE(sync_wait(io_, storage->dequeue(from_micros(5000))).has_value());
}

}  // namespace
}  // namespace taskstore::file_test
