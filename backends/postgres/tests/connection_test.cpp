// The backend's connection wrapper on its own: what it does when the server ends the
// session in the middle of a transaction.

#include <gtest/gtest.h>

#include "connection.hpp"
#include "test_support.hpp"

namespace taskstore::postgres_test {
namespace {

// Checks: PG-3
TEST(PostgresConnection, ASessionLostMidTransactionFailsItAndIsNeverResetInsideIt) {
  const std::string conninfo = server_conninfo();
  if (conninfo.empty()) GTEST_SKIP() << kNoServer;
  postgres::Connection connection(
      postgres::ConnectionOptions{.conninfo = conninfo, .schema = "public", .statement_timeout = {}});
  connection.set_operation("test");
  connection.query("SELECT 1");  // connected, outside any transaction

  bool statement_after_loss_failed = false;
  EXPECT_THROW(connection.transaction([&] {
                 // The server ends this very session.
                 EXPECT_THROW(connection.query("SELECT pg_terminate_backend(pg_backend_pid())"),
                              StorageError);
                 // Were the connection reset here, this would run in autocommit on a new
                 // session, outside the transaction the operation believes it is in.
                 try {
                   connection.query("SELECT 1");
                 } catch (const StorageError& e) {
                   statement_after_loss_failed = true;
                   EXPECT_NE(std::string(e.what()).find("middle of a transaction"),
                             std::string::npos)
                       << e.what();
                 }
               }),
               StorageError);  // and COMMIT fails the same way
  EXPECT_TRUE(statement_after_loss_failed);

  // Outside the transaction the next statement reconnects (PG-3: the store recovers).
  EXPECT_EQ(connection.query("SELECT 41 + 1").value(0, 0), "42");
}

}  // namespace
}  // namespace taskstore::postgres_test
