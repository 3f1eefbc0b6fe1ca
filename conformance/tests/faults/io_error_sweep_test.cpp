// The fault layer at work (run with LD_PRELOAD=libtaskstore_faults.so, as ctest does):
// first the layer's own contract, then an I/O-error sweep over a fixed mixed workload on
// the SQLite and file reference stores: at every call the workload makes, each errno, once
// and persisting, the failing operation raises StorageError and is all or nothing (no
// acknowledged write missing, no claim nobody holds, no PENDING task dequeue cannot
// find), and once the fault clears the same instance works. A case replays with
// TASKSTORE_FAULT_TRACE=1, which prints each call the layer counts.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "taskstore/conformance/claim_check.hpp"
#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/conformance/expect_error.hpp"
#include "taskstore/conformance/fault_layer.hpp"
#include "taskstore/errors.hpp"
#include "taskstore/file_storage.hpp"
#include "taskstore/sqlite_storage.hpp"
#include "taskstore/storage_wrapper.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const FaultLayer& layer() {
  static const std::optional<FaultLayer> loaded = FaultLayer::loaded();
  if (!loaded) {
    ADD_FAILURE() << "the fault layer is not loaded: run with LD_PRELOAD=" << fault_layer_library();
    std::abort();
  }
  return *loaded;
}

int open_file(const fs::path& path) { return ::open(path.c_str(), O_RDWR | O_CREAT, 0644); }

TEST(FaultLayer, FailsTheNthCallInScopeOnce) {
  TemporaryDirectory dir("faults");
  layer().set_scope(dir.path().string());
  const int fd = open_file(dir.path() / "f");
  ASSERT_GE(fd, 0);
  layer().arm(kFaultSync, 2, EIO, false);
  EXPECT_EQ(::fsync(fd), 0);
  EXPECT_EQ(::fsync(fd), -1);
  EXPECT_EQ(errno, EIO);
  EXPECT_EQ(::fsync(fd), 0) << "a fault armed once fired again";
  EXPECT_EQ(::write(fd, "x", 1), 1) << "a kind not armed failed";
  layer().clear();
  ::close(fd);
}

TEST(FaultLayer, PersistsUntilClearedAndIgnoresFilesOutsideItsScope) {
  TemporaryDirectory dir("faults");
  TemporaryDirectory outside("elsewhere");
  layer().set_scope(dir.path().string());
  const int in = open_file(dir.path() / "f");
  const int out = open_file(outside.path() / "f");
  ASSERT_GE(in, 0);
  ASSERT_GE(out, 0);
  const long before = layer().calls(kFaultWrite);
  layer().arm(kFaultWrite, 1, ENOSPC, true);
  EXPECT_EQ(::write(out, "x", 1), 1) << "a file outside the scope was failed";
  EXPECT_EQ(::write(in, "x", 1), -1);
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_EQ(::write(in, "x", 1), -1) << "a persistent fault stopped on its own";
  EXPECT_EQ(::rename((dir.path() / "f").c_str(), (dir.path() / "g").c_str()), 0)
      << "a kind not armed failed";
  layer().clear();
  EXPECT_EQ(::write(in, "x", 1), 1) << "the fault outlived clear()";
  EXPECT_EQ(layer().calls(kFaultWrite) - before, 3) << "writes outside the scope were counted";
  ::close(in);
  ::close(out);
}

// --- The sweep ---------------------------------------------------------------------------

Timestamp t0() { return from_micros(1'767'225'600'000'001); }

Task task(const std::string& id, Timestamp eta) {
  Task t;
  t.id = id;
  t.name = "sweep.noop";
  t.payload = to_bytes("payload of " + id);
  t.eta = eta;
  t.max_retries = 3;
  t.created_at = t0();
  t.updated_at = t0();
  return t;
}

// What the workload was told: which operations were acknowledged, and what it was handed.
struct Outcome {
  std::vector<std::string> log;          // "enqueue a: ok", "dequeue: StorageError ..."
  std::set<std::string> enqueued;        // acknowledged enqueues
  std::set<std::string> held;            // returned by an acknowledged dequeue
  std::map<std::string, TaskStatus> finished;  // acknowledged mark_done / mark_failed(final)
  std::vector<std::string> wrong_errors;  // failures that were not StorageError
  bool any_failed = false;
};

// A fixed mixed workload: every kind of write, on tasks in every state.
void run_workload(BaseStorage& store, boost::asio::io_context& io, Outcome& out) {
  const auto step = [&](const std::string& what, const std::function<void()>& op) {
    try {
      op();
      out.log.push_back(what + ": ok");
      return true;
    } catch (const StorageError& e) {
      out.any_failed = true;
      out.log.push_back(what + ": " + type_name_of(e) + " (" + e.what() + ")");
    } catch (const std::exception& e) {
      out.any_failed = true;
      out.wrong_errors.push_back(what + " raised " + type_name_of(e) + " (" + e.what() +
                                 "), not a StorageError");
    }
    return false;
  };
  for (const Task& t : {task("a", t0() - 3s), task("b", t0() - 2s), task("c", t0() + 1h),
                        task("d", t0() - 1s)}) {
    if (step("enqueue " + t.id, [&] { sync_wait(io, store.enqueue(t)); })) {
      out.enqueued.insert(t.id);
    }
  }
  const auto claim = [&](const std::string& what) {
    std::optional<Task> got;
    if (step(what, [&] { got = sync_wait(io, store.dequeue(t0())); }) && got) {
      out.held.insert(got->id);
      return got->id;
    }
    return std::string();
  };
  const std::string first = claim("dequeue 1");
  if (!first.empty() &&
      step("mark_done " + first, [&] {
        sync_wait(io, store.mark_done(first, TaskResult{.task_id = first,
                                                        .value = to_bytes("v"),
                                                        .finished_at = t0()}));
      })) {
    out.finished[first] = TaskStatus::SUCCESS;
  }
  const std::string second = claim("dequeue 2");
  if (!second.empty()) {
    step("mark_failed " + second + " (retry)",
         [&] { sync_wait(io, store.mark_failed(second, "transient", true)); });
    step("reschedule " + second, [&] { sync_wait(io, store.reschedule(second, t0())); });
  }
  const std::string third = claim("dequeue 3");
  if (!third.empty() && step("mark_failed " + third + " (final)", [&] {
        sync_wait(io, store.mark_failed(third, "gave up", false));
      })) {
    out.finished[third] = TaskStatus::FAILED;
  }
  step("mark_running c", [&] { sync_wait(io, store.mark_running("c")); });
  step("reschedule c", [&] { sync_wait(io, store.reschedule("c", t0() - 10s)); });
  step("purge_results", [&] { sync_wait(io, store.purge_results(t0() - 1h)); });
}

// The state a store shows after the workload, checked against what the workload was
// told (IOERR-1): acknowledged work is there, a RUNNING task was handed to someone, and
// every PENDING task can be claimed. Drains the store: what it claims joins out.held.
std::string check_state(BaseStorage& store, boost::asio::io_context& io, Outcome& out,
                        const std::string& when) {
  std::vector<std::string> found;
  const auto problem = [&](const std::string& what) { found.push_back(what); };
  std::set<std::string> pending;
  for (const std::string id : {"a", "b", "c", "d"}) {
    const auto got = sync_wait(io, store.get_task(id));
    if (!got) {
      if (out.enqueued.count(id) != 0) problem("acknowledged enqueue of '" + id + "' is missing");
      continue;
    }
    if (got->status == TaskStatus::RUNNING && out.held.count(id) == 0 && id != "c") {
      problem("'" + id + "' is RUNNING but no acknowledged dequeue handed it out");
    }
    if (got->status == TaskStatus::PENDING) pending.insert(id);
    if (const auto f = out.finished.find(id); f != out.finished.end()) {
      if (got->status != f->second) {
        problem("'" + id + "' is " + std::string(to_string(got->status)) +
                     ", but its acknowledged completion made it " + std::string(to_string(f->second)));
      }
      if (!sync_wait(io, store.get_result(id))) {
        problem("the acknowledged result of '" + id + "' is missing");
      }
    }
  }
  // Every PENDING task is due by now; the claims must find each one, and nothing else.
  std::set<std::string> drained;
  while (const auto claimed = sync_wait(io, store.dequeue(t0() + 24h))) {
    if (!drained.insert(claimed->id).second) break;
    out.held.insert(claimed->id);
    if (pending.count(claimed->id) == 0) {
      problem("dequeue handed out '" + claimed->id + "', which get_task did not show PENDING");
    }
  }
  for (const auto& id : pending) {
    if (drained.count(id) == 0) problem("'" + id + "' is PENDING but dequeue cannot find it");
  }
  std::string text;
  for (const auto& line : found) text += "  " + when + ": " + line + "\n";
  return text;
}

struct SweepCase {
  unsigned kinds;
  long nth;
  int error;
  bool persist;
  std::string name() const {
    return std::string(persist ? "persisting " : "one ") + (error == EIO ? "EIO" : "ENOSPC") +
           " at call " + std::to_string(nth) + " of the workload";
  }
};

// Opens the store under test in a directory (a new store, or the one there).
using OpenStore = std::function<std::unique_ptr<BaseStorage>(const fs::path& directory)>;

// Stores stamp from a fixed clock, so the workload's purge cutoff means the same on any
// machine.
std::unique_ptr<BaseStorage> open_sqlite(const fs::path& directory) {
  return std::make_unique<SqliteStorage>(
      SqliteStorageOptions{.path = directory / "q.db", .clock = [] { return t0(); }});
}

std::unique_ptr<BaseStorage> open_file_store(const fs::path& directory) {
  return std::make_unique<FileStorage>(
      FileStorageOptions{.directory = directory / "store", .clock = [] { return t0(); }});
}

// Every write alone, straight to disk: the file store's other write path.
std::unique_ptr<BaseStorage> open_file_store_direct(const fs::path& directory) {
  return std::make_unique<FileStorage>(FileStorageOptions{
      .directory = directory / "store", .clock = [] { return t0(); }, .max_group_size = 1});
}

// Runs the workload on a new store with `c` armed; returns what went wrong, if anything.
std::string run_case(const OpenStore& open, const SweepCase& c, bool& fired) {
  TemporaryDirectory dir("io-sweep");
  layer().set_scope(dir.path().string());
  boost::asio::io_context io;
  Outcome out;
  std::string problems;
  {
    const auto opened = open(dir.path());
    BaseStorage& store = *opened;
    const long fired_before = layer().fired();
    layer().arm(c.kinds, c.nth, c.error, c.persist);
    run_workload(store, io, out);
    layer().clear();
    fired = layer().fired() > fired_before;
    for (const auto& w : out.wrong_errors) problems += w + "\n";
    // IOERR-2: the same instance works again once the fault is gone.
    try {
      sync_wait(io, store.enqueue(task("after", t0() - 1h)));
      const auto claimed = sync_wait(io, store.dequeue(t0() - 30min));
      if (!claimed || claimed->id != "after") {
        problems += "after the fault cleared, the instance did not claim a new task\n";
      } else {
        sync_wait(io, store.mark_done("after", TaskResult{.task_id = "after", .finished_at = t0()}));
      }
    } catch (const std::exception& e) {
      problems += std::string("after the fault cleared, the same instance failed: ") + e.what() + "\n";
    }
    problems += check_state(store, io, out, "same instance");
  }
  try {
    const auto reopened = open(dir.path());
    problems += check_state(*reopened, io, out, "reopened");
  } catch (const std::exception& e) {
    problems += std::string("the store does not reopen: ") + e.what() + "\n";
  }
  if (!problems.empty()) {
    problems = c.name() + ":\n" + problems + "  the workload saw:\n";
    for (const auto& line : out.log) problems += "    " + line + "\n";
  }
  return problems;
}

// Fails every call the workload makes on `open`'s store in turn, with each errno, once and
// persisting, and adds what each case found to `failures`. Returns the calls swept.
long sweep(const std::string& backend, const OpenStore& open, FailureDigest& failures) {
  constexpr unsigned kKinds = kFaultWrite | kFaultSync | kFaultOpen | kFaultRename |
                              kFaultUnlink | kFaultTruncate;
  // A dry run counts the calls the workload makes: the sweep fails each in turn.
  long calls = 0;
  {
    TemporaryDirectory dir("io-sweep");
    layer().set_scope(dir.path().string());
    boost::asio::io_context io;
    const auto store = open(dir.path());
    Outcome out;
    const long before = layer().calls(kKinds);
    run_workload(*store, io, out);
    calls = layer().calls(kKinds) - before;
    EXPECT_FALSE(out.any_failed) << "the workload fails without a fault";
  }
  EXPECT_GT(calls, 10) << "the layer saw almost none of the store's I/O";
  long fired_cases = 0;
  for (long nth = 1; nth <= calls; ++nth) {
    for (const int error : {EIO, ENOSPC}) {
      for (const bool persist : {false, true}) {
        bool fired = false;
        const std::string problems = run_case(open, {kKinds, nth, error, persist}, fired);
        if (fired) ++fired_cases;
        if (!problems.empty()) failures.add(problems);
      }
    }
  }
  std::cout << "I/O-error sweep on " << backend << ": " << calls
            << " calls x 2 errnos x once/persisting, " << fired_cases << " cases fired a fault\n";
  EXPECT_GT(fired_cases, calls) << "most armed faults never fired";
  return calls;
}

void expect_survives_sweep(const std::string& backend, const OpenStore& open) {
  FailureDigest failures("cases of the I/O-error sweep failed");
  sweep(backend, open, failures);
  EXPECT_TRUE(failures.empty()) << failures.str();
}

// The sweep's own self-test: SQLite with an enqueue that reports success whatever happened
// (it swallows StorageError) must be caught, as an acknowledged enqueue that is missing.
class SwallowsEnqueueErrors final : public StorageWrapper {
 public:
  using StorageWrapper::StorageWrapper;
  Awaitable<std::string> enqueue(Task task) override {
    const std::string id = task.id;
    try {
      auto op = target().enqueue(std::move(task));
      co_await std::move(op);
    } catch (const StorageError&) {
    }
    co_return id;
  }
};

TEST(IoErrorSweep, StoreThatSwallowsAnEnqueueError_IsCaught) {
  FailureDigest failures("cases of the I/O-error sweep failed");
  sweep("sqlite swallowing enqueue errors", [](const fs::path& directory) {
    return std::make_unique<SwallowsEnqueueErrors>(open_sqlite(directory));
  }, failures);
  EXPECT_FALSE(failures.empty()) << "the sweep did not see acknowledged enqueues go missing";
  EXPECT_NE(failures.str().find("acknowledged enqueue of"), std::string::npos) << failures.str();
}

TEST(IoErrorSweep, SqliteStore_EveryCallEveryErrnoOnceAndPersisting) {
  expect_survives_sweep("sqlite", open_sqlite);
}

// Before issue 16's fixes this found a PENDING task without its due entry (an enqueue
// whose read of the marker's earlier state failed, so the marker was never written) and
// claims left RUNNING with nobody holding them (a failed claim whose undo failed too).
TEST(IoErrorSweep, FileStore_EveryCallEveryErrnoOnceAndPersisting) {
  expect_survives_sweep("file", open_file_store);
}

TEST(IoErrorSweep, FileStoreWritingDirectly_EveryCallEveryErrnoOnceAndPersisting) {
  expect_survives_sweep("file, every write alone", open_file_store_direct);
}

}  // namespace
}  // namespace taskstore::conformance
