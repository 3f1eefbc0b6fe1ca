// fuzz_ops_memory: operation sequences on MemoryStorage against the reference model.
#include "../common/harness.hpp"
#include "ops_harness.hpp"
#include "taskstore/conformance/memory_backend.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const taskstore::conformance::Backend backend = taskstore::conformance::memory_backend();
  taskstore::fuzz::ops::run_sequence(backend, data, size);
  return 0;
}
