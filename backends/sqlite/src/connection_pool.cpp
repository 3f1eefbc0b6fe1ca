#include "connection_pool.hpp"

namespace taskstore::sqlite {

ConnectionPool::ConnectionPool(std::vector<std::unique_ptr<Connection>> connections)
    : connections_(std::move(connections)) {
  for (const auto& connection : connections_) free_.push_back(connection.get());
}

ConnectionPool::Lease ConnectionPool::checkout(std::string_view operation, std::string task_id) {
  std::unique_lock lock(mutex_);
  returned_.wait(lock, [this] { return !free_.empty(); });
  Connection* connection = free_.back();
  free_.pop_back();
  connection->set_operation(operation, std::move(task_id));
  return Lease(*this, *connection);
}

void ConnectionPool::give_back(Connection& connection) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(&connection);
  }
  returned_.notify_one();
}

}  // namespace taskstore::sqlite
