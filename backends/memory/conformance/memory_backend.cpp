#include "taskstore/conformance/memory_backend.hpp"

#include "taskstore/errors.hpp"
#include "taskstore/memory_storage.hpp"

namespace taskstore::conformance {

namespace {

class MemoryEnvironment final : public StoreEnvironment {
 public:
  // A memory store lives only as long as its one instance; every open() shares it.
  std::shared_ptr<BaseStorage> open() override {
    if (!store_) store_ = std::make_shared<MemoryStorage>();
    return store_;
  }
  std::string location() const override { return "memory"; }
  std::unique_ptr<HeldLock> hold_write_lock() override {
    throw NotSupportedError(
        "a memory store lives in one instance, and no other writer can hold its lock");
  }
  // The one shared instance takes its clock when it is made; once made, a clock can't be
  // given to it any more.
  std::shared_ptr<BaseStorage> open_with_clock(Clock clock) override {
    if (store_) return nullptr;
    store_ = std::make_shared<MemoryStorage>(std::move(clock));
    return store_;
  }

 private:
  std::shared_ptr<MemoryStorage> store_;
};

}  // namespace

Backend memory_backend() {
  return Backend{.name = "memory",
                 .capabilities = {.persistent = false, .multi_process = false, .batch_claims = true},
                 .make_environment = [] { return std::make_unique<MemoryEnvironment>(); }};
}

BackendScheme memory_scheme() {
  return BackendScheme{
      .name = "memory",
      .arg_help = "",
      .help = "the in-process reference store",
      .make = [](const std::string&) { return memory_backend(); },
      .default_arg = [](const std::filesystem::path&) { return std::optional<std::string>(""); }};
}

}  // namespace taskstore::conformance
