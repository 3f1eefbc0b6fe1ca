// The power-cut model's own contract (run with LD_PRELOAD=libtaskstore_faults.so, as ctest
// does): after PowerCut::apply, a file holds what it held at its last fsync, and a
// directory the entries it had at its last fsync; nothing else survives. Each case runs
// the writes in a forked child that records, as the crash run does. Then the proof that
// the crash run with power cuts (CRASH-3, CRASH-4) sees a store that does not sync.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "taskstore/conformance/crash_driver.hpp"
#include "taskstore/conformance/environment_helpers.hpp"
#include "taskstore/conformance/fault_layer.hpp"
#include "selftest_stores.hpp"
#include "taskstore/conformance/power_cut.hpp"
#include "taskstore/conformance/sqlite_backend.hpp"

namespace taskstore::conformance {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Plain POSIX calls, as a store makes them; each returns false on failure.
bool put(const fs::path& path, const std::string& content, bool sync) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  const bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                  (!sync || ::fsync(fd) == 0);
  ::close(fd);
  return ok;
}

bool sync_directory(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  const bool ok = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

class PowerCutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!FaultLayer::loaded()) {
      GTEST_SKIP() << "the fault layer is not loaded: run with LD_PRELOAD=" << fault_layer_library();
    }
  }

  // Runs `writes` in a forked child that records, lets it exit, and cuts the power.
  void cut_after(const std::function<bool()>& writes) {
    PowerCut cut(store_.path());
    cut.take_baseline();
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      try {
        cut.start_recording_here();
        ::_exit(writes() ? 0 : 1);
      } catch (...) {
        ::_exit(2);
      }
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child's writes failed";
    ASSERT_TRUE(cut.wait_for_recorders(std::chrono::steady_clock::now() + 10s));
    cut.apply();
  }

  fs::path at(const std::string& name) const { return store_.path() / name; }

  TemporaryDirectory store_{"power-cut-store"};
};

TEST_F(PowerCutTest, WritesSinceTheLastSyncAreUndone) {
  ASSERT_TRUE(put(at("a"), "old", true));
  cut_after([&] { return put(at("a"), "new", false); });
  EXPECT_EQ(read_file(at("a")), "old");
}

TEST_F(PowerCutTest, ASyncedFileIsLostWithoutItsDirectorySync) {
  cut_after([&] { return put(at("b"), "content", true); });
  EXPECT_FALSE(fs::exists(at("b")));
}

TEST_F(PowerCutTest, ASyncedFileInASyncedDirectorySurvivesAsSynced) {
  cut_after([&] {
    return put(at("c"), "hello", true) && sync_directory(store_.path()) &&
           put(at("c"), "hello, later", false);
  });
  EXPECT_EQ(read_file(at("c")), "hello");
}

TEST_F(PowerCutTest, ADirectoryEntryWithoutSyncedContentIsEmpty) {
  cut_after([&] { return put(at("d"), "never synced", false) && sync_directory(store_.path()); });
  ASSERT_TRUE(fs::exists(at("d")));
  EXPECT_EQ(read_file(at("d")), "");
}

TEST_F(PowerCutTest, ARenameNeedsItsDirectorySync) {
  ASSERT_TRUE(put(at("target"), "v1", true));
  cut_after([&] {
    return put(at("next"), "v2", true) && ::rename(at("next").c_str(), at("target").c_str()) == 0;
  });
  EXPECT_EQ(read_file(at("target")), "v1");
  EXPECT_FALSE(fs::exists(at("next")));
}

TEST_F(PowerCutTest, ARenameWithItsDirectorySyncSurvives) {
  ASSERT_TRUE(put(at("target"), "v1", true));
  cut_after([&] {
    return put(at("next"), "v2", true) && ::rename(at("next").c_str(), at("target").c_str()) == 0 &&
           sync_directory(store_.path());
  });
  EXPECT_EQ(read_file(at("target")), "v2");
  EXPECT_FALSE(fs::exists(at("next")));
}

TEST_F(PowerCutTest, AnUnlinkNeedsItsDirectorySync) {
  ASSERT_TRUE(put(at("gone"), "still here", true));
  cut_after([&] { return ::unlink(at("gone").c_str()) == 0; });
  EXPECT_EQ(read_file(at("gone")), "still here");
}

TEST_F(PowerCutTest, ANewSubdirectoryNeedsItsParentsSync) {
  const auto write_in_subdirectory = [&] {
    return ::mkdir(at("sub").c_str(), 0755) == 0 && put(at("sub/x"), "x", true) &&
           sync_directory(at("sub"));
  };
  cut_after(write_in_subdirectory);
  EXPECT_FALSE(fs::exists(at("sub")));
  cut_after([&] { return write_in_subdirectory() && sync_directory(store_.path()); });
  EXPECT_EQ(read_file(at("sub/x")), "x");
}

TEST_F(PowerCutTest, HardLinksComeBackAsOneFile) {
  cut_after([&] {
    return put(at("first"), "shared", true) &&
           ::link(at("first").c_str(), at("second").c_str()) == 0 && sync_directory(store_.path());
  });
  ASSERT_TRUE(fs::exists(at("second")));
  EXPECT_TRUE(fs::equivalent(at("first"), at("second")));
  EXPECT_EQ(read_file(at("second")), "shared");
}

// An exec'd program (an exec driver) records through the environment the child set.
TEST_F(PowerCutTest, AProgramTheStoreProcessStartsRecordsToo) {
  cut_after([&] {
    const std::string script =
        "import os\n"
        "fd = os.open('" + at("e").string() + "', os.O_WRONLY | os.O_CREAT, 0o644)\n"
        "os.write(fd, b'from python'); os.fsync(fd); os.close(fd)\n"
        "os.write(os.open('" + at("f").string() + "', os.O_WRONLY | os.O_CREAT, 0o644), b'lost')\n"
        "d = os.open('" + store_.path().string() + "', os.O_RDONLY); os.fsync(d)\n";
    const pid_t python = ::fork();
    if (python == 0) {
      ::execlp("python3", "python3", "-c", script.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    return python > 0 && ::waitpid(python, &status, 0) == python && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
  });
  EXPECT_EQ(read_file(at("e")), "from python");
  ASSERT_TRUE(fs::exists(at("f")));
  EXPECT_EQ(read_file(at("f")), "");
}

std::string joined(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& line : lines) all += line + "\n";
  return all;
}

CrashRunReport power_cuts_on_sqlite(SqliteStorageOptions::Synchronous synchronous, int cuts,
                                    bool power_cut = true) {
  const TemporaryDirectory parent("power-cut-sqlite");
  const auto environment = sqlite_backend(parent.path(), synchronous).make_environment();
  CrashRunOptions options;
  options.kills = cuts;
  options.seed = 7;
  options.power_cut = power_cut;
  return run_crash_cycles(*environment, options);
}

// Checks: CRASH-3, CRASH-4
TEST_F(PowerCutTest, SqliteThatNeverSyncs_IsCaught) {
  const CrashRunReport report = power_cuts_on_sqlite(SqliteStorageOptions::Synchronous::off, 30);
  ASSERT_FALSE(report.violations.empty())
      << "SQLite with synchronous=OFF lived through power cuts: " << report.summary();
  EXPECT_NE(report.violations.front().find("(seed 7, "), std::string::npos) << joined(report.violations);
  EXPECT_FALSE(report.before_first_kill) << joined(report.violations);
  EXPECT_LT(report.kills, 30) << "the run went on after a broken promise";
  EXPECT_TRUE(report.acknowledged_lost) << "a lost commit is CRASH-3's: " << joined(report.violations);
  std::cout << "caught: " << report.violations.front() << std::endl;
}

// What declaring survives_power_loss = false is for: NORMAL commits without syncing the WAL.
TEST_F(PowerCutTest, SqliteNormal_LosesAcknowledgedCommits) {
  const CrashRunReport report = power_cuts_on_sqlite(SqliteStorageOptions::Synchronous::normal, 30);
  EXPECT_FALSE(report.violations.empty()) << report.summary();
}

// The same store keeps every promise when only its process dies: the power cut is what
// catches it.
TEST_F(PowerCutTest, SqliteThatNeverSyncs_SurvivesKillsOfItsProcess) {
  const CrashRunReport report =
      power_cuts_on_sqlite(SqliteStorageOptions::Synchronous::off, 10, /*power_cut=*/false);
  EXPECT_TRUE(report.violations.empty()) << joined(report.violations);
}

// Checks: CRASH-4
TEST_F(PowerCutTest, StoreThatHandsAClaimOutTwice_IsCaughtAsCrash4) {
  const selftest::TempDir dir;
  selftest::WrappedEnvironment environment(dir.path(), [](std::shared_ptr<BaseStorage> inner) {
    return std::make_shared<selftest::UnclaimingStorage>(std::move(inner));
  });
  CrashRunOptions options;
  options.kills = 20;
  options.seed = 7;
  options.power_cut = true;
  const CrashRunReport report = run_crash_cycles(environment, options);
  ASSERT_FALSE(report.violations.empty()) << "a store that claims tasks twice passed";
  EXPECT_TRUE(report.inconsistent) << joined(report.violations);
  EXPECT_FALSE(report.acknowledged_lost) << joined(report.violations);
}

TEST_F(PowerCutTest, SqliteFull_KeepsEveryPromise) {
  const CrashRunReport report = power_cuts_on_sqlite(SqliteStorageOptions::Synchronous::full, 20);
  EXPECT_TRUE(report.violations.empty()) << joined(report.violations);
  EXPECT_EQ(report.kills, 20);
}

}  // namespace
}  // namespace taskstore::conformance
