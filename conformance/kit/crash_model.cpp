#include "crash_model.hpp"

#include <array>
#include <charconv>
#include <limits>
#include <sstream>

namespace taskstore::conformance::detail {

namespace {

constexpr std::array<std::pair<CrashOpKind, std::string_view>, 8> kNames{{
    {CrashOpKind::enqueue, "enqueue"},
    {CrashOpKind::dequeue, "dequeue"},
    {CrashOpKind::dequeue_batch, "dequeue_batch"},
    {CrashOpKind::mark_running, "mark_running"},
    {CrashOpKind::mark_done, "mark_done"},
    {CrashOpKind::mark_failed_retry, "mark_failed_retry"},
    {CrashOpKind::mark_failed_final, "mark_failed_final"},
    {CrashOpKind::reschedule, "reschedule"},
}};

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> tokens;
  while (!line.empty()) {
    const auto space = line.find(' ');
    tokens.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  return tokens;
}

std::string text_of(const Bytes& bytes) {
  std::string text;
  for (const std::byte b : bytes) text += static_cast<char>(b);
  return text;
}

// A time as an offset from `base`, short enough to read in a message: "t+2s", "t-1s".
std::string offset(Timestamp t, Timestamp base) {
  const auto us = (t - base).count();
  if (us % 1'000'000 == 0) return "t" + std::string(us >= 0 ? "+" : "") + std::to_string(us / 1'000'000) + "s";
  return "t" + std::string(us >= 0 ? "+" : "") + std::to_string(us) + "us";
}

}  // namespace

std::string_view to_string(CrashOpKind kind) {
  for (const auto& [k, name] : kNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::string encode(const CrashOp& op) {
  return std::string(to_string(op.kind)) + " " + op.id + " " + std::to_string(to_micros(op.time)) +
         " " + (op.text.empty() ? "-" : op.text);
}

std::optional<CrashOp> decode_op(std::string_view line) {
  const auto tokens = split(line);
  if (tokens.size() != 4) return std::nullopt;
  CrashOp op;
  bool known = false;
  for (const auto& [k, name] : kNames) {
    if (name == tokens[0]) {
      op.kind = k;
      known = true;
    }
  }
  std::int64_t micros = 0;
  const auto parsed = std::from_chars(tokens[2].data(), tokens[2].data() + tokens[2].size(), micros);
  if (!known || parsed.ec != std::errc() || parsed.ptr != tokens[2].data() + tokens[2].size()) {
    return std::nullopt;
  }
  op.id = std::string(tokens[1]);
  op.time = from_micros(micros);
  op.text = tokens[3] == "-" ? "" : std::string(tokens[3]);
  if (op.kind == CrashOpKind::dequeue_batch && claim_capacity(op) == 0) return std::nullopt;
  return op;
}

std::size_t claim_capacity(const CrashOp& op) {
  if (op.kind == CrashOpKind::dequeue) return 1;
  if (op.kind != CrashOpKind::dequeue_batch) return 0;
  std::size_t max = 0;
  const auto parsed = std::from_chars(op.text.data(), op.text.data() + op.text.size(), max);
  return parsed.ec == std::errc() ? max : 0;
}

Task crash_task(const std::string& id, Timestamp eta, Timestamp created_at) {
  Task task;
  task.id = id;
  task.name = "conformance.crash";
  task.payload = to_bytes("payload of " + id);
  task.eta = eta;
  task.max_retries = 3;
  task.created_at = created_at;
  task.updated_at = created_at;
  return task;
}

TaskResult done_result(const CrashOp& op) {
  return TaskResult{.task_id = op.id,
                    .status = TaskStatus::SUCCESS,
                    .value = to_bytes(op.text),
                    .error = std::nullopt,
                    .finished_at = op.time};
}

bool matches(const ExpectedTask& expected, const std::optional<Task>& task,
             const std::optional<TaskResult>& result) {
  if (!task) return false;
  Task stored = *task;
  stored.updated_at = expected.task.updated_at;
  if (!(stored == expected.task)) return false;
  if (expected.result.has_value() != result.has_value()) return false;
  if (!result) return true;
  TaskResult got = *result;
  if (!expected.finished_at_known) got.finished_at = expected.result->finished_at;
  return got == *expected.result;
}

bool within_reach(const ExpectedTask& expected, const CrashOp& op, const std::optional<Task>& task,
                  const std::optional<TaskResult>& result) {
  if (!task) return false;
  const ExpectedTask after = applied(expected, op);
  const Task& was = expected.task;
  const Task& will = after.task;
  const Task& is = *task;
  // Each field shows either its value before the operation or the one it gives.
  const auto before_or_after = [](const auto& field, const auto& before, const auto& after_op) {
    return field == before || field == after_op;
  };
  if (!before_or_after(is.status, was.status, will.status) ||
      !before_or_after(is.eta, was.eta, will.eta) ||
      !before_or_after(is.attempts, was.attempts, will.attempts) ||
      !before_or_after(is.last_error, was.last_error, will.last_error)) {
    return false;
  }
  const auto result_is = [&](const ExpectedTask& state) {
    const ExpectedTask with_task{.task = is, .result = state.result,
                                 .finished_at_known = state.finished_at_known};
    return matches(with_task, task, result);
  };
  if (!result_is(expected) && !result_is(after)) return false;
  // Every other field is the operation's to keep.
  Task rest = is;
  rest.status = was.status;
  rest.eta = was.eta;
  rest.attempts = was.attempts;
  rest.last_error = was.last_error;
  rest.updated_at = was.updated_at;
  return rest == was;
}

std::string brief(const std::optional<Task>& task, const std::optional<TaskResult>& result,
                  Timestamp base) {
  std::ostringstream out;
  if (!task) {
    out << "absent";
  } else {
    out << to_string(task->status) << " eta=" << offset(task->eta, base)
        << " attempts=" << task->attempts
        << " last_error=" << (task->last_error ? "'" + *task->last_error + "'" : "none");
  }
  out << " result=";
  if (!result) {
    out << "none";
  } else {
    out << to_string(result->status) << "/'"
        << (result->status == TaskStatus::SUCCESS ? text_of(result->value)
                                                  : result->error.value_or(""))
        << "'";
  }
  return out.str();
}

std::string brief(const ExpectedTask& expected, Timestamp base) {
  return brief(expected.task, expected.result, base);
}

ExpectedTask applied(const ExpectedTask& before, const CrashOp& op) {
  ExpectedTask after = before;
  Task& task = after.task;
  switch (op.kind) {
    case CrashOpKind::enqueue:
    case CrashOpKind::dequeue_batch:  // claims tasks it names only in its answer
      break;
    case CrashOpKind::dequeue:
      task.status = TaskStatus::RUNNING;
      if (task.attempts < std::numeric_limits<std::int32_t>::max()) ++task.attempts;
      task.updated_at = op.time;
      break;
    case CrashOpKind::mark_running:
      task.status = TaskStatus::RUNNING;
      break;
    case CrashOpKind::mark_done:
      task.status = TaskStatus::SUCCESS;
      after.result = done_result(op);
      after.finished_at_known = true;
      break;
    case CrashOpKind::mark_failed_retry:
      task.status = TaskStatus::RETRYING;
      task.last_error = op.text;
      break;
    case CrashOpKind::mark_failed_final:
      task.status = TaskStatus::FAILED;
      task.last_error = op.text;
      after = *result_only(after, op);
      break;
    case CrashOpKind::reschedule:
      task.status = TaskStatus::PENDING;
      task.eta = op.time;
      break;
  }
  return after;
}

std::optional<ExpectedTask> result_only(const ExpectedTask& before, const CrashOp& op) {
  ExpectedTask after = before;
  if (op.kind == CrashOpKind::mark_done) {
    after.result = done_result(op);
    after.finished_at_known = true;
    return after;
  }
  if (op.kind == CrashOpKind::mark_failed_final) {
    // finished_at comes from the backend's clock: unknown until read back.
    after.result = TaskResult{.task_id = op.id,
                              .status = TaskStatus::FAILED,
                              .value = {},
                              .error = op.text,
                              .finished_at = {}};
    after.finished_at_known = false;
    return after;
  }
  return std::nullopt;
}

bool is_due(const ExpectedTask& expected, Timestamp now) {
  return expected.task.status == TaskStatus::PENDING && expected.task.eta <= now;
}

}  // namespace taskstore::conformance::detail
