// Several processes sharing one database file. Each test forks before it starts any
// thread of its own (every storage the parent opens is destroyed first, which joins its
// pool), and the children leave with _exit so no gtest teardown runs twice.

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <vector>

#include "test_support.hpp"

namespace taskstore::sqlite_test {
namespace {

constexpr int kChildren = 4;

// Forks kChildren processes that wait on a common start signal, so they hit the database
// at the same moment, then each runs `child(index, out)` writing its findings to its own
// file. Returns each child's output; a child that threw or crashed fails the test.
std::vector<std::string> run_children(const std::filesystem::path& dir,
                                      const std::function<void(int, std::ostream&)>& child) {
  int start[2];
  if (pipe(start) != 0) throw std::runtime_error("pipe failed");
  std::vector<pid_t> pids;
  for (int i = 0; i < kChildren; ++i) {
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      close(start[1]);
      char ignored;
      (void)!read(start[0], &ignored, 1);  // returns at EOF: the parent closed its end
      int status = 0;
      try {
        std::ofstream out(dir / ("child-" + std::to_string(i) + ".out"));
        child(i, out);
        out.flush();
        if (!out) status = 3;
      } catch (const std::exception& e) {
        std::ofstream(dir / ("child-" + std::to_string(i) + ".err")) << e.what();
        status = 2;
      } catch (...) {
        status = 2;
      }
      _exit(status);
    }
    pids.push_back(pid);
  }
  close(start[0]);
  close(start[1]);  // go

  std::vector<std::string> outputs;
  for (int i = 0; i < kChildren; ++i) {
    int status = 0;
    waitpid(pids[i], &status, 0);
    std::ifstream err(dir / ("child-" + std::to_string(i) + ".err"));
    std::stringstream error;
    error << err.rdbuf();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "child " << i << " status " << status << ": " << error.str();
    std::ifstream in(dir / ("child-" + std::to_string(i) + ".out"));
    std::stringstream text;
    text << in.rdbuf();
    outputs.push_back(text.str());
  }
  return outputs;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Checks: SQL-6
TEST(SqliteMultiProcess, ProcessesNeverClaimTheSameTask) {
  TempDir dir;
  const auto db = dir.path() / "q.db";
  constexpr int kTasks = 300;
  std::set<std::string> enqueued;
  {
    asio::io_context io;
    SqliteStorage storage(options_for(db, at(0)));
    for (int i = 0; i < kTasks; ++i) {
      enqueued.insert(sync_wait(io, storage.enqueue(make_task("task-" + std::to_string(i), i % 17))));
    }
  }  // joins the storage's threads: the parent is single-threaded again

  const auto outputs = run_children(dir.path(), [&](int, std::ostream& out) {
    asio::io_context io;
    SqliteStorage storage(options_for(db, at(0)));
    while (auto task = sync_wait(io, storage.dequeue(at(kTasks)))) out << task->id << "\n";
  });

  std::multiset<std::string> claimed;
  std::string per_child;
  for (const auto& output : outputs) {
    const auto ids = lines(output);
    claimed.insert(ids.begin(), ids.end());
    per_child += std::to_string(ids.size()) + " ";
  }
  RecordProperty("claims_per_child", per_child);  // how the work spread, for the curious
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kTasks)) << "some task claimed twice or never";
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()), enqueued);
  for (const auto& id : enqueued) EXPECT_EQ(claimed.count(id), 1u) << id;
}

// Checks: SQL-1, SQL-6
TEST(SqliteMultiProcess, ProcessesCreatingOneNewDatabaseAtOnceAllSucceed) {
  TempDir dir;
  const auto db = dir.path() / "fresh.db";
  constexpr int kPerChild = 50;
  run_children(dir.path(), [&](int index, std::ostream&) {
    asio::io_context io;
    SqliteStorage storage(options_for(db, at(0)));
    for (int i = 0; i < kPerChild; ++i) {
      sync_wait(io, storage.enqueue(make_task(std::to_string(index) + "-" + std::to_string(i))));
    }
  });
  RawDb raw(db);
  EXPECT_EQ(raw.query("PRAGMA user_version"), std::to_string(SqliteStorage::kSchemaVersion));
  EXPECT_EQ(raw.query("SELECT count(*) FROM tasks"), std::to_string(kChildren * kPerChild));
}

// Checks: SQL-6
TEST(SqliteMultiProcess, ForkedChildMustOpenItsOwnInstance) {
  TempDir dir;
  SqliteStorage storage(options_for(dir.path() / "q.db", at(0)));
  asio::io_context io;
  sync_wait(io, storage.enqueue(make_task("t", 10)));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 1;
    try {
      asio::io_context child_io;
      sync_wait(child_io, storage.get_task("t"));
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
  EXPECT_TRUE(sync_wait(io, storage.get_task("t")).has_value()) << "the parent's instance broke";
}

}  // namespace
}  // namespace taskstore::sqlite_test
