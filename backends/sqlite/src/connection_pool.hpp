#pragma once
// The backend's connections: one per pool thread. An operation checks one out for its
// whole run, so a transaction never spans two threads and no connection is used by two
// threads at once.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "connection.hpp"

namespace taskstore::sqlite {

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
  explicit ConnectionPool(std::vector<std::unique_ptr<Connection>> connections);

  // Waits for a free connection and names `operation` (and the task, if any) in its
  // error messages.
  Lease checkout(std::string_view operation, std::string task_id = {});

 private:
  void give_back(Connection& connection);

  std::vector<std::unique_ptr<Connection>> connections_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<Connection*> free_;
};

}  // namespace taskstore::sqlite
