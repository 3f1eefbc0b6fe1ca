#pragma once
// ConnectionPool: a database backend's connections, one per pool thread. An operation
// checks one out for its whole run, so a transaction never spans two threads and no
// connection is used by two threads at once. Shared by the SQLite and PostgreSQL backends;
// `Connection` needs `set_operation(std::string_view, std::string)`, which names the
// operation and task in its error messages.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace taskstore {

template <typename Connection>
class ConnectionPool {
 public:
  // A checked-out connection, returned to the pool on destruction.
  class Lease {
   public:
    Lease(ConnectionPool& pool, Connection& connection) : pool_(pool), connection_(connection) {}
    ~Lease() { pool_.give_back(connection_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    Connection& operator*() const { return connection_; }
    Connection* operator->() const { return &connection_; }

   private:
    ConnectionPool& pool_;
    Connection& connection_;
  };

  // Takes ownership of the connections; at least one.
  explicit ConnectionPool(std::vector<std::unique_ptr<Connection>> connections)
      : connections_(std::move(connections)) {
    for (const auto& connection : connections_) free_.push_back(connection.get());
  }

  // Waits for a free connection and names `operation` (and the task, if any) in its
  // error messages.
  Lease checkout(std::string_view operation, std::string task_id = {}) {
    std::unique_lock lock(mutex_);
    returned_.wait(lock, [this] { return !free_.empty(); });
    Connection* connection = free_.back();
    free_.pop_back();
    connection->set_operation(operation, std::move(task_id));
    return Lease(*this, *connection);
  }

 private:
  void give_back(Connection& connection) {
    {
      std::lock_guard lock(mutex_);
      free_.push_back(&connection);
    }
    returned_.notify_one();
  }

  std::vector<std::unique_ptr<Connection>> connections_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<Connection*> free_;
};

}  // namespace taskstore
