// The queue's loops: workers (claim → handler → complete_task) and the
// result TTL loop. Neither ever lets an exception out: a failing handler fails its task,
// a failing storage call is reported and retried after a poll interval.
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "queue_state.hpp"
#include "time_arithmetic.hpp"

namespace taskstore::queue {

namespace {

using Phase = QueueState::Phase;

// What running one claimed task came to, for the worker's loop.
enum class Ending { done, abandoned };

// Runs one task this worker claimed: mark_running (only for a task claimed ahead, whose
// claim stamped an earlier time), the handler, then complete_task, or hands the claim back
// if the queue is stopping.
Awaitable<Ending> run_claimed(std::shared_ptr<QueueState> s, std::size_t index, Task task,
                              Timestamp claimed_at, bool claimed_ahead) {
  const std::string id = task.id;
  bool release = false;
  {
    std::lock_guard lock(s->mutex);
    // More tasks may be due: let another idle worker look (QUE-13).
    s->wake_for_locked(claimed_at);
    auto& worker = s->workers[index];
    worker.task_id = id;
    release = s->stopping;  // the claim raced with shutdown: hand it back unrun
    worker.phase = release ? Phase::releasing : Phase::starting;
  }
  if (release) {
    co_await s->release_claim(id);
    co_return Ending::done;
  }

  // A claim made just now left the task RUNNING with updated_at = now (DEQ-5): a
  // mark_running would only repeat it, at the cost of a commit per task (QUE-18).
  if (claimed_ahead) try {
    co_await s->storage->mark_running(id);
  } catch (const std::exception& e) {
    // The claim already made the task RUNNING (DEQ-5); run it anyway.
    s->report("worker " + std::to_string(index) + ": mark_running of task '" + id +
              "' failed: " + e.what());
  }

  TaskHandler handler;
  {
    std::lock_guard lock(s->mutex);
    auto& worker = s->workers[index];
    release = s->past_deadline;
    worker.phase = release ? Phase::releasing : Phase::handling;
    if (const auto it = s->handlers.find(task.name); it != s->handlers.end()) handler = it->second;
  }
  if (release) {
    co_await s->release_claim(id);
    co_return Ending::done;
  }

  std::optional<TaskOutcome> outcome;
  bool final_failure = false;
  if (!handler) {
    outcome = TaskOutcome::failure("no handler is registered for task name '" + task.name + "'");
    final_failure = true;  // QUE-10: retrying cannot make a handler appear
  } else {
    try {
      auto run = handler(task);
      Bytes value = co_await std::move(run);
      outcome = TaskOutcome::success(std::move(value));
    } catch (const std::exception& e) {
      outcome = TaskOutcome::failure(e.what());
    } catch (...) {
      outcome = TaskOutcome::failure("the handler threw an exception that is not a std::exception");
    }
  }

  {
    std::lock_guard lock(s->mutex);
    auto& worker = s->workers[index];
    if (worker.phase == Phase::abandoned) co_return Ending::abandoned;
    worker.phase = Phase::completing;
  }
  try {
    if (final_failure) {
      co_await s->storage->mark_failed(id, outcome->error(), false);
    } else {
      auto completion = s->finish(std::move(task), std::move(*outcome));
      co_await std::move(completion);
    }
  } catch (const std::exception& e) {
    s->report("worker " + std::to_string(index) + ": completing task '" + id +
              "' failed: " + e.what());
  }
  {
    std::lock_guard lock(s->mutex);
    s->workers[index].task_id.clear();
  }
  co_return Ending::done;
}

// Claims the worker's next task at `now`: one dequeue, or, with `ahead` > 0 places
// reserved in the prefetch buffer, one dequeue_batch whose first task is the worker's and
// the rest go to the buffer for the others (QUE-17). Gives the reserved places back
// however it ends.
Awaitable<std::optional<Task>> claim_next(std::shared_ptr<QueueState> s, Timestamp now,
                                          std::size_t ahead) {
  if (ahead == 0) {
    auto single = s->storage->dequeue(now);
    co_return co_await std::move(single);
  }
  std::vector<Task> batch;
  bool refused = false;
  try {
    auto claim = s->storage->dequeue_batch(now, ahead + 1);
    batch = co_await std::move(claim);
  } catch (const NotSupportedError&) {
    refused = true;  // a store that says it claims batches, then doesn't: claim alone
  } catch (...) {
    std::lock_guard lock(s->mutex);
    s->prefetch_reserved -= ahead;
    throw;
  }
  if (refused) {
    {
      std::lock_guard lock(s->mutex);
      s->prefetch_reserved -= ahead;
      s->batches_refused = true;  // from now on, every claim is one dequeue
    }
    auto single = s->storage->dequeue(now);
    co_return co_await std::move(single);
  }
  std::vector<std::string> to_release;
  std::optional<Task> mine;
  {
    std::lock_guard lock(s->mutex);
    s->prefetch_reserved -= ahead;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i == 0) {
        mine = std::move(batch[0]);
      } else if (s->stopping) {
        to_release.push_back(batch[i].id);  // shutdown has already emptied the buffer
      } else {
        s->prefetched.push_back(std::move(batch[i]));
      }
    }
    if (!s->stopping && batch.size() > 1) s->wake_idle_locked(batch.size() - 1);
  }
  for (std::string& id : to_release) {
    auto release = s->release_claim(std::move(id));
    co_await std::move(release);
  }
  co_return mine;
}

}  // namespace

Awaitable<void> run_worker(std::shared_ptr<QueueState> s, std::size_t index) {
  auto executor = co_await boost::asio::this_coro::executor;
  const std::unique_ptr<Alarm> alarm = s->clock->make_alarm(executor);
  {
    std::lock_guard lock(s->mutex);
    s->workers[index].alarm = alarm.get();
  }
  for (;;) {
    std::uint64_t generation = 0;
    std::optional<Task> task;
    bool claimed_ahead = false;  // taken from the prefetch buffer
    std::size_t ahead = 0;  // places this worker's claim may fill in the prefetch buffer
    {
      std::lock_guard lock(s->mutex);
      if (s->stopping) break;
      s->workers[index].phase = Phase::claiming;
      generation = s->generation;
      if (!s->prefetched.empty()) {
        task = std::move(s->prefetched.front());
        s->prefetched.pop_front();
        claimed_ahead = true;
      } else if (s->prefetch > 0 && !s->batches_refused) {
        ahead = s->prefetch - std::min(s->prefetch, s->prefetched.size() + s->prefetch_reserved);
        s->prefetch_reserved += ahead;
      }
    }

    const Timestamp now = s->clock->now();
    bool dequeue_failed = false;
    if (!task) {
      auto claim = claim_next(s, now, ahead);
      try {
        task = co_await std::move(claim);
      } catch (const std::exception& e) {
        dequeue_failed = true;
        s->report("worker " + std::to_string(index) + ": dequeue failed: " + e.what());
      }
    }

    if (task) {
      auto run = run_claimed(s, index, std::move(*task), now, claimed_ahead);
      if (co_await std::move(run) == Ending::abandoned) co_return;  // shutdown closed our slot
      continue;
    }

    std::optional<Timestamp> wake_at;
    {
      std::lock_guard lock(s->mutex);
      if (s->stopping) break;
      if (!s->prefetched.empty()) {
        // Another worker's batch filled the buffer while this one's claim found nothing.
      } else if (dequeue_failed) {
        wake_at = detail::add_saturating(now, s->poll_interval);  // back off, whatever is due
      } else if (s->generation == generation) {
        // Nothing came due that this dequeue could have missed: sleep until the poll
        // interval is up or the next known eta, whichever is first.
        auto& etas = s->known_etas;
        etas.erase(etas.begin(), etas.upper_bound(now));
        wake_at = detail::add_saturating(now, s->poll_interval);
        if (!etas.empty()) wake_at = std::min(*wake_at, *etas.begin());
      }
      if (wake_at) {
        auto& worker = s->workers[index];
        worker.phase = Phase::idle;
        worker.idle_until = *wake_at;
      }
    }
    if (wake_at) co_await alarm->sleep_until(*wake_at);
  }
  std::lock_guard lock(s->mutex);
  auto& worker = s->workers[index];
  worker.phase = Phase::exited;
  worker.alarm = nullptr;
  s->loop_exited_locked();
}

Awaitable<void> run_result_ttl(std::shared_ptr<QueueState> s) {
  auto executor = co_await boost::asio::this_coro::executor;
  const std::unique_ptr<Alarm> alarm = s->clock->make_alarm(executor);
  const ResultTtl ttl = *s->result_ttl;
  {
    std::lock_guard lock(s->mutex);
    s->ttl_alarm = alarm.get();
  }
  for (;;) {
    {
      std::lock_guard lock(s->mutex);
      if (s->stopping) break;
    }
    const Timestamp now = s->clock->now();
    try {
      co_await s->storage->purge_results(detail::subtract_saturating(now, ttl.ttl));
    } catch (const std::exception& e) {
      s->report(std::string("result TTL: purge_results failed: ") + e.what());
    }
    {
      std::lock_guard lock(s->mutex);
      if (s->stopping) break;
    }
    co_await alarm->sleep_until(detail::add_saturating(now, ttl.period));
  }
  std::lock_guard lock(s->mutex);
  s->ttl_alarm = nullptr;
  s->loop_exited_locked();
}

}  // namespace taskstore::queue
