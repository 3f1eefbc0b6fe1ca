#pragma once
// ByteReader: the harnesses' view of a fuzz input. Every read succeeds: past the end it
// yields zeros (or fewer bytes), so any input, however short, decodes to something, and
// a mutation anywhere changes only what is read from that point on.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace taskstore::fuzz {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> data) : data_(data) {}

  bool empty() const { return pos_ >= data_.size(); }
  std::size_t remaining() const { return empty() ? 0 : data_.size() - pos_; }

  std::uint8_t u8() { return empty() ? 0 : data_[pos_++]; }

  // Little-endian, `width` bytes (at most 8).
  std::uint64_t le(std::size_t width) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i) value |= static_cast<std::uint64_t>(u8()) << (8 * i);
    return value;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(le(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
  std::uint64_t u64() { return le(8); }

  // Up to `size` bytes (fewer once the input runs out).
  std::string text(std::size_t size) {
    const std::size_t n = size < remaining() ? size : remaining();
    std::string out(reinterpret_cast<const char*>(data_.data() + pos_), n);
    pos_ += n;
    return out;
  }

  // Everything not read yet.
  std::span<const std::uint8_t> rest() {
    const auto out = data_.subspan(empty() ? data_.size() : pos_);
    pos_ = data_.size();
    return out;
  }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

}  // namespace taskstore::fuzz
