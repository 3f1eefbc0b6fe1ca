#pragma once
// Thin POSIX file helpers for the file store. Every failure becomes a StorageError that
// names the call, the path and the errno text.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "taskstore/task.hpp"

namespace taskstore::file_backend {

// Prefix of the temporary files that atomic writes rename into place. Any file with this
// prefix is a leftover of an interrupted write once no writer holds the store's lock.
inline constexpr std::string_view kTempPrefix = "tmp-";

// "tmp-<16 random hex digits>-<target_name>": the temporary name of an atomic write.
std::string temp_file_name(const std::string& target_name);

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

[[noreturn]] void throw_errno(std::string_view call, const std::filesystem::path& path, int err);

// open(2) with O_CLOEXEC added; throws on failure.
UniqueFd open_file(const std::filesystem::path& path, int flags, unsigned mode = 0644);

// Writes all of `bytes` to `fd` (retrying short writes and EINTR); `path` names it in
// the StorageError a failure raises.
void write_all(int fd, std::span<const std::byte> bytes, const std::filesystem::path& path);

// The whole content of `path`, or nullopt if it does not exist.
std::optional<Bytes> read_file(const std::filesystem::path& path);

// Replaces (or creates) dir/name with `bytes` so that a crash leaves either the old or
// the new content: write a temp file in `dir`, fsync it, rename it over dir/name, fsync
// `dir`. The caller must hold the store's lock (the temp files are cleaned up under it).
void write_file_atomically(const std::filesystem::path& dir, const std::string& name,
                           std::span<const std::byte> bytes);

// A temporary file in `dir` holding `bytes`, written but not yet fsynced or closed, so a
// commit group can write all of its files before it syncs any (see overlay_io.hpp).
struct TempFile {
  std::filesystem::path path;
  UniqueFd fd;
};
TempFile write_temp_file(const std::filesystem::path& dir, const std::string& target_name,
                         std::span<const std::byte> bytes);
// Starts writing the temp file's data to disk without waiting (best effort: the fsync
// that follows reports any error). Started for every file of a group before the first
// fsync, the writes overlap, and ext4 allocates them all in the journal transaction
// that first fsync commits, so the later fsyncs find little left to do.
void start_writeback(const TempFile& temp) noexcept;
// fsyncs and closes the temp file (close checked: NFS reports write errors there).
void sync_and_close(TempFile& temp);
// rename(2); throws naming both paths.
void rename_file(const std::filesystem::path& from, const std::filesystem::path& to);

// Creates an empty file if it is missing (no fsync; fsync the directory to persist it).
void create_empty_file(const std::filesystem::path& path);

// Removes `path`; returns false if it did not exist.
bool remove_file(const std::filesystem::path& path);

bool file_exists(const std::filesystem::path& path);

// Creates a directory if it is missing.
void make_directory(const std::filesystem::path& path);

// Makes the directory's entries (creations, renames, unlinks) durable.
void fsync_directory(const std::filesystem::path& dir);

// The names in `dir`, without "." and "..", in no particular order.
std::vector<std::string> list_directory(const std::filesystem::path& dir);

}  // namespace taskstore::file_backend
