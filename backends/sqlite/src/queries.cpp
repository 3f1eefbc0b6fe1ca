#include "queries.hpp"

#include "row_codec.hpp"

namespace taskstore::sqlite {

namespace {

[[noreturn]] void throw_not_found(const Connection& connection, const std::string& task_id) {
  throw NotFoundError(std::string(connection.operation()) + ": task '" + task_id +
                      "' not found in sqlite store " + connection.path().string());
}

std::optional<Task> select_task(Connection& connection, const std::string& task_id) {
  static const std::string sql = "SELECT " + task_columns() + " FROM tasks WHERE id = ?1";
  auto stmt = connection.statement(sql);
  stmt->bind_text(1, task_id);
  if (!stmt->step()) return std::nullopt;
  return read_task(*stmt);
}

// Inside the caller's transaction: reads the task first, so an unknown id raises
// NotFoundError before anything is written, and a damaged row raises CorruptionError
// instead of being partly overwritten (which could make it due, or hide the damage).
// Then runs the UPDATE `sql`, whose ?1 is the task id and whose other parameters `bind`
// binds.
template <typename Bind>
void update_task(Connection& connection, const std::string& sql, const std::string& task_id,
                 Bind bind) {
  if (!select_task(connection, task_id)) throw_not_found(connection, task_id);
  auto stmt = connection.statement(sql);
  stmt->bind_text(1, task_id);
  bind(*stmt);
  stmt->step();
}

// Stores `result`, replacing any earlier result of its task.
void upsert_result(Connection& connection, const TaskResult& result) {
  static const std::string sql =
      "INSERT INTO results (" + result_columns() +
      ") VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (task_id) DO UPDATE SET status = "
      "excluded.status, value = excluded.value, error = excluded.error, finished_at = "
      "excluded.finished_at";
  auto stmt = connection.statement(sql);
  bind_result(*stmt, result);
  stmt->step();
}

}  // namespace

void insert_task(Connection& connection, const Task& task) {
  static const std::string sql =
      "INSERT INTO tasks (" + task_insert_columns() +
      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) "
      "ON CONFLICT (id) DO NOTHING";
  connection.write_transaction([&] {
    {
      auto stmt = connection.statement(sql);
      bind_task(*stmt, task);
      stmt->step();
    }
    if (sqlite3_changes(connection.native()) == 0) {
      throw ConflictError(std::string(connection.operation()) + ": task '" + task.id +
                          "' already exists in sqlite store " + connection.path().string());
    }
  });
}

std::optional<Task> claim_due_task(Connection& connection, Timestamp now) {
  // One statement picks and claims, under the write lock BEGIN IMMEDIATE took, so no
  // other connection in any process can claim the same row in between. attempts stops
  // at the int32 maximum instead of overflowing (DEQ-5).
  // A claimed row that fails to decode is damaged: the claim is undone (a savepoint) and
  // the pick repeated without that row, so one bad row never stops the queue (DEQ-9);
  // get_task still reports it. The plain statement serves the usual case; the one with
  // an exclusion list only runs once a damaged row has been met.
  static const std::string set_clause =
      "UPDATE tasks SET status = 'RUNNING', attempts = MIN(attempts + 1, 2147483647), "
      "updated_at = ?1 WHERE seq = (SELECT seq FROM tasks WHERE status = 'PENDING' AND eta <= ?1 ";
  static const std::string returning = "ORDER BY eta, seq LIMIT 1) RETURNING " + task_columns() + ", seq";
  static const std::string plain_sql = set_clause + returning;
  static const std::string excluding_sql =
      set_clause + "AND seq NOT IN (SELECT value FROM json_each(?2)) " + returning;
  // Savepoint statements are cached like the others: they run on every claim.
  static const std::string savepoint = "SAVEPOINT claim", release = "RELEASE claim",
                           rollback_to = "ROLLBACK TO claim";
  auto step = [&connection](const std::string& sql) { connection.statement(sql)->step(); };
  return connection.write_transaction([&]() -> std::optional<Task> {
    std::string damaged;  // JSON array of the seqs passed over; empty until one is met
    for (;;) {
      step(savepoint);
      std::optional<std::int64_t> damaged_seq;
      {
        auto stmt = connection.statement(damaged.empty() ? plain_sql : excluding_sql);
        stmt->bind_int64(1, to_micros(now));
        if (!damaged.empty()) stmt->bind_text(2, damaged);
        if (!stmt->step()) {
          step(release);
          return std::nullopt;
        }
        try {
          Task task = read_task(*stmt);
          stmt->step();  // RETURNING rows are final only once the statement is done
          step(release);
          return task;
        } catch (const CorruptionError&) {
          damaged_seq = stmt->column_int64(stmt->column_count() - 1);
        }
      }  // the statement is reset before the rollback
      step(rollback_to);
      step(release);
      damaged = (damaged.empty() ? "[" : damaged.substr(0, damaged.size() - 1) + ",") +
                std::to_string(*damaged_seq) + "]";
    }
  });
}

std::vector<Task> claim_due_tasks(Connection& connection, Timestamp now, std::size_t max) {
  // Each claim is one indexed UPDATE on this connection, so a loop in one transaction
  // costs little more than one statement would, and keeps DEQ-9's handling of damaged rows.
  return connection.write_transaction([&] {
    std::vector<Task> batch;
    while (batch.size() < max) {
      std::optional<Task> task = claim_due_task(connection, now);
      if (!task) break;
      batch.push_back(std::move(*task));
    }
    return batch;
  });
}

std::optional<Task> find_task(Connection& connection, const std::string& task_id) {
  return connection.retry_busy([&] { return select_task(connection, task_id); });
}

std::optional<TaskResult> find_result(Connection& connection, const std::string& task_id) {
  static const std::string sql = "SELECT " + result_columns() + " FROM results WHERE task_id = ?1";
  return connection.retry_busy([&]() -> std::optional<TaskResult> {
    auto stmt = connection.statement(sql);
    stmt->bind_text(1, task_id);
    if (!stmt->step()) return std::nullopt;
    return read_result(*stmt);
  });
}

void set_running(Connection& connection, const std::string& task_id, Timestamp now) {
  connection.write_transaction([&] {
    update_task(connection, "UPDATE tasks SET status = 'RUNNING', updated_at = ?2 WHERE id = ?1",
                task_id, [&](Statement& stmt) { stmt.bind_int64(2, to_micros(now)); });
  });
}

void complete_task(Connection& connection, const std::string& task_id, const TaskResult& result,
                   Timestamp now) {
  connection.write_transaction([&] {
    update_task(connection, "UPDATE tasks SET status = 'SUCCESS', updated_at = ?2 WHERE id = ?1",
                task_id, [&](Statement& stmt) { stmt.bind_int64(2, to_micros(now)); });
    upsert_result(connection, result);
  });
}

void fail_task(Connection& connection, const std::string& task_id, const std::string& error,
               bool will_retry, Timestamp now) {
  const TaskStatus status = will_retry ? TaskStatus::RETRYING : TaskStatus::FAILED;
  connection.write_transaction([&] {
    update_task(connection,
                "UPDATE tasks SET status = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
                task_id, [&](Statement& stmt) {
                  stmt.bind_text(2, to_string(status));
                  stmt.bind_text(3, error);
                  stmt.bind_int64(4, to_micros(now));
                });
    if (!will_retry) {
      upsert_result(connection, TaskResult{.task_id = task_id,
                                           .status = TaskStatus::FAILED,
                                           .value = {},
                                           .error = error,
                                           .finished_at = now});
    }
  });
}

void set_eta(Connection& connection, const std::string& task_id, Timestamp eta, Timestamp now) {
  connection.write_transaction([&] {
    update_task(connection,
                "UPDATE tasks SET eta = ?2, status = 'PENDING', updated_at = ?3 WHERE id = ?1",
                task_id, [&](Statement& stmt) {
                  stmt.bind_int64(2, to_micros(eta));
                  stmt.bind_int64(3, to_micros(now));
                });
  });
}

std::size_t delete_results_before(Connection& connection, Timestamp older_than) {
  return connection.write_transaction([&] {
    {
      auto stmt = connection.statement("DELETE FROM results WHERE finished_at < ?1");
      stmt->bind_int64(1, to_micros(older_than));
      stmt->step();
    }
    return static_cast<std::size_t>(sqlite3_changes(connection.native()));
  });
}

}  // namespace taskstore::sqlite
