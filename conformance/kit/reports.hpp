#pragma once
// Report files of taskstore-conformance, for tools and CI: --report KIND=FILE.
//   tsv       one line per requirement × backend: requirement, backend, verdict, message
//   junit     JUnit XML: a testsuite per backend, a testcase per requirement
//   json      the whole table with messages and the summary
//   markdown  the requirement coverage table and the failures, for a CI summary page

#include <filesystem>
#include <string>
#include <vector>

#include "verdicts.hpp"

namespace taskstore::conformance {

enum class ReportKind { tsv, junit, json, markdown };

struct ReportRequest {
  ReportKind kind;
  std::filesystem::path path;
};

// Parses "KIND=FILE". Throws std::invalid_argument with a one-line message naming the
// problem (unknown kind, empty file name).
ReportRequest parse_report_request(const std::string& text);

// The names --report accepts, for help and messages: "tsv, junit, json, markdown".
std::string report_kinds();

// Writes one report. Throws std::runtime_error naming the file if it can't be written.
void write_report(const ReportRequest& request, const std::vector<ReportRow>& rows,
                  const std::vector<std::string>& backends);

}  // namespace taskstore::conformance
