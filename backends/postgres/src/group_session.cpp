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
  claim_batch();
  write_batch();
  mode_ = Mode::replay;
}

void GroupSession::stop_batching() {
  mode_ = Mode::direct;
  claims_.clear();
  writes_.clear();
}

void GroupSession::claim_batch() {
  if (claims_.empty()) return;
  // Picks as many due rows as there are claims, at the earliest `now` among them, in claim
  // order (PG-2's pick, with a larger LIMIT), and numbers them; row n goes to the n-th
  // claim, stamped with that claim's own `now`. Taken one after another, the claims would
  // get the same rows: those due at the earliest `now` come before any due only later.
  // A claim left without a row (fewer were due then) claims on its own in replay, at its
  // own `now`.
  static const std::string sql =
      "WITH picked AS (SELECT seq, row_number() OVER (ORDER BY eta, seq) AS rn FROM ("
      "SELECT seq, eta FROM tasks WHERE status = 'PENDING' AND eta <= $1 "
      "AND seq <> ALL($2::bigint[]) ORDER BY eta, seq FOR UPDATE SKIP LOCKED LIMIT $3) AS due) "
      "UPDATE tasks SET status = 'RUNNING', attempts = LEAST(tasks.attempts + 1, 2147483647), "
      "updated_at = stamp.now "
      "FROM picked JOIN unnest($4::bigint[]) WITH ORDINALITY AS stamp(now, rn) "
      "ON stamp.rn = picked.rn WHERE tasks.seq = picked.seq RETURNING " +
      qualified_task_columns() + ", picked.rn";
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
  connection_.set_operation("dequeue");
  const Result rows = connection_.query(sql, params);
  const int rn_column = 16;  // after task_columns()'s 16
  for (int row = 0; row < rows.rows(); ++row) {
    const std::size_t rn = std::stoull(std::string(rows.value(row, rn_column)));
    if (rn == 0 || rn > claims_.size()) {
      throw StorageError(connection_.where() + ": a batch claim returned row number " +
                         std::to_string(rn) + " for " + std::to_string(claims_.size()) +
                         " claims");
    }
    ClaimRequest& request = claims_[rn - 1];
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

void GroupSession::write_batch() {
  if (writes_.empty()) return;
  // The first write to each task goes in the batch; a second to the same task runs on its
  // own in replay, after the batch, as if it had come later.
  std::unordered_map<std::string, std::size_t> first;
  ArrayLiteral ids;
  for (std::size_t i = 0; i < writes_.size(); ++i) {
    if (first.emplace(writes_[i].task_id, i).second) ids.text(writes_[i].task_id);
  }

  // Reads and locks every row first, as each operation on its own does: an unknown id or
  // a damaged row fails that operation before anything is written.
  static const std::string read =
      "SELECT " + task_columns() + " FROM tasks WHERE id = ANY($1::text[]) FOR UPDATE";
  Params read_params;
  read_params.text(ids.str());
  connection_.set_operation("commit");
  const Result rows = connection_.query(read, read_params);
  std::unordered_map<std::string, int> row_of;
  for (int row = 0; row < rows.rows(); ++row) row_of.emplace(rows.value(row, 1), row);

  ArrayLiteral update_ids, update_statuses, update_times;
  ArrayLiteral result_ids, result_statuses, result_values, result_errors, result_times;
  bool any_update = false;
  bool any_result = false;
  for (std::size_t i = 0; i < writes_.size(); ++i) {
    WriteRequest& request = writes_[i];
    if (first.at(request.task_id) != i) continue;
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
      request.error = std::current_exception();
      continue;
    }
    const TaskStatus status = request.result ? TaskStatus::SUCCESS : TaskStatus::RUNNING;
    update_ids.text(request.task_id);
    update_statuses.text(to_string(status));
    update_times.int64(to_micros(request.now));
    any_update = true;
    if (request.result) {
      const TaskResult& result = *request.result;
      result_ids.text(result.task_id);
      result_statuses.text(to_string(result.status));
      result_values.bytes(result.value);
      result_errors.optional_bytes(result.error);
      result_times.int64(to_micros(result.finished_at));
      any_result = true;
    }
  }

  connection_.set_operation("commit");
  if (any_update) {
    static const std::string update =
        "UPDATE tasks SET status = batch.status, updated_at = batch.now "
        "FROM unnest($1::text[], $2::text[], $3::bigint[]) AS batch(id, status, now) "
        "WHERE tasks.id = batch.id";
    Params params;
    params.text(update_ids.str()).text(update_statuses.str()).text(update_times.str());
    connection_.query(update, params);
  }
  if (any_result) {
    static const std::string upsert =
        "INSERT INTO results (" + result_columns() +
        ") SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], "
        "$5::bigint[]) ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, "
        "value = excluded.value, error = excluded.error, finished_at = excluded.finished_at";
    Params params;
    params.text(result_ids.str())
        .text(result_statuses.str())
        .text(result_values.str())
        .text(result_errors.str())
        .text(result_times.str());
    connection_.query(upsert, params);
  }
}

}  // namespace taskstore::postgres
