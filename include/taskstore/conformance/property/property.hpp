#pragma once
// The property tests of the storage contract, runnable against any registered backend:
// random sequences of the nine operations compared step by step with the ReferenceModel,
// and round trips of arbitrary tasks and results. Each returns a verdict instead of
// failing a test itself, so a self-test can assert that a broken backend is caught.
// Part of taskstore::conformance.
//
// How many cases run: TASKSTORE_PROPERTY_RUNS (a positive integer) if set, else 200 (a few
// seconds per backend, the file store included). The rest of RapidCheck's settings come
// from RC_PARAMS as usual, e.g. RC_PARAMS="seed=42" to replay the sequences of an earlier
// run (the verdict of a failure names its seed).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "taskstore/conformance/registry.hpp"

namespace taskstore::conformance {

struct PropertyVerdict {
  bool passed = false;
  // For a failure: how it was found, the minimal failing sequence (one numbered step a
  // line) and the violated requirement; for a success, one summary line.
  std::string report;
  // For a failure: the IDs named as violated in it ("RSC-6 violated ..."), if any.
  std::vector<std::string> violated;
};

// suite_config().property_runs (taskstore/conformance/suite_config.hpp). Throws
// std::invalid_argument if TASKSTORE_PROPERTY_RUNS is read and is not a positive integer.
int property_runs();

// `runs` random sequences (up to 60 steps) of storage commands, each on a fresh store of
// `backend` opened with the sequence's clock, each step compared with the model. Only the
// commands in `commands` (GenerationOptions::commands, commands_for) are generated.
PropertyVerdict check_against_model(const Backend& backend, int runs,
                                    std::uint32_t commands = ~std::uint32_t{0});

// RT-1: any valid task survives enqueue then get_task unchanged (one fresh store a case).
PropertyVerdict check_task_round_trip(const Backend& backend, int runs);

// RT-2: any SUCCESS result survives mark_done then get_result unchanged.
PropertyVerdict check_result_round_trip(const Backend& backend, int runs);

// Runs `property` (a RapidCheck property without arguments, typically a state-machine run
// of the storage commands mixed with another component's, see storage_commands.hpp) for
// `runs` cases, quietly, and returns its verdict as check_against_model does: the minimal
// failing sequence, one numbered step a line, and the requirement IDs named as violated.
PropertyVerdict check_sequences(const std::string& what, int runs,
                                std::function<void()> property);

}  // namespace taskstore::conformance
