#pragma once
// The inputs of fuzz_sqlite_damaged, shared with the seed corpus generator.
//
// Byte 0 picks the mode:
//   even  the rest of the input is the database file itself (any bytes: a taskstore
//         database, a truncated or mutated one, or something else entirely);
//   odd   the rest is a damage script applied to the baseline store (baseline_image()),
//         one step after another, at most kMaxDamageSteps:
//
//   step byte % 10:
//     0 set a tasks column:   row byte, column byte (% 16, kTaskColumns), value
//     1 set a results column: row byte, column byte (% 5, kResultColumns), value
//     2 insert a tasks row:   15 values (every column but seq)
//     3 insert a results row: 5 values
//     4 delete a row:         byte (bit 0: results, else tasks), row byte
//     5 change the schema:    byte % 8 (kSchemaChanges)
//     6 set user_version:     kUserVersions[byte % 6]
//     7 overwrite file bytes: offset u32 (% file size), length byte (% 17), the bytes
//     8 truncate the file:    new size u32 (% (file size + 1))
//     9 overwrite a header field: kHeaderOffsets[byte % 12], u32 value (big-endian)
//   value: byte v, by v % 6: 0 NULL; 1 an integer from kIntegers[next byte % 8];
//          2 a real from kReals[next byte % 5]; 3 a text (next byte: < 128 kTexts[% 10],
//          else a length byte % 17 and raw bytes); 4 a blob (length byte % 17, bytes);
//          5 an integer from 8 raw bytes.
//   A row byte picks the (byte % (rows + 1))-th row by rowid (one past the end: none).
//   SQL that SQLite refuses (a NOT NULL column set to NULL, ...) is skipped.
//
// Steps 0-4 damage rows only: the backend must then still read every row or raise
// CorruptionError naming the database (SQL-4), and dequeue must pass damaged tasks over
// without raising (DEQ-9). After steps 5-9 any StorageError is acceptable.

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string_view>
#include <vector>

namespace taskstore::fuzz::sqlite_damaged {

inline constexpr std::size_t kMaxDamageSteps = 16;
inline constexpr int kDamageKinds = 10;

namespace step {
inline constexpr std::uint8_t kSetTaskColumn = 0, kSetResultColumn = 1, kInsertTask = 2,
                              kInsertResult = 3, kDeleteRow = 4, kSchema = 5, kUserVersion = 6,
                              kOverwrite = 7, kTruncate = 8, kHeaderField = 9;
}

namespace value_kind {
inline constexpr std::uint8_t kNull = 0, kInteger = 1, kReal = 2, kText = 3, kBlob = 4,
                              kRawInteger = 5;
}

inline constexpr std::array<std::string_view, 16> kTaskColumns = {
    "seq",           "id",           "name",          "payload",
    "status",        "eta",          "attempts",      "max_retries",
    "retry_backoff", "retry_delay_us", "retry_max_delay_us", "retry_jitter",
    "interval_us",   "last_error",   "created_at",    "updated_at"};
inline constexpr std::array<std::string_view, 5> kResultColumns = {"task_id", "status", "value",
                                                                   "error", "finished_at"};

inline constexpr std::array<std::int64_t, 8> kIntegers = {
    0,
    1,
    -1,
    std::numeric_limits<std::int32_t>::max(),
    std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1,
    std::numeric_limits<std::int64_t>::min(),
    std::numeric_limits<std::int64_t>::max(),
    1'767'225'600'000'001,  // the conformance suite's t0
};
inline constexpr std::array<double, 5> kReals = {0.0, 1.5, -1e300, 1e19, 1'767'225'600.5};
inline constexpr std::array<std::string_view, 10> kTexts = {
    "PENDING", "RUNNING", "SUCCESS", "FAILED", "RETRYING", "fixed", "exponential", "t1", "",
    "pending"};

// Step 5: what the schema change does.
inline constexpr std::array<std::string_view, 8> kSchemaChanges = {
    "relax NOT NULL",     "drop index tasks_pending_by_eta", "drop index results_by_finished_at",
    "drop table results", "drop table tasks",                "add a column",
    "rename a column",    "garble the schema text"};

inline constexpr std::array<std::int64_t, 6> kUserVersions = {0, 1, 2, -1, 1000, 0x7fffffff};

// Step 9: offsets of 4-byte fields of the SQLite file header (some 1- or 2-byte fields are
// overwritten together with their neighbours).
inline constexpr std::array<std::uint32_t, 12> kHeaderOffsets = {16, 18, 20, 24, 28, 32,
                                                                 36, 40, 44, 48, 56, 60};

// The baseline store, made once per process: a taskstore database (page size 512 to keep it
// small) holding t1 RUNNING (claimed), t2 SUCCESS with a result, t3 FAILED with a FAILED
// result, t4 RETRYING and t5 PENDING, made through SqliteStorage itself. Deterministic.
// `scratch` is where it is built (and removed again).
std::vector<std::uint8_t> baseline_image(const std::filesystem::path& scratch);

}  // namespace taskstore::fuzz::sqlite_damaged
