#pragma once
// StoreIo: the file calls FileStore's operations make, behind one interface, so that each
// operation is written once and runs either directly (every write durable before the call
// returns) or inside a commit group (writes collected in an overlay and made durable
// together, see overlay_io.hpp).
//
// Every call names a file by its directory (one of the layout's tasks/, results/, queue/)
// and its name in that directory.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "directory_lock.hpp"
#include "taskstore/task.hpp"

namespace taskstore::file_backend {

class StoreIo {
 public:
  virtual ~StoreIo() = default;

  // The file's content, or nullopt if it does not exist. CorruptionError for a symlink
  // or a non-regular file, as read_file.
  virtual std::optional<Bytes> read(const std::filesystem::path& dir, const std::string& name) = 0;
  virtual bool exists(const std::filesystem::path& dir, const std::string& name) = 0;
  // The names in `dir`, in no particular order.
  virtual std::vector<std::string> list(const std::filesystem::path& dir) = 0;

  // Replaces dir/name atomically with `bytes`; durable once the operation completes.
  virtual void write(const std::filesystem::path& dir, const std::string& name, Bytes bytes) = 0;
  // Creates an empty dir/name if missing; durable only after sync(dir).
  virtual void create_empty(const std::filesystem::path& dir, const std::string& name) = 0;
  // Removes dir/name; false if it did not exist. Durable only after sync(dir).
  virtual bool remove(const std::filesystem::path& dir, const std::string& name) = 0;
  // Makes `dir`'s entries durable (a group does that in its commit instead).
  virtual void sync(const std::filesystem::path& dir) = 0;
};

// What an operation runs against: the I/O layer, and the store lock held for it (which
// also hands out enqueue sequence numbers).
// A file a failed write changed and could not put back (the undo failed too): what it
// must hold again, and what the failed write may have left there. The store retries these
// before its next write (FILE-7), and only while the file still holds what the failed
// write left, so a later write by another process is never undone.
struct Repair {
  std::filesystem::path dir;
  std::string name;
  std::optional<Bytes> put_back;  // nullopt: the file must not exist
  std::optional<Bytes> left;      // nullopt: the failed write removed it
  std::filesystem::path note;     // its note in owed/ (owed_repairs.hpp), if one was written
};

// Makes the file hold `repair.put_back` again, durably (a removal's directory fsync is
// the caller's; true if it removed the file). Throws StorageError if it can't.
bool apply_repair(const Repair& repair);

struct Session {
  StoreIo& io;
  DirectoryLock& lock;
};

// Each call goes straight to the file system: an operation's writes are durable when it
// returns (write_file_atomically fsyncs the file and its directory).
class DirectIo final : public StoreIo {
 public:
  std::optional<Bytes> read(const std::filesystem::path& dir, const std::string& name) override;
  bool exists(const std::filesystem::path& dir, const std::string& name) override;
  std::vector<std::string> list(const std::filesystem::path& dir) override;
  void write(const std::filesystem::path& dir, const std::string& name, Bytes bytes) override;
  void create_empty(const std::filesystem::path& dir, const std::string& name) override;
  bool remove(const std::filesystem::path& dir, const std::string& name) override;
  void sync(const std::filesystem::path& dir) override;
};

}  // namespace taskstore::file_backend
