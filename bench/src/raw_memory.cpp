// raw_memory: a plain mutex + priority queue, the least an in-process claim can cost. The
// heap holds (eta, seq, task pointer), so a claim moves small entries and hands the task
// out without copying it (the queue forgets it: nothing to mark done later).
#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <vector>

#include "baselines.hpp"

namespace taskstore::bench {

namespace {

class RawMemoryQueue {
 public:
  void push(Task task) {
    std::lock_guard lock(mutex_);
    const Timestamp eta = task.eta;
    heap_.push_back(Entry{eta, next_seq_++, std::make_unique<Task>(std::move(task))});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }

  std::optional<Task> claim(Timestamp now) {
    std::optional<Task> task;
    {
      std::lock_guard lock(mutex_);
      if (heap_.empty() || heap_.front().eta > now) return std::nullopt;
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      task.emplace(std::move(*heap_.back().task));
      heap_.pop_back();
    }
    task->status = TaskStatus::RUNNING;
    if (task->attempts < std::numeric_limits<std::int32_t>::max()) ++task->attempts;
    task->updated_at = now;
    return task;
  }

 private:
  struct Entry {
    Timestamp eta;
    std::uint64_t seq;
    std::unique_ptr<Task> task;
  };
  // std::push_heap keeps the greatest first: "greater" is the later (eta, seq).
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return std::tie(a.eta, a.seq) > std::tie(b.eta, b.seq);
    }
  };

  std::mutex mutex_;
  std::vector<Entry> heap_;
  std::uint64_t next_seq_ = 0;
};

class RawMemoryContender final : public Contender {
 public:
  explicit RawMemoryContender(RawMemoryQueue& queue) : queue_(queue) {}

  ClaimCount claim(std::uint64_t limit) override {
    ClaimCount count;
    while (count.claims < limit) {
      const std::optional<Task> task = queue_.claim(now_utc());
      if (!task) break;
      ++count.claims;
    }
    return count;
  }

 private:
  RawMemoryQueue& queue_;
};

class RawMemoryTarget final : public DrainTarget {
 public:
  RawMemoryTarget(std::size_t tasks, std::size_t payload_bytes) {
    for (std::size_t i = 0; i < tasks; ++i) queue_.push(make_task(i, payload_bytes, preload_eta(i)));
  }

  std::unique_ptr<Contender> contender() override {
    return std::make_unique<RawMemoryContender>(queue_);
  }

 private:
  RawMemoryQueue queue_;
};

class RawMemoryEnqueuer final : public RawEnqueuer {
 public:
  explicit RawMemoryEnqueuer(std::size_t payload_bytes) : payload_bytes_(payload_bytes) {}

  void enqueue(std::size_t index) override {
    queue_.push(make_task(index, payload_bytes_, now_utc()));
  }

 private:
  std::size_t payload_bytes_;
  RawMemoryQueue queue_;
};

}  // namespace

BaselineSpec raw_memory_baseline() {
  return BaselineSpec{
      .medium = "memory",
      .drain = [](const std::filesystem::path&, std::size_t tasks,
                  std::size_t payload_bytes) -> std::unique_ptr<DrainTarget> {
        return std::make_unique<RawMemoryTarget>(tasks, payload_bytes);
      },
      .enqueuer = [](const std::filesystem::path&,
                     std::size_t payload_bytes) -> std::unique_ptr<RawEnqueuer> {
        return std::make_unique<RawMemoryEnqueuer>(payload_bytes);
      }};
}

}  // namespace taskstore::bench
