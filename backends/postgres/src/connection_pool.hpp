#pragma once
// The backend's connections, one per pool thread (see taskstore/internal/connection_pool.hpp).

#include "connection.hpp"
#include "taskstore/internal/connection_pool.hpp"

namespace taskstore::postgres {

using ConnectionPool = taskstore::ConnectionPool<Connection>;

}  // namespace taskstore::postgres
