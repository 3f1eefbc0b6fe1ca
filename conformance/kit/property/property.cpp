#include "taskstore/conformance/property/property.hpp"

#include <rapidcheck.h>
#include <rapidcheck/state.h>
#include <rapidcheck/detail/TestListenerAdapter.h>

#include <algorithm>
#include <regex>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "taskstore/conformance/property/generators.hpp"
#include "taskstore/conformance/property/storage_commands.hpp"
#include "taskstore/conformance/suite_config.hpp"

namespace taskstore::conformance {

namespace {

// RapidCheck grows the size from 0 to max_size (100 by default) over a run; sequences get
// up to 0.6 × size steps: long enough to reach every status, short enough that 200
// sequences on the file store, which fsyncs each write, take seconds.
constexpr double kStepsPerSize = 0.6;

// Cases of the round-trip properties, shown readably in a counterexample.
struct TaskCase {
  Task task;
};
struct ResultCase {
  TaskResult result;
};

void showValue(const TaskCase& c, std::ostream& os) { os << show_task(c.task); }
void showValue(const ResultCase& c, std::ostream& os) { os << show_result(c.result); }

rc::detail::TestParams params_for(int runs) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.maxSuccess = runs;
  return params;
}

std::string numbered(const std::string& steps) {
  std::istringstream in(steps);
  std::string out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    out += "  " + std::to_string(++n) + ". " + line + "\n";
  }
  return out;
}

PropertyVerdict verdict(const std::string& what, const rc::detail::TestParams& params,
                        const rc::detail::TestResult& result, bool numbered_steps) {
  PropertyVerdict v;
  std::ostringstream out;
  rc::detail::SuccessResult success;
  rc::detail::FailureResult failure;
  rc::detail::GaveUpResult gave_up;
  rc::detail::Error error;
  if (result.match(success)) {
    v.passed = true;
    out << what << ": OK, passed " << success.numSuccess << " cases";
  } else if (result.match(failure)) {
    out << what << ": falsified after " << failure.numSuccess << " passing cases and "
        << failure.reproduce.shrinkPath.size()
        << " shrinks (rerun with RC_PARAMS=\"seed=" << params.seed << "\")\n";
    for (const auto& [type, value] : failure.counterExample) {
      out << (numbered_steps ? "Minimal failing sequence:\n" + numbered(value)
                             : "Minimal failing case: " + value + "\n");
      (void)type;
    }
    out << failure.description;
    static const std::regex violation(R"(\b([A-Z]+-[0-9]+) violated\b)");
    for (std::sregex_iterator it(failure.description.begin(), failure.description.end(),
                                 violation), end;
         it != end; ++it) {
      if (std::find(v.violated.begin(), v.violated.end(), (*it)[1].str()) == v.violated.end()) {
        v.violated.push_back((*it)[1].str());
      }
    }
  } else if (result.match(gave_up)) {
    out << what << ": gave up after " << gave_up.numSuccess << " cases: " << gave_up.description;
  } else if (result.match(error)) {
    out << what << ": could not run: " << error.description;
  }
  v.report = out.str();
  return v;
}

template <typename Property>
PropertyVerdict run_property(const std::string& what, int runs, bool numbered_steps,
                             Property property) {
  const auto params = params_for(runs);
  const rc::detail::TestMetadata metadata{.id = what, .description = what};
  // Quiet: the verdict reports the failure and its seed, so RapidCheck's own end-of-program
  // summary would only repeat it (or, in a self-test, report an expected failure).
  rc::detail::TestListenerAdapter quiet;
  const auto result = rc::detail::checkProperty(rc::detail::toProperty(std::move(property)),
                                                metadata, params, quiet);
  return verdict(what, params, result, numbered_steps);
}

// "enqueue, dequeue, get_task" for the commands in `commands`.
std::string command_names(std::uint32_t commands) {
  std::string out;
  for (unsigned kind = 0; kind <= static_cast<unsigned>(Operation::dequeue_batch); ++kind) {
    if (((commands >> kind) & 1U) == 0) continue;
    out += (out.empty() ? "" : ", ") +
           std::string(operation_name(static_cast<Operation>(kind)));
  }
  return out;
}

// Whether the backend's environments take the test's clock: one probe store decides.
bool takes_a_clock(const Backend& backend) {
  const StoreUnderTest probe(backend, generators::kT0);
  return probe.shares_clock();
}

}  // namespace

int property_runs() { return suite_config().property_runs; }

PropertyVerdict check_against_model(const Backend& backend, int runs, std::uint32_t commands) {
  // Batch claims only where the backend offers them.
  const std::uint32_t all = backend.capabilities.batch_claims
                                ? every_command()
                                : every_command() & ~command_bit(Operation::dequeue_batch);
  commands &= all;
  const GenerationOptions options{.predictable_stamps = takes_a_clock(backend),
                                  .times = backend.capabilities.times,
                                  .commands = commands};
  std::size_t steps = 0;
  std::size_t longest = 0;
  PropertyVerdict v = run_property(
      "storage model on '" + backend.name + "'", runs, true, [&backend, options, &steps, &longest] {
        const ReferenceModel initial(generators::kT0);
        const auto commands = *rc::gen::scale(
            kStepsPerSize,
            rc::state::gen::commands(initial, storage_commands<StoreUnderTest>(options)));
        StoreUnderTest sut(backend, generators::kT0);
        RC_ASSERT(sut.shares_clock() == options.predictable_stamps);
        steps += commands.size();
        longest = std::max(longest, commands.size());
        rc::state::runAll(commands, initial, sut);
      });
  if (v.passed) {
    v.report +=
        " (" + std::to_string(steps) + " steps, longest sequence " + std::to_string(longest) + ")";
    if (!options.predictable_stamps) {
      v.report += "; the backend takes no clock: updated_at unchecked, no final failures";
    }
    if (commands != all) v.report += "; commands: " + command_names(commands);
  }
  return v;
}

PropertyVerdict check_sequences(const std::string& what, int runs,
                                std::function<void()> property) {
  return run_property(what, runs, true, std::move(property));
}

PropertyVerdict check_task_round_trip(const Backend& backend, int runs) {
  return run_property("task round trip on '" + backend.name + "'", runs, false, [&backend] {
    const TaskCase c = *rc::gen::map(generators::valid_task(backend.capabilities.times),
                                     [](Task t) { return TaskCase{t}; });
    StoreUnderTest sut(backend, generators::kT0);
    const auto enqueued = sut.call(sut.store().enqueue(c.task));
    if (enqueued.error != ErrorKind::none) {
      fail_case("ENQ-1 violated: enqueue of a valid task raised " +
                std::string(to_string(enqueued.error)) + " (" + enqueued.message + ")");
    }
    const auto read = sut.call(sut.store().get_task(c.task.id));
    if (read.error != ErrorKind::none || !*read.value) {
      fail_case("RT-1 violated: get_task after enqueue " +
                (read.error != ErrorKind::none
                     ? "raised " + std::string(to_string(read.error)) + " (" + read.message + ")"
                     : std::string("returned nothing")));
    }
    const Task& back = **read.value;
    if (!(back == c.task)) {
      fail_case("RT-1 violated (every task field round-trips exactly): get_task(" +
                show_text(c.task.id) +
                ") after enqueue differs:" + describe_differences(c.task, back));
    }
  });
}

PropertyVerdict check_result_round_trip(const Backend& backend, int runs) {
  return run_property("result round trip on '" + backend.name + "'", runs, false, [&backend] {
    Task task;
    task.id = "round-trip";
    task.name = "job";
    const ResultCase c =
        *rc::gen::map(generators::success_result(task.id, backend.capabilities.times),
                      [](TaskResult r) { return ResultCase{r}; });
    StoreUnderTest sut(backend, generators::kT0);
    RC_ASSERT(sut.call(sut.store().enqueue(task)).error == ErrorKind::none);
    const auto done = sut.call(sut.store().mark_done(task.id, c.result));
    if (done.error != ErrorKind::none) {
      fail_case("DONE-1 violated: mark_done of a valid result raised " +
                std::string(to_string(done.error)) + " (" + done.message + ")");
    }
    const auto read = sut.call(sut.store().get_result(task.id));
    if (read.error != ErrorKind::none || !*read.value) {
      fail_case("RT-2 violated: get_result after mark_done " +
                (read.error != ErrorKind::none
                     ? "raised " + std::string(to_string(read.error)) + " (" + read.message + ")"
                     : std::string("returned nothing")));
    }
    if (!(**read.value == c.result)) {
      fail_case(
          "RT-2 violated (every result field round-trips exactly): get_result after mark_done "
          "differs:" +
          describe_differences(c.result, **read.value));
    }
  });
}

}  // namespace taskstore::conformance
