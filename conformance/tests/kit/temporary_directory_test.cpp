// TemporaryDirectory: a fresh directory that its maker removes, and a forked child's copy
// leaves alone.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::conformance {
namespace {

namespace fs = std::filesystem;

TEST(TemporaryDirectory, IsFreshAndGoesAwayWithEverythingInIt) {
  fs::path kept;
  {
    TemporaryDirectory first("kit-test");
    TemporaryDirectory second("kit-test");
    EXPECT_NE(first.path(), second.path());
    EXPECT_TRUE(fs::is_directory(first.path()));
    EXPECT_TRUE(fs::is_empty(first.path()));
    EXPECT_EQ(first.path().filename().string().rfind("kit-test-", 0), 0u) << first.path();
    fs::create_directories(first.path() / "a" / "b");
    std::ofstream(first.path() / "a" / "b" / "file") << "x";
    kept = first.path();
  }
  EXPECT_FALSE(fs::exists(kept));
}

TEST(TemporaryDirectory, UnderAGivenParent_MadeIfMissing) {
  TemporaryDirectory outer("kit-test");
  const fs::path parent = outer.path() / "not" / "yet";
  TemporaryDirectory inner("store", parent);
  EXPECT_EQ(inner.path().parent_path(), parent);
  EXPECT_TRUE(fs::is_directory(inner.path()));
}

TEST(TemporaryDirectory, AParentThatIsAFile_IsAStorageErrorNamingIt) {
  TemporaryDirectory outer("kit-test");
  const fs::path file = outer.path() / "plain-file";
  std::ofstream(file) << "x";
  try {
    TemporaryDirectory inner("store", file);
    ADD_FAILURE() << "made a directory under a file";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
}

TEST(TemporaryDirectory, AForkedChildsCopy_LeavesItToTheMaker) {
  TemporaryDirectory dir("kit-test");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    {
      // The child's copy of a TemporaryDirectory made by the parent, destroyed here.
      TemporaryDirectory* copy = &dir;
      copy->~TemporaryDirectory();
    }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(fs::is_directory(dir.path())) << "a forked child removed its parent's directory";
}

}  // namespace
}  // namespace taskstore::conformance
