// Several processes claiming from one directory (FILE-3).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>

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

}  // namespace
}  // namespace taskstore::file_test
