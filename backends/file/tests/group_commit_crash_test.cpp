// Group commit under SIGKILL (FILE-6, FILE-2): a child runs many writers at once, so its
// operations share commit groups (a task enqueued and claimed in one group, markers
// created and dropped together), and is killed at random moments. Whatever it had
// acknowledged must be on disk, no task may be claimed twice, and no acknowledged task may
// be left PENDING but unclaimable. The conformance crash suite checks single operations;
// this one checks groups.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "test_support.hpp"

namespace taskstore::file_test {
namespace {

namespace asio = boost::asio;

constexpr int kWriters = 8;
constexpr std::int64_t kFarFuture = 4'000'000'000'000'000;

// One line per acknowledged operation: "E <id>" once enqueue returned, "D <id>" once a
// dequeue returned that task. Lines are shorter than PIPE_BUF, so each write is atomic.
void acknowledge(int fd, char kind, const std::string& id) {
  const std::string line = std::string(1, kind) + " " + id + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(3);
}

Awaitable<void> writer(FileStorage& store, int fd, int cycle, int index) {
  for (int n = 0;; ++n) {
    const std::string id =
        "k" + std::to_string(cycle) + "-w" + std::to_string(index) + "-" + std::to_string(n);
    Task task = make_task(id);
    co_await store.enqueue(std::move(task));
    acknowledge(fd, 'E', id);
    const auto claimed = co_await store.dequeue(from_micros(kFarFuture));
    if (claimed) acknowledge(fd, 'D', claimed->id);
  }
}

[[noreturn]] void run_child(const std::filesystem::path& dir, int fd, int cycle) {
  try {
    auto store = open_store(dir);
    asio::io_context io;
    for (int w = 0; w < kWriters; ++w) {
      asio::co_spawn(io, writer(*store, fd, cycle, w), asio::detached);
    }
    io.run();
  } catch (...) {
    ::_exit(2);
  }
  ::_exit(0);
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// Checks: FILE-6, FILE-2
TEST(FileGroupCommitCrash, KilledWhileGroupsCommitLosesNothingAcknowledged) {
  TempDir dir;
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::set<std::string> enqueued;
  std::set<std::string> claimed;
  std::vector<std::string> violations;
  for (int cycle = 0; cycle < 20; ++cycle) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      run_child(dir.path(), fds[1], cycle);
    }
    ::close(fds[1]);
    // Kills once the child has acknowledged a random number of operations: the moment
    // depends on its progress, never on time.
    const int target = std::uniform_int_distribution<int>(1, 300)(rng);
    std::string seen;
    for (int lines = 0; lines < target;) {
      char c;
      if (::read(fds[0], &c, 1) != 1) break;  // the child is gone: the assert below says why
      seen += c;
      if (c == '\n') ++lines;
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child ended on its own, status " << status;
    std::istringstream lines(seen + read_all(fds[0]));
    ::close(fds[0]);
    for (std::string line; std::getline(lines, line);) {
      const std::string id = line.substr(2);
      if (line[0] == 'E') enqueued.insert(id);
      if (line[0] == 'D' && !claimed.insert(id).second) {
        violations.push_back("cycle " + std::to_string(cycle) + ": '" + id + "' claimed twice");
      }
    }
  }
  asio::io_context io;
  auto store = open_store(dir.path());
  for (const auto& id : enqueued) {
    const auto task = sync_wait(io, store->get_task(id));
    if (!task) violations.push_back("acknowledged enqueue of '" + id + "' lost");
  }
  for (const auto& id : claimed) {
    const auto task = sync_wait(io, store->get_task(id));
    if (!task || task->status != TaskStatus::RUNNING) {
      violations.push_back("acknowledged claim of '" + id + "' lost");
    }
  }
  // Draining claims every task still PENDING, and none that was claimed already.
  while (const auto task = sync_wait(io, store->dequeue(from_micros(kFarFuture)))) {
    if (claimed.contains(task->id)) violations.push_back("'" + task->id + "' claimed twice");
  }
  for (const auto& id : enqueued) {
    const auto task = sync_wait(io, store->get_task(id));
    if (task && task->status == TaskStatus::PENDING) {
      violations.push_back("'" + id + "' left PENDING but not claimable");
    }
  }
  EXPECT_FALSE(enqueued.empty());
  EXPECT_FALSE(claimed.empty());
  for (const auto& violation : violations) ADD_FAILURE() << violation;
}

}  // namespace
}  // namespace taskstore::file_test
