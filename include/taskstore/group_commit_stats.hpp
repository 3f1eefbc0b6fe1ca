#pragma once
// What a durable backend reports about its group commit (SqliteStorage, FileStorage,
// PostgresStorage: group_commit_stats()): how many writes shared how many commits.

#include <cstdint>

namespace taskstore {

// Counts since the store opened; for tests and benchmarks.
struct GroupCommitStats {
  std::uint64_t operations = 0;     // write operations committed or failed
  std::uint64_t groups = 0;         // commits (groups) they took
  std::uint64_t largest_group = 0;  // operations in the biggest group
  std::uint64_t waiting = 0;        // operations queued for the next group right now
};

}  // namespace taskstore
