// The kit's coverage by seeded bugs: every backend with one seeded bug fails exactly the
// requirement IDs it is listed with, every requirement of section 1 has at least one
// seeded bug, and docs/seeded-bugs.md is the table this catalogue makes.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "broken_backends.hpp"
#include "taskstore/conformance/requirements.hpp"

namespace taskstore::conformance::selftest {
namespace {

namespace fs = std::filesystem;

// requirement IDs each backend of the run failed, from its tsv report.
using Failures = std::map<std::string, std::set<std::string>>;

struct SuiteRun {
  int exit_code = -1;
  std::string output;
  Failures failures;
};

const SuiteRun& coverage_run() {
  static const SuiteRun run = [] {
    SuiteRun r;
    const fs::path report = fs::temp_directory_path() /
                            ("taskstore-seeded-bugs-" + std::to_string(::getpid()) + ".tsv");
    // A fixed seed: a bug that random sequences find is named by the step they meet first.
    std::string command = "RC_PARAMS=seed=1 TASKSTORE_CRASH_KILLS=10 " +
                          std::string(TASKSTORE_SELFTEST_RUNNER) + " --report tsv=" +
                          report.string();
    for (const auto& bug : seeded_bugs()) command += " --backend " + bug.scheme.name;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (pipe != nullptr) {
      std::array<char, 4096> buffer;
      while (const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
        r.output.append(buffer.data(), n);
      }
      const int status = ::pclose(pipe);
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::ifstream in(report);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string id, backend, verdict;
      std::getline(fields, id, '\t');
      std::getline(fields, backend, '\t');
      std::getline(fields, verdict, '\t');
      if (verdict == "FAIL") r.failures[backend].insert(id);
    }
    fs::remove(report);
    return r;
  }();
  return run;
}

std::string joined(const std::set<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : " ") + id;
  return out.empty() ? "(none)" : out;
}

// The table of docs/seeded-bugs.md, made from the catalogue.
std::string coverage_table() {
  std::map<std::string, std::vector<std::string>> by_id;
  for (const auto& bug : seeded_bugs()) {
    for (const auto& id : bug.fails) by_id[id].push_back("`" + bug.scheme.name + "`");
  }
  for (const auto& bug : bugs_shown_elsewhere()) {
    for (const auto& id : bug.fails) by_id[id].push_back("`" + bug.test + "`");
  }
  std::ostringstream out;
  out << "# Seeded bugs: what the kit is shown to catch\n\n"
      << "Generated from `conformance/tests/kit/broken_backends.cpp` by the test\n"
      << "`seeded_bug_coverage` (which fails when this page is stale; it writes the fresh page\n"
      << "to `conformance/tests/seeded-bugs.md` in the build directory). Each backend below has\n"
      << "one bug planted in an otherwise correct store; the test runs the whole suite on all of\n"
      << "them and checks that each fails exactly the requirements listed for it, no fewer and\n"
      << "no more. A bug listed under several requirements breaks each of them (a store that\n"
      << "raises when nothing is due breaks every check that something is not due).\n\n"
      << "## By requirement\n\n| ID | Requirement | Caught in |\n| --- | --- | --- |\n";
  for (const auto& r : all_requirements()) {
    if (r.scope != RequirementScope::storage) continue;
    std::string where;
    for (const auto& name : by_id[std::string(r.id)]) where += (where.empty() ? "" : ", ") + name;
    out << "| " << r.id << " | " << r.title << " | " << (where.empty() ? "**none**" : where)
        << " |\n";
  }
  out << "\n## By seeded bug\n\n| Backend or test | The bug | Fails |\n| --- | --- | --- |\n";
  for (const auto& bug : seeded_bugs()) {
    std::string ids;
    for (const auto& id : bug.fails) ids += (ids.empty() ? "" : ", ") + id;
    out << "| `" << bug.scheme.name << "` | " << bug.scheme.help << " | " << ids << " |\n";
  }
  for (const auto& bug : bugs_shown_elsewhere()) {
    std::string ids;
    for (const auto& id : bug.fails) ids += (ids.empty() ? "" : ", ") + id;
    out << "| `" << bug.test << "` | " << bug.bug << " | " << ids << " |\n";
  }
  return out.str();
}

TEST(SeededBugs, EachBackendFailsExactlyItsListedRequirements) {
  const SuiteRun& run = coverage_run();
  ASSERT_EQ(run.exit_code, 1) << "the run of every seeded bug must fail:\n" << run.output;
  for (const auto& bug : seeded_bugs()) {
    const std::set<std::string> expected(bug.fails.begin(), bug.fails.end());
    const auto it = run.failures.find(bug.scheme.name);
    const std::set<std::string> actual = it == run.failures.end() ? std::set<std::string>{}
                                                                   : it->second;
    EXPECT_EQ(actual, expected) << bug.scheme.name << " (" << bug.scheme.help
                                << ") failed " << joined(actual) << ", listed with "
                                << joined(expected);
  }
}

TEST(SeededBugs, EveryStorageRequirementHasOne) {
  std::set<std::string> covered;
  for (const auto& bug : seeded_bugs()) covered.insert(bug.fails.begin(), bug.fails.end());
  for (const auto& bug : bugs_shown_elsewhere()) covered.insert(bug.fails.begin(), bug.fails.end());
  for (const auto& r : all_requirements()) {
    if (r.scope != RequirementScope::storage) continue;
    EXPECT_TRUE(covered.count(std::string(r.id)) > 0)
        << r.id << " (" << r.title << ") has no seeded bug: add a backend with a bug only it "
        << "catches to conformance/tests/kit/broken_backends.cpp";
  }
}

TEST(SeededBugs, DocsTableIsCurrent) {
  const std::string table = coverage_table();
  std::ofstream(TASKSTORE_FRESH_TABLE) << table;
  std::ifstream in(fs::path(TASKSTORE_SOURCE_DIR) / "docs" / "seeded-bugs.md");
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_EQ(committed.str(), table) << "docs/seeded-bugs.md is stale: cp " << TASKSTORE_FRESH_TABLE
                                    << " docs/seeded-bugs.md";
}

}  // namespace
}  // namespace taskstore::conformance::selftest
