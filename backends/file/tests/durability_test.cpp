// What the file store leaves on disk and what it makes of damaged or left-over files:
// corrupted records (FILE-1), atomic writes, temp files, stale due markers and the
// FORMAT check (FILE-2).

#include <gtest/gtest.h>

#include <string>

#include "store_layout.hpp"
#include "taskstore/errors.hpp"
#include "taskstore/file_storage.hpp"
#include "test_support.hpp"

namespace taskstore::file_test {
namespace {

namespace fs = std::filesystem;
using file_backend::due_marker_name;

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// Awaits `op` and returns the CorruptionError's message ("" if none was thrown).
template <typename T>
std::string corruption_message(boost::asio::io_context& io, Awaitable<T> op) {
  try {
    sync_wait(io, std::move(op));
  } catch (const CorruptionError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> temp_files_in(const fs::path& dir) {
  std::vector<std::string> temps;
  for (const auto& sub :
       {fs::path("."), fs::path("tasks"), fs::path("results"), fs::path("queue")}) {
    for (const auto& name : file_names(dir / sub)) {
      if (starts_with(name, "tmp-")) temps.push_back((sub / name).string());
    }
  }
  return temps;
}

// Checks: FILE-1
TEST(FileCorruption, DamagedTaskFileRaisesCorruptionErrorNamingIt) {
  TempDir dir;
  boost::asio::io_context io;
  auto store = open_store(dir.path());
  sync_wait(io, store->enqueue(make_task("victim", 10)));
  sync_wait(io, store->enqueue(make_task("other", 20)));
  const fs::path path = store->task_path("victim");
  auto bytes = read_bytes(path);
  bytes[bytes.size() / 2] ^= std::byte{0x5a};
  write_bytes(path, bytes);

  const std::string message = corruption_message(io, store->get_task("victim"));
  EXPECT_TRUE(starts_with(message, path.string() + ": ")) << message;
  EXPECT_NE(message.find("checksum mismatch"), std::string::npos) << message;
  EXPECT_NE(message.find("get_task of task 'victim'"), std::string::npos) << message;

  // Operations that must read it fail the same way and write nothing.
  EXPECT_TRUE(starts_with(corruption_message(io, store->reschedule("victim", from_micros(0))),
                          path.string()));
  EXPECT_TRUE(starts_with(
      corruption_message(io, store->mark_done("victim", TaskResult{.task_id = "victim"})),
      path.string()));
  EXPECT_FALSE(fs::exists(store->result_path("victim")));
  // Dequeue reaches it first (earliest eta), passes over it and claims the next task;
  // the damaged file stays for get_task to report (DEQ-9).
  const auto claimed = sync_wait(io, store->dequeue(from_micros(100)));
  ASSERT_TRUE(claimed.has_value());
  EXPECT_EQ(claimed->id, "other");
  EXPECT_FALSE(sync_wait(io, store->dequeue(from_micros(100))).has_value());
  EXPECT_TRUE(starts_with(corruption_message(io, store->get_task("victim")), path.string()));
  sync_wait(io, store->reschedule("other", from_micros(20)));  // PENDING again, for below

  // A file truncated to nothing, and one holding another task's record.
  write_bytes(path, {});
  EXPECT_NE(corruption_message(io, store->get_task("victim")).find("truncated"), std::string::npos);
  fs::copy_file(store->task_path("other"), path, fs::copy_options::overwrite_existing);
  EXPECT_NE(corruption_message(io, store->get_task("victim")).find("holds task 'other'"),
            std::string::npos);
}

// Checks: FILE-1
TEST(FileCorruption, DamagedResultFileRaisesCorruptionErrorAndPurgePassesOverIt) {
  TempDir dir;
  boost::asio::io_context io;
  auto store = open_store(dir.path());
  sync_wait(io, store->enqueue(make_task("a")));
  sync_wait(io, store->mark_done("a", TaskResult{.task_id = "a", .finished_at = from_micros(1)}));
  const fs::path path = store->result_path("a");
  write_bytes(path, to_bytes("PK\x03\x04 definitely a zip"));
  const std::string message = corruption_message(io, store->get_result("a"));
  EXPECT_TRUE(starts_with(message, path.string() + ": not a taskstore record")) << message;
  // PUR-5: the purge neither stops at it nor counts it; it stays, still reported as damaged.
  EXPECT_EQ(sync_wait(io, store->purge_results(from_micros(100))), 0u);
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(starts_with(corruption_message(io, store->get_result("a")), path.string()));
}

// Checks: FILE-2
TEST(FileDurability, WritesLeaveOnlyFinalFiles) {
  TempDir dir;
  boost::asio::io_context io;
  auto store = open_store(dir.path());
  sync_wait(io, store->enqueue(make_task("a", 1)));
  sync_wait(io, store->enqueue(make_task("b", 2)));
  sync_wait(io, store->dequeue(from_micros(5)));
  sync_wait(io, store->mark_done("a", TaskResult{.task_id = "a"}));
  sync_wait(io, store->mark_failed("b", "e", false));
  sync_wait(io, store->reschedule("b", from_micros(9)));
  EXPECT_TRUE(temp_files_in(dir.path()).empty());
  EXPECT_EQ(file_names(dir.path()),
            (std::vector<std::string>{"DUE-LOG", "FORMAT", "LOCK", "queue", "results", "tasks"}));
  EXPECT_EQ(file_names(dir.path() / "tasks").size(), 2u);
  EXPECT_EQ(file_names(dir.path() / "results").size(), 2u);
  EXPECT_EQ(file_names(dir.path() / "queue").size(), 1u);
  const auto format = read_bytes(dir.path() / "FORMAT");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(format.data()), format.size()),
            "taskstore-file-store 1\n");
}

// Checks: FILE-2
TEST(FileDurability, StrayTempFilesAreIgnoredAndRemovedAtOpen) {
  TempDir dir;
  boost::asio::io_context io;
  auto store = open_store(dir.path());
  sync_wait(io, store->enqueue(make_task("a", 1)));
  sync_wait(io, store->mark_done("a", TaskResult{.task_id = "a", .finished_at = from_micros(1)}));
  sync_wait(io, store->reschedule("a", from_micros(1)));
  // What interrupted writes leave behind: half-written records under temp names.
  const std::string half = "TSKSTORE\x01";
  write_bytes(
      dir.path() / "tasks" / ("tmp-0123456789abcdef-" + store->task_path("a").filename().string()),
      to_bytes(half));
  write_bytes(dir.path() / "tasks" / "tmp-0000000000000000-6263.task", to_bytes(half));
  write_bytes(dir.path() / "results" / "tmp-1111111111111111-62.result", to_bytes(half));
  write_bytes(dir.path() / "queue" / "tmp-2222222222222222-x", {});
  write_bytes(dir.path() / "tmp-3333333333333333-FORMAT", to_bytes("taskst"));
  write_bytes(dir.path() / "tmp-notes.txt", to_bytes("not ours"));  // must survive

  // Readers and dequeue never look at them.
  EXPECT_EQ(sync_wait(io, store->get_task("a"))->id, "a");
  EXPECT_EQ(sync_wait(io, store->get_task("bc")), std::nullopt);
  EXPECT_EQ(sync_wait(io, store->get_result("b")), std::nullopt);
  EXPECT_EQ(sync_wait(io, store->purge_results(from_micros(2))), 1u);
  EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(5)))->id, "a");
  EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(5))), std::nullopt);

  store.reset();
  store = open_store(dir.path());
  EXPECT_EQ(temp_files_in(dir.path()), std::vector<std::string>{"./tmp-notes.txt"});
  EXPECT_EQ(sync_wait(io, store->get_task("a"))->status, TaskStatus::RUNNING);
}

// Checks: FILE-2
TEST(FileDurability, StaleDueMarkersAreDroppedWithoutWrongOrDuplicateClaims) {
  TempDir dir;
  boost::asio::io_context io;
  auto store = open_store(dir.path());
  const fs::path queue = dir.path() / "queue";
  sync_wait(io, store->enqueue(make_task("a", 10)));
  const std::string a_marker = file_names(queue).at(0);
  sync_wait(io, store->enqueue(make_task("b", 20)));
  sync_wait(io, store->enqueue(make_task("c", 30)));
  sync_wait(io, store->enqueue(make_task("d", 40)));
  EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(100)))->id, "a");
  sync_wait(io, store->mark_failed("d", "e", true));

  // A crash in dequeue between the claim and the unlink leaves a's marker.
  write_bytes(queue / a_marker, {});
  // A crash in enqueue after the marker: the task file was never written.
  write_bytes(queue / due_marker_name(from_micros(1), 1, "ghost"), {});
  // A crash in reschedule after the new marker: the task kept its old eta.
  write_bytes(queue / due_marker_name(from_micros(5), 1, "b"), {});
  // A marker whose seq does not match c's, and one for a RETRYING task.
  write_bytes(queue / due_marker_name(from_micros(30), 3, "c"), {});
  write_bytes(queue / due_marker_name(from_micros(40), 1, "d"), {});
  // Not a marker at all.
  write_bytes(queue / "README", {});
  // Files that appear behind an open instance's back are not in its due index (a crashed
  // writer logs each marker before creating it): the store restarts, as after a crash.
  store.reset();
  store = open_store(dir.path());

  EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(100)))->id, "b");
  EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(100)))->id, "c");
  EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(100))), std::nullopt);
  EXPECT_EQ(file_names(queue), std::vector<std::string>{"README"});
  const auto a = sync_wait(io, store->get_task("a"));
  EXPECT_EQ(a->status, TaskStatus::RUNNING);
  EXPECT_EQ(a->attempts, 1);
  EXPECT_EQ(sync_wait(io, store->get_task("d"))->status, TaskStatus::RETRYING);
  EXPECT_EQ(sync_wait(io, store->get_task("ghost")), std::nullopt);

  // The id of the ghost marker is still free and works normally.
  sync_wait(io, store->enqueue(make_task("ghost", 50)));
  EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(100)))->id, "ghost");
  EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(100))), std::nullopt);
}

// Checks: FILE-2
TEST(FileDurability, ResultWrittenBeforeACrashIsReplacedByTheRetry) {
  TempDir dir;
  boost::asio::io_context io;
  auto store = open_store(dir.path());
  sync_wait(io, store->enqueue(make_task("a", 10)));
  sync_wait(io, store->dequeue(from_micros(10)));
  const auto running = read_bytes(store->task_path("a"));
  sync_wait(io, store->mark_done("a", TaskResult{.task_id = "a", .value = to_bytes("first")}));
  // A crash between the result and the task write: the task is still RUNNING.
  write_bytes(store->task_path("a"), running);
  store.reset();
  store = open_store(dir.path());
  EXPECT_EQ(sync_wait(io, store->get_task("a"))->status, TaskStatus::RUNNING);
  const TaskResult second{.task_id = "a", .value = to_bytes("second")};
  sync_wait(io, store->mark_done("a", second));
  EXPECT_EQ(sync_wait(io, store->get_task("a"))->status, TaskStatus::SUCCESS);
  EXPECT_EQ(sync_wait(io, store->get_result("a")), second);
}

// Checks: FILE-2
TEST(FileDurability, ForeignFormatIsCorruptionAndLeavesTheDirectoryAlone) {
  TempDir dir;
  write_bytes(dir.path() / "FORMAT", to_bytes("acme-queue 3\n"));
  try {
    open_store(dir.path());
    ADD_FAILURE() << "opened a foreign directory";
  } catch (const CorruptionError& e) {
    EXPECT_TRUE(starts_with(e.what(), (dir.path() / "FORMAT").string() + ": ")) << e.what();
  }
  EXPECT_EQ(file_names(dir.path()), std::vector<std::string>{"FORMAT"});

  write_bytes(dir.path() / "FORMAT", to_bytes("taskstore-file-store 2\n"));
  EXPECT_THROW(open_store(dir.path()), CorruptionError);

  TempDir tasks_only;
  fs::create_directory(tasks_only.path() / "tasks");
  try {
    open_store(tasks_only.path());
    ADD_FAILURE() << "adopted a tasks/ directory without FORMAT";
  } catch (const CorruptionError& e) {
    EXPECT_NE(std::string(e.what()).find("no FORMAT"), std::string::npos) << e.what();
  }
}

// Checks: FILE-2
TEST(FileDurability, StoreIsCreatedInMissingOrUnrelatedDirectories) {
  TempDir dir;
  write_bytes(dir.path() / "notes.txt", to_bytes("hello"));
  boost::asio::io_context io;
  {
    auto store = open_store(dir.path());
    sync_wait(io, store->enqueue(make_task("a")));
  }
  EXPECT_TRUE(fs::exists(dir.path() / "notes.txt"));
  EXPECT_EQ(sync_wait(io, open_store(dir.path())->get_task("a"))->id, "a");

  auto nested = open_store(dir.path() / "x" / "y");
  EXPECT_EQ(nested->directory(), dir.path() / "x" / "y");
  EXPECT_TRUE(fs::exists(dir.path() / "x" / "y" / "FORMAT"));

  write_bytes(dir.path() / "plain-file", to_bytes("x"));
  EXPECT_THROW(open_store(dir.path() / "plain-file"), StorageError);
}

}  // namespace
}  // namespace taskstore::file_test
