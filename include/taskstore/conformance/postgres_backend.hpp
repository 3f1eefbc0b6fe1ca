#pragma once
// PostgresStorage's hook into the conformance kit (target taskstore::postgres_conformance,
// backends/postgres/conformance/): the Backend to register and the
// `--backend postgres:CONNINFO` scheme.

#include <string>

#include "taskstore/conformance/registry.hpp"
#include "taskstore/conformance/suite.hpp"

namespace taskstore::conformance {

// One PostgresStorage per test on the server `conninfo` (a libpq connection string), each
// in a fresh schema with a unique name, dropped when the test's environment goes.
Backend postgres_backend(std::string conninfo);

// `--backend postgres:CONNINFO`; not in the default run, since it needs a server.
BackendScheme postgres_scheme();

// Why the postgres tests of a test program skip (see below).
inline constexpr const char* kPostgresNotConfigured =
    "postgres: TASKSTORE_PG is not set; start a server with ci/postgres-cluster.sh";

// For test programs: postgres_backend($TASKSTORE_PG) if TASKSTORE_PG is set. Otherwise a
// "postgres" backend that is unavailable (Backend::unavailable = kPostgresNotConfigured), so
// its tests are listed all the same and each skips with the reason: a missing server shows
// as skips, never as passes.
Backend postgres_backend_from_environment();

}  // namespace taskstore::conformance
