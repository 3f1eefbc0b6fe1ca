#pragma once
// How fuzz_ops_* read their input: a sequence of steps, each one operation of BaseStorage
// (or a clock advance) with its arguments. The decoder (ops_harness.cpp) and the seed
// corpus generator (tools/make_seed_corpus.cpp) share these tables.
//
// A step is an opcode byte (value % 11 is the taskstore::conformance::Operation, in the
// enum's order: enqueue, dequeue, mark_running, mark_done, get_result, purge_results,
// mark_failed, get_task, reschedule, advance_clock, dequeue_batch) followed by its arguments:
//
//   enqueue        id, name, payload, flags, [interval], [last_error], [retry], [counters],
//                  [status], [stamps], eta            (bracketed parts only if flagged)
//   dequeue        time (anchored on task etas)
//   mark_running   id
//   mark_done      id, result-id, result-status, value, error-flag, [error], finished_at
//                  (a time anchored on finished_ats)
//   get_result     id
//   purge_results  time (anchored on finished_ats)
//   mark_failed    id, error text, will_retry (byte & 1)
//   get_task       id
//   reschedule     id, time (anchored on task etas)
//   advance_clock  step byte: kClockSteps[byte % 5]
//   dequeue_batch  time (anchored on task etas), size byte: kBatchSizes[byte & 7] (the
//                  last two invalid, BAT-3)
//
// Parts:
//   id        one byte s: s < 128 kPoolIds[s % 4]; s < 192 the ((s - 128) % n)-th task the
//             model holds (in enqueue order; a pool id if none); s < 240
//             kSpecialIds[(s - 192) % size]; else a length byte (% 102) and that many raw
//             bytes (valid or not: the model decides).
//   name      one byte s: s < 192 kNames[s % 3]; s < 200 "" (invalid); else a raw text.
//   text      a length byte (% (kMaxText + 1)) and that many bytes.
//   payload   a length byte (% (kMaxPayload + 1)) and that many bytes (also result values).
//   flags     bit 0 schedule, 1 last_error, 2 retry policy, 3 counters, 4 status, 5 stamps.
//   interval  kIntervals[byte % 6] (the last two invalid).
//   retry     one byte r: backoff r & 1, jitter (r >> 1) & 1, delay kRetryDelays[(r >> 2) & 3],
//             max_delay kRetryDelays[(r >> 4) & 3].
//   counters  one byte c: attempts kAttempts[c & 7], max_retries kMaxRetries[(c >> 3) & 7].
//   status    TaskStatus(byte % 5) (anything but PENDING is invalid for enqueue).
//   stamps    one byte t: created_at kTimes[t & 7], updated_at kTimes[(t >> 3) & 7].
//   time      one byte s, kind s & 3, offset kOffsets[(s >> 2) & 7]:
//             0 the clock + offset; 1 a byte picks a task's eta (or a result's finished_at,
//             by the step) + offset (the clock if there is none); 2 kTimes[(s >> 2) & 7];
//             3 eight bytes, an arbitrary time in [-2^61, 2^61] µs.
//   result-id one byte r: r < 224 the step's id; r < 240 another pool id; else an id.
//   result-status one byte: < 240 SUCCESS, else TaskStatus(byte % 5) (DONE-3 when not
//             SUCCESS).
//
// At most kMaxSteps steps run; the rest of a longer input is ignored. Sizes are capped as
// above, so one input does a bounded amount of work.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>

#include "taskstore/conformance/property/generators.hpp"
#include "taskstore/time.hpp"

namespace taskstore::fuzz::ops {

using namespace std::chrono_literals;
using conformance::generators::kT0;

inline constexpr std::size_t kMaxSteps = 64;
inline constexpr std::size_t kMaxText = 32;
inline constexpr std::size_t kMaxPayload = 64;
inline constexpr std::size_t kMaxRawId = 101;  // one past the longest valid id
inline constexpr int kOperations = 11;
inline constexpr std::array<std::size_t, 8> kBatchSizes = {1, 2, 3, 4, 5, 8, 0, 10001};

inline constexpr std::uint8_t kKnownIdBase = 128;
inline constexpr std::uint8_t kSpecialIdBase = 192;
inline constexpr std::uint8_t kRawIdBase = 240;
inline constexpr std::uint8_t kEmptyNameBase = 192;
inline constexpr std::uint8_t kRawNameBase = 200;
inline constexpr std::uint8_t kOtherResultIdBase = 224;
inline constexpr std::uint8_t kRawResultIdBase = 240;
inline constexpr std::uint8_t kResultStatusBase = 240;

namespace flag {
inline constexpr std::uint8_t kSchedule = 1, kLastError = 2, kRetry = 4, kCounters = 8,
                              kStatus = 16, kStamps = 32;
}

namespace time_kind {
inline constexpr std::uint8_t kClock = 0, kAnchor = 1, kTable = 2, kRaw = 3;
}

inline constexpr std::array<std::string_view, 4> kPoolIds = {"t1", "t2", "t3", "t4"};

// Ids at the edges of ENQ-5 and of file names: the longest valid id, multi-byte UTF-8,
// path characters, and malformed ones (empty, 101 bytes, NUL, invalid UTF-8).
inline constexpr std::array<std::string_view, 12> kSpecialIds = {
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "caf\xc3\xa9",
    "\xf0\x9f\x92\xa5",
    "../a/b",
    ".",
    "t1 ",
    "",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    std::string_view("t\0" "1", 3),
    "\xff",
    "\xc3",
    "\xed\xa0\x80",
};

inline constexpr std::array<std::string_view, 3> kNames = {"job", "mail.send", "report\xc3\xa9"};

inline constexpr std::array<Duration, 6> kIntervals = {1us, 1s, 90s, 1h, 0us, -1s};
inline constexpr std::array<Duration, 4> kRetryDelays = {0us, 1ms, 1s, -1us};
inline constexpr std::array<std::int32_t, 8> kAttempts = {
    0, 1, 3, 1000, std::numeric_limits<std::int32_t>::max() - 1,
    std::numeric_limits<std::int32_t>::max(), -1, std::numeric_limits<std::int32_t>::min()};
inline constexpr std::array<std::int32_t, 8> kMaxRetries = {
    0, 1, 2, 3, 5, 100, std::numeric_limits<std::int32_t>::max(), -1};

inline constexpr std::array<Duration, 8> kOffsets = {0us, -1us, 1us, 1s, -1s, 5s, -5s, 1h};

inline constexpr std::int64_t kTimeLimit = std::int64_t{1} << 61;  // generators::any_timestamp
inline constexpr std::array<Timestamp, 8> kTimes = {
    kT0,
    kT0 - 1us,
    from_micros(0),
    from_micros(-1),                      // just before 1970
    from_micros(-kTimeLimit),
    from_micros(kTimeLimit),
    kT0 + std::chrono::hours(24 * 365),
    from_micros(-2'208'988'800'000'000),  // 1900-01-01
};

inline constexpr std::array<Duration, 5> kClockSteps = {1us, 1s, 5s, 1h, std::chrono::hours(24)};

}  // namespace taskstore::fuzz::ops
