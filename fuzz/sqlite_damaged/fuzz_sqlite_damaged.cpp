// fuzz_sqlite_damaged: SqliteStorage on a damaged database (damaged_database.hpp has the
// input format). The input is either the database file itself or a damage script run on a
// baseline store behind the backend's back (the sqlite3 C API on the file, and raw writes
// to its bytes). Then the backend opens the file and runs every operation; each may answer
// or raise a StorageError (InvalidArgumentError, NotFoundError, ... included), nothing
// else and never a crash (GET-3, RSC-3, ERR-2, SQL-1). With rows damaged but the schema
// and file intact, reads raise only CorruptionError naming the database (SQL-4) and
// dequeue passes damaged tasks over without raising (DEQ-9).

#include <sqlite3.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "../common/byte_reader.hpp"
#include "../common/harness.hpp"
#include "damaged_database.hpp"
#include "taskstore/sqlite_storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace taskstore;
using namespace taskstore::fuzz::sqlite_damaged;
using taskstore::fuzz::ByteReader;
using taskstore::fuzz::fail;
using taskstore::fuzz::fail_harness;

constexpr Timestamp kT0 = from_micros(1'767'225'600'000'001);
constexpr Timestamp kFarFuture = from_micros(std::int64_t{1} << 61);
constexpr std::size_t kMaxDequeues = 8;

void remove_database(const fs::path& path) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(fs::path(path.string() + suffix), ignored);
  }
}

void write_file(const fs::path& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) fail_harness("cannot write " + path.string());
}

std::vector<std::uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<std::uint8_t>((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
}

// ---- the damage script ----

// A connection of our own on the file, opened when a SQL step needs it and closed before
// the file's bytes are touched. Errors are ignored: a refused change is just skipped.
class Damager {
 public:
  explicit Damager(fs::path path) : path_(std::move(path)) {}
  ~Damager() { close(); }
  Damager(const Damager&) = delete;
  Damager& operator=(const Damager&) = delete;

  bool rows_only() const { return rows_only_; }

  void run(ByteReader& in) {
    for (std::size_t n = 0; n < kMaxDamageSteps && !in.empty(); ++n) step(in);
    close();
  }

 private:
  void step(ByteReader& in) {
    const std::uint8_t kind = in.u8() % kDamageKinds;
    switch (kind) {
      case step::kSetTaskColumn:
      case step::kSetResultColumn: {
        const bool tasks = kind == step::kSetTaskColumn;
        const std::string table = tasks ? "tasks" : "results";
        const std::uint8_t row = in.u8();
        const std::uint8_t c = in.u8();
        const auto column = tasks ? kTaskColumns[c % kTaskColumns.size()]
                                  : kResultColumns[c % kResultColumns.size()];
        const Value value = decode_value(in);
        const int offset = row % (rows(table) + 1);
        sql("UPDATE " + table + " SET " + std::string(column) + " = ?1 WHERE rowid = (SELECT " +
                "rowid FROM " + table + " ORDER BY rowid LIMIT 1 OFFSET ?2)",
            [&](sqlite3_stmt* stmt) {
              bind(stmt, 1, value);
              sqlite3_bind_int(stmt, 2, offset);
            });
        return;
      }
      case step::kInsertTask: {
        const auto values = decode_values(in, kTaskColumns.size() - 1);
        std::string columns;
        std::string params;
        for (std::size_t i = 1; i < kTaskColumns.size(); ++i) {
          columns += (i > 1 ? ", " : "") + std::string(kTaskColumns[i]);
          params += (i > 1 ? ", ?" : "?") + std::to_string(i);
        }
        sql("INSERT INTO tasks (" + columns + ") VALUES (" + params + ")",
            [&](sqlite3_stmt* stmt) {
              for (std::size_t i = 0; i < values.size(); ++i) {
                bind(stmt, static_cast<int>(i + 1), values[i]);
              }
            });
        return;
      }
      case step::kInsertResult: {
        const auto values = decode_values(in, kResultColumns.size());
        sql("INSERT INTO results (task_id, status, value, error, finished_at) VALUES (?1, ?2, "
            "?3, ?4, ?5)",
            [&](sqlite3_stmt* stmt) {
              for (std::size_t i = 0; i < values.size(); ++i) {
                bind(stmt, static_cast<int>(i + 1), values[i]);
              }
            });
        return;
      }
      case step::kDeleteRow: {
        const std::string table = (in.u8() & 1) ? "results" : "tasks";
        const std::uint8_t row = in.u8();
        const int offset = row % (rows(table) + 1);
        sql("DELETE FROM " + table + " WHERE rowid = (SELECT rowid FROM " + table +
                " ORDER BY rowid LIMIT 1 OFFSET ?1)",
            [&](sqlite3_stmt* stmt) { sqlite3_bind_int(stmt, 1, offset); });
        return;
      }
      case step::kSchema:
        rows_only_ = false;
        change_schema(in.u8() % kSchemaChanges.size());
        return;
      case step::kUserVersion:
        rows_only_ = false;
        exec("PRAGMA user_version = " + std::to_string(kUserVersions[in.u8() % kUserVersions.size()]));
        return;
      case step::kOverwrite: {
        rows_only_ = false;
        close();
        auto bytes = read_file(path_);
        const std::uint32_t offset = in.u32();
        const std::size_t length = in.u8() % 17;
        for (std::size_t i = 0; i < length; ++i) {
          const std::uint8_t b = in.u8();
          if (!bytes.empty()) bytes[(offset + i) % bytes.size()] = b;
        }
        write_file(path_, bytes);
        return;
      }
      case step::kTruncate: {
        rows_only_ = false;
        close();
        auto bytes = read_file(path_);
        bytes.resize(in.u32() % (bytes.size() + 1));
        write_file(path_, bytes);
        return;
      }
      case step::kHeaderField: {
        rows_only_ = false;
        close();
        auto bytes = read_file(path_);
        const std::uint32_t offset = kHeaderOffsets[in.u8() % kHeaderOffsets.size()];
        const std::uint32_t value = in.u32();
        for (std::uint32_t i = 0; i < 4; ++i) {
          if (offset + i < bytes.size()) {
            bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * (3 - i)));
          }
        }
        write_file(path_, bytes);
        return;
      }
    }
  }

  void change_schema(std::size_t which) {
    switch (which) {
      case 0:  // NOT NULL gone: NULLs can then be written where the backend expects values
        exec("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, "
             "'NOT NULL', '') WHERE type = 'table'; PRAGMA writable_schema = OFF");
        close();  // the next connection reads the changed schema
        return;
      case 1: exec("DROP INDEX tasks_pending_by_eta"); return;
      case 2: exec("DROP INDEX results_by_finished_at"); return;
      case 3: exec("DROP TABLE results"); return;
      case 4: exec("DROP TABLE tasks"); return;
      case 5: exec("ALTER TABLE tasks ADD COLUMN extra TEXT"); return;
      case 6: exec("ALTER TABLE tasks RENAME COLUMN eta TO due"); return;
      default:
        exec("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'CREATE TABLE tasks "
             "(' WHERE name = 'tasks'; PRAGMA writable_schema = OFF");
        close();
        return;
    }
  }

  // One value, decoded from the input.
  struct Value {
    std::uint8_t kind = value_kind::kNull;
    std::int64_t integer = 0;
    double real = 0;
    std::string bytes;  // text or blob
  };

  static Value decode_value(ByteReader& in) {
    Value v;
    v.kind = in.u8() % 6;
    switch (v.kind) {
      case value_kind::kInteger: v.integer = kIntegers[in.u8() % kIntegers.size()]; break;
      case value_kind::kReal: v.real = kReals[in.u8() % kReals.size()]; break;
      case value_kind::kText: {
        const std::uint8_t s = in.u8();
        v.bytes = s < 128 ? std::string(kTexts[s % kTexts.size()]) : in.text(in.u8() % 17);
        break;
      }
      case value_kind::kBlob: v.bytes = in.text(in.u8() % 17); break;
      case value_kind::kRawInteger: v.integer = static_cast<std::int64_t>(in.u64()); break;
      default: break;
    }
    return v;
  }

  static std::vector<Value> decode_values(ByteReader& in, std::size_t count) {
    std::vector<Value> values;
    for (std::size_t i = 0; i < count; ++i) values.push_back(decode_value(in));
    return values;
  }

  static void bind(sqlite3_stmt* stmt, int index, const Value& v) {
    switch (v.kind) {
      case value_kind::kNull: sqlite3_bind_null(stmt, index); return;
      case value_kind::kReal: sqlite3_bind_double(stmt, index, v.real); return;
      case value_kind::kText:
        sqlite3_bind_text64(stmt, index, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT,
                            SQLITE_UTF8);
        return;
      case value_kind::kBlob:
        sqlite3_bind_blob64(stmt, index, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT);
        return;
      default: sqlite3_bind_int64(stmt, index, v.integer); return;
    }
  }

  sqlite3* db() {
    if (db_ == nullptr) {
      if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        close();
        return nullptr;
      }
      sqlite3_busy_timeout(db_, 100);
    }
    return db_;
  }

  void close() {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  void exec(const std::string& text) {
    if (sqlite3* handle = db()) sqlite3_exec(handle, text.c_str(), nullptr, nullptr, nullptr);
  }

  int rows(const std::string& table) {
    int count = 0;
    sql("SELECT count(*) FROM " + table, {}, &count);
    return count;
  }

  // Prepares `text`, lets `bind_parameters` bind it and steps it to the end; the first
  // column of the first row goes to `first` if given.
  void sql(const std::string& text, const std::function<void(sqlite3_stmt*)>& bind_parameters,
           int* first = nullptr) {
    sqlite3* handle = db();
    if (handle == nullptr) return;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(handle, text.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      if (bind_parameters) bind_parameters(stmt);
      for (int rc = sqlite3_step(stmt); rc == SQLITE_ROW; rc = sqlite3_step(stmt)) {
        if (first != nullptr) {
          *first = sqlite3_column_int(stmt, 0);
          first = nullptr;
        }
      }
    }
    sqlite3_finalize(stmt);
  }

  fs::path path_;
  sqlite3* db_ = nullptr;
  bool rows_only_ = true;
};

// ---- the backend on the damaged file ----

enum class Strictness { any_storage_error, corruption_only, no_error };

class Checker {
 public:
  Checker(const fs::path& path, bool rows_only) : path_(path), rows_only_(rows_only) {}

  void run() {
    std::unique_ptr<SqliteStorage> storage;
    // Damaged rows are no reason to refuse the whole store.
    expect("open", read_strictness(Strictness::no_error), [&] {
      storage = std::make_unique<SqliteStorage>(SqliteStorageOptions{
          .path = path_,
          .connections = 1,
          .busy_timeout = 100ms,
          .busy_retries = 0,
          .clock = [] { return kT0 + 1h; }});
    });
    if (!storage) return;
    SqliteStorage& store = *storage;
    const std::vector<std::string> ids = {"t1", "t2", "t3", "t4", "t5", "n1", "zz"};
    read_everything(store, ids);
    for (std::size_t i = 0; i < kMaxDequeues; ++i) {
      std::optional<Task> claimed;
      expect("dequeue", read_strictness(Strictness::no_error),
             [&] { claimed = sync_wait(io_, store.dequeue(kFarFuture)); });
      if (!claimed) break;
    }
    expect("mark_running", Strictness::any_storage_error,
           [&] { sync_wait(io_, store.mark_running("t1")); });
    const TaskResult result{.task_id = "t2",
                            .status = TaskStatus::SUCCESS,
                            .value = to_bytes("again"),
                            .error = std::nullopt,
                            .finished_at = kT0};
    expect("mark_done", Strictness::any_storage_error,
           [&] { sync_wait(io_, store.mark_done("t2", result)); });
    expect("mark_failed", Strictness::any_storage_error,
           [&] { sync_wait(io_, store.mark_failed("t3", "boom", true)); });
    expect("mark_failed", Strictness::any_storage_error,
           [&] { sync_wait(io_, store.mark_failed("t4", "final", false)); });
    expect("reschedule", Strictness::any_storage_error,
           [&] { sync_wait(io_, store.reschedule("t5", kT0)); });
    for (const char* id : {"n1", "t1"}) {
      Task task;
      task.id = id;
      task.name = "job";
      task.eta = kT0;
      expect("enqueue", Strictness::any_storage_error,
             [&] { (void)sync_wait(io_, store.enqueue(task)); });
    }
    expect("purge_results", Strictness::any_storage_error,
           [&] { (void)sync_wait(io_, store.purge_results(kT0 + 1h)); });
    read_everything(store, ids);
  }

 private:
  // With only rows damaged, `rows_only`; else any StorageError.
  Strictness read_strictness(Strictness rows_only) const {
    return rows_only_ ? rows_only : Strictness::any_storage_error;
  }

  void read_everything(SqliteStorage& store, const std::vector<std::string>& ids) {
    for (const auto& id : ids) {
      expect("get_task", read_strictness(Strictness::corruption_only),
             [&] { (void)sync_wait(io_, store.get_task(id)); });
      expect("get_result", read_strictness(Strictness::corruption_only),
             [&] { (void)sync_wait(io_, store.get_result(id)); });
    }
  }

  // The rule an error breaks where none is allowed: dequeue passes damaged tasks over; a
  // store whose rows alone are damaged still opens.
  static std::string_view strict_rule(std::string_view operation) {
    return operation == "dequeue" ? "DEQ-9" : "SQL-4";
  }

  void expect(std::string_view operation, Strictness strictness, const std::function<void()>& op) {
    const std::string where =
        std::string(operation) + " on a damaged database (" +
        (rows_only_ ? "rows damaged, schema and file intact" : "schema or file damaged") + ")";
    try {
      op();
    } catch (const CorruptionError& e) {
      if (strictness == Strictness::no_error) {
        fail(strict_rule(operation), where + " raised CorruptionError: " + e.what());
      }
      if (strictness == Strictness::corruption_only &&
          std::string_view(e.what()).find(path_.string()) == std::string_view::npos) {
        fail("SQL-4", where + ": the CorruptionError does not name the database: " + e.what());
      }
    } catch (const StorageError& e) {
      if (strictness == Strictness::no_error) {
        fail(strict_rule(operation), where + " raised " + e.what());
      }
      if (strictness == Strictness::corruption_only) {
        fail("SQL-4", where + " raised a StorageError that is not a CorruptionError: " + e.what());
      }
    } catch (const std::exception& e) {
      fail("ERR-2", where + " raised an exception that is not a StorageError: " + e.what());
    } catch (...) {
      fail("ERR-2", where + " raised a non-standard exception");
    }
  }

  fs::path path_;
  bool rows_only_;
  boost::asio::io_context io_;
};

const std::vector<std::uint8_t>& baseline() {
  static const std::vector<std::uint8_t> image = [] {
    try {
      return baseline_image(taskstore::fuzz::scratch_directory());
    } catch (const std::exception& e) {
      fail_harness(std::string("cannot build the baseline store: ") + e.what());
    }
  }();
  return image;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteReader in({data, size});
  const fs::path path =
      taskstore::fuzz::scratch_directory() / (taskstore::fuzz::fresh_name("damaged") + ".db");
  bool rows_only = false;
  if ((in.u8() & 1) == 0) {
    write_file(path, in.rest());
  } else {
    write_file(path, baseline());
    Damager damager(path);
    damager.run(in);
    rows_only = damager.rows_only();
  }
  Checker(path, rows_only).run();
  remove_database(path);
  return 0;
}
