#include "taskstore/conformance/suite_config.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>

namespace taskstore::conformance {

namespace {

[[noreturn]] void bad_value(std::string_view source, std::string_view text, std::string_view what) {
  throw std::invalid_argument(std::string(source) + " must be " + std::string(what) + ", not '" +
                              std::string(text) + "'");
}

// The whole of `text` as an unsigned integer in [low, high].
std::uint64_t whole_number(std::string_view text, std::string_view source, std::uint64_t low,
                           std::uint64_t high, std::string_view what) {
  std::uint64_t value = 0;
  const auto parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || parsed.ec != std::errc() || parsed.ptr != text.data() + text.size() ||
      value < low || value > high) {
    bad_value(source, text, what);
  }
  return value;
}

std::chrono::milliseconds seconds(std::string_view text, std::string_view source) {
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || *end != '\0' || !std::isfinite(value) || value <= 0 || value > 1e6) {
    bad_value(source, text, "a positive number of seconds");
  }
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(value * 1000))));
}

std::mutex config_mutex;
std::optional<SuiteConfig> chosen_config;

}  // namespace

const std::vector<SuiteKnob>& suite_knobs() {
  static const std::vector<SuiteKnob> knobs{
      {"--property-runs", "TASKSTORE_PROPERTY_RUNS", "N",
       "Random cases per property and backend (default 200)"},
      {"--crash-kills", "TASKSTORE_CRASH_KILLS", "N",
       "Processes SIGKILLed per persistent backend in the crash suite (default 50)"},
      {"--seed", "TASKSTORE_CRASH_SEED", "N",
       "Seed of the crash suite's kill points (default: a fresh one, printed for replay)"},
      {"--exec-timeout", "TASKSTORE_EXEC_TIMEOUT", "SECONDS",
       "Longest an exec driver may take to answer one request (default 30)"},
  };
  return knobs;
}

void set_suite_knob(SuiteConfig& config, std::string_view flag, std::string_view text,
                    std::string_view source) {
  if (flag == "--property-runs") {
    config.property_runs =
        static_cast<int>(whole_number(text, source, 1, 1'000'000, "a whole number from 1 to 1000000"));
  } else if (flag == "--crash-kills") {
    config.crash_kills =
        static_cast<int>(whole_number(text, source, 1, 1'000'000, "a whole number from 1 to 1000000"));
  } else if (flag == "--seed") {
    config.seed = whole_number(text, source, 0, UINT64_MAX, "a whole number");
  } else if (flag == "--exec-timeout") {
    config.exec_timeout = seconds(text, source);
  } else {
    throw std::invalid_argument("unknown suite setting '" + std::string(flag) + "'");
  }
}

SuiteConfig suite_config_from_environment() {
  SuiteConfig config;
  for (const SuiteKnob& knob : suite_knobs()) {
    const std::string variable(knob.variable);
    const char* text = std::getenv(variable.c_str());
    if (text != nullptr && *text != '\0') set_suite_knob(config, knob.flag, text, knob.variable);
  }
  return config;
}

SuiteConfig suite_config() {
  {
    std::lock_guard lock(config_mutex);
    if (chosen_config) return *chosen_config;
  }
  return suite_config_from_environment();
}

void set_suite_config(SuiteConfig config) {
  std::lock_guard lock(config_mutex);
  chosen_config = std::move(config);
}

void reset_suite_config() {
  std::lock_guard lock(config_mutex);
  chosen_config.reset();
}

}  // namespace taskstore::conformance
