#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <variant>

#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/conformance/exec_backend.hpp"
#include "taskstore/conformance/fault_layer.hpp"
#include "taskstore/conformance/requirements.hpp"
#include "taskstore/conformance/suite.hpp"
#include "taskstore/conformance/suite_config.hpp"
#include "reports.hpp"
#include "verdicts.hpp"

namespace taskstore::conformance {

namespace fs = std::filesystem;

namespace {

constexpr int kExitPassed = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// What the command line asked for, checked: parse_command_line's result.
struct CommandLine {
  std::string program;
  std::vector<std::string> backends;
  std::vector<ReportRequest> reports;
  std::vector<std::string> filters;
  int repeat = 1;
  bool verbose = false;
  bool list = false;
  std::vector<std::string> gtest_args;
  SuiteConfig config;
};

Backend make_backend(const std::string& spec, const std::vector<BackendScheme>& schemes) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  for (const auto& scheme : schemes) {
    if (scheme.name != name) continue;
    if (!scheme.arg_help.empty() && arg.empty()) {
      throw std::invalid_argument("--backend " + spec + ": expected " + name + ":" +
                                  scheme.arg_help);
    }
    return scheme.make(arg);
  }
  std::string known;
  for (const auto& scheme : schemes) known += (known.empty() ? "" : ", ") + scheme.name;
  throw std::invalid_argument("--backend " + spec + ": unknown backend '" + name +
                              "' (known: " + known + ")");
}

void list_requirements(std::ostream& out) {
  for (const auto& r : all_requirements()) {
    if (r.scope == RequirementScope::storage) out << r.id << "\t" << r.title << "\n";
  }
}

}  // namespace

BackendScheme directory_scheme(std::string name, std::string help,
                               std::function<Backend(const std::string& dir)> make) {
  auto default_arg = [name](const std::filesystem::path& scratch) {
    return std::optional<std::string>((scratch / name).string());
  };
  return BackendScheme{.name = std::move(name),
                       .arg_help = "DIR",
                       .help = std::move(help),
                       .make = std::move(make),
                       .default_arg = std::move(default_arg)};
}

BackendScheme exec_scheme() {
  return BackendScheme{
      .name = "exec",
      .arg_help = "CMD",
      .help = "a driver program in any language (run with /bin/sh -c) speaking "
              "docs/driver-protocol.md; stores in a temporary directory",
      .make = [](const std::string& command) { return exec_backend(command); },
      .default_arg = nullptr};
}

namespace {

// Parses and checks the command line. Returns the exit code instead when the run is over
// before it starts (--help, --list, a usage error).
std::variant<CommandLine, int> parse_command_line(int argc, char** argv,
                                                  const std::vector<BackendScheme>& schemes) {
  CommandLine cli;
  // Messages and --help name the program as it was started (an out-of-tree driver built
  // on this function has its own name).
  cli.program = argc > 0 && argv[0] != nullptr && *argv[0] != '\0'
                    ? fs::path(argv[0]).filename().string()
                    : std::string("taskstore-conformance");
  CLI::App app{"Runs the taskstore storage-conformance suite against one or more backends "
               "and prints a verdict for every requirement of spec/requirements.md.\n"
               "Exit codes: 0 every requirement passed, 1 a requirement failed or was not "
               "checked, 2 usage or setup error. --gtest_* flags are passed to googletest.",
               cli.program};
  std::string backend_help = "Backend to test (repeatable; default: every backend below "
                             "marked *, on temporary paths):";
  for (const auto& s : schemes) {
    backend_help += "\n  " + s.name + (s.arg_help.empty() ? "" : ":" + s.arg_help) +
                    (s.default_arg ? " *" : "") + "  " + s.help;
  }
  std::vector<std::string> reports;
  app.add_option("--backend", cli.backends, backend_help);
  app.add_option("--report", reports,
                 "Also write a report (repeatable): KIND=FILE with KIND one of " +
                     report_kinds() +
                     " (tsv: requirement, backend, verdict, message; junit: JUnit XML, a "
                     "testcase per requirement and backend; json: the table with messages; "
                     "markdown: the coverage table)");
  app.add_option("--filter", cli.filters,
                 "Run only the tests that check these requirements: IDs or patterns with * "
                 "and ?, comma-separated or repeated (e.g. DEQ-*,RSC-6)")
      ->delimiter(',');
  app.add_option("--repeat", cli.repeat, "Run the selected tests N times (flaky hunting)")
      ->check(CLI::Range(1, 1000000));
  // The suite's knobs: text here, parsed by the same code as their environment variables.
  std::vector<std::pair<const SuiteKnob*, std::string>> knob_texts;
  knob_texts.reserve(suite_knobs().size());
  for (const SuiteKnob& knob : suite_knobs()) {
    knob_texts.emplace_back(&knob, "");
    app.add_option(std::string(knob.flag), knob_texts.back().second,
                   std::string(knob.help) + " [env: " + std::string(knob.variable) + "]")
        ->type_name(std::string(knob.value));
  }
  app.add_flag("--verbose", cli.verbose, "Print googletest's line for every test");
  app.add_flag("--list", cli.list, "List the requirement IDs the suite checks, then exit");
  app.allow_extras();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << cli.program << ": " << e.what() << "\n";
    return kExitUsage;
  }
  if (cli.list) {
    list_requirements(std::cout);
    return kExitPassed;
  }
  try {
    for (const auto& extra : app.remaining()) {
      if (extra.rfind("--gtest_", 0) != 0) {
        throw std::invalid_argument("unknown argument '" + extra + "' (see --help)");
      }
      cli.gtest_args.push_back(extra);
    }
    for (const auto& report : reports) {
      cli.reports.push_back(parse_report_request(report));
      // Find an unwritable path now, not after a long run.
      if (!std::ofstream(cli.reports.back().path, std::ios::app)) {
        throw std::invalid_argument("--report " + report + ": cannot write " +
                         cli.reports.back().path.string());
      }
    }
    // The environment first, then the flags over it.
    cli.config = suite_config_from_environment();
    for (const auto& [knob, text] : knob_texts) {
      if (!text.empty()) set_suite_knob(cli.config, knob->flag, text, knob->flag);
    }
    try {
      select_requirements(cli.filters);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("--filter: ") + e.what());
    }
  } catch (const std::invalid_argument& e) {
    std::cerr << cli.program << ": " << e.what() << "\n";
    return kExitUsage;
  }
  return cli;
}

// Registers the backends the command line names (or every scheme's default, on paths in
// `scratch`, made here). Throws std::invalid_argument or the backend's error for a backend
// that can't be made.
std::vector<std::string> register_backends(const CommandLine& cli,
                                           const std::vector<BackendScheme>& schemes,
                                           std::unique_ptr<TemporaryDirectory>& scratch) {
  clear_registered_backends();
  std::vector<Backend> backends;
  if (cli.backends.empty()) {
    // A fresh private directory for default stores, removed when the run ends.
    scratch = std::make_unique<TemporaryDirectory>("taskstore-conformance");
    for (const auto& scheme : schemes) {
      if (const auto arg = scheme.default_arg ? scheme.default_arg(scratch->path())
                                              : std::nullopt) {
        backends.push_back(scheme.make(*arg));
      }
    }
  } else {
    for (const auto& spec : cli.backends) backends.push_back(make_backend(spec, schemes));
  }
  std::vector<std::string> names;
  for (auto& backend : backends) {
    names.push_back(backend.name);
    register_backend(std::move(backend));
  }
  return names;
}

// Runs every registered test under googletest, prints the requirement x backend table,
// writes the reports and returns the exit code.
int run_suites(const CommandLine& cli, char* argv0, const std::vector<std::string>& backend_names,
               const TemporaryDirectory* scratch) {
  std::vector<std::string> gtest_storage{argv0};
  if (cli.repeat > 1) gtest_storage.push_back("--gtest_repeat=" + std::to_string(cli.repeat));
  bool filtered = false;
  for (const auto& a : cli.gtest_args) {
    gtest_storage.push_back(a);
    filtered = filtered || a.rfind("--gtest_filter", 0) == 0;
  }
  std::vector<char*> gtest_argv;
  for (auto& a : gtest_storage) gtest_argv.push_back(a.data());
  gtest_argv.push_back(nullptr);
  int gtest_argc = static_cast<int>(gtest_storage.size());
  ::testing::InitGoogleTest(&gtest_argc, gtest_argv.data());

  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (!cli.verbose) {
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new CompactPrinter(std::cout, ::isatty(STDOUT_FILENO) != 0));
  }
  auto* verdicts = new VerdictCollector;  // owned by googletest once appended
  listeners.Append(verdicts);

  std::cout << cli.program << ": testing";
  for (const auto& name : backend_names) std::cout << " " << name;
  if (scratch) std::cout << " (stores under " << scratch->path().string() << ")";
  std::cout << "\n";
  for (const Backend& backend : registered_backends()) {
    std::cout << "  " << backend.name << ": " << describe_capabilities(backend.capabilities)
              << "\n";
  }
  std::cout << std::flush;

  const int gtest_status = RUN_ALL_TESTS();
  // Requirements the selection keeps must each be checked, unless googletest's own
  // filter left tests out.
  const std::vector<ReportRow> rows = report_rows(*verdicts, backend_names, !filtered);
  const ReportSummary summary =
      print_report(std::cout, rows, backend_names, verdicts->unlabelled_tests());
  try {
    for (const auto& report : cli.reports) write_report(report, rows, backend_names);
  } catch (const std::exception& e) {
    std::cerr << cli.program << ": " << e.what() << "\n";
    return kExitUsage;
  }
  if (gtest_status != 0 && summary.failed == 0) {
    // A failure the table cannot show: a setup step whose requirement --filter left out,
    // say. The run still fails; say where to look.
    std::cout << "Some tests failed on requirements outside the table (their messages are "
                 "above): the run fails.\n";
  }
  const bool ok = gtest_status == 0 && summary.failed == 0 && summary.unchecked == 0;
  return ok ? kExitPassed : kExitFailed;
}

}  // namespace

int conformance_main(int argc, char** argv, std::vector<BackendScheme> schemes) {
  load_fault_layer(argv);  // for the power-cut tests (CRASH-3, CRASH-4)
  auto parsed = parse_command_line(argc, argv, schemes);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  const CommandLine& cli = std::get<CommandLine>(parsed);
  // Set before any backend is made: the exec backend reads its timeout from it.
  set_suite_config(cli.config);
  std::unique_ptr<TemporaryDirectory> scratch;
  std::vector<std::string> backend_names;
  try {
    backend_names = register_backends(cli, schemes, scratch);
  } catch (const std::exception& e) {
    std::cerr << cli.program << ": " << e.what() << "\n";
    return kExitUsage;
  }
  return run_suites(cli, argv[0], backend_names, scratch.get());
}

}  // namespace taskstore::conformance
