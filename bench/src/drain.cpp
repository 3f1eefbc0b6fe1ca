#include "drain.hpp"

namespace taskstore::bench {

namespace {

class BackendContender final : public Contender {
 public:
  explicit BackendContender(std::shared_ptr<BaseStorage> store) : store_(std::move(store)) {}

  ClaimCount claim(std::uint64_t limit) override {
    ClaimCount count;
    run_sync(claim_loop(*store_, limit, count));
    return count;
  }

 private:
  std::shared_ptr<BaseStorage> store_;
};

class BackendTarget final : public DrainTarget {
 public:
  explicit BackendTarget(std::shared_ptr<BaseStorage> store) : store_(std::move(store)) {}

  std::unique_ptr<Contender> contender() override {
    return std::make_unique<BackendContender>(store_);
  }

 private:
  std::shared_ptr<BaseStorage> store_;
};

Awaitable<bool> claim_and_finish(BaseStorage& store) {
  auto claim = store.dequeue(now_utc());
  const std::optional<Task> task = co_await std::move(claim);
  if (!task) co_return false;
  TaskResult result = make_result(task->id);
  auto done = store.mark_done(task->id, std::move(result));
  co_await std::move(done);
  co_return true;
}

class BackendFinisher final : public Finisher {
 public:
  explicit BackendFinisher(std::shared_ptr<BaseStorage> store) : store_(std::move(store)) {}

  bool finish_one() override { return run_sync(claim_and_finish(*store_)); }

 private:
  std::shared_ptr<BaseStorage> store_;
};

class BackendFinishTarget final : public FinishTarget {
 public:
  explicit BackendFinishTarget(std::shared_ptr<BaseStorage> store) : store_(std::move(store)) {}

  std::unique_ptr<Finisher> finisher() override {
    return std::make_unique<BackendFinisher>(store_);
  }

 private:
  std::shared_ptr<BaseStorage> store_;
};

}  // namespace

std::filesystem::path store_location(const std::filesystem::path& scratch) {
  return scratch / "store";
}

DrainTargetFactory backend_drain_target(const BackendSpec& spec) {
  return [open = spec.open](const std::filesystem::path& scratch, std::size_t tasks,
                            std::size_t payload_bytes) -> std::unique_ptr<DrainTarget> {
    return std::make_unique<BackendTarget>(open(store_location(scratch), tasks, payload_bytes));
  };
}

FinishTargetFactory backend_finish_target(const BackendSpec& spec) {
  return [open = spec.open, before = spec.before_long_drain](
             const std::filesystem::path& scratch, std::size_t tasks,
             std::size_t payload_bytes) -> std::unique_ptr<FinishTarget> {
    const auto location = store_location(scratch);
    auto target = std::make_unique<BackendFinishTarget>(open(location, tasks, payload_bytes));
    if (before) before(location);
    return target;
  };
}

}  // namespace taskstore::bench
