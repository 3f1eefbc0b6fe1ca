// fuzz_ops_sqlite: operation sequences on SqliteStorage (a fresh database file per input,
// in the scratch directory) against the reference model.
#include "../common/harness.hpp"
#include "ops_harness.hpp"
#include "taskstore/conformance/sqlite_backend.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const taskstore::conformance::Backend backend =
      taskstore::conformance::sqlite_backend(taskstore::fuzz::scratch_directory());
  taskstore::fuzz::ops::run_sequence(backend, data, size);
  return 0;
}
