// The due index (FILE-9): a claim finds the next due task in the instance's ordered index
// of due markers instead of listing queue/, and every instance sees the others' markers
// through DUE-LOG, also after another instance starts the log afresh or the log is damaged.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "file_store.hpp"
#include "test_support.hpp"

namespace taskstore::file_test {
namespace {

namespace fb = taskstore::file_backend;

// DirectIo that counts the listings of one directory.
class CountingIo final : public fb::StoreIo {
 public:
  explicit CountingIo(std::filesystem::path counted) : counted_(std::move(counted)) {}

  std::optional<Bytes> read(const std::filesystem::path& dir, const std::string& name) override {
    return inner_.read(dir, name);
  }
  bool exists(const std::filesystem::path& dir, const std::string& name) override {
    return inner_.exists(dir, name);
  }
  std::vector<std::string> list(const std::filesystem::path& dir) override {
    if (dir == counted_) {
      ++listings;
      if (fail_next_listing) {
        fail_next_listing = false;
        throw StorageError("list " + dir.string() + ": failed on purpose");
      }
    }
    return inner_.list(dir);
  }
  void write(const std::filesystem::path& dir, const std::string& name, Bytes bytes) override {
    inner_.write(dir, name, std::move(bytes));
  }
  void create_empty(const std::filesystem::path& dir, const std::string& name) override {
    inner_.create_empty(dir, name);
  }
  bool remove(const std::filesystem::path& dir, const std::string& name) override {
    return inner_.remove(dir, name);
  }
  void sync(const std::filesystem::path& dir) override { inner_.sync(dir); }

  int listings = 0;
  bool fail_next_listing = false;

 private:
  std::filesystem::path counted_;
  fb::DirectIo inner_;
};

// Runs the session forms of enqueue and dequeue through a CountingIo.
class CountedStore {
 public:
  CountedStore(const std::filesystem::path& dir, fb::FileStoreTuning tuning = {})
      : store_(dir, TestClock().clock(), tuning), io_(store_.layout().queue_dir()) {}

  void enqueue(const std::string& id, std::int64_t eta) {
    fb::DirectoryLock held = store_.lock();
    fb::Session session{io_, held};
    store_.enqueue(session, make_task(id, eta));
  }
  std::string dequeue(std::int64_t now) {
    fb::DirectoryLock held = store_.lock();
    fb::Session session{io_, held};
    const auto task = store_.dequeue(session, from_micros(now));
    return task ? task->id : "(nothing)";
  }
  int listings() const { return io_.listings; }
  void fail_next_listing() { io_.fail_next_listing = true; }

 private:
  fb::FileStore store_;
  CountingIo io_;
};

// Checks: FILE-9
TEST(FileDueIndex, ClaimsNeverListTheQueueDirectory) {
  TempDir dir;
  CountedStore store(dir.path());
  for (int i = 0; i < 5; ++i) store.enqueue("t" + std::to_string(i), 100 + i);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(store.dequeue(1'000), "t" + std::to_string(i));
  EXPECT_EQ(store.dequeue(1'000), "(nothing)");
  EXPECT_EQ(store.listings(), 0) << "a claim listed queue/: its cost grows with the store";
}

// Checks: FILE-9
TEST(FileDueIndex, AnotherInstancesMarkersAreSeenInOrder) {
  TempDir dir;
  CountedStore first(dir.path());
  CountedStore second(dir.path());
  first.enqueue("late", 300);
  EXPECT_EQ(first.dequeue(1'000), "late");
  second.enqueue("b", 200);
  second.enqueue("a", 100);
  first.enqueue("c", 250);
  EXPECT_EQ(first.dequeue(1'000), "a");
  EXPECT_EQ(second.dequeue(1'000), "b");
  EXPECT_EQ(first.dequeue(1'000), "c");
  EXPECT_EQ(first.dequeue(1'000), "(nothing)");
  EXPECT_EQ(second.dequeue(1'000), "(nothing)");
}

// Checks: FILE-9
TEST(FileDueIndex, ALogStartedAfreshByAnotherInstanceLosesNothing) {
  TempDir dir;
  // A limit so small that nearly every enqueue starts the log afresh.
  const fb::FileStoreTuning tiny{.due_log_limit = 64};
  CountedStore first(dir.path(), tiny);
  CountedStore second(dir.path(), tiny);
  EXPECT_EQ(first.dequeue(1'000), "(nothing)");
  for (int i = 0; i < 20; ++i) second.enqueue("t" + std::to_string(i), 100 + i);
  for (int i = 0; i < 20; i += 2) {
    EXPECT_EQ(first.dequeue(1'000), "t" + std::to_string(i));
    EXPECT_EQ(second.dequeue(1'000), "t" + std::to_string(i + 1));
  }
  EXPECT_EQ(first.dequeue(1'000), "(nothing)");
  EXPECT_GT(first.listings() + second.listings(), 0) << "the log was never started afresh";
}

// Checks: FILE-9
TEST(FileDueIndex, ARemovedLogIsFollowed) {
  TempDir dir;
  CountedStore first(dir.path());
  CountedStore second(dir.path());
  EXPECT_EQ(first.dequeue(1'000), "(nothing)");
  std::filesystem::remove(dir.path() / "DUE-LOG");
  second.enqueue("a", 100);
  EXPECT_EQ(first.dequeue(1'000), "a") << "the instances lost sight of each other";
  first.enqueue("b", 200);
  EXPECT_EQ(second.dequeue(1'000), "b");
}

// Checks: FILE-9
TEST(FileDueIndex, AListingThatFailsIsTriedAgain) {
  TempDir dir;
  CountedStore first(dir.path());
  CountedStore second(dir.path());
  first.enqueue("a", 100);
  {
    std::ofstream log(dir.path() / "DUE-LOG", std::ios::app | std::ios::binary);
    log << "junk\n";  // makes the next claim list queue/
  }
  first.fail_next_listing();
  EXPECT_THROW(first.dequeue(1'000), StorageError);
  second.enqueue("b", 200);
  EXPECT_EQ(first.dequeue(1'000), "a") << "a failed listing left the index empty";
  EXPECT_EQ(first.dequeue(1'000), "b");
}

// Checks: FILE-9
TEST(FileDueIndex, ADamagedLogIsRebuiltFromTheQueueDirectory) {
  TempDir dir;
  CountedStore first(dir.path());
  CountedStore second(dir.path());
  EXPECT_EQ(first.dequeue(1'000), "(nothing)");
  second.enqueue("a", 100);
  {
    std::ofstream log(dir.path() / "DUE-LOG", std::ios::app | std::ios::binary);
    log << "not a marker name\n";
  }
  second.enqueue("b", 200);
  EXPECT_EQ(first.dequeue(1'000), "a");
  EXPECT_EQ(first.dequeue(1'000), "b");
  EXPECT_EQ(first.listings(), 1) << "the damaged log should have made it list queue/ once";
  std::filesystem::resize_file(dir.path() / "DUE-LOG", 3);  // not even a whole header
  second.enqueue("c", 300);
  EXPECT_EQ(first.dequeue(1'000), "c");
}

}  // namespace
}  // namespace taskstore::file_test
