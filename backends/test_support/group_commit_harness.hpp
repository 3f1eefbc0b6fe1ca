#pragma once
// A harness for the durable backends' group-commit tests: starts a set of writes while
// something outside the backend (a lock held by a raw connection) keeps the backend's
// first group from finishing, waits until every other write is queued behind it, lets go,
// and collects each write's outcome. Groups are then read from the backend's counters
// (group_commit_stats), never inferred from timing.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "taskstore/errors.hpp"
#include "taskstore/group_commit.hpp"
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

// Starts every write on `io` (the caller has already made the backend's commits wait),
// waits until the first group is under way and all the other writes are queued, calls
// `release` (before the writes finish if `release_first`, else after them: for a hold
// that is meant to outlast them), runs everything to the end and returns each write's
// outcome by label.
template <typename Storage>
std::map<std::string, std::string> run_behind_hold(boost::asio::io_context& io, Storage& storage,
                                                   const std::vector<GroupWrite<Storage>>& writes,
                                                   const std::function<void()>& release,
                                                   bool release_first = true) {
  using namespace std::chrono_literals;
  std::map<std::string, std::exception_ptr> errors;
  std::map<std::string, std::string> details;
  std::map<std::string, bool> done;
  const GroupCommitStats before = storage.group_commit_stats();
  io.restart();  // sync_wait leaves it stopped
  for (const GroupWrite<Storage>& write : writes) {
    boost::asio::co_spawn(
        io,
        [&storage, &write, &details]() -> Awaitable<void> {
          auto run = write.run(storage);
          details[write.label] = co_await std::move(run);
        },
        [&errors, &done, label = write.label](std::exception_ptr error) {
          errors[label] = error;
          done[label] = true;
        });
  }
  std::thread runner([&io] { io.run(); });
  // Bounded so that a bug shows as a failure, not a hang; never a claim about speed.
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    const GroupCommitStats now = storage.group_commit_stats();
    const bool all_queued = now.groups == before.groups + 1 &&
                            now.operations + now.waiting == before.operations + writes.size();
    if (all_queued || std::chrono::steady_clock::now() > give_up) break;
    std::this_thread::sleep_for(1ms);
  }
  if (release_first) release();
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
