#include "taskstore/conformance/fixture.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <sstream>
#include <typeinfo>

#include "taskstore/conformance/expect_error.hpp"
#include "taskstore/conformance/requirements.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::conformance {

namespace {

std::string trace_message(std::initializer_list<std::string_view> ids) {
  std::ostringstream out;
  out << "checks requirement" << (ids.size() == 1 ? " " : "s ");
  bool first = true;
  for (const auto id : ids) {
    out << (first ? "" : ", ") << id;
    if (const Requirement* r = find_requirement(id)) out << " (" << r->title << ")";
    first = false;
  }
  out << " of spec/requirements.md";
  return out.str();
}

}  // namespace

RequirementTrace::RequirementTrace(const char* file, int line,
                                   std::initializer_list<std::string_view> ids)
    : trace_(file, line, trace_message(ids)) {
  std::string joined;
  bool any_selected = false;
  for (const auto id : ids) {
    if (find_requirement(id) == nullptr) {
      ADD_FAILURE_AT(file, line) << "test names requirement '" << id
                                 << "', which spec/requirements.md does not define";
    }
    any_selected = any_selected || requirement_selected(id);
    if (!joined.empty()) joined += ",";
    joined += id;
  }
  if (ids.size() == 0) ADD_FAILURE_AT(file, line) << "TASKSTORE_REQUIREMENTS names no ID";
  selected_ = any_selected || ids.size() == 0;
  // A test left out by the selection gives no verdict, so it records no requirements.
  ::testing::Test::RecordProperty(selected_ ? "requirements" : "not_selected", joined);
}

void record_violated_requirements(const std::vector<std::string>& ids) {
  std::string joined;
  for (const auto& id : ids) {
    if (find_requirement(id) == nullptr) {
      ADD_FAILURE() << "test reports requirement '" << id
                    << "' violated, which spec/requirements.md does not define";
    }
    if (!joined.empty()) joined += ",";
    joined += id;
  }
  if (!joined.empty()) ::testing::Test::RecordProperty("violated", joined);
}

void BackendTest::SetUp() {
  if (!backend().unavailable.empty()) GTEST_SKIP() << backend().unavailable;
  set_up_ = true;
  SetUpBackend();
}

void BackendTest::TearDown() {
  if (set_up_) TearDownBackend();
}

void ConformanceTest::SetUpBackend() {
  environment_ = backend().make_environment();
  store_ = environment_->open();
}

void ConformanceTest::TearDownBackend() {
  store_.reset();
  environment_.reset();
}

std::shared_ptr<BaseStorage> ConformanceTest::open_another_instance() {
  return environment_->open();
}

void ConformanceTest::reopen() {
  store_.reset();
  store_ = environment_->open();
}

Timestamp ConformanceTest::t0() {
  // 2026-01-01T00:00:00.000001Z: a non-zero microsecond part catches backends that keep
  // only seconds or milliseconds.
  return from_micros(1'767'225'600'000'001);
}

Task ConformanceTest::make_task(std::string id, Timestamp eta) {
  Task task;
  task.id = std::move(id);
  task.name = "conformance.noop";
  task.payload = to_bytes("payload of " + task.id);
  task.eta = eta;
  task.max_retries = 3;
  task.created_at = t0();
  task.updated_at = t0();
  return task;
}

Task ConformanceTest::claim(const std::string& id, Timestamp now) {
  const std::string step = "dequeue(" + format_timestamp(now) + ") claiming '" + id + "'";
  const int attempts_before = must_get(id).attempts;
  const std::optional<Task> claimed = given("DEQ-1", step, store().dequeue(now));
  given_that(claimed.has_value(), "DEQ-1", step, "it returned nothing");
  given_that(claimed->id == id, "DEQ-1", step, "it returned '" + claimed->id + "'");
  given_that(claimed->status == TaskStatus::RUNNING && claimed->attempts == attempts_before + 1,
             "DEQ-5", step,
             "it returned the task " + std::string(to_string(claimed->status)) + " after " +
                 std::to_string(claimed->attempts) + " attempts, expected RUNNING after " +
                 std::to_string(attempts_before + 1));
  return *claimed;
}

Task ConformanceTest::add_task(std::string id, Timestamp eta) {
  Task task = make_task(std::move(id), eta);
  given("ENQ-1", "enqueue of '" + task.id + "'", store().enqueue(task));
  return task;
}

void ConformanceTest::fail_setup(const char* checked_by, const std::string& step,
                                 const std::string& error) {
  if (find_requirement(checked_by) == nullptr) {
    ADD_FAILURE() << "setup step '" << step << "' names requirement '" << checked_by
                  << "', which spec/requirements.md does not define";
  }
  // Whatever the test had already found wrong stays its own failure (see verdicts.cpp).
  if (HasFailure()) RecordProperty(kFailedBeforeSetupProperty, "1");
  RecordProperty(kSetupFailedProperty, std::string(checked_by) + "\t" + step + "\t" + error);
  throw std::runtime_error("setup step " + step + " failed (" + checked_by + "): " + error);
}

Task ConformanceTest::must_get(const std::string& id) {
  auto task = run(store().get_task(id));
  if (!task) throw std::runtime_error("get_task('" + id + "') returned nothing");
  return *task;
}

std::string ConformanceTest::claim_id(Timestamp now) {
  const auto task = run(store().dequeue(now));
  return task ? task->id : "(nothing)";
}

// What dequeue does on a fresh store of the backend: nullopt if it is sound there, else the
// fault in words. With `with_task`, the fresh store holds one due task, and sound means
// dequeue returns it; without, it is empty and sound means it returns nothing.
std::optional<std::string> ConformanceTest::fresh_dequeue_fault(bool with_task) {
  try {
    const auto environment = backend().make_environment();
    const auto fresh = environment->open();
    boost::asio::io_context io;
    if (with_task) sync_wait(io, fresh->enqueue(make_task(kDequeueProbeId)));
    const auto claimed = sync_wait(io, fresh->dequeue(t0()));
    if (with_task && !claimed) return "on a fresh store with one due task it returned nothing";
    if (!with_task && claimed) return "on a fresh, empty store it returned '" + claimed->id + "'";
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string("on a fresh store ") + (with_task ? "with one due task" : "that is empty") +
           " it raised " + type_name_of(e) + " (" + e.what() + ")";
  }
}

std::optional<Task> ConformanceTest::dequeue_for(Timestamp now, const std::string& expected) {
  const std::string step = "dequeue(" + format_timestamp(now) + ")";
  // The expected task before the claim, to tell a lost claim from no claim. A read that
  // fails here is left to the read's own requirements.
  const auto read = [&]() -> std::optional<Task> {
    try {
      return run(store().get_task(expected));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  };
  const std::optional<Task> before = read();
  std::optional<Task> claimed;
  try {
    claimed = run(store().dequeue(now));
  } catch (const std::exception&) {
    // DEQ-1's only if dequeue fails the same way where nothing but one due task can cause
    // it; otherwise what this test built made it raise, and that is the test's finding.
    if (const auto fault = fresh_dequeue_fault(true)) {
      fail_setup("DEQ-1", step + " with '" + expected + "' due", *fault);
    }
    throw;
  }
  if (claimed) return claimed;
  const std::optional<Task> after = read();
  const bool lost = before && after && before->status == TaskStatus::PENDING &&
                    after->status == TaskStatus::RUNNING;
  given_that(!lost, "DEQ-1", step,
             "it claimed '" + expected + "' (the task is RUNNING now) but returned nothing");
  return std::nullopt;
}

::testing::AssertionResult ConformanceTest::dequeue_returns(Timestamp now,
                                                             const std::string& expected) {
  const auto claimed = dequeue_for(now, expected);
  if (claimed && claimed->id == expected) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure() << "dequeue(" << format_timestamp(now) << ") ";
  if (claimed) return failure << "claimed '" << claimed->id << "', expected '" << expected << "'";
  return failure << "returned nothing, expected '" << expected << "'";
}

::testing::AssertionResult ConformanceTest::dequeue_returns_nothing(Timestamp now) {
  const std::string step = "dequeue(" + format_timestamp(now) + ")";
  std::optional<Task> claimed;
  try {
    claimed = run(store().dequeue(now));
  } catch (const std::exception&) {
    if (const auto fault = fresh_dequeue_fault(false)) {
      fail_setup("DEQ-2", step + " with nothing due", *fault);
    }
    throw;
  }
  if (!claimed) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << step << " claimed '" << claimed->id << "' (eta " << format_timestamp(claimed->eta)
         << "), expected nothing";
}

void ConformanceTest::given_dequeue_works() {
  if (const auto fault = fresh_dequeue_fault(false)) {
    fail_setup("DEQ-2", "dequeue with nothing due", *fault);
  }
  if (const auto fault = fresh_dequeue_fault(true)) {
    fail_setup("DEQ-1", "dequeue of the one due task", *fault);
  }
}

namespace {

// What a read for something absent found instead, in words: a failure to check against the
// same read of an id never stored.
template <typename Found>
std::string describe_read(const std::optional<Found>& found, const std::string& error) {
  if (!error.empty()) return "raised " + error;
  return found ? "returned " + describe(*found) : "returned nothing";
}

}  // namespace

template <typename Found, typename Read>
::testing::AssertionResult ConformanceTest::nothing_stored(const char* operation,
                                                          const char* checked_by,
                                                          const std::string& id, Read read) {
  const auto attempt = [&](const std::string& which, std::optional<Found>& found) {
    try {
      found = run(read(which));
      return std::string();
    } catch (const std::exception& e) {
      return type_name_of(e) + " (" + e.what() + ")";
    }
  };
  std::optional<Found> found;
  const std::string error = attempt(id, found);
  if (!found && error.empty()) return ::testing::AssertionSuccess();
  std::optional<Found> ghost;
  const std::string ghost_error = attempt(kNeverStoredId, ghost);
  const std::string step =
      std::string(operation) + " of '" + kNeverStoredId + "', an id never stored";
  // The read's fault only if it answers an id never stored the same way: both raise, or
  // both find something. Anything else is what the test found.
  const bool same_answer = error.empty() ? ghost.has_value() : !ghost_error.empty();
  given_that(!same_answer, checked_by, step, describe_read(ghost, ghost_error));
  return ::testing::AssertionFailure() << operation << "('" << id << "') "
                                       << describe_read(found, error) << ", expected nothing";
}

::testing::AssertionResult ConformanceTest::no_task(const std::string& id) {
  return nothing_stored<Task>("get_task", "GET-2", id,
                              [&](const std::string& which) { return store().get_task(which); });
}

::testing::AssertionResult ConformanceTest::no_result(const std::string& id) {
  return nothing_stored<TaskResult>(
      "get_result", "RES-2", id, [&](const std::string& which) { return store().get_result(which); });
}

std::string ConformanceTest::where() const { return environment_->location(); }

const char* capability_meaning(std::string_view flag) {
  if (flag == "persistent") return "its data survives closing every instance and reopening";
  if (flag == "survives_power_loss") {
    return "every acknowledged operation survives a power loss, not only a crash of the process";
  }
  if (flag == "multi_process") return "several instances may share one store at once";
  if (flag == "concurrent_calls") {
    return "several calls in flight at once in one process really overlap; an exec driver "
           "without 'concurrent' answers one request at a time";
  }
  if (flag == "batch_claims") return "dequeue_batch claims many tasks in one atomic step";
  return "see Capabilities in taskstore/conformance/registry.hpp";
}

std::optional<std::string> ConformanceTest::try_hook(const char* hook,
                                                     const std::function<void()>& call) const {
  try {
    call();
  } catch (const NotSupportedError& e) {
    return std::string("not checked: backend '") + backend().name + "' does not support " +
           hook + ": " + e.what();
  }
  return std::nullopt;
}

std::optional<std::string> ConformanceTest::damage_with(const char* hook,
                                                        const std::function<bool()>& damage) {
  bool damaged = false;
  if (auto why = try_hook(hook, [&] { damaged = damage(); })) return why;
  if (damaged) return std::nullopt;
  return "not checked: backend '" + backend().name + "' has no stored form to damage (" +
         hook + " returned false)";
}

std::optional<std::string> ConformanceTest::damage(const std::string& id) {
  return damage_with("corrupt_task", [&] { return environment_->corrupt_task(id); });
}

std::optional<std::string> ConformanceTest::damage_result(const std::string& id) {
  return damage_with("corrupt_result", [&] { return environment_->corrupt_result(id); });
}

std::optional<std::string> outside_declared_times(const Backend& backend,
                                                  std::initializer_list<Timestamp> times) {
  for (const Timestamp t : times) {
    if (backend.capabilities.times.contains(t)) continue;
    return "not checked: the test uses the time " + format_timestamp(t) + ", outside the times " +
           "backend '" + backend.name + "' declares (" +
           format_time_range(backend.capabilities.times) + "; RT-3 checks that range)";
  }
  return std::nullopt;
}

std::string type_name_of(const std::exception& e) {
  const char* mangled = typeid(e).name();
  int status = 0;
  const std::unique_ptr<char, void (*)(void*)> readable(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && readable ? std::string(readable.get()) : std::string(mangled);
}

}  // namespace taskstore::conformance
