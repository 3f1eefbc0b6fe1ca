#include "taskstore/sqlite_storage.hpp"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/thread_pool.hpp>
#include <utility>
#include <vector>

#include "connection_pool.hpp"
#include "queries.hpp"
#include "schema.hpp"
#include "store_file.hpp"
#include "write_group.hpp"
#include "taskstore/internal/group_commit.hpp"
#include "taskstore/offload.hpp"
#include "taskstore/validation.hpp"

namespace taskstore {

static_assert(SqliteStorage::kSchemaVersion == sqlite::kSchemaVersion);

namespace {

const char* synchronous_pragma(SqliteStorageOptions::Synchronous synchronous) {
  switch (synchronous) {
    case SqliteStorageOptions::Synchronous::full: return "FULL";
    case SqliteStorageOptions::Synchronous::normal: return "NORMAL";
    case SqliteStorageOptions::Synchronous::off: return "OFF";
  }
  throw InvalidArgumentError("SqliteStorageOptions: synchronous is not full, normal or off");
}

// Opens every connection up front, so a bad path or foreign file fails the constructor
// rather than the first operation. The first connection creates or checks the schema.
std::vector<std::unique_ptr<sqlite::Connection>> open_connections(
    const SqliteStorageOptions& options, std::size_t count) {
  const sqlite::ConnectionOptions connection_options{
      .path = options.path,
      .synchronous = synchronous_pragma(options.synchronous),
      .busy_timeout = options.busy_timeout,
      .busy_retries = std::max(options.busy_retries, 0),
  };
  sqlite::prepare_store_file(connection_options);
  std::vector<std::unique_ptr<sqlite::Connection>> connections;
  for (std::size_t i = 0; i < count; ++i) {
    connections.push_back(std::make_unique<sqlite::Connection>(connection_options));
    if (i == 0) sqlite::ensure_schema(*connections.front());
  }
  return connections;
}

}  // namespace

class SqliteStorage::Impl {
 public:
  explicit Impl(SqliteStorageOptions options)
      : options_(std::move(options)),
        clock_(options_.clock ? options_.clock : system_clock()),
        connections_(open_connections(options_, std::max<std::size_t>(options_.connections, 1))),
        threads_(std::max<std::size_t>(options_.connections, 1)),
        writes_(threads_.get_executor(), options_.max_group_size,
                [this](std::span<sqlite::WriteOperation* const> group) {
                  auto lease = connections_.checkout("commit");
                  sqlite::commit_write_group(*lease, group);
                }) {}

  ~Impl() { threads_.join(); }  // before connections_ goes: no work may still hold one

  // Runs `work(connection)` on a pool thread with a connection checked out for `operation`
  // (a string literal), resuming the caller on its own executor. Callers name the result
  // before awaiting it: g++ 12 destroys a lambda temporary that owns strings twice when it
  // sits in the co_await expression itself (double free).
  // `task_id` (empty if none) is named in error messages with the operation.
  template <typename Work>
  Awaitable<std::invoke_result_t<Work&, sqlite::Connection&>> run(std::string_view operation,
                                                                  std::string task_id, Work work) {
    check_process(operation);
    return offload(threads_.get_executor(), [this, operation, task_id = std::move(task_id),
                                             work = std::move(work)]() mutable {
      auto lease = connections_.checkout(operation, std::move(task_id));
      return work(*lease);
    });
  }

  // Like run(), for an operation that writes: it joins the next commit group, and the
  // caller resumes once that group is committed.
  template <typename Work>
  Awaitable<std::invoke_result_t<Work&, sqlite::Connection&>> write(std::string_view operation,
                                                                    std::string task_id,
                                                                    Work work) {
    check_process(operation);
    return writes_.submit(operation, std::move(task_id), std::move(work));
  }

  GroupCommitStats group_commit_stats() const { return writes_.stats(); }

  // A child forked from the opening process has no pool threads (work would never run)
  // and must not use the parent's SQLite connections: it opens its own instance.
  void check_process(std::string_view operation) const {
    if (::getpid() != owner_) {
      throw StorageError(std::string(operation) + ": sqlite store " + options_.path.string() +
                         " was opened by process " + std::to_string(owner_) +
                         "; a forked child must open its own instance");
    }
  }

  // Called on the caller's thread, so an injected clock needn't be thread-safe.
  Timestamp now() const { return clock_(); }
  const std::filesystem::path& path() const { return options_.path; }
  sqlite::ConnectionPool& connections() { return connections_; }

 private:
  const SqliteStorageOptions options_;
  const Clock clock_;
  sqlite::ConnectionPool connections_;
  boost::asio::thread_pool threads_;
  GroupCommit<sqlite::Connection> writes_;
  const pid_t owner_ = ::getpid();
};

SqliteStorage::SqliteStorage(SqliteStorageOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

SqliteStorage::~SqliteStorage() = default;

const std::filesystem::path& SqliteStorage::path() const { return impl_->path(); }

GroupCommitStats SqliteStorage::group_commit_stats() const { return impl_->group_commit_stats(); }

void SqliteStorage::with_native_connection(const std::function<void(sqlite3*)>& use) const {
  auto lease = impl_->connections().checkout("native");
  use(lease->native());
}

Awaitable<std::string> SqliteStorage::enqueue(Task task) {
  validate_new_task(task);
  std::string id = task.id;
  auto op = impl_->write("enqueue", id, [task = std::move(task)](sqlite::Connection& connection) {
    sqlite::insert_task(connection, task);
  });
  co_await std::move(op);
  co_return id;
}

Awaitable<std::optional<Task>> SqliteStorage::dequeue(Timestamp now) {
  auto op = impl_->write("dequeue", {}, [now](sqlite::Connection& connection) {
    return sqlite::claim_due_task(connection, now);
  });
  co_return co_await std::move(op);
}

Awaitable<std::vector<Task>> SqliteStorage::dequeue_batch(Timestamp now, std::size_t max) {
  validate_batch_size(max);
  auto op = impl_->write("dequeue_batch", {}, [now, max](sqlite::Connection& connection) {
    return sqlite::claim_due_tasks(connection, now, max);
  });
  co_return co_await std::move(op);
}

Awaitable<void> SqliteStorage::mark_running(std::string task_id) {
  validate_task_id("mark_running", task_id);
  auto op = impl_->write("mark_running", task_id,
                       [task_id, now = impl_->now()](sqlite::Connection& connection) {
                         sqlite::set_running(connection, task_id, now);
                       });
  co_await std::move(op);
}

Awaitable<void> SqliteStorage::mark_done(std::string task_id, TaskResult result) {
  validate_success_result(task_id, result);
  auto op = impl_->write(
      "mark_done", task_id,
      [task_id, result = std::move(result), now = impl_->now()](sqlite::Connection& connection) {
        sqlite::complete_task(connection, task_id, result, now);
      });
  co_await std::move(op);
}

Awaitable<std::optional<TaskResult>> SqliteStorage::get_result(std::string task_id) {
  validate_task_id("get_result", task_id);
  auto op = impl_->run("get_result", task_id, [task_id](sqlite::Connection& connection) {
    return sqlite::find_result(connection, task_id);
  });
  co_return co_await std::move(op);
}

Awaitable<std::size_t> SqliteStorage::purge_results(Timestamp older_than) {
  auto op = impl_->write("purge_results", {}, [older_than](sqlite::Connection& connection) {
    return sqlite::delete_results_before(connection, older_than);
  });
  co_return co_await std::move(op);
}

Awaitable<void> SqliteStorage::mark_failed(std::string task_id, std::string error,
                                           bool will_retry) {
  validate_task_id("mark_failed", task_id);
  auto op = impl_->write("mark_failed", task_id,
                       [task_id, error = std::move(error), will_retry,
                        now = impl_->now()](sqlite::Connection& connection) {
                         sqlite::fail_task(connection, task_id, error, will_retry, now);
                       });
  co_await std::move(op);
}

Awaitable<std::optional<Task>> SqliteStorage::get_task(std::string task_id) {
  validate_task_id("get_task", task_id);
  auto op = impl_->run("get_task", task_id, [task_id](sqlite::Connection& connection) {
    return sqlite::find_task(connection, task_id);
  });
  co_return co_await std::move(op);
}

Awaitable<void> SqliteStorage::reschedule(std::string task_id, Timestamp new_eta) {
  validate_task_id("reschedule", task_id);
  auto op = impl_->write("reschedule", task_id,
                       [task_id, new_eta, now = impl_->now()](sqlite::Connection& connection) {
                         sqlite::set_eta(connection, task_id, new_eta, now);
                       });
  co_await std::move(op);
}

}  // namespace taskstore
