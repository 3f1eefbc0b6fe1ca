// The seam the queue's property tests will use: commands of another component, over a
// system that offers storage(), mix with the storage commands in one sequence.
#include <gtest/gtest.h>

#include <rapidcheck/detail/TestListenerAdapter.h>

#include "taskstore/conformance/property/generators.hpp"
#include "taskstore/conformance/memory_backend.hpp"
#include "taskstore/conformance/property/storage_commands.hpp"

namespace taskstore::conformance {
namespace {

// A larger system under test: the store plus a component of its own (here a counter
// standing in for the queue).
struct ComponentSystem {
  StoreUnderTest store;
  int component_steps = 0;

  StoreUnderTest& storage() { return store; }
};

// A command of the component: it runs on the system and checks the store through the
// model, as a queue command would after calling into the queue.
class ComponentCommand final : public rc::state::Command<ReferenceModel, ComponentSystem> {
 public:
  explicit ComponentCommand(const ReferenceModel&) {}
  void apply(ReferenceModel&) const override {}
  void run(const ReferenceModel& model, ComponentSystem& system) const override {
    ++system.component_steps;
    const Step step{
        .number = system.storage().begin_step(), .text = "component step", .rule = "GET-1"};
    expect_store_matches(step, model, model, system.storage());
  }
  void show(std::ostream& os) const override { os << "component step"; }
};

TEST(PropertySeam, ComponentCommands_MixWithTheStorageCommands) {
  int component_steps = 0;
  int storage_steps = 0;
  rc::detail::TestListenerAdapter quiet;
  rc::detail::TestParams params;
  params.maxSuccess = 20;
  const auto result = rc::detail::checkProperty(
      rc::detail::toProperty([&] {
        const ReferenceModel initial(generators::kT0);
        const auto commands = *rc::state::gen::commands(
            initial, storage_commands<ComponentSystem, ComponentCommand>({}, 10));
        ComponentSystem system{.store = {memory_backend(), generators::kT0}};
        rc::state::runAll(commands, initial, system);
        component_steps += system.component_steps;
        storage_steps += static_cast<int>(commands.size()) - system.component_steps;
      }),
      rc::detail::TestMetadata{.id = "seam", .description = "seam"}, params, quiet);
  EXPECT_TRUE(result.is<rc::detail::SuccessResult>());
  EXPECT_GT(component_steps, 0);
  EXPECT_GT(storage_steps, 0);
}

}  // namespace
}  // namespace taskstore::conformance
