// Opening a database: schema versioning, foreign files, journal and sync settings.

#include <fstream>

#include "test_support.hpp"

namespace taskstore::sqlite_test {
namespace {

// Checks: SQL-1
TEST(SqliteSchema, NewDatabaseGetsTheCurrentVersionAndBothTables) {
  TempDir dir;
  const auto db = dir.path() / "q.db";
  { SqliteStorage storage(options_for(db, at(0))); }
  RawDb raw(db);
  EXPECT_EQ(raw.query("PRAGMA user_version"), std::to_string(SqliteStorage::kSchemaVersion));
  EXPECT_EQ(raw.query("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                      "('tasks', 'results')"),
            "2");
}

// Checks: SQL-1
TEST(SqliteSchema, ReopeningAnExistingDatabaseKeepsItsData) {
  TempDir dir;
  const auto db = dir.path() / "q.db";
  asio::io_context io;
  {
    SqliteStorage storage(options_for(db, at(0)));
    sync_wait(io, storage.enqueue(make_task("a")));
  }
  SqliteStorage storage(options_for(db, at(0)));
  EXPECT_TRUE(sync_wait(io, storage.get_task("a")).has_value());
}

// Checks: SQL-1
TEST(SqliteSchema, NewerSchemaVersionRaisesStorageErrorNamingVersionAndPath) {
  TempDir dir;
  const auto db = dir.path() / "q.db";
  { SqliteStorage storage(options_for(db, at(0))); }
  RawDb(db).exec("PRAGMA user_version = 7");
  try {
    SqliteStorage storage(options_for(db, at(0)));
    FAIL() << "opened a database with schema version 7";
  } catch (const CorruptionError& e) {
    FAIL() << "a newer version is not corruption: " << e.what();
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(db.string()), std::string::npos) << e.what();
  }
}

// Checks: SQL-1
TEST(SqliteSchema, UnrelatedDatabaseRaisesCorruptionErrorNamingThePath) {
  TempDir dir;
  const auto db = dir.path() / "other.db";
  RawDb(db).exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)");
  try {
    SqliteStorage storage(options_for(db, at(0)));
    FAIL() << "opened another application's database";
  } catch (const CorruptionError& e) {
    EXPECT_NE(std::string(e.what()).find(db.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a taskstore database"), std::string::npos)
        << e.what();
  }
  // And it was left alone.
  EXPECT_EQ(RawDb(db).query("PRAGMA user_version"), "0");
}

// Checks: SQL-1
TEST(SqliteSchema, NonSqliteFileRaisesCorruptionErrorNamingThePath) {
  TempDir dir;
  const auto db = dir.path() / "notes.txt";
  {
    std::ofstream out(db, std::ios::binary);
    for (int i = 0; i < 200; ++i) out << "these are plain notes, not a database\n";
  }
  try {
    SqliteStorage storage(options_for(db, at(0)));
    FAIL() << "opened a text file";
  } catch (const CorruptionError& e) {
    EXPECT_NE(std::string(e.what()).find(db.string()), std::string::npos) << e.what();
  }
}

// Checks: SQL-10
TEST(SqliteSchema, EmptyFileRaisesCorruptionErrorAndIsLeftAlone) {
  TempDir dir;
  const auto db = dir.path() / "q.db";
  std::ofstream(db, std::ios::binary).close();  // what a truncated store looks like
  try {
    SqliteStorage storage(options_for(db, at(0)));
    FAIL() << "opened an empty file as a new store";
  } catch (const CorruptionError& e) {
    EXPECT_NE(std::string(e.what()).find(db.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::filesystem::file_size(db), 0u) << "the empty file was written to";
}

// Checks: SQL-10
TEST(SqliteSchema, NewStoreAppearsWhole_NoFileOfItsMakingIsLeftBehind) {
  TempDir dir;
  const auto db = dir.path() / "q.db";
  {
    SqliteStorage storage(options_for(db, at(0)));
  }
  // The file came into being with its schema: a new store is never an empty file.
  EXPECT_GT(std::filesystem::file_size(db), 0u);
  EXPECT_EQ(RawDb(db).query("PRAGMA user_version"), std::to_string(SqliteStorage::kSchemaVersion));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name.rfind("q.db", 0) == 0 && name.find("creating") == std::string::npos)
        << "left behind: " << name;
  }
  SqliteStorage reopened(options_for(db, at(0)));  // and it opens again
}

// Checks: SQL-1
TEST(SqliteSchema, UnopenablePathRaisesStorageError) {
  TempDir dir;
  EXPECT_THROW(SqliteStorage(options_for(dir.path() / "missing-dir" / "q.db", at(0))),
               StorageError);
}

// Checks: SQL-2
TEST(SqliteSchema, UsesWalAndSynchronousFullByDefault) {
  TempDir dir;
  const auto db = dir.path() / "q.db";
  SqliteStorage storage(options_for(db, at(0)));
  // journal_mode=WAL is persistent, so a connection of our own sees it too.
  EXPECT_EQ(RawDb(db).query("PRAGMA journal_mode"), "wal");
  // synchronous is per connection: ask one of the backend's own.
  std::string journal;
  std::string synchronous;
  storage.with_native_connection([&](sqlite3* native) {
    journal = RawDb::query_on(native, "PRAGMA journal_mode");
    synchronous = RawDb::query_on(native, "PRAGMA synchronous");
  });
  EXPECT_EQ(journal, "wal");
  EXPECT_EQ(synchronous, "2");  // FULL
}

// Checks: SQL-2
TEST(SqliteSchema, SynchronousNormalByOption) {
  TempDir dir;
  auto options = options_for(dir.path() / "q.db", at(0));
  options.synchronous = SqliteStorageOptions::Synchronous::normal;
  SqliteStorage storage(options);
  std::string synchronous;
  storage.with_native_connection(
      [&](sqlite3* native) { synchronous = RawDb::query_on(native, "PRAGMA synchronous"); });
  EXPECT_EQ(synchronous, "1");  // NORMAL
}

// Checks: SQL-3
TEST(SqliteSchema, ClaimQueryUsesThePendingIndex) {
  TempDir dir;
  const auto db = dir.path() / "q.db";
  { SqliteStorage storage(options_for(db, at(0))); }
  RawDb raw(db);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(raw.get(),
                               "EXPLAIN QUERY PLAN SELECT seq FROM tasks WHERE status = "
                               "'PENDING' AND eta <= 5 ORDER BY eta, seq LIMIT 1",
                               -1, &stmt, nullptr),
            SQLITE_OK);
  std::string plan;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
    plan += "\n";
  }
  sqlite3_finalize(stmt);
  EXPECT_NE(plan.find("tasks_pending_by_eta"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
}

}  // namespace
}  // namespace taskstore::sqlite_test
