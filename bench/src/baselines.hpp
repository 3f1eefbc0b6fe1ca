#pragma once
// Raw baselines: the same work done with nothing but the medium's own calls, in the same
// run and with the same data sizes, so each backend figure reads as a ratio to the limit
// of its medium. Named "<operation>/raw_<medium>" beside "<operation>/<backend>".

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backends.hpp"
#include "drain.hpp"

namespace taskstore::bench {

// Adds one task per call, durably where the medium is durable.
class RawEnqueuer {
 public:
  virtual ~RawEnqueuer() = default;
  virtual void enqueue(std::size_t index) = 0;
};

using RawEnqueuerFactory = std::function<std::unique_ptr<RawEnqueuer>(
    const std::filesystem::path& scratch, std::size_t payload_bytes)>;

struct BaselineSpec {
  std::string medium;  // matches BackendSpec::medium; named raw_<medium>
  DrainTargetFactory drain;
  RawEnqueuerFactory enqueuer;
  // The raw claim reads the store's order (a heap, an index), so its cost may grow with
  // the store: it gets dequeue_size/raw_<medium> beside the backends'. raw_file's claim is
  // a write that reads nothing, so it does not.
  bool sized = true;
  // dequeue_long/raw_<medium> (for a backend with sizes.long_drain): claims and finishes
  // with the medium's own calls; null where the medium has none.
  FinishTargetFactory long_drain;
};

// A std::mutex and a binary heap ordered by (eta, seq), holding the tasks.
BaselineSpec raw_memory_baseline();

// Writes each record to a temp file, fsyncs it, renames it into place and fsyncs the
// directory: FILE-2's atomic durable write, the unit of every file store operation. A
// "claim" is one such write of a task-record-sized file, as a file store claim makes.
BaselineSpec raw_file_baseline();

// The sqlite3 C API on its own connections (one per contender): BEGIN IMMEDIATE,
// UPDATE ... RETURNING, COMMIT, with the backend's pragmas (WAL, `synchronous_full` or
// NORMAL, busy timeout) on a database the backend `sqlite` created and preloaded, so the
// schema and the data are identical.
BaselineSpec raw_sqlite_baseline(const BackendSpec& sqlite, bool synchronous_full);

// libpq alone, one connection per contender in autocommit at the server's
// synchronous_commit, on a schema the backend `postgres` created and preloaded: the
// backend's claim statement (queries.cpp) prepared once; an enqueue is one INSERT. Its
// dequeue_long is a naive queue on the same rows: a plain index on (status, eta, seq)
// instead of the backend's partial one, the same claim, then an UPDATE to SUCCESS.
BaselineSpec raw_postgres_baseline(const BackendSpec& postgres, const std::string& conninfo);

// One baseline per medium of backends().
const std::vector<BaselineSpec>& baselines();

// The baseline of `spec`'s medium, or null if it has none.
const BaselineSpec* baseline_for(const BackendSpec& spec);

}  // namespace taskstore::bench
