#pragma once
// Notes of owed repairs (FILE-7): when a failed write can't be put back, the instance
// owes the repair in memory, and also writes it down in DIR/owed/, so that a process that
// dies owing it (killed, or crashed, before its next write or its close could settle it)
// does not leave the store with a claim nobody holds. The next open reads the notes and
// settles them like any owed repair: only files that still hold what the failed write
// left are put back.
//
// A note is written without fsync: it must outlive the process, not a power loss (after
// which the failed write's own unsynced changes are gone as well), and the store is
// failing its syncs when notes are written. Writing one is best effort: a note that
// can't be written leaves the repair owed in memory only, as before.
//
// Format: "taskstore owed repair 1\n", then the directory ('t' tasks/, 'r' results/,
// 'q' queue/), the name, and the put-back and left contents (each a presence byte and a
// length-prefixed body), then a CRC-32 of everything before it. A note that does not
// decode is dropped: it can only be a torn write of a dying process.

#include <filesystem>
#include <vector>

#include "store_io.hpp"
#include "store_layout.hpp"

namespace taskstore::file_backend {

// Writes a note for `repair` in layout.owed_dir(); returns its path, or an empty path if
// it could not be written.
std::filesystem::path write_owed_note(const StoreLayout& layout, const Repair& repair) noexcept;

// The notes in layout.owed_dir(), each with `note` set; notes that don't decode are
// removed. Caller holds the store's lock.
std::vector<Repair> read_owed_notes(const StoreLayout& layout);

}  // namespace taskstore::file_backend
