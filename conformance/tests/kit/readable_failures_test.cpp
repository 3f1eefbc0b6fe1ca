// Failures a backend author can read: a race that goes wrong everywhere is still worded as
// a few lines (ClaimCheck, FailureDigest), and an error of the wrong type is named as
// written in the source, not mangled.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "taskstore/conformance/claim_check.hpp"
#include "taskstore/conformance/expect_error.hpp"

namespace taskstore::conformance {
namespace {

TEST(FailureDigest, ShowsTheFirstFewCasesAndCountsTheRest) {
  FailureDigest digest("tasks went wrong", 2);
  EXPECT_TRUE(digest.empty());
  EXPECT_EQ(digest.str(), "");
  for (const char* id : {"'a'", "'b'", "'c'", "'d'"}) digest.add(id);
  EXPECT_EQ(digest.count(), 4u);
  EXPECT_EQ(digest.str(), "4 tasks went wrong: 'a'; 'b'; ... and 2 more");
}

TEST(ClaimCheck, ACleanRaceHasNoProblems) {
  ClaimCheck check("thread");
  check.claimed("a", 0);
  check.claimed("b", 1);
  EXPECT_EQ(check.problems({"a", "b"}, {"later"}), "");
}

TEST(ClaimCheck, EveryKindOfProblemIsOneLine) {
  ClaimCheck check("worker");
  std::vector<std::string> due;
  for (int i = 0; i < 3000; ++i) {
    due.push_back("t" + std::to_string(i));
    check.claimed(due.back(), 0);
    check.claimed(due.back(), 2);  // every task claimed twice
  }
  due.push_back("lost");
  check.claimed("early", 1);
  check.claimed("stranger", 3);
  const std::string problems = check.problems(due, {"early"});
  EXPECT_EQ(std::count(problems.begin(), problems.end(), '\n'), 3) << problems;
  EXPECT_NE(problems.find("3000 due tasks were claimed more than once: 't0' (2 times, by "
                          "workers 0, 2)"),
            std::string::npos)
      << problems;
  EXPECT_NE(problems.find("... and 2995 more"), std::string::npos) << problems;
  EXPECT_NE(problems.find("1 due tasks were never claimed: 'lost'"), std::string::npos) << problems;
  EXPECT_NE(problems.find("1 tasks were claimed before their eta: 'early' (by workers 1)"),
            std::string::npos)
      << problems;
  EXPECT_NE(problems.find("1 claims returned tasks that were never enqueued: 'stranger'"),
            std::string::npos)
      << problems;
  EXPECT_LT(problems.size(), 1000u) << "a race must not print a block per task";
}

TEST(ErrorMessage, AWrongTypeIsNamedReadablyAndItsMessageStillReturned) {
  EXPECT_EQ(type_name_of(NotFoundError("x")), "taskstore::NotFoundError");
  std::string message;
  EXPECT_NONFATAL_FAILURE(
      message = TASKSTORE_ERROR_MESSAGE(NotFoundError, throw StorageError("no task 'a'")),
      "expected NotFoundError, but got taskstore::StorageError: no task 'a'");
  EXPECT_EQ(message, "no task 'a'") << "checks of the message must see the real one";
}

}  // namespace
}  // namespace taskstore::conformance
