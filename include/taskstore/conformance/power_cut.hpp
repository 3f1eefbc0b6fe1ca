#pragma once
// The power-cut model of the fault layer (issue 16): what a store's files look like after
// the machine loses power, as opposed to after its process dies. Only what the store made
// durable survives: a file's content as of its last fsync or fdatasync, and a directory's
// entries (created, renamed, removed) as of that directory's last fsync. Nothing else is
// assumed: no flush on rename or close, no order between files. Outside the model: syncs
// the layer does not see (O_DIRECT or O_SYNC writes, sync_file_range, syncfs, a raw
// system call), whose data counts as never made durable; files created by a route the
// layer does not see (fopen and other opens inside the C library, creat, mkdirat, a raw
// system call), which get an id only when first synced or listed, so an inode number
// reused meanwhile can mix them up; paths through symlinks into or out of the store
// directory. An fsync of a file written through mmap records what the file holds.
//
// How a test uses it, with libtaskstore_faults preloaded into the process that runs the
// store (and its exec driver, which inherits the environment):
//   PowerCut cut(store_directory);   // the directory holding every file of the store
//   cut.take_baseline();             // all on disk now counts as durable
//   fork; in the child: cut.start_recording_here(), then run the store ...
//   SIGKILL the child; cut.wait_for_recorders(deadline);
//   cut.apply();                     // the directory as the power cut leaves it
// The shadow (a temporary directory beside, never inside, the store) holds the record;
// its layout is described in conformance/faults/fault_layer.cpp.

#include <chrono>
#include <filesystem>

#include "taskstore/conformance/environment_helpers.hpp"

namespace taskstore::conformance {

class PowerCut {
 public:
  // Throws std::invalid_argument if `store_directory` is not an existing directory.
  explicit PowerCut(std::filesystem::path store_directory);

  const std::filesystem::path& store_directory() const { return store_directory_; }
  const std::filesystem::path& shadow() const { return shadow_.path(); }

  // Forgets every earlier record and takes what is under the store directory now as
  // durable. Call it with no process recording.
  void take_baseline();

  // In the process that is about to run the store (a forked child): records from now on,
  // and sets TASKSTORE_FAULT_SCOPE and TASKSTORE_POWER_CUT_SHADOW so that an exec driver
  // it starts records too. Throws std::runtime_error if the layer is not loaded.
  void start_recording_here() const;

  // Waits until every process that recorded has died (exec drivers die with the process
  // that started them); false if one still lives at the deadline.
  bool wait_for_recorders(std::chrono::steady_clock::time_point deadline) const;

  // Rebuilds the store directory from the record: what a power cut at this moment leaves.
  // Throws std::runtime_error naming the shadow if the record is unreadable.
  void apply() const;

 private:
  std::filesystem::path store_directory_;
  TemporaryDirectory shadow_;
};

}  // namespace taskstore::conformance
