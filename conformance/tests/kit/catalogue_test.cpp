// The requirement catalogue matches spec/requirements.md, and every requirement is named
// by at least one test (storage rules by the conformance suite, queue rules by the
// queue's tests, backend rules by the backends' own tests), while every ID a test names
// exists.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "taskstore/conformance/requirements.hpp"

namespace {

namespace fs = std::filesystem;
namespace tc = taskstore::conformance;

const fs::path kSource = TASKSTORE_SOURCE_DIR;

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// IDs named in the test sources under `dir` (recursively), by `pattern`'s first group.
std::set<std::string> ids_named_in(const fs::path& dir, const std::regex& pattern) {
  std::set<std::string> ids;
  static const std::regex id(R"([A-Z]+-[0-9]+)");
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".cpp") continue;
    const std::string text = read_all(entry.path());
    for (std::sregex_iterator m(text.begin(), text.end(), pattern), end; m != end; ++m) {
      const std::string group = (*m)[1];
      for (std::sregex_iterator i(group.begin(), group.end(), id); i != end; ++i) {
        ids.insert(i->str());
      }
    }
  }
  return ids;
}

TEST(RequirementCatalogue, MatchesTheSpecAndHasUniqueIds) {
  const std::string spec = read_all(kSource / "spec" / "requirements.md");
  std::set<std::string> seen;
  for (const auto& r : tc::all_requirements()) {
    EXPECT_TRUE(seen.insert(std::string(r.id)).second) << "duplicate " << r.id;
    EXPECT_NE(spec.find("#### " + std::string(r.id) + " · " + std::string(r.title)),
              std::string::npos)
        << r.id << " is not in the spec as compiled";
  }
  EXPECT_NE(tc::find_requirement("DEQ-4"), nullptr);
  EXPECT_EQ(tc::find_requirement("NOPE-1"), nullptr);
}

TEST(RequirementCoverage, EveryStorageRequirementIsNamedByAConformanceTest) {
  const std::regex pattern(R"(TASKSTORE_REQUIREMENTS\(([^)]*)\))");
  // Every suite family (conformance/suites/<family>/).
  auto named = ids_named_in(kSource / "conformance" / "suites", pattern);
  for (const auto& r : tc::all_requirements()) {
    if (r.scope != tc::RequirementScope::storage) continue;
    EXPECT_TRUE(named.contains(std::string(r.id))) << r.id << " is checked by no conformance test";
  }
  for (const auto& id : named) {
    const auto* r = tc::find_requirement(id);
    EXPECT_TRUE(r != nullptr && r->scope == tc::RequirementScope::storage)
        << "a conformance test names " << id << ", which is not a storage requirement";
  }
}

TEST(RequirementCoverage, EveryBackendRequirementIsNamedByABackendTest) {
  const auto named =
      ids_named_in(kSource / "backends", std::regex(R"(// Checks: ([A-Z0-9, -]+))"));
  for (const auto& r : tc::all_requirements()) {
    if (r.scope != tc::RequirementScope::backend) continue;
    EXPECT_TRUE(named.contains(std::string(r.id))) << r.id << " is checked by no backend test";
  }
  for (const auto& id : named) {
    EXPECT_NE(tc::find_requirement(id), nullptr)
        << "a backend test names " << id << ", which spec/requirements.md does not define";
  }
}

TEST(RequirementCoverage, EveryQueueRequirementIsNamedByAQueueTest) {
  std::set<std::string> named;
  for (const char* tests : {"tests", "property"}) {
    named.merge(ids_named_in(kSource / "queue" / tests,
                             std::regex(R"(TASKSTORE_REQUIREMENTS\(([^)]*)\))")));
    named.merge(
        ids_named_in(kSource / "queue" / tests, std::regex(R"(// Checks: ([A-Z0-9, -]+))")));
  }
  for (const auto& r : tc::all_requirements()) {
    if (r.scope != tc::RequirementScope::queue) continue;
    EXPECT_TRUE(named.contains(std::string(r.id))) << r.id << " is checked by no queue test";
  }
  for (const auto& id : named) {
    const auto* r = tc::find_requirement(id);
    EXPECT_TRUE(r != nullptr && r->scope == tc::RequirementScope::queue)
        << "a queue test names " << id << ", which is not a queue requirement";
  }
}

TEST(RequirementSelection, Patterns_MatchIdsWithStarAndQuestionMark) {
  EXPECT_TRUE(tc::requirement_matches("DEQ-4", "DEQ-4"));
  EXPECT_FALSE(tc::requirement_matches("DEQ-4", "DEQ-40"));
  EXPECT_TRUE(tc::requirement_matches("DEQ-*", "DEQ-40"));
  EXPECT_TRUE(tc::requirement_matches("*-1", "CRASH-1"));
  EXPECT_FALSE(tc::requirement_matches("*-1", "CRASH-2"));
  EXPECT_TRUE(tc::requirement_matches("RSC-?", "RSC-6"));
  EXPECT_FALSE(tc::requirement_matches("RSC-?", "RSC-"));
  EXPECT_TRUE(tc::requirement_matches("*", "ENQ-1"));
  EXPECT_TRUE(tc::requirement_matches("D*-*4", "DEQ-4"));
}

TEST(RequirementSelection, SelectingLeavesOutTheRest_AndAnEmptySelectionKeepsAll) {
  tc::select_requirements({"DEQ-*", "RSC-6"});
  EXPECT_TRUE(tc::requirement_selected("DEQ-7"));
  EXPECT_TRUE(tc::requirement_selected("RSC-6"));
  EXPECT_FALSE(tc::requirement_selected("RSC-5"));
  tc::select_requirements({});
  EXPECT_TRUE(tc::requirement_selected("RSC-5"));
}

TEST(RequirementSelection, APatternThatMatchesNothing_IsRejectedByName) {
  try {
    tc::select_requirements({"DEQ-4", "NOPE-*"});
    FAIL() << "no error for a pattern that matches nothing";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'NOPE-*'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(tc::requirement_selected("RSC-5")) << "a rejected selection must change nothing";
}

}  // namespace
