#include "verdicts.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "taskstore/conformance/fixture.hpp"
#include "taskstore/conformance/requirements.hpp"

namespace taskstore::conformance {

namespace {

std::vector<std::string> split_ids(const std::string& joined) {
  std::vector<std::string> ids;
  std::stringstream in(joined);
  for (std::string id; std::getline(in, id, ',');) {
    if (!id.empty()) ids.push_back(id);
  }
  return ids;
}

std::string full_name(const ::testing::TestInfo& info) {
  return std::string(info.test_suite_name()) + "." + info.name();
}

// The failure messages of a finished test, joined, without googletest's trace footer
// noise beyond the first line of each.
std::string failure_text(const ::testing::TestResult& result) {
  std::string text;
  for (int i = 0; i < result.total_part_count(); ++i) {
    const auto& part = result.GetTestPartResult(i);
    if (!part.failed()) continue;
    if (!text.empty()) text += "\n";
    if (part.file_name() != nullptr) {
      text += std::string(part.file_name()) + ":" + std::to_string(part.line_number()) + ": ";
    }
    text += part.message();
  }
  return text;
}

std::string skip_text(const ::testing::TestResult& result) {
  for (int i = 0; i < result.total_part_count(); ++i) {
    const auto& part = result.GetTestPartResult(i);
    if (part.skipped()) return part.message();
  }
  return "";
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::pass: return "PASS";
    case Verdict::fail: return "FAIL";
    case Verdict::skip: return "SKIP";
  }
  return "?";
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

// Characters shown on a terminal, counting each UTF-8 sequence once.
std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (const char c : text) width += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return width;
}

// `text` cut to `width` characters (marking a cut with "..."), then padded to it.
std::string fit(std::string_view text, std::size_t width) {
  std::string out(text);
  if (display_width(out) > width) {
    std::size_t keep = 0;
    std::size_t shown = 0;
    while (keep < out.size() && shown < width - 3) {
      ++keep;
      while (keep < out.size() && (static_cast<unsigned char>(out[keep]) & 0xC0) == 0x80) ++keep;
      ++shown;
    }
    out = out.substr(0, keep) + "...";
  }
  out.append(width - display_width(out), ' ');
  return out;
}

}  // namespace

void VerdictCollector::OnTestEnd(const ::testing::TestInfo& info) {
  const ::testing::TestResult& result = *info.result();
  std::string requirements;
  std::string violated;
  std::string setup_failed;
  bool failed_before_setup = false;
  for (int i = 0; i < result.test_property_count(); ++i) {
    const auto& property = result.GetTestProperty(i);
    if (std::string(property.key()) == "requirements") requirements = property.value();
    if (std::string(property.key()) == "violated") violated = property.value();
    if (std::string(property.key()) == kSetupFailedProperty) setup_failed = property.value();
    if (std::string(property.key()) == kFailedBeforeSetupProperty) failed_before_setup = true;
  }
  if (info.value_param() == nullptr) return;  // not a conformance test
  for (int i = 0; i < result.test_property_count(); ++i) {
    // Left out by the requirement selection: no verdict either way.
    if (std::string(result.GetTestProperty(i).key()) == "not_selected") return;
  }
  const std::string backend = info.value_param();
  if (requirements.empty()) {
    unlabelled_.push_back(full_name(info) + " [" + backend + "]");
    return;
  }
  if (!setup_failed.empty()) {
    // The step's own requirement fails. The test's requirements are not checked, unless
    // it had found something wrong before the step: that stays a failure of theirs.
    record_setup_failure(info, backend,
                         failed_before_setup ? std::vector<std::string>{}
                                             : split_ids(requirements),
                         setup_failed);
    if (!failed_before_setup) return;
  }
  // A failed test that says which requirements it found broken fails only those; the
  // others it names get no verdict from it (see record_violated_requirements).
  const std::vector<std::string> broken = result.Failed() ? split_ids(violated)
                                                          : std::vector<std::string>{};
  std::vector<std::string> ids = split_ids(requirements);
  if (!broken.empty()) ids = broken;
  for (const auto& id : ids) {
    VerdictCell& cell = cells_[{id, backend}];
    cell.tests += 1;
    if (result.Failed()) {
      cell.verdict = Verdict::fail;
      cell.failures.push_back(full_name(info) + ": " + failure_text(result));
    } else if (result.Skipped()) {
      if (cell.tests == 1) cell.skip_reason = skip_text(result);
    } else if (cell.verdict != Verdict::fail) {
      cell.verdict = Verdict::pass;
    }
  }
}

// A setup step failed (ConformanceTest::given): the step's own requirement fails, with
// what went wrong; the test's requirements were not checked by it.
void VerdictCollector::record_setup_failure(const ::testing::TestInfo& info,
                                            const std::string& backend,
                                            const std::vector<std::string>& checked,
                                            const std::string& setup_failed) {
  // requirement \t step \t error (the error may hold tabs of its own).
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  for (int field = 0; field < 2; ++field) {
    const auto tab = setup_failed.find('\t', start);
    parts.push_back(setup_failed.substr(start, tab - start));
    start = tab == std::string::npos ? setup_failed.size() : tab + 1;
  }
  parts.push_back(setup_failed.substr(start));
  const std::string& step_requirement = parts[0];
  VerdictCell& failed = cells_[{step_requirement, backend}];
  failed.tests += 1;
  failed.verdict = Verdict::fail;
  failed.failures.push_back(full_name(info) + ": setup step " + parts[1] + " (" +
                            step_requirement + ") failed: " + parts[2]);
  for (const auto& id : checked) {
    if (id == step_requirement) continue;
    VerdictCell& cell = cells_[{id, backend}];
    cell.tests += 1;
    if (cell.tests == 1 || cell.skip_reason.empty()) {
      cell.skip_reason = "not checked by " + full_name(info) + ": setup step " + parts[1] +
                         " failed (see " + step_requirement + ")";
    }
  }
}

const VerdictCell* VerdictCollector::find(const std::string& requirement,
                                          const std::string& backend) const {
  const auto it = cells_.find({requirement, backend});
  return it == cells_.end() ? nullptr : &it->second;
}

std::vector<ReportRow> report_rows(const VerdictCollector& verdicts,
                                   const std::vector<std::string>& backends,
                                   bool require_every_requirement) {
  std::vector<ReportRow> rows;
  for (const auto& r : all_requirements()) {
    if (r.scope != RequirementScope::storage || !requirement_selected(r.id)) continue;
    ReportRow row{.id = std::string(r.id), .title = std::string(r.title), .cells = {}};
    for (const auto& backend : backends) {
      ReportCell cell{.backend = backend, .verdict = "-", .tests = 0, .message = "",
                      .failures = {}};
      if (const VerdictCell* found = verdicts.find(row.id, backend)) {
        cell.verdict = verdict_name(found->verdict);
        cell.tests = found->tests;
        if (found->verdict == Verdict::fail) {
          cell.failures = found->failures;
          for (const auto& f : found->failures) {
            cell.message += (cell.message.empty() ? "" : "\n") + f;
          }
        } else if (found->verdict == Verdict::skip) {
          cell.message = first_line(found->skip_reason);
        }
      } else if (require_every_requirement) {
        cell.verdict = "UNCHECKED";
        cell.message = "no test checked this requirement on this backend";
      }
      row.cells.push_back(std::move(cell));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

ReportSummary summarize(const std::vector<ReportRow>& rows) {
  ReportSummary summary;
  for (const auto& row : rows) {
    for (const auto& cell : row.cells) {
      if (cell.verdict == "PASS") ++summary.passed;
      if (cell.verdict == "FAIL") ++summary.failed;
      if (cell.verdict == "SKIP") ++summary.skipped;
      if (cell.verdict == "UNCHECKED") ++summary.unchecked;
    }
  }
  return summary;
}

ReportSummary print_report(std::ostream& out, const std::vector<ReportRow>& rows,
                           const std::vector<std::string>& backends,
                           const std::vector<std::string>& unlabelled_tests) {
  std::size_t title_width = 0;
  for (const auto& row : rows) title_width = std::max(title_width, row.title.size());
  title_width = std::clamp<std::size_t>(title_width, 11, 60);
  std::vector<std::size_t> widths;
  for (const auto& b : backends) widths.push_back(std::max<std::size_t>(b.size(), 9) + 2);

  out << "\n" << fit("ID", 8) << fit("Requirement", title_width + 2);
  for (std::size_t i = 0; i < backends.size(); ++i) out << fit(backends[i], widths[i]);
  out << "\n";

  std::vector<std::string> failure_lines;
  std::vector<std::string> skip_lines;
  for (const auto& row : rows) {
    out << fit(row.id, 8) << fit(row.title, title_width) << "  ";
    for (std::size_t i = 0; i < row.cells.size(); ++i) {
      const ReportCell& cell = row.cells[i];
      if (cell.verdict == "SKIP") {
        skip_lines.push_back(row.id + " on " + cell.backend + ": " + cell.message);
      }
      for (const auto& f : cell.failures) {
        failure_lines.push_back(row.id + " on " + cell.backend + ": " + f);
      }
      out << fit(cell.verdict, widths[i]);
    }
    out << "\n";
  }

  if (!skip_lines.empty()) {
    out << "\nSkipped:\n";
    for (const auto& line : skip_lines) out << "  " << line << "\n";
  }
  if (!failure_lines.empty()) {
    out << "\nFailures:\n";
    for (const auto& line : failure_lines) {
      std::istringstream lines(line);
      std::string l;
      bool first = true;
      while (std::getline(lines, l)) {
        out << (first ? "  " : "      ") << l << "\n";
        first = false;
      }
    }
  }
  for (const auto& t : unlabelled_tests) {
    out << "\nWarning: " << t << " names no requirement (TASKSTORE_REQUIREMENTS missing)\n";
  }
  const ReportSummary summary = summarize(rows);
  out << "\n"
      << summary.passed << " passed, " << summary.failed << " failed, " << summary.skipped
      << " skipped";
  if (summary.unchecked > 0) out << ", " << summary.unchecked << " unchecked";
  out << " (requirement x backend)\n";
  return summary;
}

void CompactPrinter::OnTestProgramStart(const ::testing::UnitTest& unit) {
  total_ = unit.test_to_run_count();
}

void CompactPrinter::OnTestEnd(const ::testing::TestInfo& info) {
  ++done_;
  const auto& result = *info.result();
  if (result.Failed()) {
    if (progress_) out_ << "\r\033[K";
    out_ << "[  FAILED  ] " << full_name(info);
    if (info.value_param() != nullptr) out_ << " [backend " << info.value_param() << "]";
    out_ << "\n" << failure_text(result) << "\n";
  }
  if (progress_) {
    out_ << "\r\033[K[" << done_ << "/" << total_ << "] " << first_line(full_name(info))
         << std::flush;
  }
}

void CompactPrinter::OnTestProgramEnd(const ::testing::UnitTest&) {
  if (progress_) out_ << "\r\033[K" << std::flush;
}

}  // namespace taskstore::conformance
