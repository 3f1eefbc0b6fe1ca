#include "owed_repairs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string_view>

#include "posix_file.hpp"
#include "record_codec.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::file_backend {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kNoteMagic = "taskstore owed repair 1\n";

void put_u32(Bytes& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>((value >> (8 * i)) & 0xff));
}

void put_text(Bytes& out, std::string_view text) {
  for (const char c : text) out.push_back(static_cast<std::byte>(c));
}

void put_body(Bytes& out, const std::optional<Bytes>& body) {
  out.push_back(static_cast<std::byte>(body ? 1 : 0));
  put_u32(out, body ? static_cast<std::uint32_t>(body->size()) : 0);
  if (body) out.insert(out.end(), body->begin(), body->end());
}

// Reads what put_* wrote; every read fails (returns false) past the end.
class NoteReader {
 public:
  explicit NoteReader(std::span<const std::byte> bytes) : bytes_(bytes) {}
  bool u8(std::uint8_t& value) {
    if (pos_ + 1 > bytes_.size()) return false;
    value = static_cast<std::uint8_t>(bytes_[pos_++]);
    return true;
  }
  bool u32(std::uint32_t& value) {
    if (pos_ + 4 > bytes_.size()) return false;
    value = 0;
    for (int i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(bytes_[pos_++]) << (8 * i);
    return true;
  }
  bool bytes(std::size_t size, Bytes& out) {
    if (pos_ + size > bytes_.size()) return false;
    out.assign(bytes_.begin() + static_cast<std::ptrdiff_t>(pos_),
               bytes_.begin() + static_cast<std::ptrdiff_t>(pos_ + size));
    pos_ += size;
    return true;
  }
  bool body(std::optional<Bytes>& out) {
    std::uint8_t present = 0;
    std::uint32_t size = 0;
    Bytes content;
    if (!u8(present) || present > 1 || !u32(size) || !bytes(size, content)) return false;
    if (present == 1) out = std::move(content);
    return present == 1 || size == 0;
  }
  std::size_t position() const { return pos_; }

 private:
  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
};

char kind_of(const StoreLayout& layout, const fs::path& dir) {
  if (dir == layout.tasks_dir()) return 't';
  if (dir == layout.results_dir()) return 'r';
  if (dir == layout.queue_dir()) return 'q';
  return '\0';
}

std::optional<Repair> decode_note(const StoreLayout& layout, std::span<const std::byte> bytes) {
  if (bytes.size() < kNoteMagic.size() + 4) return std::nullopt;
  const auto body = bytes.first(bytes.size() - 4);
  NoteReader crc_reader(bytes.subspan(bytes.size() - 4));
  std::uint32_t crc = 0;
  if (!crc_reader.u32(crc) || crc != checksum(body)) return std::nullopt;
  NoteReader in(body);
  Bytes magic;
  if (!in.bytes(kNoteMagic.size(), magic) ||
      std::string_view(reinterpret_cast<const char*>(magic.data()), magic.size()) != kNoteMagic) {
    return std::nullopt;
  }
  std::uint8_t kind = 0;
  std::uint32_t name_size = 0;
  Bytes name;
  Repair repair;
  if (!in.u8(kind) || !in.u32(name_size) || !in.bytes(name_size, name) ||
      !in.body(repair.put_back) || !in.body(repair.left) || in.position() != body.size()) {
    return std::nullopt;
  }
  switch (kind) {
    case 't': repair.dir = layout.tasks_dir(); break;
    case 'r': repair.dir = layout.results_dir(); break;
    case 'q': repair.dir = layout.queue_dir(); break;
    default: return std::nullopt;
  }
  repair.name.assign(reinterpret_cast<const char*>(name.data()), name.size());
  // A name that leaves its directory is no note of ours.
  if (repair.name.empty() || repair.name.find('/') != std::string::npos || repair.name == "." ||
      repair.name == "..") {
    return std::nullopt;
  }
  return repair;
}

}  // namespace

fs::path write_owed_note(const StoreLayout& layout, const Repair& repair) noexcept {
  try {
    const char kind = kind_of(layout, repair.dir);
    if (kind == '\0') return {};
    Bytes out;
    put_text(out, kNoteMagic);
    out.push_back(static_cast<std::byte>(kind));
    put_u32(out, static_cast<std::uint32_t>(repair.name.size()));
    put_text(out, repair.name);
    put_body(out, repair.put_back);
    put_body(out, repair.left);
    put_u32(out, checksum(out));
    if (::mkdir(layout.owed_dir().c_str(), 0755) != 0 && errno != EEXIST) return {};
    static std::atomic<std::uint64_t> counter{0};
    const fs::path path = layout.owed_dir() / (std::to_string(::getpid()) + "-" +
                                               std::to_string(++counter) + ".note");
    const UniqueFd fd = open_file(path, O_WRONLY | O_CREAT | O_EXCL);
    try {
      write_all(fd.get(), out, path);
    } catch (const StorageError&) {
      ::unlink(path.c_str());  // a torn note is no note
      return {};
    }
    return path;
  } catch (...) {
    return {};
  }
}

std::vector<Repair> read_owed_notes(const StoreLayout& layout) {
  std::vector<Repair> notes;
  if (!file_exists(layout.owed_dir())) return notes;
  for (const auto& name : list_directory(layout.owed_dir())) {
    const fs::path path = layout.owed_dir() / name;
    const auto bytes = read_file(path);
    if (!bytes) continue;
    auto repair = decode_note(layout, *bytes);
    if (!repair) {
      remove_file(path);  // torn by a dying process
      continue;
    }
    repair->note = path;
    notes.push_back(std::move(*repair));
  }
  return notes;
}

}  // namespace taskstore::file_backend
