#pragma once
// GroupCommit: lets the write operations of concurrent callers share one commit (one
// SQLite transaction, one round of fsyncs) instead of paying for one each.
//
// A caller's operation is queued, and the caller waits. Whichever pool thread finds no
// group in progress becomes the leader: it takes every queued operation (up to a limit)
// and hands them, in the order they arrived, to the backend's `commit_group`, which
// applies each one, records a failure against that operation alone, and makes the whole
// group durable. Only then is each caller resumed, with its own result or error. The
// leader goes on with whatever queued up meanwhile, so the busier the store, the bigger
// the groups. A follower never blocks a pool thread: it queues its operation and returns.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "taskstore/group_commit_stats.hpp"
#include "taskstore/storage.hpp"

namespace taskstore {

// `Resource` is what an operation works on (e.g. a database connection).
template <typename Resource>
class GroupCommit {
 public:
  // One queued write operation.
  class Operation {
   public:
    Operation(std::string_view name, std::string task_id)
        : name_(name), task_id_(std::move(task_id)) {}
    virtual ~Operation() = default;

    // Applies the operation inside the open group. An exception fails this operation;
    // `commit_group` decides what it means for the group.
    virtual void apply(Resource& resource) = 0;
    // Forgets the outcome of an earlier attempt (the group is being run again).
    void reset() {
      error_ = nullptr;
      clear_result();
    }
    void fail(std::exception_ptr error) { error_ = std::move(error); }
    bool failed() const { return error_ != nullptr; }

    // The operation's name (a string literal such as "mark_done") and task id (may be
    // empty), for error messages.
    std::string_view name() const { return name_; }
    const std::string& task_id() const { return task_id_; }

    // Resumes the caller with the outcome; called once, after the group is durable.
    virtual void finish() = 0;

   protected:
    virtual void clear_result() = 0;
    std::exception_ptr error_;

   private:
    std::string_view name_;
    std::string task_id_;
  };

  // Applies `group` (never empty) and makes it durable, or fails every operation it could
  // not make durable. Runs on a pool thread; up to `max_concurrent` groups at a time.
  using CommitGroup = std::function<void(std::span<Operation* const> group)>;

  // `max_group` caps the operations one commit may carry (1 turns grouping off).
  // `max_concurrent` is how many groups may commit at once, each led by its own pool
  // thread: 1 for a store with a single writer (SQLite, the file store); more lets a
  // server that runs transactions side by side (PostgreSQL) work on one group while
  // another waits for its flush. A new group starts beside a running one only when no
  // leader is idle to take the work.
  template <typename PoolExecutor>
  GroupCommit(PoolExecutor pool, std::size_t max_group, CommitGroup commit_group,
              std::size_t max_concurrent = 1)
      : post_to_pool_([pool](std::function<void()> work) mutable {
          boost::asio::post(pool, std::move(work));
        }),
        max_group_(std::max<std::size_t>(max_group, 1)),
        max_leaders_(std::max<std::size_t>(max_concurrent, 1)),
        commit_group_(std::move(commit_group)) {}

  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Queues `work(resource)` as operation `name` (a string literal) on `task_id` and
  // resumes the awaiting coroutine on its own executor once the group holding it is
  // durable, with work's result or the operation's error.
  template <typename Work>
  Awaitable<std::invoke_result_t<Work&, Resource&>> submit(std::string_view name,
                                                          std::string task_id, Work work) {
    namespace asio = boost::asio;
    using Result = std::invoke_result_t<Work&, Resource&>;
    using Slot = typename Job<Work>::Slot;

    auto initiate = [this, name, &task_id, &work](auto handler) mutable {
      auto home = asio::prefer(asio::get_associated_executor(handler),
                               asio::execution::outstanding_work.tracked);
      using Handler = decltype(handler);
      using Home = decltype(home);
      enqueue(std::make_shared<JobWith<Work, Handler, Home>>(
          name, std::move(task_id), std::move(work), std::move(handler), std::move(home)));
    };

    Slot slot = co_await asio::async_initiate<decltype(asio::use_awaitable),
                                              void(std::exception_ptr, Slot)>(
        std::move(initiate), asio::use_awaitable);
    if constexpr (!std::is_void_v<Result>) {
      co_return std::move(*slot);
    }
  }

  GroupCommitStats stats() const {
    std::lock_guard lock(mutex_);
    GroupCommitStats stats = stats_;
    stats.waiting = queue_.size();
    return stats;
  }

 private:
  // An operation with its work and result slot; the caller's handler is added by JobWith.
  template <typename Work>
  class Job : public Operation {
   public:
    using Result = std::invoke_result_t<Work&, Resource&>;
    // optional<> so Result needn't be default-constructible.
    using Slot = std::conditional_t<std::is_void_v<Result>, bool, std::optional<Result>>;

    Job(std::string_view name, std::string task_id, Work work)
        : Operation(name, std::move(task_id)), work_(std::move(work)) {}

    void apply(Resource& resource) override {
      if constexpr (std::is_void_v<Result>) {
        work_(resource);
        slot_ = true;
      } else {
        slot_.emplace(work_(resource));
      }
    }

   protected:
    void clear_result() override { slot_ = Slot{}; }

    Work work_;
    Slot slot_{};
  };

  template <typename Work, typename Handler, typename Home>
  class JobWith final : public Job<Work> {
   public:
    JobWith(std::string_view name, std::string task_id, Work work, Handler handler, Home home)
        : Job<Work>(name, std::move(task_id), std::move(work)),
          handler_(std::move(handler)),
          home_(std::move(home)) {}

    void finish() override {
      // A failed operation hands back no result, even one it produced before failing.
      if (this->error_) this->clear_result();
      // The error moves to the caller: this operation may be destroyed on the leader's
      // thread while the caller still reads the exception, so the leader must not hold a
      // reference the caller's would race with (exception_ptr counts its references in
      // the runtime library, where ThreadSanitizer cannot see them).
      boost::asio::post(home_, [handler = std::move(handler_), error = std::move(this->error_),
                                slot = std::move(this->slot_)]() mutable {
        std::move(handler)(error, std::move(slot));
      });
    }

   private:
    Handler handler_;
    Home home_;
  };

  // On the caller's thread: queuing takes a mutex only briefly. A group in progress will
  // pick the operation up; otherwise a pool thread is sent to lead, so the caller's
  // thread never runs a group.
  void enqueue(std::shared_ptr<Operation> operation) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(operation));
      // A leader between groups will take it; or every lane is busy and the next to
      // finish will.
      if (idle_leaders_ > 0 || leaders_ >= max_leaders_) return;
      ++leaders_;
    }
    try {
      post_to_pool_([this] { lead(); });
    } catch (...) {
      // No pool thread could be sent (out of memory): nobody would ever run what is
      // queued, so it all fails now rather than waiting forever.
      abandon(std::current_exception());
    }
  }

  // Fails every queued operation with `error`; the calling leader (or the one that could
  // not be sent) gives up its lane.
  void abandon(std::exception_ptr error) noexcept {
    std::deque<std::shared_ptr<Operation>> stranded;
    {
      std::lock_guard lock(mutex_);
      --leaders_;
      stranded.swap(queue_);
    }
    for (const auto& operation : stranded) {
      operation->fail(error);
      resume(*operation);
    }
  }

  // Hands an operation's outcome to its caller. Should even that fail (out of memory),
  // there is no one left to tell; the other callers must still be resumed.
  static void resume(Operation& operation) noexcept {
    try {
      operation.finish();
    } catch (...) {
    }
  }

  // Takes the next group off the queue into `group`; false once the queue has stayed empty
  // for a short while (the lead is then given up). Waiting a little before giving up lets
  // a caller that resumes and writes again find a leader still here, which saves waking
  // a pool thread for every write of a single busy caller.
  bool take_group(std::vector<std::shared_ptr<Operation>>& group) noexcept {
    const auto give_up = std::chrono::steady_clock::now() + kLinger;
    bool idle = false;  // counted in idle_leaders_ while it waits
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (!queue_.empty()) {
          if (idle) --idle_leaders_;
          const std::size_t take = std::min(queue_.size(), max_group_);
          for (std::size_t i = 0; i < take; ++i) {
            group.push_back(std::move(queue_.front()));
            queue_.pop_front();
          }
          stats_.operations += take;
          stats_.groups += 1;
          stats_.largest_group = std::max<std::uint64_t>(stats_.largest_group, take);
          return true;
        }
        if (std::chrono::steady_clock::now() >= give_up) {
          if (idle) --idle_leaders_;
          --leaders_;
          return false;
        }
        if (!idle) {
          ++idle_leaders_;
          idle = true;
        }
      }
      std::this_thread::yield();
    }
  }

  // Runs groups until the queue stays empty. Nothing may escape: an exception out of a
  // pool thread's handler ends the process, and the queue would be left without a leader.
  void lead() noexcept {
    std::vector<std::shared_ptr<Operation>> group;
    std::vector<Operation*> view;
    try {
      group.reserve(max_group_);  // so taking a group never allocates halfway through
      view.reserve(max_group_);
    } catch (...) {
      abandon(std::current_exception());
      return;
    }
    for (;;) {
      group.clear();
      if (!take_group(group)) return;
      view.clear();
      for (const auto& operation : group) view.push_back(operation.get());
      try {
        commit_group_(view);
      } catch (...) {
        // commit_group is meant to fail operations itself; should it throw, none of the
        // group is known to be durable, so every operation fails with that error.
        for (Operation* operation : view) operation->fail(std::current_exception());
      }
      for (Operation* operation : view) resume(*operation);
    }
  }

  static constexpr std::chrono::microseconds kLinger{50};

  std::function<void(std::function<void()>)> post_to_pool_;
  const std::size_t max_group_;
  const std::size_t max_leaders_;
  const CommitGroup commit_group_;

  mutable std::mutex mutex_;
  std::deque<std::shared_ptr<Operation>> queue_;
  std::size_t leaders_ = 0;       // pool threads leading now (at most max_leaders_)
  std::size_t idle_leaders_ = 0;  // of those, the ones waiting for work between groups
  GroupCommitStats stats_;
};

}  // namespace taskstore
