#pragma once
// Where the file store keeps things, and how names encode what they hold:
//
//   DIR/FORMAT                    "taskstore-file-store 1\n", written when the store is made
//   DIR/LOCK                      flock target; holds the last sequence number handed out
//   DIR/DUE-LOG                   the names of markers created lately, so every open
//                                 instance keeps its in-memory index current (due_index.hpp)
//   DIR/owed/<pid>-<n>.note       a repair a failed write still owes (owed_repairs.hpp)
//   DIR/tasks/<hex(id)>.task      one record per task (record_codec.hpp)
//   DIR/results/<hex(id)>.result  one record per result
//   DIR/queue/<eta>-<seq>-<hex(id)>
//       an empty "due marker" for each PENDING task. <eta> is the eta in µs with the sign
//       bit flipped, <seq> the enqueue sequence number, both 20 zero-padded digits, so
//       sorting the names sorts by (eta, seq) and dequeue never reads every task file.
//
// hex(id) is the lowercase hex of the id's bytes: ids are at most 100 bytes, so every
// name stays under the usual 255-byte limit whatever characters the id holds.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "taskstore/time.hpp"

namespace taskstore::file_backend {

inline constexpr std::string_view kFormatContent = "taskstore-file-store 1\n";

std::string hex_encode(std::string_view bytes);

class StoreLayout {
 public:
  explicit StoreLayout(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path format_file() const { return root_ / "FORMAT"; }
  std::filesystem::path lock_file() const { return root_ / "LOCK"; }
  std::filesystem::path due_log_file() const { return root_ / "DUE-LOG"; }
  std::filesystem::path owed_dir() const { return root_ / "owed"; }
  std::filesystem::path tasks_dir() const { return root_ / "tasks"; }
  std::filesystem::path results_dir() const { return root_ / "results"; }
  std::filesystem::path queue_dir() const { return root_ / "queue"; }

  static std::string task_file_name(const std::string& id) { return hex_encode(id) + ".task"; }
  static std::string result_file_name(const std::string& id) { return hex_encode(id) + ".result"; }
  std::filesystem::path task_file(const std::string& id) const {
    return tasks_dir() / task_file_name(id);
  }
  std::filesystem::path result_file(const std::string& id) const {
    return results_dir() / result_file_name(id);
  }

 private:
  std::filesystem::path root_;
};

struct DueMarker {
  Timestamp eta;
  std::uint64_t seq = 0;
  std::string id_hex;

  std::string task_file_name() const { return id_hex + ".task"; }
};

std::string due_marker_name(Timestamp eta, std::uint64_t seq, const std::string& id);
// nullopt for any name that is not a well-formed marker (e.g. a stray file).
std::optional<DueMarker> parse_due_marker_name(std::string_view name);

// Checks what `layout.root()` holds without changing anything. Returns true for a
// taskstore file store, false for a directory the store may be created in (missing,
// empty, or unrelated files only). Throws CorruptionError naming FORMAT for a different
// FORMAT, and naming the directory for one with a tasks/ directory but no FORMAT (a
// foreign layout: the store writes FORMAT before anything else).
bool inspect_layout(const StoreLayout& layout);

// Writes FORMAT if missing and creates the subdirectories, durably. Caller holds the lock.
void create_layout(const StoreLayout& layout, bool format_present);

// Removes the temporary files that interrupted writes left behind. Caller holds the lock,
// so no write is in flight.
void remove_temp_leftovers(const StoreLayout& layout);

}  // namespace taskstore::file_backend
