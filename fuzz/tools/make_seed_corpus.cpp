// Writes the seed corpora of every fuzz target into DIR/<target>/seed-*:
//
//   fuzz_make_seed_corpus fuzz/corpus
//
// Seed files of the same names are overwritten; other files (crashes kept as regression
// inputs, named crash-*) are left alone. The seeds are small hand-made inputs in each harness's
// format (ops/ops_format.hpp, sqlite_damaged/damaged_database.hpp; fuzz_file_record takes
// raw record bytes), each reaching a different corner, for the fuzzer to mutate.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../common/harness.hpp"
#include "../ops/ops_format.hpp"
#include "../sqlite_damaged/damaged_database.hpp"
#include "record_codec.hpp"
#include "taskstore/conformance/property/step_checks.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using taskstore::conformance::Operation;
namespace ops = taskstore::fuzz::ops;
namespace damage = taskstore::fuzz::sqlite_damaged;

using Bytes8 = std::vector<std::uint8_t>;

void write(const fs::path& dir, const std::string& name, const Bytes8& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + (dir / name).string());
}

// ---- fuzz_ops_*: operation sequences ----

class Ops {
 public:
  Ops& byte(std::uint8_t b) {
    bytes_.push_back(b);
    return *this;
  }
  Ops& op(Operation o) { return byte(static_cast<std::uint8_t>(o)); }
  Ops& pool(int i) { return byte(static_cast<std::uint8_t>(i)); }  // "t1" is pool(0)
  Ops& special(int i) { return byte(static_cast<std::uint8_t>(ops::kSpecialIdBase + i)); }
  Ops& raw_id(std::string_view id) {
    byte(ops::kRawIdBase).byte(static_cast<std::uint8_t>(id.size()));
    return append(id);
  }
  Ops& text(std::string_view s) {
    byte(static_cast<std::uint8_t>(s.size()));
    return append(s);
  }
  // Times: offsets index ops::kOffsets (0 +0, 1 -1us, 2 +1us, 3 +1s, ...).
  Ops& at_clock(int offset = 0) { return byte(static_cast<std::uint8_t>(offset << 2 | 0)); }
  Ops& at_anchor(int pick, int offset = 0) {
    return byte(static_cast<std::uint8_t>(offset << 2 | 1)).byte(static_cast<std::uint8_t>(pick));
  }
  Ops& at_table(int index) { return byte(static_cast<std::uint8_t>(index << 2 | 2)); }

  // A plain valid task: name "job", `payload`, no flags; then the eta.
  Ops& enqueue(int pool_id, std::string_view payload = "p") {
    return op(Operation::enqueue).pool(pool_id).byte(0).text(payload).byte(0);
  }
  // After an id: name "job", empty payload, no flags (the eta follows).
  Ops& plain() { return byte(0).text("").byte(0); }
  Ops& result(std::string_view value) {  // mark_done's result: the step's id, SUCCESS
    return byte(0).byte(0).text(value).byte(0);
  }

  const Bytes8& bytes() const { return bytes_; }

 private:
  Ops& append(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }

  Bytes8 bytes_;
};

std::vector<std::pair<std::string, Bytes8>> ops_seeds() {
  std::vector<std::pair<std::string, Bytes8>> seeds;
  {
    Ops s;  // the happy path of two tasks, then a purge at the PUR-2 boundary
    s.enqueue(0).at_clock();
    s.enqueue(1, std::string("a\0b", 3)).at_clock(3);
    s.op(Operation::dequeue).at_clock();
    s.op(Operation::mark_running).pool(0);
    s.op(Operation::mark_done).pool(0).result("ok").at_clock();
    s.op(Operation::get_result).pool(0);
    s.op(Operation::advance_clock).byte(1);
    s.op(Operation::dequeue).at_clock();
    s.op(Operation::mark_failed).pool(1).text("boom").byte(0);
    s.op(Operation::purge_results).at_anchor(0);
    s.op(Operation::purge_results).at_anchor(0, 2);
    s.op(Operation::get_task).pool(1);
    seeds.emplace_back("seed-lifecycle", s.bytes());
  }
  {
    Ops s;  // a retry: RETRYING is not due until rescheduled (FAIL-2, RSC-4, RSC-7)
    s.op(Operation::enqueue).pool(0).byte(1).text("x").byte(ops::flag::kRetry | ops::flag::kCounters)
        .byte(0b00100101)  // exponential, no jitter, delay 1ms, max_delay 1s
        .byte(0b00011000)  // attempts 0, max_retries 3
        .at_clock();
    s.op(Operation::dequeue).at_clock();
    s.op(Operation::mark_failed).pool(0).text("503").byte(1);
    s.op(Operation::dequeue).at_clock(3);
    s.op(Operation::reschedule).pool(0).at_clock(3);
    s.op(Operation::dequeue).at_anchor(0, 1);
    s.op(Operation::dequeue).at_anchor(0);
    s.op(Operation::get_task).pool(0);
    seeds.emplace_back("seed-retry", s.bytes());
  }
  {
    Ops s;  // equal etas claim in enqueue order, an earlier eta first (DEQ-3, DEQ-4)
    s.enqueue(2).at_table(0);
    s.enqueue(0).at_table(0);
    s.enqueue(1).at_table(0);
    s.enqueue(3).at_anchor(0, 1);
    for (int i = 0; i < 5; ++i) s.op(Operation::dequeue).at_anchor(0);
    seeds.emplace_back("seed-ordering", s.bytes());
  }
  {
    Ops s;  // rejected input changes nothing (ENQ-3, ENQ-4, ENQ-5, DONE-3, ERR-1)
    s.enqueue(0).at_clock();
    s.enqueue(0).at_clock();                                          // conflict
    s.op(Operation::enqueue).special(6).byte(0).text("").byte(0).at_clock();  // empty id
    s.op(Operation::enqueue).pool(1).byte(ops::kEmptyNameBase).text("").byte(0).at_clock();
    s.op(Operation::enqueue).pool(1).byte(0).text("").byte(ops::flag::kStatus).byte(1).at_clock();
    s.op(Operation::enqueue).pool(1).byte(0).text("").byte(ops::flag::kCounters).byte(6).at_clock();
    s.op(Operation::enqueue).pool(1).byte(0).text("").byte(ops::flag::kSchedule).byte(4).at_clock();
    s.op(Operation::enqueue).raw_id("\xc3\x28").byte(0).text("").byte(0).at_clock();
    s.op(Operation::mark_running).special(9);
    s.op(Operation::mark_done).pool(0).byte(ops::kOtherResultIdBase).byte(0).text("v").byte(0).at_clock();
    s.op(Operation::mark_done).pool(0).byte(0).byte(0xff).text("v").byte(0).at_clock();
    s.op(Operation::mark_done).pool(3).result("v").at_clock();
    s.op(Operation::get_task).special(7);
    s.op(Operation::reschedule).pool(2).at_clock();
    s.op(Operation::mark_failed).pool(2).text("e").byte(0);
    seeds.emplace_back("seed-invalid", s.bytes());
  }
  {
    Ops s;  // an interval task completes and is rescheduled (RSC-5, RSC-6); odd ids and times
    s.op(Operation::enqueue).pool(0).byte(2).text("")
        .byte(ops::flag::kSchedule | ops::flag::kLastError | ops::flag::kStamps)
        .byte(2).text("").byte(0b00011010).at_clock();
    s.op(Operation::dequeue).at_clock();
    s.op(Operation::mark_done).pool(0).result("tick").at_clock();
    s.op(Operation::reschedule).pool(0).at_anchor(0, 7);
    s.op(Operation::enqueue).special(0).plain().at_table(4);
    s.op(Operation::enqueue).special(1).plain().at_table(5);
    s.op(Operation::enqueue).special(2).plain().at_table(3);
    s.op(Operation::enqueue).special(3).byte(0).text("").byte(0).byte(3).byte(0x12).byte(0x34)
        .byte(0x56).byte(0x78).byte(0x9a).byte(0xbc).byte(0xde).byte(0x0f);
    s.op(Operation::enqueue).special(4).plain().at_table(7);
    s.op(Operation::dequeue).at_table(5);
    s.op(Operation::dequeue).at_table(5);
    s.op(Operation::get_task).byte(ops::kKnownIdBase + 3);
    seeds.emplace_back("seed-interval-and-edges", s.bytes());
  }
  {
    Ops s;  // a claim at attempts = 2^31 - 1 saturates (DEQ-5); a failure for good (FAIL-3)
    s.op(Operation::enqueue).pool(0).byte(0).text("").byte(ops::flag::kCounters).byte(5).at_clock();
    s.op(Operation::dequeue).at_clock();
    s.op(Operation::reschedule).pool(0).at_clock();
    s.op(Operation::dequeue).at_clock();
    s.op(Operation::mark_failed).pool(0).text("gave up").byte(0);
    s.op(Operation::advance_clock).byte(3);
    s.op(Operation::purge_results).at_clock();
    s.op(Operation::get_result).pool(0);
    seeds.emplace_back("seed-saturate-and-fail", s.bytes());
  }
  return seeds;
}

// ---- fuzz_file_record: records ----

Bytes8 to_bytes8(const taskstore::Bytes& bytes) {
  Bytes8 out;
  for (const std::byte b : bytes) out.push_back(std::to_integer<std::uint8_t>(b));
  return out;
}

std::vector<std::pair<std::string, Bytes8>> record_seeds() {
  using namespace taskstore;
  using file_backend::StoredTask;
  std::vector<std::pair<std::string, Bytes8>> seeds;
  StoredTask pending;
  pending.task.id = "t1";
  pending.task.name = "job";
  pending.task.payload = to_bytes(std::string("pay\0load", 8));
  pending.task.eta = ops::kT0;
  pending.task.created_at = ops::kT0;
  pending.task.updated_at = ops::kT0;
  pending.seq = 1;
  const Bytes8 task_bytes = to_bytes8(file_backend::encode_task(pending));
  seeds.emplace_back("seed-task-pending", task_bytes);

  StoredTask full = pending;
  full.task.status = TaskStatus::RETRYING;
  full.task.attempts = 2;
  full.task.max_retries = 5;
  full.task.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::exponential,
                                .delay = 1s,
                                .max_delay = 1min,
                                .jitter = true};
  full.task.schedule = IntervalSchedule{90s};
  full.task.last_error = "boom";
  full.seq = 7;
  seeds.emplace_back("seed-task-full", to_bytes8(file_backend::encode_task(full)));

  const TaskResult success{.task_id = "t1",
                           .status = TaskStatus::SUCCESS,
                           .value = to_bytes("ok"),
                           .error = std::nullopt,
                           .finished_at = ops::kT0};
  seeds.emplace_back("seed-result-success", to_bytes8(file_backend::encode_result(success)));
  TaskResult failed = success;
  failed.status = TaskStatus::FAILED;
  failed.value.clear();
  failed.error = "gave up";
  seeds.emplace_back("seed-result-failed", to_bytes8(file_backend::encode_result(failed)));

  seeds.emplace_back("seed-truncated", Bytes8(task_bytes.begin(), task_bytes.begin() + 30));
  Bytes8 bad_crc = task_bytes;
  bad_crc.back() ^= 0x01;
  seeds.emplace_back("seed-bad-checksum", bad_crc);
  const std::string foreign = "this is not a taskstore record";
  seeds.emplace_back("seed-foreign", Bytes8(foreign.begin(), foreign.end()));
  seeds.emplace_back("seed-empty", Bytes8{});
  return seeds;
}

// ---- fuzz_sqlite_damaged: database images and damage scripts ----

class Script {
 public:
  Script() { bytes_.push_back(1); }  // odd: a damage script on the baseline store
  Script& byte(std::uint8_t b) {
    bytes_.push_back(b);
    return *this;
  }
  Script& u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) byte(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
  Script& text(std::string_view s) {  // a raw text value
    byte(damage::value_kind::kText).byte(200).byte(static_cast<std::uint8_t>(s.size()));
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  Script& named_text(int index) { return byte(damage::value_kind::kText).byte(static_cast<std::uint8_t>(index)); }
  Script& integer(int index) { return byte(damage::value_kind::kInteger).byte(static_cast<std::uint8_t>(index)); }
  Script& real(int index) { return byte(damage::value_kind::kReal).byte(static_cast<std::uint8_t>(index)); }
  Script& null() { return byte(damage::value_kind::kNull); }
  // Column numbers index kTaskColumns / kResultColumns.
  Script& set_task(int row, int column) {
    return byte(damage::step::kSetTaskColumn).byte(static_cast<std::uint8_t>(row)).byte(static_cast<std::uint8_t>(column));
  }
  Script& set_result(int row, int column) {
    return byte(damage::step::kSetResultColumn).byte(static_cast<std::uint8_t>(row)).byte(static_cast<std::uint8_t>(column));
  }
  const Bytes8& bytes() const { return bytes_; }

 private:
  Bytes8 bytes_;
};

std::vector<std::pair<std::string, Bytes8>> sqlite_seeds(const fs::path& scratch) {
  std::vector<std::pair<std::string, Bytes8>> seeds;
  const Bytes8 image = damage::baseline_image(scratch);
  Bytes8 whole{0};
  whole.insert(whole.end(), image.begin(), image.end());
  seeds.emplace_back("seed-image-baseline", whole);
  seeds.emplace_back("seed-image-empty", Bytes8{0});
  Bytes8 truncated{0};
  truncated.insert(truncated.end(), image.begin(), image.begin() + std::min<std::size_t>(1024, image.size()));
  seeds.emplace_back("seed-image-truncated", truncated);
  const std::string foreign = "\0this is not a database";
  seeds.emplace_back("seed-image-foreign", Bytes8(foreign.begin(), foreign.end()));

  // Rows only (SQL-4, DEQ-9). Rows by rowid: tasks t1..t5 are rows 0..4; results t2, t3.
  seeds.emplace_back("seed-eta-text", Script().set_task(4, 5).text("not a time").bytes());
  seeds.emplace_back("seed-status-unknown", Script().set_task(4, 4).named_text(9).bytes());
  seeds.emplace_back("seed-payload-text-and-jitter",
                     Script().set_task(4, 3).text("text").set_task(0, 11).integer(2).bytes());
  seeds.emplace_back("seed-attempts-out-of-range",
                     Script().set_task(4, 6).integer(4).set_task(1, 7).real(1).bytes());
  seeds.emplace_back("seed-result-damage",
                     Script().set_result(0, 4).real(1).set_result(1, 1).named_text(1).bytes());
  {
    Script s;  // a due PENDING row inserted with a text payload
    s.byte(damage::step::kInsertTask).text("x1").text("job").text("a").named_text(0).integer(0)
        .integer(0).integer(0).named_text(5).integer(0).integer(0).integer(1).null().null()
        .integer(0).integer(0);
    seeds.emplace_back("seed-insert-odd-row", s.bytes());
  }
  seeds.emplace_back("seed-delete-rows",
                     Script().byte(damage::step::kDeleteRow).byte(0).byte(0)
                         .byte(damage::step::kDeleteRow).byte(1).byte(0).bytes());
  // Schema and file damage.
  seeds.emplace_back("seed-relax-not-null",
                     Script().byte(damage::step::kSchema).byte(0).set_task(4, 2).null()
                         .set_task(2, 3).null().bytes());
  seeds.emplace_back("seed-schema-changes", Script().byte(damage::step::kSchema).byte(6)
                                                .byte(damage::step::kSchema).byte(3).bytes());
  seeds.emplace_back("seed-garbled-schema",
                     Script().byte(damage::step::kSchema).byte(7).bytes());
  seeds.emplace_back("seed-user-version", Script().byte(damage::step::kUserVersion).byte(2).bytes());
  seeds.emplace_back("seed-truncate", Script().byte(damage::step::kTruncate).u32(1536).bytes());
  seeds.emplace_back("seed-overwrite",
                     Script().byte(damage::step::kOverwrite).u32(1000).byte(8)
                         .u32(0xdeadbeef).u32(0x01020304).bytes());
  seeds.emplace_back("seed-header-page-count",
                     Script().byte(damage::step::kHeaderField).byte(4).u32(0x7fffffff).bytes());
  return seeds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (fuzz/corpus)\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  try {
    std::size_t count = 0;
    auto write_all = [&](const std::string& target, const auto& seeds) {
      for (const auto& [name, bytes] : seeds) {
        write(root / target, name, bytes);
        ++count;
      }
    };
    const auto ops = ops_seeds();
    for (const char* target : {"fuzz_ops_memory", "fuzz_ops_file", "fuzz_ops_sqlite"}) {
      write_all(target, ops);
    }
    write_all("fuzz_file_record", record_seeds());
    write_all("fuzz_sqlite_damaged", sqlite_seeds(taskstore::fuzz::scratch_directory()));
    std::printf("%zu seed files written under %s\n", count, root.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", argv[0], e.what());
    return 1;
  }
  return 0;
}
