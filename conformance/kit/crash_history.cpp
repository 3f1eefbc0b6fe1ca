#include "crash_history.hpp"

#include <set>

#include "taskstore/sync_wait.hpp"

namespace taskstore::conformance::detail {

namespace {

CrashOp claim_of(const std::string& id, Timestamp now) {
  return CrashOp{.kind = CrashOpKind::dequeue, .id = id, .time = now, .text = ""};
}

// The ids of a claim's acknowledgement: "k1,k2" or "-" (none).
std::vector<std::string> claimed_ids(const std::string& claimed) {
  std::vector<std::string> ids;
  if (claimed == "-") return ids;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = claimed.find(',', start);
    ids.push_back(claimed.substr(start, comma - start));
    if (comma == std::string::npos) return ids;
    start = comma + 1;
  }
}

// "dequeue returned nothing", "batch claim of up to 3 returned 1 task".
std::string describe_claim(const CrashOp& op, std::size_t returned) {
  if (op.kind == CrashOpKind::dequeue) return "dequeue returned nothing";
  return "batch claim of up to " + op.text + " returned " + std::to_string(returned) +
         (returned == 1 ? " task" : " tasks");
}

// " (in flight at the kill: mark_done k1 ...; dequeue - ...)", or "" if nothing was.
std::string describe_cut_short(const Flights& flights) {
  std::string text;
  for (const auto& [thread, flight] : flights) {
    if (flight.applied) continue;
    text += (text.empty() ? "" : "; ") + encode(flight.op);
  }
  return text.empty() ? "" : " (in flight at the kill: " + text + ")";
}

}  // namespace

std::vector<std::string> CrashHistory::holdable() const {
  std::vector<std::string> ids;
  for (const auto& id : ids_) {
    if (!is_due(tasks_.at(id), kChildNow)) ids.push_back(id);
  }
  return ids;
}

ExpectedTask CrashHistory::state_after(const CrashOp& op) const {
  if (op.kind == CrashOpKind::enqueue) return ExpectedTask{.task = crash_task(op.id, op.time, kCrashBase)};
  return applied(tasks_.at(op.id), op);
}

void CrashHistory::apply(const CrashOp& op, long line) {
  if (op.kind == CrashOpKind::enqueue) ids_.push_back(op.id);
  tasks_[op.id] = state_after(op);
  if (is_due(tasks_.at(op.id), kChildNow)) due_since_[op.id] = line;
}

void CrashHistory::acknowledge(int thread, const std::string& claimed, long line,
                               Flights& flights, const std::string& context) {
  const Flight flight = flights.extract(thread).mapped();
  if (flight.applied) return;  // a dequeue already showed it had run
  const CrashOp& op = flight.op;
  if (const std::size_t capacity = claim_capacity(op); capacity > 0) {
    const std::vector<std::string> ids = claimed_ids(claimed);
    if (ids.size() > capacity) {
      broken(context + "an acknowledged batch claim of up to " + op.text + " returned " +
             std::to_string(ids.size()) + " tasks");
      return;
    }
    for (const std::string& id : ids) claim(id, op, line, flights, context);
    if (ids.size() < capacity) check_short_claim(flight, ids.size(), flights, context);
    settle_excuses(thread, ids, context);
    return;
  }
  if (op.kind != CrashOpKind::enqueue && !tasks_.contains(op.id)) {
    broken(context + "the child changed unknown task '" + op.id + "'");
    return;
  }
  apply(op, line);
}

void CrashHistory::claim(const std::string& id, const CrashOp& dequeue, long line,
                         Flights& flights, const std::string& context) {
  const auto due = [&] {
    const auto it = tasks_.find(id);
    return it != tasks_.end() && is_due(it->second, dequeue.time);
  };
  if (!due()) {
    // The enqueue or reschedule that made the task due may have returned after the claim
    // did, and so not be acknowledged yet: it then took effect first.
    for (auto& [other, flight] : flights) {
      const CrashOp& op = flight.op;
      if (flight.applied || op.id != id) continue;
      const bool makes_due = op.kind == CrashOpKind::enqueue ? !tasks_.contains(id)
                             : op.kind == CrashOpKind::reschedule && tasks_.contains(id);
      if (makes_due && is_due(state_after(op), dequeue.time)) {
        apply(op, line);
        flight.applied = true;
        break;
      }
    }
  }
  const auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    broken(context + "an acknowledged dequeue claimed '" + id + "', which was never enqueued");
  } else if (!due()) {
    broken(context + "an acknowledged dequeue claimed '" + id +
           "', which is not due by the acknowledged history (" + brief(it->second, kCrashBase) +
           "): a second claim");
  } else {
    it->second = applied(it->second, claim_of(id, dequeue.time));
    due_since_.erase(id);
  }
}

void CrashHistory::check_short_claim(const Flight& flight, std::size_t returned,
                                     const Flights& flights, const std::string& context) {
  // Another thread's claim still in flight may have taken, while this one ran, a task the
  // history still shows as due: up to its capacity each, checked when they return.
  Excuse excuse{.what = describe_claim(flight.op, returned), .due = {}, .claims = {}};
  std::size_t others = 0;
  for (const auto& [thread, other] : flights) {
    if (const std::size_t capacity = claim_capacity(other.op); capacity > 0) {
      excuse.claims.insert(thread);
      others += capacity;
    }
  }
  std::vector<std::string> due_all_along;
  for (const auto& id : ids_) {
    const auto since = due_since_.find(id);
    if (is_due(tasks_.at(id), flight.op.time) && since != due_since_.end() &&
        since->second < flight.begun) {
      due_all_along.push_back(id);
    }
  }
  if (due_all_along.size() <= others) {
    if (!due_all_along.empty()) {
      excuse.due.insert(due_all_along.begin(), due_all_along.end());
      excuses_.push_back(std::move(excuse));
    }
    return;
  }
  const std::string& id = due_all_along.front();
  broken(context + "an acknowledged " + excuse.what + ", but task '" + id +
         "' is due by the acknowledged history (" + brief(tasks_.at(id), kCrashBase) + ")" +
         (others == 0 ? std::string()
                      : ", as are " + std::to_string(due_all_along.size() - 1) +
                            " more, with only " + std::to_string(others) +
                            " claims by others in flight to take them"));
}

void CrashHistory::settle_excuses(int thread, const std::vector<std::string>& claimed,
                                  const std::string& context) {
  for (auto it = excuses_.begin(); it != excuses_.end();) {
    if (it->claims.erase(thread) == 0) {
      ++it;
      continue;
    }
    for (const std::string& id : claimed) it->due.erase(id);
    if (!it->claims.empty()) {
      ++it;
      continue;
    }
    if (!it->due.empty()) {
      const std::string& id = *it->due.begin();
      broken(context + "an acknowledged " + it->what + " while task '" + id +
             "' was due by the acknowledged history, and none of the claims then in flight "
             "claimed it");
    }
    it = excuses_.erase(it);
  }
}

bool CrashHistory::verify(BaseStorage& store, boost::asio::io_context& io, const Flights& flights,
                          const std::string& context) {
  // What the kill cut short: at most one operation per task other than a claim (the
  // workload's rule), and claims that may have taken due tasks, up to their capacity.
  std::map<std::string, CrashOp> cut_short_on;
  std::size_t dequeues = 0;  // the capacity of the claims in flight
  std::vector<std::string> ids = ids_;
  for (const auto& [thread, flight] : flights) {
    if (flight.applied) continue;
    if (const std::size_t capacity = claim_capacity(flight.op); capacity > 0) {
      dequeues += capacity;
      continue;
    }
    cut_short_on.emplace(flight.op.id, flight.op);
    if (flight.op.kind == CrashOpKind::enqueue) ids.push_back(flight.op.id);
  }
  const std::string cut_short = describe_cut_short(flights);
  std::size_t claims = 0;
  bool visible = false;

  for (const auto& id : ids) {
    std::optional<Task> task;
    std::optional<TaskResult> result;
    try {
      task = sync_wait(io, store.get_task(id));
      result = sync_wait(io, store.get_result(id));
    } catch (const std::exception& e) {
      broken(context + "reading task '" + id + "' failed: " + e.what());
      continue;
    }
    const auto op = cut_short_on.find(id);
    const CrashOp* in_flight = op == cut_short_on.end() ? nullptr : &op->second;
    const auto known = tasks_.find(id);
    if (known == tasks_.end() && !task && !result) continue;  // an enqueue cut short, not shown

    // The states allowed, untouched first: the operation in flight on the task not run,
    // run whole, or (mark_done, mark_failed without retry) shown by its result alone; then
    // any of them due and claimed by a dequeue in flight.
    std::vector<ExpectedTask> states;
    if (known != tasks_.end()) {
      states.push_back(known->second);
      if (in_flight) states.push_back(applied(known->second, *in_flight));
      if (in_flight) {
        if (auto partial = result_only(known->second, *in_flight)) states.push_back(*partial);
      }
    } else {
      states.push_back(state_after(*in_flight));  // the enqueue cut short, shown
    }
    std::optional<std::size_t> match;
    for (std::size_t i = 0; i < states.size() && !match; ++i) {
      if (matches(states[i], task, result)) match = i;
    }
    // Any state but the untouched one shows an operation in flight.
    if (match && (*match > 0 || known == tasks_.end())) visible = true;
    if (!match && claims < dequeues) {
      for (const auto& state : states) {
        if (is_due(state, kChildNow) &&
            matches(applied(state, claim_of(id, kChildNow)), task, result)) {
          match = 0;
          visible = true;
          ++claims;
          break;
        }
      }
    }
    if (match) {
      tasks_[id] = ExpectedTask{.task = *task, .result = result};
      if (known == tasks_.end()) ids_.push_back(id);
      continue;
    }
    if (known == tasks_.end()) {
      broken(context + "task '" + id + "', whose enqueue was cut short, is " +
             brief(task, result, kCrashBase) + ", not as enqueued" + cut_short);
      continue;
    }
    const ExpectedTask& expected = known->second;
    std::string violation = context + "task '" + id + "' is " + brief(task, result, kCrashBase) +
                            ", but its acknowledged history gives " +
                            brief(expected, kCrashBase) + cut_short;
    // A difference an operation cut short could make is that operation showing half-way
    // (CRASH-2/4), or one claim too many; any other is an acknowledged operation lost
    // (CRASH-1/3).
    const bool half_way =
        (in_flight && within_reach(expected, *in_flight, task, result)) ||
        (dequeues > 0 && is_due(expected, kChildNow) &&
         within_reach(expected, claim_of(id, kChildNow), task, result));
    if (half_way) {
      broken(std::move(violation));
    } else {
      lost(std::move(violation));
    }
  }
  // The drain of the next reopen, and short claims from now on, count every task due. The
  // claims that excused a short one may have been cut short: nothing to settle.
  excuses_.clear();
  due_since_.clear();
  for (const auto& id : ids_) {
    if (is_due(tasks_.at(id), kChildNow)) due_since_[id] = 0;
  }
  return visible;
}

void CrashHistory::drain(BaseStorage& store, boost::asio::io_context& io,
                         const std::string& context) {
  std::set<std::string> claimed;
  for (std::size_t round = 0;; ++round) {
    if (round > tasks_.size()) {
      broken(context + "the drain claimed more tasks than the store holds");
      return;
    }
    std::optional<Task> task;
    try {
      task = sync_wait(io, store.dequeue(kDrainNow));
    } catch (const std::exception& e) {
      broken(context + "a dequeue of the drain failed: " + e.what());
      return;
    }
    if (!task) break;
    const auto it = tasks_.find(task->id);
    if (it == tasks_.end()) {
      broken(context + "the drain claimed '" + task->id + "', which was never enqueued");
      return;
    }
    if (!claimed.insert(task->id).second || it->second.task.status != TaskStatus::PENDING) {
      broken(context + "the drain claimed '" + task->id + "', which is " +
             brief(it->second, kCrashBase) + ": a second claim");
      return;
    }
    ExpectedTask after = applied(it->second, claim_of(task->id, kDrainNow));
    if (!matches(after, task, after.result)) {
      broken(context + "the drain returned '" + task->id + "' as " +
             brief(task, after.result, kCrashBase) + ", expected " + brief(after, kCrashBase));
      return;
    }
    it->second = std::move(after);
    due_since_.erase(task->id);
  }
  for (const auto& id : ids_) {
    if (tasks_.at(id).task.status == TaskStatus::PENDING) {
      broken(context + "task '" + id + "' is PENDING and due, but the drain never claimed it");
    }
  }
}

void CrashHistory::lost(std::string violation) {
  report_.violations.push_back(std::move(violation));
  report_.acknowledged_lost = true;
}

void CrashHistory::broken(std::string violation) {
  report_.violations.push_back(std::move(violation));
  report_.inconsistent = true;
}

}  // namespace taskstore::conformance::detail
