#pragma once
// Control of the system-call fault layer (libtaskstore_faults, issue 16) from inside the
// process it was preloaded into. The layer sees the calls that touch files under one
// directory and makes the Nth call of the chosen kinds fail with an errno, once or until
// cleared. Load it by starting the process with LD_PRELOAD=fault_layer_library() (and,
// for an exec driver, the same in the driver's environment).
//
// Limits: it sees calls made through the C library's exported functions (open, write,
// fsync, rename, ...), which is how SQLite and the reference stores do I/O; calls made
// inside the C library itself (stdio's buffered writes), through mmap, or by raw system
// calls are not seen.

#include <cstdint>
#include <optional>
#include <string>

namespace taskstore::conformance {

// The kinds of call the layer counts and can fail, as bits.
enum FaultKind : unsigned {
  kFaultOpen = 1u << 0,      // open, openat
  kFaultWrite = 1u << 1,     // write, pwrite, writev
  kFaultSync = 1u << 2,      // fsync, fdatasync
  kFaultRename = 1u << 3,    // rename
  kFaultUnlink = 1u << 4,    // unlink
  kFaultTruncate = 1u << 5,  // ftruncate
  kFaultAll = (1u << 6) - 1,
};

// "open", "write", ...: the name of one kind.
const char* fault_kind_name(FaultKind kind);

// The installed (or built) layer library, for LD_PRELOAD.
std::string fault_layer_library();

// Restarts this program with the layer preloaded (execv of /proc/self/exe, same arguments,
// LD_PRELOAD extended), so the power-cut tests run in any test program without setup.
// Returns, doing nothing, if the layer is loaded already, a restart was tried already, the
// program runs under a sanitizer (whose runtime must be loaded first),
// TASKSTORE_FAULT_LAYER=off, or the library is missing; the power-cut tests then SKIP
// with the reason. Call it first thing in main, before any thread starts.
void load_fault_layer(char** argv);

// Why the layer is not loaded into this process, in words for a SKIP ("this program runs
// under a sanitizer ..."); empty if it is loaded.
std::string fault_layer_absence();

class StoreEnvironment;
// Why no `fault` ("power cut", "I/O error") can be brought on the store of
// `environment` (of backend `backend_name`) here, as the whole "not checked: ..." reason
// of a SKIP; empty if it can. The kit must see the store's files (files_directory()),
// the layer must be loaded, and with `armed_here` faults armed in this process's layer
// must reach the process that runs the store (StoreEnvironment::shares_fault_layer()).
std::string fault_injection_absence(const std::string& backend_name,
                                    const StoreEnvironment& environment, const char* fault,
                                    bool armed_here);

class FaultLayer {
 public:
  // The layer preloaded into this process, or nullopt if it is not.
  static std::optional<FaultLayer> loaded();

  void set_scope(const std::string& directory) const;
  // The `nth` (from 1) call of `kinds` from now fails with `error`; with `persist`, so
  // does every later one until clear().
  void arm(unsigned kinds, long nth, int error, bool persist) const;
  void clear() const;
  // Calls of `kinds` under the scope since the process started.
  long calls(unsigned kinds) const;
  // Faults fired so far.
  long fired() const;
  // Shares this process's scope, counts and armed fault with the processes it starts from
  // now on (an exec driver, which inherits LD_PRELOAD): faults armed here then fire in
  // them, and their calls count in calls(). False if the layer could not share.
  bool share_with_processes_started_later() const;
  // From now on, records what a power cut would leave of `scope` into `shadow` (see
  // PowerCut in taskstore/conformance/power_cut.hpp, which sets both up). Throws
  // std::runtime_error if the shadow can't be used.
  void record_power_cut(const std::string& scope, const std::string& shadow) const;

 private:
  FaultLayer() = default;
  void (*set_scope_)(const char*) = nullptr;
  void (*arm_)(unsigned, long, int, int) = nullptr;
  void (*clear_)() = nullptr;
  long (*calls_)(unsigned) = nullptr;
  long (*fired_)() = nullptr;
  int (*record_power_cut_)(const char*, const char*) = nullptr;
  int (*share_)() = nullptr;
};

}  // namespace taskstore::conformance
