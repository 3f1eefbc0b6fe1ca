#pragma once
// Turns googletest results into one verdict per requirement and backend, and prints or
// writes them. A test contributes to every requirement it names (TASKSTORE_REQUIREMENTS):
// a requirement fails on a backend if any of its tests failed there, passes if at least
// one passed and none failed, and is skipped if all of its tests were skipped. A failed
// test that recorded which requirements it found violated counts against those alone; one
// whose setup step failed (ConformanceTest::given) counts against that step's requirement
// and leaves its own unchecked.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace taskstore::conformance {

enum class Verdict { pass, fail, skip };

struct VerdictCell {
  Verdict verdict = Verdict::skip;
  int tests = 0;
  std::vector<std::string> failures;  // "Suite.Test: message", one per failed test
  std::string skip_reason;
};

class VerdictCollector : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override;

  // The cell for (requirement, backend), or nullptr if no test checked it there.
  const VerdictCell* find(const std::string& requirement, const std::string& backend) const;
  // Tests that ran without naming any requirement (a suite bug worth reporting).
  const std::vector<std::string>& unlabelled_tests() const { return unlabelled_; }

 private:
  void record_setup_failure(const ::testing::TestInfo& info, const std::string& backend,
                            const std::vector<std::string>& checked,
                            const std::string& setup_failed);

  std::map<std::pair<std::string, std::string>, VerdictCell> cells_;
  std::vector<std::string> unlabelled_;
};

struct ReportSummary {
  int passed = 0;
  int failed = 0;
  int skipped = 0;
  int unchecked = 0;  // storage requirements no test checked on some backend
};

// One requirement × backend verdict, as every report shows it.
struct ReportCell {
  std::string backend;
  // PASS, FAIL, SKIP; UNCHECKED if no test checked it (and every requirement had to be);
  // "-" if no test checked it in a filtered run.
  std::string verdict;
  int tests = 0;        // tests that gave this requirement a verdict on this backend
  std::string message;  // FAIL: the failures joined by newlines; SKIP: the reason
  std::vector<std::string> failures;  // FAIL: "Suite.Test: message", one per failed test
};

struct ReportRow {
  std::string id;
  std::string title;
  std::vector<ReportCell> cells;  // one per backend, in the order given
};

// The selected storage requirements (in spec order) × `backends`. With
// `require_every_requirement`, a requirement no test checked on a backend is UNCHECKED.
std::vector<ReportRow> report_rows(const VerdictCollector& verdicts,
                                   const std::vector<std::string>& backends,
                                   bool require_every_requirement);

ReportSummary summarize(const std::vector<ReportRow>& rows);

// Prints the requirement × backend table, then the skip reasons and every failure with
// its message, then the summary line; returns the summary.
ReportSummary print_report(std::ostream& out, const std::vector<ReportRow>& rows,
                           const std::vector<std::string>& backends,
                           const std::vector<std::string>& unlabelled_tests);

// Prints failures as they happen, and a progress line on a terminal; replaces googletest's
// per-test output in the conformance program (which --verbose keeps instead).
class CompactPrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit CompactPrinter(std::ostream& out, bool progress) : out_(out), progress_(progress) {}
  void OnTestProgramStart(const ::testing::UnitTest& unit) override;
  void OnTestEnd(const ::testing::TestInfo& info) override;
  void OnTestProgramEnd(const ::testing::UnitTest& unit) override;

 private:
  std::ostream& out_;
  bool progress_;
  int total_ = 0;
  int done_ = 0;
};

}  // namespace taskstore::conformance
