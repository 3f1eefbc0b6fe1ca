// Several processes claiming from one directory (FILE-3).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>

#include <sys/file.h>

#include "directory_lock.hpp"
#include "posix_file.hpp"
#include "taskstore/file_storage.hpp"
#include "test_support.hpp"

namespace taskstore::file_test {
namespace {

namespace fs = std::filesystem;

// Child body: claims until nothing is due, one id per line in `out`. Returns the exit
// code; never returns into googletest.
int claim_until_empty(const fs::path& store_dir, const fs::path& out) {
  try {
    std::ofstream claims(out);
    boost::asio::io_context io;
    auto store = open_store(store_dir, TestClock().clock(), 2);
    while (auto task = sync_wait(io, store->dequeue(from_micros(1'000'000)))) {
      claims << task->id << '\n' << std::flush;
    }
    store.reset();
    return claims ? 0 : 3;
  } catch (...) {
    return 2;
  }
}

// Checks: FILE-3
TEST(FileMultiProcess, ForkedProcessesClaimEveryTaskExactlyOnce) {
  TempDir dir;
  const fs::path store_dir = dir.path() / "store";
  constexpr int kTasks = 300;
  constexpr int kChildren = 4;
  std::set<std::string> enqueued;
  {
    // Destroyed before forking, so the parent has no pool threads when it forks.
    boost::asio::io_context io;
    auto store = open_store(store_dir);
    for (int i = 0; i < kTasks; ++i) {
      const std::string id = "task-" + std::to_string(i);
      sync_wait(io, store->enqueue(make_task(id, i % 10)));  // many equal etas
      enqueued.insert(id);
    }
  }

  std::vector<pid_t> children;
  for (int c = 0; c < kChildren; ++c) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) {
      // _exit: no gtest teardown, no atexit handlers, no flushing the parent's buffers.
      ::_exit(claim_until_empty(store_dir, dir.path() / ("claims-" + std::to_string(c))));
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "child " << pid << " did not exit normally";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "child " << pid << " failed";
  }

  std::multiset<std::string> claimed;
  for (int c = 0; c < kChildren; ++c) {
    std::ifstream in(dir.path() / ("claims-" + std::to_string(c)));
    for (std::string id; std::getline(in, id);) claimed.insert(id);
  }
  for (const auto& id : enqueued) {
    EXPECT_EQ(claimed.count(id), 1u) << id << " was claimed " << claimed.count(id) << " times";
  }
  EXPECT_EQ(claimed.size(), enqueued.size());

  boost::asio::io_context io;
  auto store = open_store(store_dir);
  EXPECT_EQ(sync_wait(io, store->dequeue(from_micros(1'000'000))), std::nullopt);
  EXPECT_EQ(sync_wait(io, store->get_task("task-0"))->attempts, 1);
}

// Checks: FILE-3
TEST(FileMultiProcess, LockIsReleasedEvenWhileAForkedChildHoldsTheDescriptor) {
  TempDir dir;
  const fs::path lock_path = dir.path() / "LOCK";
  int hold[2];
  ASSERT_EQ(::pipe(hold), 0);
  pid_t child = -1;
  {
    file_backend::DirectoryLock lock(lock_path);
    child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // keeps the inherited descriptor open until the parent says go
      ::close(hold[1]);
      char byte;
      while (::read(hold[0], &byte, 1) < 0 && errno == EINTR) {
      }
      ::_exit(0);
    }
    ::close(hold[0]);
  }  // the parent's holder releases here, while the child still has the descriptor
  const file_backend::UniqueFd probe = file_backend::open_file(lock_path, O_RDWR);
  const bool free_again = ::flock(probe.get(), LOCK_EX | LOCK_NB) == 0;
  ::close(hold[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(free_again) << "the store stayed locked by a descriptor a child inherited";
}

// Checks: FILE-3
TEST(FileMultiProcess, ForkedChildMustOpenItsOwnInstance) {
  TempDir dir;
  auto store = open_store(dir.path() / "store");
  boost::asio::io_context io;
  sync_wait(io, store->enqueue(make_task("t", 10)));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 1;
    try {
      boost::asio::io_context child_io;
      sync_wait(child_io, store->get_task("t"));
    } catch (const StorageError& e) {
      code = std::string(e.what()).find("forked child must open its own instance") !=
                     std::string::npos
                 ? 0
                 : 2;
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the inherited instance worked or hung; 2: wrong message";
  EXPECT_TRUE(sync_wait(io, store->get_task("t")).has_value()) << "the parent's instance broke";
}

}  // namespace
}  // namespace taskstore::file_test
