#include "taskstore/postgres_storage.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <thread>
#include <boost/asio/thread_pool.hpp>
#include <utility>
#include <vector>

#include "connection_pool.hpp"
#include "queries.hpp"
#include "schema.hpp"
#include "write_group.hpp"
#include "taskstore/offload.hpp"
#include "taskstore/validation.hpp"

namespace taskstore {

static_assert(PostgresStorage::kSchemaVersion == postgres::kSchemaVersion);

namespace {

// The first connection opens now and creates or checks the schema, so an unreachable
// server or a foreign schema fails the constructor rather than the first operation; the
// others connect on first use.
std::vector<std::unique_ptr<postgres::Connection>> open_connections(
    const PostgresStorageOptions& options, std::size_t count) {
  const postgres::ConnectionOptions connection_options{
      .conninfo = options.conninfo,
      .schema = options.schema,
      .statement_timeout = std::max(options.statement_timeout, std::chrono::milliseconds(0)),
  };
  std::vector<std::unique_ptr<postgres::Connection>> connections;
  for (std::size_t i = 0; i < count; ++i) {
    connections.push_back(std::make_unique<postgres::Connection>(connection_options));
  }
  postgres::ensure_schema(*connections.front());
  return connections;
}

}  // namespace

class PostgresStorage::Impl {
 public:
  explicit Impl(PostgresStorageOptions options)
      : options_(std::move(options)),
        clock_(options_.clock ? options_.clock : system_clock()),
        connections_(open_connections(options_, std::max<std::size_t>(options_.connections, 1))),
        threads_(std::max<std::size_t>(options_.connections, 1)),
        writes_(threads_.get_executor(), options_.max_group_size,
                [this](std::span<postgres::WriteOperation* const> group) {
                  {
                    auto lease = connections_.checkout("commit");
                    postgres::commit_write_group(*lease, group);
                  }
                  count_writes(group.size());
                },
                // Leaders hold pool threads while writes keep coming: one thread is left
                // for reads whenever there are two or more.
                std::clamp<std::size_t>(options_.concurrent_groups, 1,
                                        std::max<std::size_t>(options_.connections, 2) - 1)),
        vacuum_connection_(postgres::ConnectionOptions{.conninfo = options_.conninfo,
                                                       .schema = options_.schema}) {}

  ~Impl() {
    threads_.join();  // before connections_ goes: no work may still hold one
    std::lock_guard lock(vacuum_mutex_);
    if (vacuum_thread_.joinable()) vacuum_thread_.join();  // lets a running VACUUM finish
  }

  // Runs `work(connection)` on a pool thread with a connection checked out for `operation`
  // (a string literal), resuming the caller on its own executor: libpq blocks, and the
  // caller's executor must never wait on the network. Callers name the result before
  // awaiting it: g++ 12 destroys a lambda temporary that owns strings twice when it sits
  // in the co_await expression itself (double free).
  template <typename Work>
  Awaitable<std::invoke_result_t<Work&, postgres::Connection&>> run(std::string_view operation,
                                                                    std::string task_id,
                                                                    Work work) {
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
  Awaitable<std::invoke_result_t<Work&, postgres::GroupSession&>> write(
      std::string_view operation, std::string task_id, Work work) {
    check_process(operation);
    return writes_.submit(operation, std::move(task_id), std::move(work));
  }

  GroupCommitStats group_commit_stats() const { return writes_.stats(); }
  std::uint64_t vacuums() const { return vacuums_; }

  // Counts writes towards the next VACUUM of the tasks table and starts it once there are
  // enough (PG-6), on a thread and connection of its own: neither the writes that
  // triggered it nor any other operation waits for it, and one runs at a time. Called
  // after a group has committed, so nothing here may throw: the group's callers must hear
  // that it committed.
  void count_writes(std::size_t writes) noexcept {
    if (options_.vacuum_every == 0) return;
    if (writes_since_vacuum_.fetch_add(writes) + writes < options_.vacuum_every) return;
    if (vacuuming_.exchange(true)) return;
    writes_since_vacuum_ = 0;
    try {
      std::lock_guard lock(vacuum_mutex_);
      if (vacuum_thread_.joinable()) vacuum_thread_.join();  // done: it cleared vacuuming_
      vacuum_thread_ = std::thread([this] { vacuum(); });
    } catch (...) {
      vacuuming_ = false;  // no thread to be had: try again after the next writes
    }
  }

  void vacuum() noexcept {
    try {
      vacuum_connection_.set_operation("vacuum");
      vacuum_connection_.exec("VACUUM tasks");
      ++vacuums_;
    } catch (...) {
      // Housekeeping: a failed VACUUM loses nothing (the claims only get slower until
      // the next one or autovacuum), and the operations that triggered it are done.
    }
    vacuuming_ = false;
  }

  // A child forked from the opening process has no pool threads (work would never run)
  // and shares the parent's sockets to the server (one protocol stream written by two
  // processes): it opens its own instance.
  void check_process(std::string_view operation) const {
    if (::getpid() != owner_) {
      throw StorageError(std::string(operation) + ": postgres store (schema " + options_.schema +
                         ") was opened by process " + std::to_string(owner_) +
                         "; a forked child must open its own instance");
    }
  }

  // Called on the caller's thread, so an injected clock needn't be thread-safe.
  Timestamp now() const { return clock_(); }
  const std::string& schema() const { return options_.schema; }

 private:
  const PostgresStorageOptions options_;
  const Clock clock_;
  postgres::ConnectionPool connections_;
  boost::asio::thread_pool threads_;
  GroupCommit<postgres::GroupSession> writes_;
  // VACUUM's own session, without the store's statement_timeout (it may take long on a
  // big table) and never taken from the pool.
  postgres::Connection vacuum_connection_;
  std::mutex vacuum_mutex_;  // guards vacuum_thread_
  std::thread vacuum_thread_;
  std::atomic<std::size_t> writes_since_vacuum_{0};
  std::atomic<bool> vacuuming_{false};
  std::atomic<std::uint64_t> vacuums_{0};
  const pid_t owner_ = ::getpid();
};

PostgresStorage::PostgresStorage(PostgresStorageOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

PostgresStorage::~PostgresStorage() = default;

const std::string& PostgresStorage::schema() const { return impl_->schema(); }

GroupCommitStats PostgresStorage::group_commit_stats() const {
  return impl_->group_commit_stats();
}

std::uint64_t PostgresStorage::vacuums() const { return impl_->vacuums(); }

Awaitable<std::string> PostgresStorage::enqueue(Task task) {
  validate_new_task(task);
  std::string id = task.id;
  auto op = impl_->write("enqueue", id, [task = std::move(task)](postgres::GroupSession& session) {
    postgres::insert_task(session.connection(), task);
  });
  co_await std::move(op);
  co_return id;
}

Awaitable<std::optional<Task>> PostgresStorage::dequeue(Timestamp now) {
  // `damaged` outlives one try: a rerun of the group passes over the rows found damaged.
  auto op = impl_->write("dequeue", {},
                         [now, damaged = std::vector<std::int64_t>()](
                             postgres::GroupSession& session) mutable {
                           return session.claim(now, damaged);
                         });
  co_return co_await std::move(op);
}

Awaitable<std::vector<Task>> PostgresStorage::dequeue_batch(Timestamp now, std::size_t max) {
  validate_batch_size(max);
  auto op = impl_->write("dequeue_batch", {},
                         [now, max, damaged = std::vector<std::int64_t>()](
                             postgres::GroupSession& session) mutable {
                           return postgres::claim_due_tasks(session.connection(), now, max,
                                                            damaged);
                         });
  co_return co_await std::move(op);
}

Awaitable<void> PostgresStorage::mark_running(std::string task_id) {
  validate_task_id("mark_running", task_id);
  auto op = impl_->write("mark_running", task_id,
                       [task_id, now = impl_->now()](postgres::GroupSession& session) {
                         session.mark_running(task_id, now);
                       });
  co_await std::move(op);
}

Awaitable<void> PostgresStorage::mark_done(std::string task_id, TaskResult result) {
  validate_success_result(task_id, result);
  auto op = impl_->write(
      "mark_done", task_id,
      [task_id, result = std::move(result), now = impl_->now()](postgres::GroupSession& session) {
        session.mark_done(task_id, result, now);
      });
  co_await std::move(op);
}

Awaitable<std::optional<TaskResult>> PostgresStorage::get_result(std::string task_id) {
  validate_task_id("get_result", task_id);
  auto op = impl_->run("get_result", task_id, [task_id](postgres::Connection& connection) {
    return postgres::find_result(connection, task_id);
  });
  co_return co_await std::move(op);
}

Awaitable<std::size_t> PostgresStorage::purge_results(Timestamp older_than) {
  auto op = impl_->write("purge_results", {}, [older_than](postgres::GroupSession& session) {
    return postgres::delete_results_before(session.connection(), older_than);
  });
  co_return co_await std::move(op);
}

Awaitable<void> PostgresStorage::mark_failed(std::string task_id, std::string error,
                                             bool will_retry) {
  validate_task_id("mark_failed", task_id);
  auto op = impl_->write("mark_failed", task_id,
                       [task_id, error = std::move(error), will_retry,
                        now = impl_->now()](postgres::GroupSession& session) {
                         postgres::fail_task(session.connection(), task_id, error, will_retry, now);
                       });
  co_await std::move(op);
}

Awaitable<std::optional<Task>> PostgresStorage::get_task(std::string task_id) {
  validate_task_id("get_task", task_id);
  auto op = impl_->run("get_task", task_id, [task_id](postgres::Connection& connection) {
    return postgres::find_task(connection, task_id);
  });
  co_return co_await std::move(op);
}

Awaitable<void> PostgresStorage::reschedule(std::string task_id, Timestamp new_eta) {
  validate_task_id("reschedule", task_id);
  auto op = impl_->write("reschedule", task_id,
                       [task_id, new_eta, now = impl_->now()](postgres::GroupSession& session) {
                         postgres::set_eta(session.connection(), task_id, new_eta, now);
                       });
  co_await std::move(op);
}

}  // namespace taskstore
