#include "store_layout.hpp"

#include <charconv>
#include <cstdio>

#include "posix_file.hpp"
#include "taskstore/errors.hpp"

namespace taskstore::file_backend {

namespace {

constexpr std::size_t kNumberDigits = 20;  // enough for any u64
constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;

std::string zero_padded(std::uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(value));
  return buf;
}

std::optional<std::uint64_t> parse_number(std::string_view digits) {
  if (digits.size() != kNumberDigits) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

bool is_lower_hex(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// A short, printable excerpt of unexpected file content, for messages.
std::string excerpt(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

bool directory_exists(const std::filesystem::path& path) {
  std::error_code ec;
  const bool dir = std::filesystem::is_directory(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw StorageError("stat " + path.string() + ": " + ec.message());
  }
  return dir;
}

}  // namespace

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

StoreLayout::StoreLayout(std::filesystem::path root) : root_(std::move(root)) {}

std::string due_marker_name(Timestamp eta, std::uint64_t seq, const std::string& id) {
  // Flipping the sign bit maps int64 order onto u64 order, so etas before 1970 sort first.
  const auto eta_key = static_cast<std::uint64_t>(to_micros(eta)) ^ kSignBit;
  return zero_padded(eta_key) + "-" + zero_padded(seq) + "-" + hex_encode(id);
}

std::optional<DueMarker> parse_due_marker_name(std::string_view name) {
  constexpr std::size_t kPrefix = 2 * kNumberDigits + 2;
  if (name.size() <= kPrefix || name[kNumberDigits] != '-' || name[kPrefix - 1] != '-') {
    return std::nullopt;
  }
  const auto eta_key = parse_number(name.substr(0, kNumberDigits));
  const auto seq = parse_number(name.substr(kNumberDigits + 1, kNumberDigits));
  const auto id_hex = name.substr(kPrefix);
  if (!eta_key || !seq || !is_lower_hex(id_hex)) return std::nullopt;
  return DueMarker{from_micros(static_cast<std::int64_t>(*eta_key ^ kSignBit)), *seq,
                   std::string(id_hex)};
}

bool inspect_layout(const StoreLayout& layout) {
  // tasks/ before FORMAT: the store writes them in the other order, so a store that
  // another process is creating right now never looks like tasks/ without FORMAT.
  const bool has_tasks_dir = directory_exists(layout.tasks_dir());
  const auto format = read_file(layout.format_file());
  if (format) {
    const std::string_view content(reinterpret_cast<const char*>(format->data()), format->size());
    if (content == kFormatContent) return true;
    constexpr std::string_view kOurPrefix = "taskstore-file-store ";
    if (content.starts_with(kOurPrefix)) {
      throw CorruptionError(layout.format_file().string() + ": unsupported file store format \"" +
                            excerpt(content) + "\" (this build reads \"taskstore-file-store 1\")");
    }
    throw CorruptionError(layout.format_file().string() +
                          ": not a taskstore file store (FORMAT holds \"" + excerpt(content) +
                          "\")");
  }
  if (has_tasks_dir) {
    throw CorruptionError(layout.root().string() +
                          ": has a tasks/ directory but no FORMAT file; not a taskstore "
                          "file store");
  }
  return false;
}

void create_layout(const StoreLayout& layout, bool format_present) {
  // FORMAT first: a crash before the subdirectories exist leaves a store that the next
  // open completes, never a tasks/ without FORMAT (which would look foreign).
  if (!format_present) {
    const auto& text = kFormatContent;
    write_file_atomically(layout.root(), "FORMAT",
                          {reinterpret_cast<const std::byte*>(text.data()), text.size()});
  }
  make_directory(layout.tasks_dir());
  make_directory(layout.results_dir());
  make_directory(layout.queue_dir());
  fsync_directory(layout.root());
}

void remove_temp_leftovers(const StoreLayout& layout) {
  for (const auto& dir : {layout.tasks_dir(), layout.results_dir(), layout.queue_dir()}) {
    for (const auto& name : list_directory(dir)) {
      if (name.starts_with(kTempPrefix)) remove_file(dir / name);
    }
  }
  // The root may hold unrelated files: remove only the leftovers of a FORMAT write.
  const std::string format_temp_example = temp_file_name("FORMAT");
  for (const auto& name : list_directory(layout.root())) {
    if (name.starts_with(kTempPrefix) && name.ends_with("-FORMAT") &&
        name.size() == format_temp_example.size()) {
      remove_file(layout.root() / name);
    }
  }
}

}  // namespace taskstore::file_backend
