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

}  // namespace taskstore::bench
