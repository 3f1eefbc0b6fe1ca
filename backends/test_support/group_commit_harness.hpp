#pragma once
// A harness for the durable backends' group-commit tests (file, SQLite, PostgreSQL):
// starts a set of writes while something outside the backend (a lock held as another
// process would) keeps the backend's first group from finishing, waits until every other
// write is queued behind it, lets go, and collects each write's outcome. Groups are read
// from the backend's counters (group_commit_stats), never inferred from timing.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "taskstore/errors.hpp"
#include "taskstore/internal/group_commit.hpp"
#include "taskstore/storage.hpp"

namespace taskstore::test_support {

// A write under test: what it does (returning a detail worth checking, such as the id a
// dequeue claimed, or ""), and the outcome it must have whatever group it lands in.
template <typename Storage>
struct GroupWrite {
  std::string label;
  std::function<Awaitable<std::string>(Storage&)> run;
  std::string expected;
};

// "ok" followed by the detail, or the kind of error: "not found", "conflict",
// "corruption", or "other error: " and its message.
inline std::string outcome_of(std::exception_ptr error, const std::string& detail = "") {
  if (!error) return "ok" + detail;
  try {
    std::rethrow_exception(error);
  } catch (const NotFoundError&) {
    return "not found";
  } catch (const ConflictError&) {
    return "conflict";
  } catch (const CorruptionError&) {
    return "corruption";
  } catch (const std::exception& e) {
    return std::string("other error: ") + e.what();
  }
}

// An operation's completion as a write's detail: "" (nothing worth checking).
inline Awaitable<std::string> finished(Awaitable<void> op) {
  co_await std::move(op);
  co_return std::string();
}

// Polls `condition` until it holds or a minute has passed; bounded so that a bug shows
// as a failure, not a hang, and never a claim about speed.
inline bool eventually(const std::function<bool()>& condition) {
  using namespace std::chrono_literals;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// The caller has made the backend's commits wait (a lock held from outside). Starts
// writes[0] and waits until its group is under way (stuck on the hold), starts the others
// and waits until all of them are queued behind it, so that they share the next group;
// then calls `release` and runs everything to the end. Returns each write's outcome by
// label. With `release_first` false the hold outlasts the writes (they are meant to fail
// on it) and is released only once they have all finished.
template <typename Storage>
std::map<std::string, std::string> run_behind_hold(boost::asio::io_context& io, Storage& storage,
                                                   const std::vector<GroupWrite<Storage>>& writes,
                                                   const std::function<void()>& release,
                                                   bool release_first = true) {
  std::map<std::string, std::exception_ptr> errors;
  std::map<std::string, std::string> details;
  std::map<std::string, bool> done;
  const GroupCommitStats before = storage.group_commit_stats();
  io.restart();  // sync_wait leaves it stopped
  auto guard = boost::asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });
  const auto start = [&](const GroupWrite<Storage>& write) {
    boost::asio::co_spawn(
        io,
        [&storage, &write, &details]() -> Awaitable<void> {
          auto run = write.run(storage);
          std::string detail = co_await std::move(run);
          details[write.label] = std::move(detail);
        },
        [&errors, &done, label = write.label](std::exception_ptr error) {
          errors[label] = error;
          done[label] = true;
        });
  };
  start(writes.front());
  const bool first_waits =
      eventually([&] { return storage.group_commit_stats().groups == before.groups + 1; });
  for (std::size_t i = 1; i < writes.size(); ++i) start(writes[i]);
  if (release_first) {
    EXPECT_TRUE(first_waits) << "the first write's group never started";
    EXPECT_TRUE(eventually(
        [&] { return storage.group_commit_stats().waiting == writes.size() - 1; }))
        << "the other writes never all queued behind the first";
    release();
  }
  EXPECT_TRUE(eventually([&] {
    const GroupCommitStats now = storage.group_commit_stats();
    return now.operations == before.operations + writes.size() && now.waiting == 0;
  })) << "the writes never all finished";
  guard.reset();
  runner.join();
  if (!release_first) release();
  io.restart();
  std::map<std::string, std::string> outcomes;
  for (const GroupWrite<Storage>& write : writes) {
    EXPECT_TRUE(done[write.label]) << write.label << " never finished";
    outcomes[write.label] = outcome_of(errors[write.label], details[write.label]);
  }
  return outcomes;
}

}  // namespace taskstore::test_support
