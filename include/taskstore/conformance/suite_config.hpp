#pragma once
// SuiteConfig: every knob of the conformance suites in one place. A program that links the
// kit fills one in code and calls set_suite_config(); taskstore-conformance maps its flags
// onto it (--property-runs, --crash-kills, --seed, --exec-timeout). Without either, the
// suites read the environment variables below, through the same parser as the flags, so a
// bad value gets the same message wherever it came from.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace taskstore::conformance {

struct SuiteConfig {
  // Random cases per property and backend (--property-runs, TASKSTORE_PROPERTY_RUNS).
  int property_runs = 200;
  // SIGKILLed children per persistent backend in the crash suite (--crash-kills,
  // TASKSTORE_CRASH_KILLS).
  int crash_kills = 50;
  // Seed of the crash suite's random kill points; unset: a fresh one per run, printed so a
  // failure can be replayed (--seed, TASKSTORE_CRASH_SEED).
  std::optional<std::uint64_t> seed;
  // The longest an exec driver may take to answer one request (--exec-timeout SECONDS,
  // TASKSTORE_EXEC_TIMEOUT); ExecOptions::timeout overrides it per backend.
  std::chrono::milliseconds exec_timeout{30'000};
};

// One knob: its flag, its environment variable, and what it sets.
struct SuiteKnob {
  std::string_view flag;      // "--property-runs"
  std::string_view variable;  // "TASKSTORE_PROPERTY_RUNS"
  std::string_view value;     // "N", for help texts
  std::string_view help;
};
const std::vector<SuiteKnob>& suite_knobs();

// Sets the knob named `flag` (as in suite_knobs()) from `text`. Throws
// std::invalid_argument naming `source` (the flag or variable the text came from) and the
// text for a value the knob can't take, or an unknown flag.
void set_suite_knob(SuiteConfig& config, std::string_view flag, std::string_view text,
                    std::string_view source);

// The defaults, overridden by every TASKSTORE_* variable of suite_knobs() that is set and
// non-empty. Throws std::invalid_argument naming the variable for a bad value.
SuiteConfig suite_config_from_environment();

// The config the suites run with: the one given to set_suite_config(), or else
// suite_config_from_environment() (read at each call, so a test may change a variable).
SuiteConfig suite_config();
void set_suite_config(SuiteConfig config);
// Back to reading the environment.
void reset_suite_config();

}  // namespace taskstore::conformance
