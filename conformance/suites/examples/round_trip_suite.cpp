// Round trips and persistence: RT-1, RT-3, DUR-1.
#include <algorithm>
#include <map>

#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

class RoundTripTest : public ConformanceTest {
 protected:
  // The extreme times unusual_tasks() uses: the contract's least range (RT-3) holds them.
  static constexpr Timestamp kYearOne = kContractTimeRange.earliest + 1us;
  static constexpr Timestamp kYear9999 = kContractTimeRange.latest;

  // Tasks that between them use every field in unusual ways.
  std::vector<Task> unusual_tasks() {
    std::vector<Task> tasks;
    Task binary = make_task("bin\xc3\xa4r-\xe2\x9c\x93-\xf0\x9f\x93\xa6");  // UTF-8 id
    binary.name = "n\xc3\xa4me.with.unicode";
    binary.payload = to_bytes(std::string("\0\0\x01\x7f\x80\xff\0 end", 11));
    binary.eta = kYearOne;  // 0001-01-01, before the epoch
    binary.attempts = 0;
    binary.max_retries = 0;
    binary.created_at = from_micros(-1);  // 1us before the epoch
    binary.updated_at = kYear9999;  // 9999-12-31T23:59:59.999999
    tasks.push_back(binary);

    Task rich = make_task("rich");
    rich.payload = Bytes(4096);
    for (std::size_t i = 0; i < rich.payload.size(); ++i) {
      rich.payload[i] = static_cast<std::byte>(i * 31 % 256);
    }
    rich.eta = t0() + 1us;
    rich.attempts = 5;
    rich.max_retries = 2'147'483'647;
    rich.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::exponential,
                             .delay = 1us,
                             .max_delay = 24h,
                             .jitter = true};
    rich.schedule = IntervalSchedule{1us};
    rich.last_error = "line one\nline two\t\"quoted\" \xe2\x80\x94 ok";
    rich.created_at = t0() - 999'999us;
    rich.updated_at = t0() + 123'456us;
    tasks.push_back(rich);

    Task empty = make_task("e");
    empty.payload.clear();
    empty.last_error = std::string();  // present but empty: not the same as none
    tasks.push_back(empty);

    Task long_id = make_task(std::string(Task::kMaxIdBytes, 'L'));
    long_id.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::fixed, .delay = 3s};
    tasks.push_back(long_id);
    return tasks;
  }
};

TEST_P(RoundTripTest, Task_EveryField_RoundTripsExactly) {
  TASKSTORE_REQUIREMENTS("RT-1");
  TASKSTORE_REQUIRE_TIMES(kYearOne, kYear9999);
  for (const Task& task : unusual_tasks()) {
    SCOPED_TRACE(describe(task));
    run(store().enqueue(task));
    const Task stored = must_get(task.id);
    EXPECT_EQ(stored, task) << "read back: " << describe(stored);
  }
}

TEST_P(RoundTripTest, Reopen_KeepsTasksResultsCountersAndOrder) {
  TASKSTORE_REQUIREMENTS("DUR-1");
  TASKSTORE_REQUIRE_CAPABILITY(persistent);
  TASKSTORE_REQUIRE_TIMES(kYearOne, kYear9999);
  std::vector<Task> tasks = unusual_tasks();
  for (const Task& task : tasks) run(store().enqueue(task));
  add_task("tie-1", t0() + 1h);
  add_task("tie-2", t0() + 1h);
  for (const char* id : {"claimed", "retrying", "failed", "done"}) add_task(id, t0() - 2s);
  // Claim the five with the earliest etas (the "binary" task, in year 1, comes first).
  ASSERT_TRUE(dequeue_returns(t0(), tasks[0].id));
  tasks[0] = must_get(tasks[0].id);
  for (const char* id : {"claimed", "retrying", "failed", "done"}) {
    ASSERT_TRUE(dequeue_returns(t0(), id));
  }
  run(store().mark_failed("retrying", "will retry"));
  run(store().mark_failed("failed", "gave up", false));
  const TaskResult done{.task_id = "done",
                        .status = TaskStatus::SUCCESS,
                        .value = to_bytes(std::string("v\0v", 3)),
                        .finished_at = t0() + 5us};
  run(store().mark_done("done", done));
  std::map<std::string, Task> before;
  for (const Task& t : tasks) before[t.id] = must_get(t.id);
  for (const char* id : {"tie-1", "tie-2", "claimed", "retrying", "failed", "done"}) {
    before[id] = must_get(id);
  }
  const auto failed_result = run(store().get_result("failed"));

  reopen();

  for (const auto& [id, task] : before) {
    const auto after = run(store().get_task(id));
    ASSERT_TRUE(after.has_value()) << "task '" << id << "' lost across reopen";
    EXPECT_EQ(*after, task) << "after reopen: " << describe(*after);
  }
  EXPECT_EQ(run(store().get_result("done")), done);
  EXPECT_EQ(run(store().get_result("failed")), failed_result);
  // What was due stays due, in the same order; claimed tasks stay claimed.
  EXPECT_TRUE(dequeue_returns(t0(), "e"));
  EXPECT_TRUE(dequeue_returns(t0(), std::string(Task::kMaxIdBytes, 'L')));
  EXPECT_TRUE(dequeue_returns_nothing(t0()));
  EXPECT_TRUE(dequeue_returns(t0() + 1us, "rich"));
  EXPECT_TRUE(dequeue_returns(t0() + 1h, "tie-1"));
  EXPECT_TRUE(dequeue_returns(t0() + 1h, "tie-2"));
  EXPECT_TRUE(dequeue_returns_nothing(t0() + 24h));
}

// The error `operation` raised, type and message, or "" if it raised none.
std::string raised(const std::function<void()>& operation) {
  try {
    operation();
  } catch (const std::exception& e) {
    return type_name_of(e) + ": " + e.what();
  }
  return "";
}

// The ends of the declared range and of the contract's least range (and their neighbours),
// as far as the declared range holds them, in order.
std::vector<Timestamp> edge_times(const TimeRange& declared) {
  const TimeRange& least = kContractTimeRange;
  std::vector<Timestamp> edges{declared.earliest, declared.earliest + 1us, least.earliest,
                               least.earliest + 1us,  least.latest - 1us,  least.latest,
                               declared.latest - 1us, declared.latest};
  std::erase_if(edges, [&](Timestamp t) { return !declared.contains(t); });
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  return edges;
}

TEST_P(RoundTripTest, TimeRange_CoversYearsOneTo9999_AndItsEndsRoundTripOrderAndCut) {
  TASKSTORE_REQUIREMENTS("RT-3");
  const TimeRange declared = backend().capabilities.times;
  EXPECT_TRUE(declared.covers(kContractTimeRange))
      << "backend '" << backend().name << "' declares times " << format_time_range(declared)
      << ", which leaves out part of " << format_time_range(kContractTimeRange)
      << ", the least range every backend must store";
  const std::vector<Timestamp> edges = edge_times(declared);

  // Every end round-trips as an eta, created_at and updated_at.
  std::vector<std::string> due_before_last;  // enqueued, eta before the last instant
  for (std::size_t i = 0; i < edges.size(); ++i) {
    Task task = make_task("edge-" + std::to_string(i), edges[i]);
    task.created_at = edges[i];
    task.updated_at = edges[i];
    const std::string error = raised([&] { run(store().enqueue(task)); });
    if (!error.empty()) {
      ADD_FAILURE() << "enqueue of a task whose eta, created_at and updated_at are "
                    << format_timestamp(edges[i]) << " (inside the declared range) raised "
                    << error;
      continue;
    }
    if (edges[i] < declared.latest) due_before_last.push_back(task.id);
    EXPECT_EQ(must_get(task.id), task)
        << "the task due at " << format_timestamp(edges[i]) << " read back differs";
  }
  // A claim at the last instant takes the tasks due before it in eta order. (The one due
  // exactly then is DEQ-3's boundary, checked there.)
  for (const std::string& id : due_before_last) {
    EXPECT_TRUE(dequeue_returns(declared.latest, id))
        << "dequeue(" << format_timestamp(declared.latest) << ") out of eta order";
  }

  // Every end round-trips as a finished_at, and a purge at the last instant removes the
  // results finished before it.
  const auto finish = [&](std::size_t i) {
    const TaskResult result{.task_id = "done-" + std::to_string(i),
                            .status = TaskStatus::SUCCESS,
                            .value = to_bytes("v"),
                            .finished_at = edges[i]};
    add_task(result.task_id, t0() + 1h);
    const std::string error = raised([&] { run(store().mark_done(result.task_id, result)); });
    if (!error.empty()) {
      ADD_FAILURE() << "mark_done with a result finished at " << format_timestamp(edges[i])
                    << " raised " << error;
      return false;
    }
    EXPECT_EQ(run(store().get_result(result.task_id)), result)
        << "the result finished at " << format_timestamp(edges[i]) << " read back differs";
    return true;
  };
  std::vector<std::string> finished_before_last;
  for (std::size_t i = 0; i < edges.size(); ++i) {
    if (edges[i] < declared.latest && finish(i)) {
      finished_before_last.push_back("done-" + std::to_string(i));
    }
  }
  run(store().purge_results(declared.latest));  // its count is PUR-1's
  for (const std::string& id : finished_before_last) {
    EXPECT_TRUE(no_result(id))
        << "purge_results(" << format_timestamp(declared.latest) << ") kept the result of '"
        << id << "', finished before it";
  }
  finish(edges.size() - 1);  // the last instant itself
}

TASKSTORE_INSTANTIATE_SUITE(RoundTripTest);

}  // namespace


}  // namespace taskstore::conformance
