#include "group_session.hpp"

#include <algorithm>
#include <unordered_map>

#include "queries.hpp"
#include "row_codec.hpp"

namespace taskstore::postgres {

namespace {

// task_columns() with each column prefixed "tasks.", for statements that join.
std::string qualified_task_columns() {
  std::string out;
  std::string_view rest = task_columns();
  while (!rest.empty()) {
    const std::size_t comma = rest.find(", ");
    out += (out.empty() ? "tasks." : ", tasks.") + std::string(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
  }
  return out;
}

}  // namespace

std::optional<Task> GroupSession::claim(Timestamp now, std::vector<std::int64_t>& damaged) {
  if (mode_ == Mode::planning) {
    claims_.push_back(ClaimRequest{.now = now});
    return std::nullopt;
  }
  if (mode_ == Mode::replay) {
    ClaimRequest& request = claims_.at(next_claim_++);
    if (request.settled) return std::move(request.task);
  }
  for (const std::int64_t seq : damaged_) {
    if (std::find(damaged.begin(), damaged.end(), seq) == damaged.end()) damaged.push_back(seq);
  }
  return claim_due_task(connection_, now, damaged);
}

void GroupSession::mark_running(const std::string& task_id, Timestamp now) {
  if (mode_ == Mode::planning) {
    writes_.push_back(WriteRequest{.task_id = task_id, .now = now, .result = nullptr});
    return;
  }
  if (mode_ == Mode::replay) {
    WriteRequest& request = writes_.at(next_write_++);
    if (request.settled) {
      if (request.error) std::rethrow_exception(request.error);
      return;
    }
  }
  set_running(connection_, task_id, now);
}

void GroupSession::mark_done(const std::string& task_id, const TaskResult& result,
                             Timestamp now) {
  if (mode_ == Mode::planning) {
    writes_.push_back(WriteRequest{.task_id = task_id, .now = now, .result = &result});
    return;
  }
  if (mode_ == Mode::replay) {
    WriteRequest& request = writes_.at(next_write_++);
    if (request.settled) {
      if (request.error) std::rethrow_exception(request.error);
      return;
    }
  }
  complete_task(connection_, task_id, result, now);
}

void GroupSession::start_planning() {
  mode_ = Mode::planning;
  claims_.clear();
  writes_.clear();
  next_claim_ = 0;
  next_write_ = 0;
}

void GroupSession::run_batches() {
  // Both batches and the BEGIN before them go to the server in one round trip.
  const bool any_claims = !claims_.empty();
  const Params claim_params = any_claims ? claim_batch_params() : Params();
  const Params write_params = write_batch_params();
  const bool any_writes =
      std::any_of(writes_.begin(), writes_.end(), [](const WriteRequest& w) { return w.batched; });
  std::vector<Connection::Statement> statements;
  if (any_claims) statements.push_back({claim_sql(), claim_params});
  if (any_writes) statements.push_back({write_sql(), write_params});
  connection_.set_operation("commit");
  const std::vector<Result> results = connection_.begin_pipelined(statements);
  if (any_claims) settle_claims(results.front());
  if (any_writes) settle_writes(results.back());
  mode_ = Mode::replay;
}

void GroupSession::stop_batching() {
  mode_ = Mode::direct;
  claims_.clear();
  writes_.clear();
}

const std::string& GroupSession::claim_sql() {
  // Picks as many due rows as there are claims, at the earliest `now` among them, in claim
  // order (PG-2's pick, with a larger LIMIT), and numbers them; row n goes to the n-th
  // claim, stamped with that claim's own `now`. Taken one after another, the claims would
  // get the same rows: those due at the earliest `now` come before any due only later.
  // A claim left without a row (fewer were due then) claims on its own in replay, at its
  // own `now`. attempts saturates as in claim_due_task.
  static const std::string sql =
      "WITH picked AS (SELECT seq, row_number() OVER (ORDER BY eta, seq) AS rn FROM ("
      "SELECT seq, eta FROM tasks WHERE status = 'PENDING' AND eta <= $1 "
      "AND seq <> ALL($2::bigint[]) ORDER BY eta, seq FOR UPDATE SKIP LOCKED LIMIT $3) AS due) "
      "UPDATE tasks SET status = 'RUNNING', attempts = CASE WHEN tasks.attempts >= 2147483647 "
      "THEN tasks.attempts ELSE tasks.attempts + 1 END, updated_at = stamp.now "
      "FROM picked JOIN unnest($4::bigint[]) WITH ORDINALITY AS stamp(now, rn) "
      "ON stamp.rn = picked.rn WHERE tasks.seq = picked.seq RETURNING " +
      qualified_task_columns() + ", picked.rn";
  return sql;
}

Params GroupSession::claim_batch_params() const {
  Timestamp earliest = claims_.front().now;
  ArrayLiteral stamps;
  for (const ClaimRequest& request : claims_) {
    earliest = std::min(earliest, request.now);
    stamps.int64(to_micros(request.now));
  }
  ArrayLiteral skip;
  for (const std::int64_t seq : damaged_) skip.int64(seq);
  Params params;
  params.int64(to_micros(earliest))
      .text(skip.str())
      .int64(static_cast<std::int64_t>(claims_.size()))
      .text(stamps.str());
  return params;
}

void GroupSession::settle_claims(const Result& rows) {
  const int rn_column = 16;  // after task_columns()'s 16
  for (int row = 0; row < rows.rows(); ++row) {
    const std::size_t rn = std::stoull(std::string(rows.value(row, rn_column)));
    if (rn == 0 || rn > claims_.size()) {
      throw StorageError(connection_.where() + ": a batch claim returned row number " +
                         std::to_string(rn) + " for " + std::to_string(claims_.size()) +
                         " claims");
    }
    ClaimRequest& request = claims_[rn - 1];
    connection_.set_operation("dequeue");
    try {
      request.task = read_task(connection_, rows, row);
      request.settled = true;
    } catch (const CorruptionError&) {
      // Claimed already: the group is undone and run again, passing over this row (DEQ-9).
      damaged_.push_back(read_seq(connection_, rows, row));
      throw UndoAndRetry();
    }
  }
}

const std::string& GroupSession::write_sql() {
  // One statement for every mark_running and mark_done of the group: locks and returns
  // each row as it was, and changes only rows that exist, storing results only for them.
  // The rows are checked afterwards (settle_writes): an unknown id was never written, and
  // a damaged row, which was, sends the group round again with that task left to its
  // operation alone, which fails before writing.
  static const std::string sql =
      "WITH old AS (SELECT " + task_columns() +
      " FROM tasks WHERE id = ANY($1::text[]) FOR UPDATE), "
      "batch AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) "
      "AS b(id, status, now)), "
      "updated AS (UPDATE tasks SET status = batch.status, updated_at = batch.now FROM batch "
      "WHERE tasks.id = batch.id AND tasks.id IN (SELECT id FROM old)), "
      "stored AS (INSERT INTO results (" + result_columns() +
      ") SELECT r.* FROM unnest($4::text[], $5::text[], $6::bytea[], $7::bytea[], "
      "$8::bigint[]) AS r(task_id, status, value, error, finished_at) "
      "WHERE r.task_id IN (SELECT id FROM old) "
      "ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, value = excluded.value, "
      "error = excluded.error, finished_at = excluded.finished_at) "
      "SELECT * FROM old";
  return sql;
}

Params GroupSession::write_batch_params() {
  // The first write to each task goes in the batch; a second to the same task, or one to
  // a task found damaged, runs on its own in replay, after the batch, as if it had come
  // later.
  std::unordered_map<std::string, std::size_t> first;
  ArrayLiteral ids, statuses, times;
  ArrayLiteral result_ids, result_statuses, result_values, result_errors, result_times;
  for (std::size_t i = 0; i < writes_.size(); ++i) {
    WriteRequest& request = writes_[i];
    if (unbatched_.contains(request.task_id)) continue;
    if (!first.emplace(request.task_id, i).second) continue;
    request.batched = true;
    ids.text(request.task_id);
    statuses.text(to_string(request.result ? TaskStatus::SUCCESS : TaskStatus::RUNNING));
    times.int64(to_micros(request.now));
    if (request.result) {
      const TaskResult& result = *request.result;
      result_ids.text(result.task_id);
      result_statuses.text(to_string(result.status));
      result_values.bytes(result.value);
      result_errors.optional_bytes(result.error);
      result_times.int64(to_micros(result.finished_at));
    }
  }
  Params params;
  params.text(ids.str())
      .text(statuses.str())
      .text(times.str())
      .text(result_ids.str())
      .text(result_statuses.str())
      .text(result_values.str())
      .text(result_errors.str())
      .text(result_times.str());
  return params;
}

void GroupSession::settle_writes(const Result& rows) {
  std::unordered_map<std::string, int> row_of;
  for (int row = 0; row < rows.rows(); ++row) row_of.emplace(rows.value(row, 1), row);
  bool damaged = false;
  for (WriteRequest& request : writes_) {
    if (!request.batched) continue;
    request.settled = true;
    connection_.set_operation(request.result ? "mark_done" : "mark_running", request.task_id);
    const auto found = row_of.find(request.task_id);
    if (found == row_of.end()) {
      request.error = std::make_exception_ptr(not_found(connection_, request.task_id));
      continue;
    }
    try {
      read_task(connection_, rows, found->second);
    } catch (const CorruptionError&) {
      unbatched_.insert(request.task_id);
      damaged = true;
    }
  }
  if (damaged) throw UndoAndRetry();
}

}  // namespace taskstore::postgres
