#include "store_io.hpp"

#include "posix_file.hpp"

namespace taskstore::file_backend {

namespace fs = std::filesystem;

std::optional<Bytes> DirectIo::read(const fs::path& dir, const std::string& name) {
  return read_file(dir / name);
}

bool DirectIo::exists(const fs::path& dir, const std::string& name) {
  return file_exists(dir / name);
}

std::vector<std::string> DirectIo::list(const fs::path& dir) { return list_directory(dir); }

void DirectIo::write(const fs::path& dir, const std::string& name, Bytes bytes) {
  write_file_atomically(dir, name, bytes);
}

void DirectIo::create_empty(const fs::path& dir, const std::string& name) {
  create_empty_file(dir / name);
}

bool DirectIo::remove(const fs::path& dir, const std::string& name) {
  return remove_file(dir / name);
}

void DirectIo::sync(const fs::path& dir) { fsync_directory(dir); }

bool apply_repair(const Repair& repair) {
  if (!repair.put_back) return remove_file(repair.dir / repair.name);
  write_file_atomically(repair.dir, repair.name, *repair.put_back);
  return false;
}

}  // namespace taskstore::file_backend
