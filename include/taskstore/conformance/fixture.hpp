#pragma once
// The base fixture of the conformance suite, public so a backend author can add tests of
// their own in the same style. A test gets a fresh, isolated store on the backend under
// test, a way to run the store's coroutines to completion, and names the requirement IDs
// it checks with TASKSTORE_REQUIREMENTS.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "taskstore/conformance/registry.hpp"
#include "taskstore/storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance {

// The base of every fixture whose parameter is a Backend, and the one place where a test
// on an unavailable backend (Backend::unavailable: its server is not configured, say) is
// skipped. SetUp and TearDown are final: a fixture sets itself up in SetUpBackend and
// tears down in TearDownBackend, and neither hook nor the test body ever runs when the
// backend is unavailable, so no fixture code can reach a store that was never made.
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() final;
  void TearDown() final;

  // Runs only when the backend is available. An override calls its base class's first.
  virtual void SetUpBackend() {}
  // Runs after the test only if SetUpBackend ran (even if it failed or skipped part-way),
  // so it must cope with a fixture that is only partly set up.
  virtual void TearDownBackend() {}

  const Backend& backend() const { return GetParam(); }

 private:
  bool set_up_ = false;
};

// The googletest property a failed setup step leaves (ConformanceTest::given): the
// requirement its operation is about, the step, and the error, separated by tabs.
inline constexpr const char* kSetupFailedProperty = "setup_failed";
// Set as well when the test had failed already before that step.
inline constexpr const char* kFailedBeforeSetupProperty = "failed_before_setup";

class ConformanceTest : public BackendTest {
 protected:
  void SetUpBackend() override;
  void TearDownBackend() override;

  StoreEnvironment& environment() { return *environment_; }
  BaseStorage& store() { return *store_; }

  // Another instance on the same store (for backends with multi_process).
  std::shared_ptr<BaseStorage> open_another_instance();
  // Closes the test's instance and opens a new one on the same store.
  void reopen();

  // Runs a store operation to completion on the test's io_context.
  template <typename T>
  T run(Awaitable<T> op) {
    return sync_wait(io_, std::move(op));
  }

  // Runs a setup step: an operation the test needs only to reach the state it checks,
  // whose own rules requirement `checked_by` states ("FAIL-3" for mark_failed(..., false)).
  // If the step throws, the test stops there; the report shows the test's requirements as
  // "not checked: setup step <step> failed (see <checked_by>)" and counts the failure
  // against `checked_by` alone, so one broken operation fails one requirement, not every
  // test that happens to use it:
  //   given("FAIL-3", "mark_failed of 'x'", store().mark_failed("x", "gave up", false));
  // (An operation that throws before it returns its awaitable, rather than when awaited,
  // escapes this and fails the test as any other error does.)
  template <typename T>
  T given(const char* checked_by, const std::string& step, Awaitable<T> op) {
    try {
      return run(std::move(op));
    } catch (const std::exception& e) {
      fail_setup(checked_by, step, e.what());
    }
  }
  // What a setup step must have led to: if `holds` is false, the step counts as failed
  // with `what` as its error, as in given().
  void given_that(bool holds, const char* checked_by, const std::string& step,
                  const std::string& what) {
    if (!holds) fail_setup(checked_by, step, what);
  }

  // A fixed instant all tests measure from, so etas and cutoffs are exact.
  static Timestamp t0();
  // The default eta: a second before t0(), so that a claim at t0() of a task the test did
  // not time on purpose never rests on DEQ-3's boundary (a task due exactly at `now`).
  static Timestamp due() { return t0() - std::chrono::seconds(1); }
  // A valid PENDING task with the given id, due at `eta`, stamped at t0().
  static Task make_task(std::string id, Timestamp eta = due());
  // Enqueues make_task(id, eta) and returns the task as given (a setup step of ENQ-1).
  Task add_task(std::string id, Timestamp eta = due());
  // The stored task, failing the test (with a thrown exception) if it is missing.
  Task must_get(const std::string& id);
  // Claims task `id`, the next one due at `now`, as a setup step: dequeue must return it
  // (DEQ-1), RUNNING with one attempt more than before (DEQ-5). Returns it as claimed.
  Task claim(const std::string& id, Timestamp now = t0());
  // The id of the task dequeue(now) claims, or "(nothing)".
  std::string claim_id(Timestamp now);

  // Checks through dequeue, for tests of order and due-ness. Dequeue's own faults fail
  // setup steps of dequeue's own requirements, not the test's: claiming the expected task
  // (it turned RUNNING) but returning nothing is DEQ-1's; raising is DEQ-2's where nothing
  // is due and DEQ-1's where a task is, if dequeue fails the same way on a fresh store of
  // the backend (empty, or holding one due task). A raise the fresh store does not repeat
  // came from what the test built, and fails the test.
  //   EXPECT_TRUE(dequeue_returns(t0(), "a")) << "ties out of order";
  ::testing::AssertionResult dequeue_returns(Timestamp now, const std::string& expected);
  // What dequeue(now) returns where `expected` is due next, with the faults above
  // reported the same way: for tests that check the claimed task itself.
  std::optional<Task> dequeue_for(Timestamp now, const std::string& expected);
  ::testing::AssertionResult dequeue_returns_nothing(Timestamp now);
  // The precondition of a race or a drain, checked on fresh stores of the backend, one call
  // at a time: with nothing due dequeue returns nothing (DEQ-2), and with one due task it
  // returns it (DEQ-1). The test's own store is not touched.
  void given_dequeue_works();
  static constexpr const char* kDequeueProbeId = "dequeue-probe";

  // Checks that nothing is stored under `id`: no task, or no result. If the read raises,
  // or answers with something, an id never stored is read too: when that read answers the
  // same way (it raises too, or finds something too), the store's read is at fault, not
  // what the test did, and the step fails GET-2 (no task) or RES-2 (no result) instead of
  // the test's requirement.
  //   EXPECT_TRUE(no_task("invalid")) << "a rejected task was stored anyway";
  ::testing::AssertionResult no_task(const std::string& id);
  ::testing::AssertionResult no_result(const std::string& id);
  static constexpr const char* kNeverStoredId = "never-stored-probe";
  // The store's location, for messages.
  std::string where() const;

  // Runs an optional hook of the environment (`hook` names it): nullopt once it ran, or,
  // if the backend does not support it (NotSupportedError), the reason for a skip:
  //   if (const auto why = try_hook("hold_write_lock", [&] { ... })) GTEST_SKIP() << *why;
  std::optional<std::string> try_hook(const char* hook, const std::function<void()>& call) const;
  // Damages task `id` through corrupt_task: nullopt once damaged, else the reason to skip.
  std::optional<std::string> damage(const std::string& id);
  // Damages the result of task `id` through corrupt_result, the same way.
  std::optional<std::string> damage_result(const std::string& id);

  boost::asio::io_context io_;

 private:
  std::optional<std::string> fresh_dequeue_fault(bool with_task);
  // damage and damage_result: runs the environment's hook named `hook`.
  std::optional<std::string> damage_with(const char* hook, const std::function<bool()>& damage);
  // no_task and no_result: `read(id)` is get_task or get_result, `checked_by` the
  // requirement that an id never stored reads as nothing.
  template <typename Found, typename Read>
  ::testing::AssertionResult nothing_stored(const char* operation, const char* checked_by,
                                            const std::string& id, Read read);
  [[noreturn]] static void fail_setup(const char* checked_by, const std::string& step,
                                      const std::string& error);

  std::unique_ptr<StoreEnvironment> environment_;
  std::shared_ptr<BaseStorage> store_;
};

// Records which requirement IDs the current test checks: as a googletest property (the
// report reads it), and as a trace line on every failure message. An ID that is not in
// the catalogue fails the test.
class RequirementTrace {
 public:
  RequirementTrace(const char* file, int line, std::initializer_list<std::string_view> ids);

  // False if the requirement selection leaves out every ID the test names.
  bool selected() const { return selected_; }
  static constexpr const char* kNotSelected = "no requirement it checks is selected";

 private:
  ::testing::ScopedTrace trace_;
  bool selected_ = true;
};

// Narrows a failing test's verdict: of the requirements it names, only `ids` failed on
// this backend; the others it names get no verdict from this test (neither pass nor
// fail). For a test that checks many requirements at once and knows which one broke, such
// as a model-based property run that stops at the first difference. Without it, a failure
// fails every requirement the test names.
void record_violated_requirements(const std::vector<std::string>& ids);

// What a capability flag of Capabilities means, in words, for skip reasons.
const char* capability_meaning(std::string_view flag);

// Why a test that uses `times` can't run on `backend`: the first of them outside the times
// it declares (Capabilities::times), in words; nullopt if all are inside.
std::optional<std::string> outside_declared_times(const Backend& backend,
                                                  std::initializer_list<Timestamp> times);

}  // namespace taskstore::conformance

// Use once at the top of a test body: TASKSTORE_REQUIREMENTS("DEQ-3", "DEQ-4");
// A test none of whose requirements is selected (select_requirements, the driver's
// --filter) skips there and gives no verdict.
#define TASKSTORE_REQUIREMENTS(...)                                              \
  const ::taskstore::conformance::RequirementTrace taskstore_requirement_trace_(  \
      __FILE__, __LINE__, {__VA_ARGS__});                                         \
  if (!taskstore_requirement_trace_.selected())                                   \
  GTEST_SKIP() << ::taskstore::conformance::RequirementTrace::kNotSelected

// Instantiates a fixture derived from BackendTest (or ConformanceTest) once per registered backend, as
// the suite's own ("Backends/MyTest.Name/sqlite"). The backends are read when googletest
// registers tests (InitGoogleTest, or conformance_main), so a program registers its
// backends first. Use once per fixture, at namespace scope: TASKSTORE_INSTANTIATE_SUITE(MyTest);
#define TASKSTORE_INSTANTIATE_SUITE(Fixture)                                                 \
  INSTANTIATE_TEST_SUITE_P(Backends, Fixture,                                               \
                           ::testing::ValuesIn(::taskstore::conformance::registered_backends()), \
                           [](const ::testing::TestParamInfo<::taskstore::conformance::Backend>& \
                                  info) { return info.param.name; })

// Skips the test, visibly, on a backend without the capability:
// TASKSTORE_REQUIRE_CAPABILITY(persistent);
#define TASKSTORE_REQUIRE_CAPABILITY(flag)                                                   \
  if (!backend().capabilities.flag)                                                          \
  GTEST_SKIP() << "not checked: backend '" << backend().name                                 \
               << "' does not declare capability '" << #flag << "' ("                        \
               << ::taskstore::conformance::capability_meaning(#flag) << ")"

// Skips the test, visibly, on a backend whose declared times leave out one of the times it
// uses (only a backend narrower than RT-3 allows can): TASKSTORE_REQUIRE_TIMES(t0() + 1h);
#define TASKSTORE_REQUIRE_TIMES(...)                                                          \
  if (const auto taskstore_outside_times_ =                                                  \
          ::taskstore::conformance::outside_declared_times(backend(), {__VA_ARGS__}))        \
  GTEST_SKIP() << *taskstore_outside_times_
