#pragma once
// How a backend joins the conformance suite: a name, capability flags, and a factory that
// makes a fresh, isolated place to keep a store for each test. Register any number of
// backends (or one backend in several configurations) before the suite's tests are
// registered with googletest; see taskstore/conformance/suite.hpp.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "taskstore/storage.hpp"
#include "taskstore/time.hpp"

namespace taskstore::conformance {

struct Capabilities {
  // Data survives closing every instance and opening a new one on the same environment.
  bool persistent = false;
  // Several instances, in one process or in several, may share one store at once.
  bool multi_process = false;
  // The kit can have several operations in flight at once in one process (on one instance
  // or on several) and they really overlap. True for any C++ backend: the kit calls it from
  // many threads. False for an exec driver that answers one request at a time (one that
  // does not declare `concurrent`): the tests whose point is overlap within a process
  // (CON-1, CON-2, DEQ-6 and the threaded check of DEQ-7) then SKIP with this reason
  // instead of passing unexercised.
  bool concurrent_calls = true;
  // With `persistent`: every acknowledged operation survives a power loss, not only a
  // crash of the process (CRASH-3, CRASH-4). A store that trades the last commits on a
  // power loss for speed (SQLite with synchronous=NORMAL) declares false; those tests then
  // SKIP saying so.
  bool survives_power_loss = true;
  // dequeue_batch claims many tasks in one atomic step (BAT-1..BAT-6), and the backend's
  // instances say so (BaseStorage::claims_batches). Without it the batch tests SKIP.
  bool batch_claims = false;
  // The times the backend stores exactly (every eta, stamp, finished_at and time argument).
  // The suite's generated times stay inside it. RT-3 fails a backend whose range does not
  // cover years 1 to 9999 (kContractTimeRange); the C++ reference backends keep the default.
  TimeRange times = kWidestTimeRange;
};

// A lock taken by StoreEnvironment::hold_write_lock; destroying it releases the lock.
class HeldLock {
 public:
  virtual ~HeldLock() = default;
};

// One isolated store location (a temporary directory, a database file, ...). The suite
// makes one per test and destroys it afterwards; destruction removes what it created.
class StoreEnvironment {
 public:
  virtual ~StoreEnvironment() = default;

  // Opens an instance of the backend on this environment. Every instance opened on one
  // environment sees the same store.
  virtual std::shared_ptr<BaseStorage> open() = 0;

  // Where the store lives, for messages (e.g. "/tmp/taskstore-x/q.db").
  virtual std::string location() const = 0;

  // The directory that holds every file of the store and nothing else, for the power-cut
  // model (CRASH-3, CRASH-4: see taskstore/conformance/power_cut.hpp). nullopt (the
  // default): the store keeps its data where the kit can't see it (a server in another
  // process), and those tests SKIP saying so.
  virtual std::optional<std::filesystem::path> files_directory() const { return std::nullopt; }

  // Whether open() runs the store in this process. False for an exec driver, whose store
  // runs in the driver.
  virtual bool runs_in_this_process() const { return true; }

  // Whether faults armed in this process's fault layer fire where the store runs: here, or
  // in a process started with the layer's control shared (an exec driver; see
  // FaultLayer::share_with_processes_started_later). The I/O-error sweep needs it.
  virtual bool shares_fault_layer() const { return runs_in_this_process(); }

  // Like open(), but the instance stamps updated_at and finished_at from `clock` wherever
  // an operation has no `now` argument, so a test that owns the clock (the property
  // tests' reference model) can predict every stamp. Returns nullptr if the backend can't
  // take a clock; those tests then leave the stamps unchecked.
  virtual std::shared_ptr<BaseStorage> open_with_clock(Clock clock) {
    (void)clock;
    return nullptr;
  }

  // Damages the stored form of task `task_id` behind the backend's back, so that reading
  // it must raise CorruptionError. Returns false, or throws NotSupportedError saying why,
  // if the backend has no stored form to damage; the corruption tests then SKIP.
  virtual bool corrupt_task(const std::string& task_id) {
    (void)task_id;
    return false;
  }

  // Damages the stored form of the result of task `task_id` the same way, so that
  // get_result of it must raise CorruptionError (PUR-5). Returns false, or throws
  // NotSupportedError saying why, if there is nothing to damage; PUR-5 then SKIPs.
  virtual bool corrupt_result(const std::string& task_id) {
    (void)task_id;
    return false;
  }

  // Takes the store's write lock as another writer would (another process, another
  // connection) and holds it until the returned object is destroyed. Operations that
  // write meanwhile must wait for it, however long, and then succeed (CON-5). Throws
  // NotSupportedError saying why (the default) if the backend has no such lock; the
  // contention test then SKIPs with that reason.
  virtual std::unique_ptr<HeldLock> hold_write_lock();
};

struct Backend {
  std::string name;  // letters, digits and '_': it becomes part of test names
  Capabilities capabilities;
  std::function<std::unique_ptr<StoreEnvironment>()> make_environment;
  // Non-empty: the backend can't run here (its server is not configured, say), and each of
  // its tests skips with this message instead; make_environment is never called. A test
  // program can then list the same tests in every environment, and a missing server shows
  // as skips rather than as fewer tests.
  std::string unavailable;
};

// Prints the name only, so googletest does not dump the struct's bytes.
void PrintTo(const Backend& backend, std::ostream* os);

// What a backend declares, for reports: "persistent, multi_process, concurrent_calls,
// batch_claims;
// times 0001-01-01T00:00:00.000000Z .. 9999-12-31T23:59:59.999999Z".
std::string describe_capabilities(const Capabilities& capabilities);

// Adds a backend to the registry. Throws std::invalid_argument for an empty or
// duplicate name, a name with other characters, or a missing factory.
void register_backend(Backend backend);

const std::vector<Backend>& registered_backends();

void clear_registered_backends();

}  // namespace taskstore::conformance
