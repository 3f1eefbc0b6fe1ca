#pragma once
// Running the conformance suite: the verdict report and the command-line driver that
// taskstore-conformance is made of. Out-of-tree backends reuse both.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "taskstore/conformance/registry.hpp"

namespace taskstore::conformance {

// A kind of backend the command line can name: `--backend NAME` or `--backend NAME:ARG`.
struct BackendScheme {
  std::string name;        // e.g. "sqlite"
  std::string arg_help;    // e.g. "DIR" (empty if the scheme takes no argument)
  std::string help;        // one line for --help
  // Makes the backend from the text after the colon (empty if none was given). Throws
  // std::invalid_argument with a one-line message for a bad argument.
  std::function<Backend(const std::string& arg)> make;
  // The argument used when no --backend is given at all; the scheme is left out of the
  // default run if this returns nullopt.
  std::function<std::optional<std::string>(const std::filesystem::path& scratch)> default_arg;
};

// A scheme `name:DIR` for a backend that keeps each test's store under directory DIR;
// without --backend it runs on a subdirectory `name` of the run's scratch directory.
BackendScheme directory_scheme(std::string name, std::string help,
                               std::function<Backend(const std::string& dir)> make);

// `--backend exec:CMD`: a driver in any language (exec_backend.hpp). The kit's own scheme;
// each reference backend brings its own (memory_scheme() in memory_backend.hpp, ...).
BackendScheme exec_scheme();

// The whole program: parses the command line, registers the chosen backends, runs every
// conformance test on each, prints the requirement × backend table and returns the exit
// code (0 all passed, 1 a requirement failed or went unchecked, 2 usage or setup error).
// Unrecognised --gtest_* flags are passed to googletest.
int conformance_main(int argc, char** argv, std::vector<BackendScheme> schemes);

}  // namespace taskstore::conformance
