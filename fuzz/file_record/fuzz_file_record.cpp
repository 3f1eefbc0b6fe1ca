// fuzz_file_record: arbitrary bytes as a file store record (FILE-1). The input is decoded
// as a task record and as a result record (backends/file/src/record_codec.hpp); each must
// decode or raise CorruptionError naming the path, nothing else, and a record that decodes
// must encode to bytes that decode to the same thing.
//
// Inputs that decode as either kind (and a fixed 1 in 8 of the rest, chosen by a hash of
// the bytes) are also placed in a real store, as the task file and the result file of
// task "t1" with a due marker, and go through FileStorage: get_task, get_result, dequeue,
// purge_results, reschedule, mark_failed. Each must answer or raise CorruptionError naming
// the file; dequeue passes a damaged task over (DEQ-9) and so must not raise at all.

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "../common/harness.hpp"
#include "record_codec.hpp"
#include "store_layout.hpp"
#include "taskstore/file_storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace {

namespace fs = std::filesystem;
using namespace taskstore;
using namespace taskstore::file_backend;
using taskstore::fuzz::fail;
using taskstore::fuzz::fail_harness;
using taskstore::fuzz::printable;

constexpr std::string_view kTaskPath = "/fuzz-input/74.task";
constexpr std::string_view kResultPath = "/fuzz-input/74.result";
constexpr Timestamp kFarFuture = from_micros(std::int64_t{1} << 61);
constexpr Timestamp kFarPast = from_micros(-(std::int64_t{1} << 61));

std::string describe_input(std::span<const std::byte> bytes) {
  return printable(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// Runs `decode`: its value, or nullopt after a CorruptionError that names `path`.
template <typename Decode>
auto decode_or_corruption(Decode decode, std::string_view what, const std::string& path,
                          std::span<const std::byte> bytes)
    -> std::optional<decltype(decode())> {
  try {
    return decode();
  } catch (const CorruptionError& e) {
    if (std::string_view(e.what()).find(path) == std::string_view::npos) {
      fail("FILE-1", std::string(what) + ": the CorruptionError does not name the path " + path +
                         ": " + e.what());
    }
    return std::nullopt;
  } catch (const std::exception& e) {
    fail("FILE-1", std::string(what) + " of " + describe_input(bytes) +
                       " raised something other than CorruptionError: " + e.what());
  } catch (...) {
    fail("FILE-1", std::string(what) + " of " + describe_input(bytes) +
                       " raised a non-standard exception");
  }
}

// Every field, for a failed round trip.
std::string show(const StoredTask& s) { return describe(s.task) + " seq=" + std::to_string(s.seq); }
std::string show(const TaskResult& r) { return describe(r); }

void check_round_trip(const StoredTask& decoded, std::span<const std::byte> bytes) {
  const Bytes again = encode_task(decoded);
  const auto back = decode_or_corruption(
      [&] { return decode_task(again, std::string(kTaskPath)); }, "decode of a re-encoded task",
      std::string(kTaskPath), again);
  if (!back || !(*back == decoded)) {
    fail("FILE-1", "task record " + describe_input(bytes) + " decoded to " + show(decoded) +
                       " but its re-encoding decodes to " +
                       (back ? show(*back) : std::string("an error")));
  }
}

void check_round_trip(const TaskResult& decoded, std::span<const std::byte> bytes) {
  const Bytes again = encode_result(decoded);
  const auto back = decode_or_corruption(
      [&] { return decode_result(again, std::string(kResultPath)); },
      "decode of a re-encoded result", std::string(kResultPath), again);
  if (!back || !(*back == decoded)) {
    fail("FILE-1", "result record " + describe_input(bytes) + " decoded to " + show(decoded) +
                       " but its re-encoding decodes to " +
                       (back ? show(*back) : std::string("an error")));
  }
}

// ---- the same bytes inside a real store ----

// One store per process, emptied after every input (nothing carries over between
// inputs: a crash replays alone).
class RecordStore {
 public:
  RecordStore()
      : directory_(taskstore::fuzz::scratch_directory() / "record-store"),
        storage_(FileStorageOptions{.directory = directory_, .io_threads = 1}),
        layout_(directory_) {}

  void check(std::span<const std::byte> bytes, const std::optional<StoredTask>& as_task) {
    const std::string id = "t1";
    // The marker dequeue looks for: the decoded eta and seq if the bytes are a task.
    const Timestamp eta = as_task ? as_task->task.eta : from_micros(0);
    const std::uint64_t seq = as_task ? as_task->seq : 1;
    write(layout_.task_file(id), bytes);
    write(layout_.result_file(id), bytes);
    write(layout_.queue_dir() / due_marker_name(eta, seq, id), {});

    const std::string task_path = layout_.task_file(id).string();
    const std::string result_path = layout_.result_file(id).string();
    expect("get_task", task_path, [&] { (void)sync_wait(io_, storage_.get_task(id)); });
    expect("get_result", result_path, [&] { (void)sync_wait(io_, storage_.get_result(id)); });
    expect("purge_results", result_path,
           [&] { (void)sync_wait(io_, storage_.purge_results(kFarPast)); });
    try {
      (void)sync_wait(io_, storage_.dequeue(kFarFuture));
    } catch (const std::exception& e) {
      fail("DEQ-9", "dequeue over the task file " + describe_input(bytes) + " raised " + e.what());
    }
    expect("reschedule", task_path, [&] { sync_wait(io_, storage_.reschedule(id, kFarPast)); });
    expect("mark_failed", task_path,
           [&] { sync_wait(io_, storage_.mark_failed(id, "fuzz", false)); });
    expect("get_task", task_path, [&] { (void)sync_wait(io_, storage_.get_task(id)); });
    clear();
  }

 private:
  static void write(const fs::path& path, std::span<const std::byte> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) fail_harness("cannot write " + path.string());
  }

  // Runs `op`: it may succeed or raise CorruptionError naming `path`; nothing else.
  static void expect(std::string_view operation, const std::string& path,
                     const std::function<void()>& op) {
    try {
      op();
    } catch (const CorruptionError& e) {
      if (std::string_view(e.what()).find(path) == std::string_view::npos) {
        fail("FILE-1", std::string(operation) +
                           ": the CorruptionError does not name the damaged file " + path + ": " +
                           e.what());
      }
    } catch (const std::exception& e) {
      fail("FILE-1", std::string(operation) + " on a damaged record raised " + e.what() +
                         " instead of CorruptionError");
    }
  }

  void clear() {
    for (const fs::path& dir : {layout_.tasks_dir(), layout_.results_dir(), layout_.queue_dir()}) {
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(dir, ec)) fs::remove(entry.path(), ec);
    }
  }

  fs::path directory_;
  FileStorage storage_;
  StoreLayout layout_;
  boost::asio::io_context io_;
};

std::uint32_t fnv1a(std::span<const std::byte> bytes) {
  std::uint32_t hash = 2166136261u;
  for (const std::byte b : bytes) hash = (hash ^ std::to_integer<std::uint32_t>(b)) * 16777619u;
  return hash;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  const std::string task_path(kTaskPath);
  const std::string result_path(kResultPath);
  const auto task = decode_or_corruption([&] { return decode_task(bytes, task_path); },
                                         "decode_task", task_path, bytes);
  const auto result = decode_or_corruption([&] { return decode_result(bytes, result_path); },
                                           "decode_result", result_path, bytes);
  if (task) check_round_trip(*task, bytes);
  if (result) check_round_trip(*result, bytes);
  if (task || result || fnv1a(bytes) % 8 == 0) {
    static RecordStore store;
    store.check(bytes, task);
  }
  return 0;
}
