#include "verdicts.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

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

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\t', ' ');
  return text;
}

}  // namespace

void VerdictCollector::OnTestEnd(const ::testing::TestInfo& info) {
  const ::testing::TestResult& result = *info.result();
  std::string requirements;
  std::string violated;
  for (int i = 0; i < result.test_property_count(); ++i) {
    const auto& property = result.GetTestProperty(i);
    if (std::string(property.key()) == "requirements") requirements = property.value();
    if (std::string(property.key()) == "violated") violated = property.value();
  }
  if (info.value_param() == nullptr) return;  // not a conformance test
  const std::string backend = info.value_param();
  if (requirements.empty()) {
    unlabelled_.push_back(full_name(info) + " [" + backend + "]");
    return;
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

const VerdictCell* VerdictCollector::find(const std::string& requirement,
                                          const std::string& backend) const {
  const auto it = cells_.find({requirement, backend});
  return it == cells_.end() ? nullptr : &it->second;
}

ReportSummary print_report(std::ostream& out, const VerdictCollector& verdicts,
                           const std::vector<std::string>& backends,
                           bool require_every_requirement) {
  ReportSummary summary;
  std::size_t title_width = 0;
  for (const auto& r : all_requirements()) {
    if (r.scope == RequirementScope::storage) title_width = std::max(title_width, r.title.size());
  }
  title_width = std::min<std::size_t>(title_width, 60);
  std::vector<std::size_t> widths;
  for (const auto& b : backends) widths.push_back(std::max<std::size_t>(b.size(), 9) + 2);

  out << "\n" << fit("ID", 8) << fit("Requirement", title_width + 2);
  for (std::size_t i = 0; i < backends.size(); ++i) out << fit(backends[i], widths[i]);
  out << "\n";

  std::vector<std::string> failure_lines;
  std::vector<std::string> skip_lines;
  for (const auto& r : all_requirements()) {
    if (r.scope != RequirementScope::storage) continue;
    out << fit(r.id, 8) << fit(r.title, title_width) << "  ";
    for (std::size_t i = 0; i < backends.size(); ++i) {
      const VerdictCell* cell = verdicts.find(std::string(r.id), backends[i]);
      std::string shown;
      if (cell == nullptr) {
        shown = require_every_requirement ? "UNCHECKED" : "-";
        if (require_every_requirement) ++summary.unchecked;
      } else {
        shown = verdict_name(cell->verdict);
        switch (cell->verdict) {
          case Verdict::pass: ++summary.passed; break;
          case Verdict::skip:
            ++summary.skipped;
            skip_lines.push_back(std::string(r.id) + " on " + backends[i] + ": " +
                                 first_line(cell->skip_reason));
            break;
          case Verdict::fail:
            ++summary.failed;
            for (const auto& f : cell->failures) {
              failure_lines.push_back(std::string(r.id) + " on " + backends[i] + ": " + f);
            }
            break;
        }
      }
      out << fit(shown, widths[i]);
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
  for (const auto& t : verdicts.unlabelled_tests()) {
    out << "\nWarning: " << t << " names no requirement (TASKSTORE_REQUIREMENTS missing)\n";
  }
  out << "\n"
      << summary.passed << " passed, " << summary.failed << " failed, " << summary.skipped
      << " skipped";
  if (summary.unchecked > 0) out << ", " << summary.unchecked << " unchecked";
  out << " (requirement x backend)\n";
  return summary;
}

void write_tsv_report(const std::filesystem::path& path, const VerdictCollector& verdicts,
                      const std::vector<std::string>& backends) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write report file " + path.string());
  out << "requirement\tbackend\tverdict\tmessage\n";
  for (const auto& r : all_requirements()) {
    if (r.scope != RequirementScope::storage) continue;
    for (const auto& b : backends) {
      const VerdictCell* cell = verdicts.find(std::string(r.id), b);
      out << r.id << "\t" << b << "\t";
      if (cell == nullptr) {
        out << "UNCHECKED\t\n";
        continue;
      }
      out << verdict_name(cell->verdict) << "\t";
      if (cell->verdict == Verdict::fail) {
        std::string joined;
        for (const auto& f : cell->failures) joined += (joined.empty() ? "" : " | ") + f;
        out << one_line(joined);
      } else if (cell->verdict == Verdict::skip) {
        out << one_line(first_line(cell->skip_reason));
      }
      out << "\n";
    }
  }
  if (!out) throw std::runtime_error("failed writing report file " + path.string());
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
