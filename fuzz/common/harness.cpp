#include "harness.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <vector>

namespace taskstore::fuzz {

namespace fs = std::filesystem;

namespace {

fs::path make_scratch_directory() {
  std::error_code ec;
  fs::path parent = "/dev/shm";
  if (!fs::is_directory(parent, ec) || ::access(parent.c_str(), W_OK) != 0) {
    parent = fs::temp_directory_path(ec);
    if (ec) parent = "/tmp";
  }
  std::string pattern = (parent / "taskstore-fuzz-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    std::fprintf(stderr, "fuzz: cannot create a scratch directory %s\n", pattern.c_str());
    std::abort();
  }
  return fs::path(buffer.data());
}

// Owns the scratch directory; its destructor (at exit) removes it.
struct Scratch {
  fs::path path = make_scratch_directory();
  ~Scratch() { remove(); }
  void remove() const {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

Scratch* scratch = nullptr;

Scratch& the_scratch() {
  static Scratch instance;
  scratch = &instance;
  return instance;
}

}  // namespace

const fs::path& scratch_directory() { return the_scratch().path; }

std::string fresh_name(std::string_view prefix) {
  static unsigned long counter = 0;
  return std::string(prefix) + "-" + std::to_string(++counter);
}

void fail(std::string_view requirement, const std::string& message) {
  fail_report(std::string(requirement) + " violated: " + message);
}

void fail_harness(const std::string& what) { fail_report("harness failure: " + what); }

void fail_report(const std::string& report) {
  std::fprintf(stderr, "\nfuzz: %s\n", report.c_str());
  std::fflush(stderr);
  if (scratch != nullptr) scratch->remove();
  std::abort();
}

std::string printable(std::string_view bytes, std::size_t limit) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < bytes.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  out += '"';
  if (bytes.size() > limit) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace taskstore::fuzz
