// Opening a store: the schema is created once, versioned, and checked on every open.

#include "test_support.hpp"

namespace taskstore::postgres_test {
namespace {

using SchemaTest = PgTest;

// Checks: DUR-1, PG-1
TEST_F(SchemaTest, NewStoreGetsItsSchemaWithTheCurrentVersionAndReopensWithItsData) {
  {
    PostgresStorage storage(options());
    sync_wait(io_, storage.enqueue(make_task("a")));
  }
  auto connection = raw();
  EXPECT_EQ(connection->query("SELECT version FROM schema_version"),
            std::to_string(PostgresStorage::kSchemaVersion));
  EXPECT_EQ(connection->query("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema_ +
                              "' AND tablename IN ('tasks', 'results')"),
            "2");
  // The claim's partial index exists.
  EXPECT_EQ(connection->query("SELECT indexdef LIKE '%WHERE (status = ''PENDING''::text)' FROM "
                              "pg_indexes WHERE schemaname = '" + schema_ +
                              "' AND indexname = 'tasks_pending_by_eta'"),
            "t");
  PostgresStorage reopened(options());
  EXPECT_EQ(sync_wait(io_, reopened.get_task("a")), make_task("a"));
}

// Checks: ERR-2, PG-1
TEST_F(SchemaTest, UnsupportedSchemaVersionRaisesStorageErrorNamingTheVersion) {
  { PostgresStorage storage(options()); }
  raw()->exec("UPDATE schema_version SET version = 7");
  try {
    PostgresStorage storage(options());
    ADD_FAILURE() << "opened a store of schema version 7";
  } catch (const CorruptionError& e) {
    ADD_FAILURE() << "expected a plain StorageError, got CorruptionError: " << e.what();
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("version 7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(schema_), std::string::npos) << e.what();
  }
}

// Checks: ERR-2, PG-1
TEST_F(SchemaTest, VersionWithoutTablesRaisesCorruptionError) {
  { PostgresStorage storage(options()); }
  raw()->exec("DROP TABLE results");
  EXPECT_THROW(PostgresStorage storage(options()), CorruptionError);
}

// Checks: ERR-2, PG-3
TEST_F(SchemaTest, UnreachableServerRaisesStorageErrorFromTheConstructor) {
  PostgresStorageOptions opts = options();
  opts.conninfo = "host=/nonexistent-taskstore-socket-dir port=1 connect_timeout=2";
  try {
    PostgresStorage storage(opts);
    ADD_FAILURE() << "opened a store on no server";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
  }
}

// Checks: DEQ-2, PG-1
TEST_F(SchemaTest, StoresInDifferentSchemasAreIsolated) {
  PostgresStorage first(options());
  PostgresStorageOptions other = options();
  other.schema = unique_schema();
  {
    PostgresStorage second(other);
    sync_wait(io_, second.enqueue(make_task("only-in-second")));
    EXPECT_FALSE(sync_wait(io_, first.get_task("only-in-second")).has_value());
    EXPECT_FALSE(sync_wait(io_, first.dequeue(at(1'000'000))).has_value());
  }
  raw()->exec("DROP SCHEMA " + other.schema + " CASCADE");
}

}  // namespace
}  // namespace taskstore::postgres_test
