// The suite must catch deliberately broken backends, naming the requirement each one
// breaks, while the reference memory backend passes in the same run.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

namespace fs = std::filesystem;

struct CommandRun {
  int exit_code = -1;
  std::string output;
};

CommandRun run_command(const std::string& command) {
  CommandRun run;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer;
  while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    run.output.append(buffer.data(), n);
  }
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

struct Cell {
  std::string verdict;
  std::string message;
};

// (requirement, backend) -> verdict and message, from a tsv report.
std::map<std::pair<std::string, std::string>, Cell> read_tsv(const fs::path& path) {
  std::map<std::pair<std::string, std::string>, Cell> cells;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, backend, verdict, message;
    std::getline(fields, id, '\t');
    std::getline(fields, backend, '\t');
    std::getline(fields, verdict, '\t');
    std::getline(fields, message);
    cells[{id, backend}] = Cell{verdict, message};
  }
  return cells;
}

class SelfTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    report_ = new fs::path(fs::temp_directory_path() /
                           ("taskstore-selftest-" + std::to_string(::getpid()) + ".tsv"));
    run_ = new CommandRun(run_command(
        std::string(TASKSTORE_SELFTEST_RUNNER) +
        " --backend memory --backend broken_mark_failed"
        " --backend broken_purge --backend broken_eta_boundary --backend broken_final_failure"
        " --backend datetime_times --backend broken_century_times --backend broken_busy_timeout"
        " --report tsv=" + report_->string() + " --report junit=" + report_path("xml").string() +
        " --report json=" + report_path("json").string() +
        " --report markdown=" + report_path("md").string()));
    cells_ = new std::map<std::pair<std::string, std::string>, Cell>(read_tsv(*report_));
  }
  static void TearDownTestSuite() {
    for (const char* extension : {"xml", "json", "md"}) fs::remove(report_path(extension));
    fs::remove(*report_);
    delete report_;
    delete run_;
    delete cells_;
  }

  // The other reports of the same run, next to the tsv one.
  static fs::path report_path(const std::string& extension) {
    fs::path path = *report_;
    return path.replace_extension(extension);
  }

  static std::string read_file(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  static const Cell& cell(const std::string& id, const std::string& backend) {
    static const Cell missing{"MISSING", ""};
    const auto it = cells_->find({id, backend});
    return it == cells_->end() ? missing : it->second;
  }

  void expect_caught(const std::string& id, const std::string& backend) {
    const Cell& c = cell(id, backend);
    EXPECT_EQ(c.verdict, "FAIL") << backend << " was not caught breaking " << id;
    EXPECT_NE(c.message.find(id), std::string::npos)
        << "the failure message does not name " << id << ": " << c.message;
    EXPECT_NE(run_->output.find(id + " on " + backend + ":"), std::string::npos)
        << "the printed report does not list the failure of " << id << " on " << backend;
  }

  static fs::path* report_;
  static CommandRun* run_;
  static std::map<std::pair<std::string, std::string>, Cell>* cells_;
};

fs::path* SelfTest::report_ = nullptr;
CommandRun* SelfTest::run_ = nullptr;
std::map<std::pair<std::string, std::string>, Cell>* SelfTest::cells_ = nullptr;

TEST_F(SelfTest, RunWithBrokenBackends_ExitsWithFailure) {
  EXPECT_EQ(run_->exit_code, 1) << run_->output;
  EXPECT_FALSE(cells_->empty()) << "no tsv report was written:\n" << run_->output;
}

TEST_F(SelfTest, MarkFailedThatSetsFailed_IsCaughtAsFail1) {
  expect_caught("FAIL-1", "broken_mark_failed");
}

TEST_F(SelfTest, PurgeThatUsesLessOrEqual_IsCaughtAsPur2) {
  expect_caught("PUR-2", "broken_purge");
}

TEST_F(SelfTest, DequeueThatMissesEtaEqualNow_IsCaughtAsDeq3) {
  expect_caught("DEQ-3", "broken_eta_boundary");
}

// One root cause, one failing ID: DEQ-2, DEQ-8 and PUR-3 use mark_failed(..., false) only
// to set up the state they check, so its failure is FAIL-3's, never theirs.
TEST_F(SelfTest, SetupStepThatFails_FailsItsOwnRequirementOnly) {
  expect_caught("FAIL-3", "broken_final_failure");
  const std::string& message = cell("FAIL-3", "broken_final_failure").message;
  EXPECT_NE(message.find("Dequeue_NothingDue_ReturnsEmpty/broken_final_failure: setup step "
                         "mark_failed of 'failed' for good (FAIL-3) failed"),
            std::string::npos)
      << message;
  for (const char* id : {"DEQ-2", "DEQ-8", "PUR-3"}) {
    EXPECT_NE(cell(id, "broken_final_failure").verdict, "FAIL")
        << id << " failed for a setup step: " << cell(id, "broken_final_failure").message;
  }
}

// Where no other test checks a requirement, its test whose setup failed leaves it SKIP,
// saying which step failed and which requirement that is.
TEST(ConformanceProgram, SetupStepThatFails_LeavesTheRequirementNotCheckedWithTheReason) {
  const fs::path report = fs::temp_directory_path() /
                          ("taskstore-setup-" + std::to_string(::getpid()) + ".tsv");
  const CommandRun run = run_command(std::string(TASKSTORE_SELFTEST_RUNNER) +
                                     " --backend broken_final_failure --filter PUR-3"
                                     " --gtest_filter='*CompletionTest*' --report tsv=" +
                                     report.string());
  const auto cells = read_tsv(report);
  fs::remove(report);
  const auto purge = cells.find({"PUR-3", "broken_final_failure"});
  ASSERT_NE(purge, cells.end()) << run.output;
  EXPECT_EQ(purge->second.verdict, "SKIP") << run.output;
  // FAIL-3, outside the selection, failed: the run fails and says why the table shows none.
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("failed on requirements outside the table"), std::string::npos)
      << run.output;
  EXPECT_NE(purge->second.message.find("not checked by Backends/CompletionTest.Purge_KeepsTasks/"
                                       "broken_final_failure: setup step mark_failed of 'failed' "
                                       "for good failed (see FAIL-3)"),
            std::string::npos)
      << purge->second.message;
}

// A store of years 1 to 9999 that says so passes everything: every time the suite sends,
// examples and random sequences alike, is inside the declared range.
TEST_F(SelfTest, StoreOfYearsOneTo9999_PassesEverything) {
  int rows = 0;
  for (const auto& [key, c] : *cells_) {
    if (key.second != "datetime_times") continue;
    ++rows;
    EXPECT_TRUE(c.verdict == "PASS" || c.verdict == "SKIP")
        << key.first << " on datetime_times: " << c.verdict << " " << c.message;
  }
  EXPECT_GT(rows, 30);
  EXPECT_EQ(cell("RT-3", "datetime_times").verdict, "PASS");
}

// A store of a narrower range fails RT-3 and nothing else.
TEST_F(SelfTest, StoreNarrowerThanYearsOneTo9999_FailsRt3Alone) {
  expect_caught("RT-3", "broken_century_times");
  EXPECT_NE(cell("RT-3", "broken_century_times").message.find("1970-01-01T00:00:00.000000Z .. "
                                                              "2100-01-01T00:00:00.000000Z"),
            std::string::npos)
      << cell("RT-3", "broken_century_times").message;
  for (const auto& [key, c] : *cells_) {
    if (key.second != "broken_century_times" || key.first == "RT-3") continue;
    EXPECT_NE(c.verdict, "FAIL") << key.first << " on broken_century_times: " << c.message;
  }
}

// A store that gives up on a held lock fails CON-5, naming the write and the wait.
TEST_F(SelfTest, WriteThatGivesUpOnAHeldLock_IsCaughtAsCon5) {
  expect_caught("CON-5", "broken_busy_timeout");
  const std::string& message = cell("CON-5", "broken_busy_timeout").message;
  EXPECT_NE(message.find("enqueue, started while another writer held the store's write lock "
                         "for 500 ms, raised taskstore::StorageError"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("no write waited"), std::string::npos) << message;
  EXPECT_EQ(cell("CON-5", "memory").verdict, "SKIP");
}

// The report says what each backend declares, the time range included.
TEST_F(SelfTest, Report_ShowsEachBackendsDeclaredTimes) {
  EXPECT_NE(run_->output.find("datetime_times: concurrent_calls; times "
                              "0001-01-01T00:00:00.000000Z .. 9999-12-31T23:59:59.999999Z"),
            std::string::npos)
      << run_->output;
  const auto json = nlohmann::json::parse(read_file(report_path("json")));
  EXPECT_EQ(json["capabilities"]["broken_century_times"]["times"]["latest"].get<std::int64_t>(),
            4'102'444'800'000'000);
}

TEST_F(SelfTest, BrokenBackends_StillPassWhatTheyDoNotBreak) {
  EXPECT_EQ(cell("RES-2", "broken_mark_failed").verdict, "PASS");
  EXPECT_EQ(cell("FAIL-1", "broken_purge").verdict, "PASS");
  EXPECT_EQ(cell("PUR-2", "broken_eta_boundary").verdict, "PASS");
}

TEST_F(SelfTest, MemoryBackend_PassesEverythingInTheSameRun) {
  int rows = 0;
  for (const auto& [key, c] : *cells_) {
    if (key.second != "memory") continue;
    ++rows;
    EXPECT_TRUE(c.verdict == "PASS" || c.verdict == "SKIP")
        << key.first << " on memory: " << c.verdict << " " << c.message;
  }
  EXPECT_GT(rows, 30);
}

TEST_F(SelfTest, JunitReport_HasATestcasePerRequirementAndBackend_WithTheFailure) {
  const std::string xml = read_file(report_path("xml"));
  ASSERT_NE(xml.find("<testsuites name=\"taskstore-conformance\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testsuite name=\"broken_mark_failed\""), std::string::npos);
  // The failing requirement's testcase carries a <failure> naming it.
  const auto testcase = xml.find("name=\"FAIL-1 ", xml.find("<testsuite name=\"broken_mark_failed\""));
  ASSERT_NE(testcase, std::string::npos) << xml;
  const auto failure = xml.find("<failure message=", testcase);
  EXPECT_LT(failure, xml.find("</testcase>", testcase)) << "FAIL-1 has no <failure> element";
  // Markup in messages is escaped (googletest's messages quote code with < and >).
  EXPECT_EQ(xml.find("<<"), std::string::npos);
  EXPECT_NE(xml.find("<skipped message="), std::string::npos) << "memory's skips are missing";
}

TEST_F(SelfTest, JsonReport_HoldsEveryVerdictAndTheSummary) {
  const auto doc = nlohmann::json::parse(read_file(report_path("json")));
  EXPECT_EQ(doc["tool"], "taskstore-conformance");
  EXPECT_EQ(doc["backends"].size(), 8u);
  EXPECT_GE(doc["summary"]["failed"].get<int>(), 3);
  bool found = false;
  for (const auto& requirement : doc["requirements"]) {
    if (requirement["id"] != "PUR-2") continue;
    found = true;
    EXPECT_EQ(requirement["results"]["broken_purge"]["verdict"], "FAIL");
    EXPECT_NE(requirement["results"]["broken_purge"]["message"].get<std::string>().find("PUR-2"),
              std::string::npos);
    EXPECT_EQ(requirement["results"]["memory"]["verdict"], "PASS");
  }
  EXPECT_TRUE(found) << "PUR-2 is missing from the JSON report";
}

TEST_F(SelfTest, MarkdownReport_ShowsTheCoverageTableAndTheFailures) {
  const std::string md = read_file(report_path("md"));
  EXPECT_NE(md.find("| ID | Requirement | memory | broken_mark_failed | broken_purge | "
                    "broken_eta_boundary |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| DEQ-3 | "), std::string::npos) << md;
  EXPECT_NE(md.find("- FAIL DEQ-3 on `broken_eta_boundary`"), std::string::npos) << md;
}

TEST(ConformanceProgram, Filter_RunsAndReportsOnlyTheSelectedRequirements) {
  const fs::path report = fs::temp_directory_path() /
                          ("taskstore-filter-" + std::to_string(::getpid()) + ".tsv");
  const CommandRun run = run_command(std::string(TASKSTORE_CONFORMANCE_PROGRAM) +
                                     " --backend memory --filter DEQ-3,RSC-? --repeat 2"
                                     " --report tsv=" + report.string());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const auto cells = read_tsv(report);
  fs::remove(report);
  EXPECT_TRUE(cells.contains({"DEQ-3", "memory"}));
  EXPECT_TRUE(cells.contains({"RSC-6", "memory"}));
  EXPECT_FALSE(cells.contains({"DEQ-4", "memory"})) << "a requirement outside the filter";
  EXPECT_EQ(cells.at({"DEQ-3", "memory"}).verdict, "PASS");
  EXPECT_NE(run.output.find("0 failed"), std::string::npos) << run.output;
}

// --filter limits the random sequences to the commands that reach the selection, and a
// failure they meet outside it is not reported as the selection's.
TEST(ConformanceProgram, Filter_LimitsThePropertyCommandsToTheSelection) {
  const CommandRun run_only = run_command(std::string(TASKSTORE_SELFTEST_RUNNER) +
                                          " --backend broken_mark_failed --filter RUN-1"
                                          " --gtest_filter='*StorageModel*'");
  EXPECT_EQ(run_only.exit_code, 0) << run_only.output;
  EXPECT_NE(run_only.output.find("commands: enqueue, dequeue, mark_running, get_task"),
            std::string::npos)
      << run_only.output;
  EXPECT_EQ(run_only.output.find("FAIL-1"), std::string::npos)
      << "mark_failed was generated for RUN-1: " << run_only.output;

  const CommandRun purge = run_command(std::string(TASKSTORE_SELFTEST_RUNNER) +
                                       " --backend broken_mark_failed --filter PUR-2"
                                       " --gtest_filter='*StorageModel*'");
  EXPECT_EQ(purge.output.find("Minimal failing sequence"), std::string::npos) << purge.output;
  EXPECT_EQ(purge.output.find("FAIL  "), std::string::npos) << purge.output;
}

TEST(ConformanceProgram, UsageErrors_ExitWithTwoAndNameTheProblem) {
  const std::string program = TASKSTORE_CONFORMANCE_PROGRAM;
  CommandRun unknown = run_command(program + " --backend nosuch:x");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("unknown backend 'nosuch'"), std::string::npos) << unknown.output;
  CommandRun missing_arg = run_command(program + " --backend sqlite");
  EXPECT_EQ(missing_arg.exit_code, 2);
  EXPECT_NE(missing_arg.output.find("sqlite:DIR"), std::string::npos) << missing_arg.output;
  CommandRun bad_flag = run_command(program + " --frobnicate");
  EXPECT_EQ(bad_flag.exit_code, 2);
  EXPECT_NE(bad_flag.output.find("--frobnicate"), std::string::npos) << bad_flag.output;
  CommandRun bad_report = run_command(program + " --report xml=out.xml");
  EXPECT_EQ(bad_report.exit_code, 2);
  EXPECT_NE(bad_report.output.find("unknown report kind 'xml'"), std::string::npos)
      << bad_report.output;
  CommandRun bad_filter = run_command(program + " --filter NOPE-*");
  EXPECT_EQ(bad_filter.exit_code, 2);
  EXPECT_NE(bad_filter.output.find("'NOPE-*' matches no storage requirement"), std::string::npos)
      << bad_filter.output;
  CommandRun bad_repeat = run_command(program + " --repeat 0");
  EXPECT_EQ(bad_repeat.exit_code, 2);
  EXPECT_NE(bad_repeat.output.find("--repeat"), std::string::npos) << bad_repeat.output;
  CommandRun unwritable = run_command(program + " --report tsv=/nonexistent-dir/report.tsv");
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_NE(unwritable.output.find("cannot write /nonexistent-dir/report.tsv"), std::string::npos)
      << unwritable.output;
}

TEST(ConformanceProgram, List_PrintsEveryStorageRequirement) {
  CommandRun list = run_command(std::string(TASKSTORE_CONFORMANCE_PROGRAM) + " --list");
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("DEQ-4\tEarliest eta first, ties in enqueue order"),
            std::string::npos)
      << list.output;
}

}  // namespace
