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

 private:
  FaultLayer() = default;
  void (*set_scope_)(const char*) = nullptr;
  void (*arm_)(unsigned, long, int, int) = nullptr;
  void (*clear_)() = nullptr;
  long (*calls_)(unsigned) = nullptr;
  long (*fired_)() = nullptr;
};

}  // namespace taskstore::conformance
