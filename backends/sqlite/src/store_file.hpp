#pragma once
// The database file itself: a new store comes into being whole, and an empty file is not a
// store (SQL-10).

#include "connection.hpp"

namespace taskstore::sqlite {

// Makes sure `options.path` holds a store before any connection opens it:
// - a missing file is built beside the path (WAL mode and schema), fsynced and linked into
//   place, so a crash leaves either no file or a whole one, never an empty one; if another
//   process links its own first, that one is used;
// - a file that exists but is empty raises CorruptionError naming the path (SQLite would
//   open it as a new, empty database), and is left as it is;
// - anything else is left to ensure_schema to check.
void prepare_store_file(const ConnectionOptions& options);

}  // namespace taskstore::sqlite
