#include "reports.hpp"

#include "taskstore/conformance/registry.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace taskstore::conformance {

namespace {

struct KindName {
  ReportKind kind;
  const char* name;
};
constexpr KindName kKinds[] = {{ReportKind::tsv, "tsv"},
                               {ReportKind::junit, "junit"},
                               {ReportKind::json, "json"},
                               {ReportKind::markdown, "markdown"}};

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\t', ' ');
  return text;
}

// Text safe inside XML 1.0 attributes and elements: markup escaped, control characters
// XML forbids replaced, invalid UTF-8 replaced by U+FFFD.
std::string xml_text(const std::string& text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = 1;
    if (c >= 0x80) {
      length = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
      bool valid = length != 0 && i + length <= text.size();
      for (std::size_t k = 1; valid && k < length; ++k) {
        valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
      }
      if (!valid) {
        out += "\xEF\xBF\xBD";
        ++i;
        continue;
      }
      out.append(text, i, length);
      i += length;
      continue;
    }
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\n': out += "&#10;"; break;
      case '\t': out += "&#9;"; break;
      default: out += c < 0x20 ? '?' : static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

// A table cell in Markdown: pipes escaped, one line.
std::string markdown_cell(const std::string& text) {
  std::string out;
  for (const char c : one_line(text)) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

void write_tsv(std::ostream& out, const std::vector<ReportRow>& rows) {
  out << "requirement\tbackend\tverdict\tmessage\n";
  for (const auto& row : rows) {
    for (const auto& cell : row.cells) {
      std::string message = cell.message;
      std::replace(message.begin(), message.end(), '\n', '|');
      out << row.id << '\t' << cell.backend << '\t' << cell.verdict << '\t' << one_line(message)
          << '\n';
    }
  }
}

void write_junit(std::ostream& out, const std::vector<ReportRow>& rows,
                 const std::vector<std::string>& backends) {
  const ReportSummary all = summarize(rows);
  const int cases = static_cast<int>(rows.size() * backends.size());
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"taskstore-conformance\" tests=\"" << cases << "\" failures=\""
      << all.failed + all.unchecked << "\" errors=\"0\" skipped=\"" << cases - all.passed - all.failed - all.unchecked
      << "\">\n";
  for (std::size_t b = 0; b < backends.size(); ++b) {
    int failures = 0;
    int skipped = 0;
    for (const auto& row : rows) {
      const std::string& v = row.cells[b].verdict;
      failures += v == "FAIL" || v == "UNCHECKED";
      skipped += v == "SKIP" || v == "-";
    }
    out << "  <testsuite name=\"" << xml_text(backends[b]) << "\" tests=\"" << rows.size()
        << "\" failures=\"" << failures << "\" errors=\"0\" skipped=\"" << skipped << "\">\n";
    for (const auto& row : rows) {
      const ReportCell& cell = row.cells[b];
      out << "    <testcase classname=\"taskstore-conformance." << xml_text(backends[b])
          << "\" name=\"" << xml_text(row.id + " " + row.title) << "\"";
      if (cell.verdict == "PASS") {
        out << "/>\n";
        continue;
      }
      out << ">\n";
      if (cell.verdict == "FAIL" || cell.verdict == "UNCHECKED") {
        out << "      <failure message=\"" << xml_text(first_line(cell.message)) << "\">"
            << xml_text(cell.message) << "</failure>\n";
      } else {
        const std::string reason = cell.verdict == "-" ? "not run: no selected test checks it"
                                                       : cell.message;
        out << "      <skipped message=\"" << xml_text(reason) << "\"/>\n";
      }
      out << "    </testcase>\n";
    }
    out << "  </testsuite>\n";
  }
  out << "</testsuites>\n";
}

void write_json(std::ostream& out, const std::vector<ReportRow>& rows,
                const std::vector<std::string>& backends) {
  using nlohmann::json;
  const ReportSummary summary = summarize(rows);
  json doc;
  doc["tool"] = "taskstore-conformance";
  doc["format_version"] = 1;
  doc["backends"] = backends;
  json declared = json::object();
  for (const Backend& backend : registered_backends()) {
    const Capabilities& c = backend.capabilities;
    declared[backend.name] = {{"persistent", c.persistent},
                              {"multi_process", c.multi_process},
                              {"concurrent_calls", c.concurrent_calls},
                              {"batch_claims", c.batch_claims},
                              {"times",
                               {{"earliest", to_micros(c.times.earliest)},
                                {"latest", to_micros(c.times.latest)},
                                {"text", format_time_range(c.times)}}}};
  }
  doc["capabilities"] = std::move(declared);
  doc["summary"] = {{"passed", summary.passed},
                    {"failed", summary.failed},
                    {"skipped", summary.skipped},
                    {"unchecked", summary.unchecked}};
  json requirements = json::array();
  for (const auto& row : rows) {
    json results = json::object();
    for (const auto& cell : row.cells) {
      json entry = {{"verdict", cell.verdict}, {"tests", cell.tests}};
      if (!cell.message.empty()) entry["message"] = cell.message;
      if (!cell.failures.empty()) entry["failures"] = cell.failures;
      results[cell.backend] = std::move(entry);
    }
    requirements.push_back({{"id", row.id}, {"title", row.title}, {"results", results}});
  }
  doc["requirements"] = std::move(requirements);
  // Messages quote backend data; never let a stray byte make the file unreadable.
  out << doc.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

void write_markdown(std::ostream& out, const std::vector<ReportRow>& rows,
                    const std::vector<std::string>& backends) {
  const ReportSummary summary = summarize(rows);
  out << "# taskstore conformance\n\n"
      << summary.passed << " passed, " << summary.failed << " failed, " << summary.skipped
      << " skipped";
  if (summary.unchecked > 0) out << ", " << summary.unchecked << " unchecked";
  out << " (requirement × backend)\n\n| ID | Requirement |";
  for (const auto& b : backends) out << ' ' << markdown_cell(b) << " |";
  out << "\n| --- | --- |";
  for (std::size_t i = 0; i < backends.size(); ++i) out << " --- |";
  out << '\n';
  std::vector<std::string> notes;
  for (const auto& row : rows) {
    out << "| " << row.id << " | " << markdown_cell(row.title) << " |";
    for (const auto& cell : row.cells) {
      out << ' ' << (cell.verdict == "FAIL" ? "**FAIL**" : cell.verdict) << " |";
      if (cell.verdict == "FAIL" || cell.verdict == "SKIP" || cell.verdict == "UNCHECKED") {
        notes.push_back("- " + cell.verdict + " " + row.id + " on `" + cell.backend + "`: " +
                        (cell.verdict == "FAIL" ? "\n\n```\n" + cell.message + "\n```\n"
                                                : markdown_cell(cell.message)));
      }
    }
    out << '\n';
  }
  out << "\n## Backends\n\n";
  for (const Backend& backend : registered_backends()) {
    out << "- `" << backend.name
        << "`: " << markdown_cell(describe_capabilities(backend.capabilities)) << '\n';
  }
  if (!notes.empty()) {
    out << "\n## Failures and skips\n\n";
    for (const auto& note : notes) out << note << '\n';
  }
}

}  // namespace

std::string report_kinds() {
  std::string names;
  for (const auto& k : kKinds) names += (names.empty() ? "" : ", ") + std::string(k.name);
  return names;
}

ReportRequest parse_report_request(const std::string& text) {
  const auto equals = text.find('=');
  const std::string kind = text.substr(0, equals);
  if (equals == std::string::npos || equals + 1 == text.size()) {
    throw std::invalid_argument("--report " + text + ": expected KIND=FILE, KIND one of " +
                                report_kinds());
  }
  for (const auto& k : kKinds) {
    if (kind == k.name) return ReportRequest{k.kind, text.substr(equals + 1)};
  }
  throw std::invalid_argument("--report " + text + ": unknown report kind '" + kind +
                              "' (known: " + report_kinds() + ")");
}

void write_report(const ReportRequest& request, const std::vector<ReportRow>& rows,
                  const std::vector<std::string>& backends) {
  std::ofstream out(request.path);
  if (!out) throw std::runtime_error("cannot write report file " + request.path.string());
  switch (request.kind) {
    case ReportKind::tsv: write_tsv(out, rows); break;
    case ReportKind::junit: write_junit(out, rows, backends); break;
    case ReportKind::json: write_json(out, rows, backends); break;
    case ReportKind::markdown: write_markdown(out, rows, backends); break;
  }
  out.flush();
  if (!out) throw std::runtime_error("failed writing report file " + request.path.string());
}

}  // namespace taskstore::conformance
