#include "taskstore/conformance/property/generators.hpp"

#include <algorithm>
#include <cstdint>

namespace taskstore::conformance::generators {

namespace {

constexpr std::int64_t kSafeMicros = std::int64_t{1} << 61;

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A Unicode scalar value other than U+0000, mostly ASCII so ids stay readable.
rc::Gen<std::uint32_t> code_point() {
  return rc::gen::weightedOneOf<std::uint32_t>({
      {6, rc::gen::inRange<std::uint32_t>('a', 'z' + 1)},
      {2, rc::gen::inRange<std::uint32_t>(1, 0x80)},
      {1, rc::gen::inRange<std::uint32_t>(0x80, 0x800)},
      {1, rc::gen::oneOf(rc::gen::inRange<std::uint32_t>(0x800, 0xD800),
                         rc::gen::inRange<std::uint32_t>(0xE000, 0x10000))},
      {1, rc::gen::inRange<std::uint32_t>(0x10000, 0x110000)},
  });
}

// Appends code points until `out` is as long as it may get without passing `limit` bytes.
std::string utf8_up_to(const std::vector<std::uint32_t>& cps, std::size_t limit) {
  std::string out;
  for (const std::uint32_t cp : cps) {
    std::string next = out;
    append_utf8(next, cp);
    if (next.size() > limit) break;
    out = std::move(next);
  }
  return out;
}

}  // namespace

rc::Gen<Bytes> bytes(int max_size) {
  return rc::gen::map(rc::gen::resize(max_size, rc::gen::container<std::vector<std::uint8_t>>(
                                                    rc::gen::arbitrary<std::uint8_t>())),
                      [](const std::vector<std::uint8_t>& raw) {
                        Bytes out(raw.size());
                        for (std::size_t i = 0; i < raw.size(); ++i)
                          out[i] = static_cast<std::byte>(raw[i]);
                        return out;
                      });
}

rc::Gen<std::string> text(int max_size) {
  return rc::gen::resize(max_size, rc::gen::container<std::string>(rc::gen::arbitrary<char>()));
}

rc::Gen<std::string> valid_task_id() {
  return rc::gen::exec([] {
    const bool full_length = *rc::gen::weightedElement<bool>({{5, false}, {1, true}});
    if (full_length) {
      // Exactly Task::kMaxIdBytes bytes, the longest id the contract allows.
      std::string id = *rc::gen::resize(
          100, rc::gen::container<std::string>(rc::gen::inRange<char>('a', 'z' + 1)));
      id.resize(Task::kMaxIdBytes, 'x');
      const std::uint32_t tail = *rc::gen::element<std::uint32_t>('z', 0xE9, 0x20AC, 0x1F600);
      std::string encoded;
      append_utf8(encoded, tail);
      id.replace(id.size() - encoded.size(), encoded.size(), encoded);
      return id;
    }
    const auto cps =
        *rc::gen::resize(40, rc::gen::container<std::vector<std::uint32_t>>(code_point()));
    std::string id = utf8_up_to(cps, Task::kMaxIdBytes);
    return id.empty() ? std::string("x") : id;
  });
}

rc::Gen<std::string> malformed_task_id() {
  return rc::gen::element<std::string>(
      std::string(), std::string(Task::kMaxIdBytes + 1, 'a'), std::string("nul\0id", 6),
      std::string("\xff"), std::string("bad\xc3"), std::string("\xc0\xaf"),  // overlong '/'
      std::string("\xed\xa0\x80"));                                          // a surrogate
}

rc::Gen<Timestamp> any_timestamp(TimeRange range) {
  const std::int64_t first = to_micros(range.earliest);
  const std::int64_t last = to_micros(range.latest);
  const auto edge = [&](std::int64_t us) { return from_micros(std::clamp(us, first, last)); };
  return rc::gen::weightedOneOf<Timestamp>({
      {9, rc::gen::map(rc::gen::inRange<std::int64_t>(first, last + 1), from_micros)},
      {1, rc::gen::element(edge(first), edge(first + 1), edge(last - 1), edge(last))},
  });
}

rc::Gen<RetryPolicy> retry_policy() {
  return rc::gen::exec([] {
    RetryPolicy policy;
    policy.backoff =
        *rc::gen::element(RetryPolicy::Backoff::fixed, RetryPolicy::Backoff::exponential);
    policy.delay = Duration{*rc::gen::inRange<std::int64_t>(0, kSafeMicros)};
    policy.max_delay = Duration{*rc::gen::inRange<std::int64_t>(0, kSafeMicros)};
    policy.jitter = *rc::gen::arbitrary<bool>();
    return policy;
  });
}

rc::Gen<Task> valid_task(TimeRange times) {
  return rc::gen::exec([times] {
    Task task;
    task.id = *valid_task_id();
    task.name = *rc::gen::nonEmpty(text(60));
    task.payload = *bytes(200);
    task.status = TaskStatus::PENDING;
    task.eta = *any_timestamp(times);
    task.attempts = *rc::gen::inRange<std::int32_t>(0, std::numeric_limits<std::int32_t>::max());
    task.max_retries = *rc::gen::inRange<std::int32_t>(0, std::numeric_limits<std::int32_t>::max());
    task.retry = *retry_policy();
    if (*rc::gen::arbitrary<bool>()) {
      task.schedule = IntervalSchedule{Duration{*rc::gen::inRange<std::int64_t>(1, kSafeMicros)}};
    }
    if (*rc::gen::arbitrary<bool>()) task.last_error = *text(80);  // "" is not "none"
    task.created_at = *any_timestamp(times);
    task.updated_at = *any_timestamp(times);
    return task;
  });
}

rc::Gen<TaskResult> success_result(std::string task_id, TimeRange times) {
  return rc::gen::exec([task_id, times] {
    TaskResult result;
    result.task_id = task_id;
    result.status = TaskStatus::SUCCESS;
    result.value = *bytes(200);
    if (*rc::gen::arbitrary<bool>()) result.error = *text(80);
    result.finished_at = *any_timestamp(times);
    return result;
  });
}

}  // namespace taskstore::conformance::generators
