// SuiteConfig: one parser for the suite's knobs, whether they come from a flag of
// taskstore-conformance, an environment variable or code.
#include "taskstore/conformance/suite_config.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "taskstore/conformance/exec_backend.hpp"
#include "taskstore/conformance/property/property.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;

// The message of the std::invalid_argument `op` throws, or "(nothing thrown)".
template <typename Op>
std::string rejection(Op op) {
  try {
    op();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(nothing thrown)";
}

class SuiteConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    reset_suite_config();
    for (const SuiteKnob& knob : suite_knobs()) ::unsetenv(std::string(knob.variable).c_str());
  }
};

TEST_F(SuiteConfigTest, EveryKnobHasAFlagAndAVariable) {
  for (const char* flag : {"--property-runs", "--crash-kills", "--seed", "--exec-timeout"}) {
    bool found = false;
    for (const SuiteKnob& knob : suite_knobs()) {
      found = found || (knob.flag == flag && knob.variable.rfind("TASKSTORE_", 0) == 0);
    }
    EXPECT_TRUE(found) << flag;
  }
}

TEST_F(SuiteConfigTest, FlagsSetEveryField) {
  SuiteConfig config;
  set_suite_knob(config, "--property-runs", "7", "--property-runs");
  set_suite_knob(config, "--crash-kills", "3", "--crash-kills");
  set_suite_knob(config, "--seed", "18446744073709551615", "--seed");
  set_suite_knob(config, "--exec-timeout", "0.25", "--exec-timeout");
  EXPECT_EQ(config.property_runs, 7);
  EXPECT_EQ(config.crash_kills, 3);
  EXPECT_EQ(config.seed, 18446744073709551615u);
  EXPECT_EQ(config.exec_timeout, 250ms);
}

TEST_F(SuiteConfigTest, BadValuesNameTheirSourceAndTheText) {
  SuiteConfig config;
  for (const auto& [flag, text] : {std::pair{"--property-runs", "0"}, {"--property-runs", "3x"},
                                   {"--crash-kills", "-1"}, {"--seed", ""},
                                   {"--exec-timeout", "soon"}, {"--exec-timeout", "0"}}) {
    const std::string message =
        rejection([&, flag = flag, text = text] { set_suite_knob(config, flag, text, "SOURCE"); });
    EXPECT_NE(message.find("SOURCE"), std::string::npos) << flag << " " << text << ": " << message;
    EXPECT_NE(message.find(std::string("'") + text + "'"), std::string::npos) << message;
  }
  EXPECT_NE(rejection([&] { set_suite_knob(config, "--colour", "red", "x"); }).find("--colour"),
            std::string::npos);
}

TEST_F(SuiteConfigTest, TheEnvironmentGoesThroughTheSameParser) {
  ::setenv("TASKSTORE_PROPERTY_RUNS", "12", 1);
  ::setenv("TASKSTORE_EXEC_TIMEOUT", "2", 1);
  EXPECT_EQ(suite_config().property_runs, 12);
  EXPECT_EQ(property_runs(), 12);
  EXPECT_EQ(exec_timeout(ExecOptions{}), 2s);
  EXPECT_EQ(suite_config().crash_kills, SuiteConfig{}.crash_kills) << "unset keeps the default";
  ::setenv("TASKSTORE_CRASH_KILLS", "many", 1);
  const std::string message = rejection([] { suite_config_from_environment(); });
  EXPECT_NE(message.find("TASKSTORE_CRASH_KILLS"), std::string::npos) << message;
  EXPECT_NE(message.find("'many'"), std::string::npos) << message;
}

TEST_F(SuiteConfigTest, AConfigSetInCodeWinsOverTheEnvironment) {
  ::setenv("TASKSTORE_PROPERTY_RUNS", "12", 1);
  set_suite_config(SuiteConfig{.property_runs = 5, .exec_timeout = 4s});
  EXPECT_EQ(property_runs(), 5);
  EXPECT_EQ(exec_timeout(ExecOptions{}), 4s);
  EXPECT_EQ(exec_timeout(ExecOptions{.timeout = 1s}), 1s) << "a backend's own timeout wins";
  reset_suite_config();
  EXPECT_EQ(property_runs(), 12);
}

// The program: a bad flag or variable is a usage error (exit 2) naming it.
int run_program(const std::string& arguments, std::string& output) {
  const std::string command =
      std::string("'") + TASKSTORE_CONFORMANCE_PROGRAM + "' " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 4096> buffer;
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(SuiteConfigTest, TheProgramRejectsABadFlagOrVariableNamingIt) {
  std::string output;
  EXPECT_EQ(run_program("--backend memory --property-runs 0", output), 2) << output;
  EXPECT_NE(output.find("--property-runs must be"), std::string::npos) << output;
  output.clear();
  EXPECT_EQ(run_program("--backend memory --crash-kills=1 --seed nine", output), 2) << output;
  EXPECT_NE(output.find("--seed must be a whole number, not 'nine'"), std::string::npos) << output;
  output.clear();
  EXPECT_EQ(run_program("--help", output), 0) << output;
  EXPECT_NE(output.find("TASKSTORE_EXEC_TIMEOUT"), std::string::npos) << output;
  output.clear();
  ::setenv("TASKSTORE_PROPERTY_RUNS", "lots", 1);
  EXPECT_EQ(run_program("--backend memory", output), 2) << output;
  EXPECT_NE(output.find("TASKSTORE_PROPERTY_RUNS must be"), std::string::npos) << output;
}

}  // namespace
}  // namespace taskstore::conformance
