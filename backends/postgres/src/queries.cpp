#include "queries.hpp"

#include <algorithm>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "row_codec.hpp"

namespace taskstore::postgres {

NotFoundError not_found(const Connection& connection, const std::string& task_id) {
  return NotFoundError(std::string(connection.operation()) + ": task '" + task_id +
                       "' not found in postgres store (schema " + connection.schema() + ")");
}

namespace {

// Inside the caller's transaction: reads and locks the task first, so an unknown id raises
// NotFoundError before anything is written, and a damaged row raises CorruptionError
// instead of being partly overwritten (which could make it due, or hide the damage).
// Then runs the UPDATE `sql`, whose $1 is the task id, with `params` after it.
void update_task(Connection& connection, const std::string& sql, const std::string& task_id,
                 Params params) {
  static const std::string select =
      "SELECT " + task_columns() + " FROM tasks WHERE id = $1 FOR UPDATE";
  Params id;
  id.text(task_id);
  const Result found = connection.query(select, id);
  if (found.rows() == 0) throw not_found(connection, task_id);
  read_task(connection, found, 0);
  connection.query(sql, params);
}

// Stores `result`, replacing any earlier result of its task.
void upsert_result(Connection& connection, const TaskResult& result) {
  static const std::string sql =
      "INSERT INTO results (" + result_columns() +
      ") VALUES ($1, $2, $3, $4, $5) ON CONFLICT (task_id) DO UPDATE SET status = "
      "excluded.status, value = excluded.value, error = excluded.error, finished_at = "
      "excluded.finished_at";
  connection.query(sql, result_params(result));
}

// A text array literal of the seqs in `seqs`, for "seq <> ALL($n::bigint[])".
std::string seq_array(const std::vector<std::int64_t>& seqs) {
  std::string out = "{";
  for (const std::int64_t seq : seqs) out += (out.size() > 1 ? "," : "") + std::to_string(seq);
  return out + "}";
}

}  // namespace

void insert_task(Connection& connection, const Task& task) {
  static const std::string sql =
      "INSERT INTO tasks (" + task_insert_columns() +
      ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) "
      "ON CONFLICT (id) DO NOTHING";
  if (connection.query(sql, task_params(task)).affected() == 0) {
    throw ConflictError(std::string(connection.operation()) + ": task '" + task.id +
                        "' already exists in postgres store (schema " + connection.schema() +
                        ")");
  }
}

std::optional<Task> claim_due_task(Connection& connection, Timestamp now,
                                   std::vector<std::int64_t>& damaged) {
  // One statement picks and claims. FOR UPDATE SKIP LOCKED lets concurrent claimers in
  // any process pass over each other's rows instead of queueing on them; the partial index
  // tasks_pending_by_eta serves the pick. attempts stops at the int32 maximum instead of
  // overflowing (DEQ-5); a value already past it (a damaged row) is left as it is, so
  // reading the row back reports the damage instead of the server failing on overflow.
  // $2 lists rows found damaged (DEQ-9), passed over from then on.
  static const std::string claim =
      "UPDATE tasks SET status = 'RUNNING', "
      "attempts = CASE WHEN attempts >= 2147483647 THEN attempts ELSE attempts + 1 END, "
      "updated_at = $1 "
      "WHERE seq = (SELECT seq FROM tasks WHERE status = 'PENDING' AND eta <= $1 "
      "AND seq <> ALL($2::bigint[]) ORDER BY eta, seq FOR UPDATE SKIP LOCKED LIMIT 1) "
      "RETURNING " +
      task_columns();
  // Whether a due row is still there to claim, locking it for our next try if so.
  static const std::string due =
      "SELECT seq FROM tasks WHERE status = 'PENDING' AND eta <= $1 "
      "AND seq <> ALL($2::bigint[]) ORDER BY eta, seq FOR UPDATE SKIP LOCKED LIMIT 1";
  if (!connection.in_transaction()) {
    throw std::logic_error("claim_due_task runs inside a transaction");
  }
  Params params;
  params.int64(to_micros(now)).text(seq_array(damaged));
  for (;;) {
    const Result rows = connection.query(claim, params);
    if (rows.rows() == 0) {
      // Under a race the picked row can change between the pick and the update, and then
      // the UPDATE matches nothing although due rows remain: look again (the look locks
      // the row it finds, so the next claim gets it) until nothing is due.
      if (connection.query(due, params).rows() == 0) return std::nullopt;
      continue;
    }
    try {
      return read_task(connection, rows, 0);
    } catch (const CorruptionError&) {
      // The damaged row is claimed by now: undo that and pass over it from now on, so
      // one bad row never stops the queue and get_task still reports it as it was.
      damaged.push_back(read_seq(connection, rows, 0));
      throw UndoAndRetry();
    }
  }
}

std::vector<Task> claim_due_tasks(Connection& connection, Timestamp now, std::size_t max,
                                  std::vector<std::int64_t>& damaged) {
  // claim_due_task's pick with a larger LIMIT, locked in a CTE that runs once, so every
  // picked row is ours before the UPDATE touches it. RETURNING's order is not the pick's:
  // the rows are put in claim order here.
  static const std::string claim =
      "WITH picked AS (SELECT seq AS picked_seq FROM tasks WHERE status = 'PENDING' "
      "AND eta <= $1 AND seq <> ALL($2::bigint[]) ORDER BY eta, seq "
      "FOR UPDATE SKIP LOCKED LIMIT $3) "
      "UPDATE tasks SET status = 'RUNNING', "
      "attempts = CASE WHEN attempts >= 2147483647 THEN attempts ELSE attempts + 1 END, "
      "updated_at = $1 FROM picked WHERE seq = picked.picked_seq RETURNING " +
      task_columns();
  if (!connection.in_transaction()) {
    throw std::logic_error("claim_due_tasks runs inside a transaction");
  }
  Params params;
  params.int64(to_micros(now)).text(seq_array(damaged)).int64(static_cast<std::int64_t>(max));
  const Result rows = connection.query(claim, params);
  std::vector<std::pair<std::int64_t, Task>> claimed;
  for (int row = 0; row < rows.rows(); ++row) {
    const std::int64_t seq = read_seq(connection, rows, row);
    try {
      claimed.emplace_back(seq, read_task(connection, rows, row));
    } catch (const CorruptionError&) {
      damaged.push_back(seq);  // as in claim_due_task: undo, then pass over it (BAT-5)
      throw UndoAndRetry();
    }
  }
  std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second.eta, a.first) < std::tie(b.second.eta, b.first);
  });
  std::vector<Task> batch;
  batch.reserve(claimed.size());
  for (auto& entry : claimed) batch.push_back(std::move(entry.second));
  return batch;
}

std::optional<Task> find_task(Connection& connection, const std::string& task_id) {
  static const std::string sql = "SELECT " + task_columns() + " FROM tasks WHERE id = $1";
  Params params;
  params.text(task_id);
  const Result rows = connection.query(sql, params);
  if (rows.rows() == 0) return std::nullopt;
  return read_task(connection, rows, 0);
}

std::optional<TaskResult> find_result(Connection& connection, const std::string& task_id) {
  static const std::string sql = "SELECT " + result_columns() + " FROM results WHERE task_id = $1";
  Params params;
  params.text(task_id);
  const Result rows = connection.query(sql, params);
  if (rows.rows() == 0) return std::nullopt;
  return read_result(connection, rows, 0);
}

void set_running(Connection& connection, const std::string& task_id, Timestamp now) {
  connection.transaction([&] {
    Params params;
    params.text(task_id).int64(to_micros(now));
    update_task(connection, "UPDATE tasks SET status = 'RUNNING', updated_at = $2 WHERE id = $1",
                task_id, std::move(params));
  });
}

void complete_task(Connection& connection, const std::string& task_id, const TaskResult& result,
                   Timestamp now) {
  connection.transaction([&] {
    Params params;
    params.text(task_id).int64(to_micros(now));
    update_task(connection, "UPDATE tasks SET status = 'SUCCESS', updated_at = $2 WHERE id = $1",
                task_id, std::move(params));
    upsert_result(connection, result);
  });
}

void fail_task(Connection& connection, const std::string& task_id, const std::string& error,
               bool will_retry, Timestamp now) {
  const TaskStatus status = will_retry ? TaskStatus::RETRYING : TaskStatus::FAILED;
  connection.transaction([&] {
    Params params;
    params.text(task_id).text(to_string(status)).bytes(error).int64(to_micros(now));
    update_task(connection,
                "UPDATE tasks SET status = $2, last_error = $3, updated_at = $4 WHERE id = $1",
                task_id, std::move(params));
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
  connection.transaction([&] {
    Params params;
    params.text(task_id).int64(to_micros(eta)).int64(to_micros(now));
    update_task(connection,
                "UPDATE tasks SET eta = $2, status = 'PENDING', updated_at = $3 WHERE id = $1",
                task_id, std::move(params));
  });
}

std::size_t delete_results_before(Connection& connection, Timestamp older_than) {
  Params params;
  params.int64(to_micros(older_than));
  return connection.query("DELETE FROM results WHERE finished_at < $1", params).affected();
}

}  // namespace taskstore::postgres
