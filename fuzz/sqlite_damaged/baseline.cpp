#include <sqlite3.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

#include "damaged_database.hpp"
#include "taskstore/sqlite_storage.hpp"
#include "taskstore/sync_wait.hpp"

namespace taskstore::fuzz::sqlite_damaged {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr Timestamp kT0 = from_micros(1'767'225'600'000'001);

Task baseline_task(std::string id, Timestamp eta) {
  Task task;
  task.id = std::move(id);
  task.name = "job";
  task.payload = to_bytes(std::string("pay\0load", 8));
  task.eta = eta;
  task.max_retries = 3;
  task.created_at = kT0;
  task.updated_at = kT0;
  return task;
}

void remove_database(const fs::path& path) {
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(fs::path(path.string() + suffix), ignored);
  }
}

}  // namespace

std::vector<std::uint8_t> baseline_image(const fs::path& scratch) {
  const fs::path path = scratch / "baseline.db";
  remove_database(path);
  {
    // A page size of 512 (SQLite's smallest) keeps the image, and the seeds made of it,
    // small. It has to be set before the first table exists.
    sqlite3* db = nullptr;
    const bool ok =
        sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
        sqlite3_exec(db, "PRAGMA page_size=512; CREATE TABLE x(a); DROP TABLE x;", nullptr,
                     nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    if (!ok) throw std::runtime_error("cannot prepare " + path.string());
  }
  {
    SqliteStorage storage(SqliteStorageOptions{
        .path = path, .connections = 1, .clock = [] { return kT0 + 1s; }});
    boost::asio::io_context io;
    Task t1 = baseline_task("t1", kT0 - 1s);
    Task t2 = baseline_task("t2", kT0);
    Task t3 = baseline_task("t3", kT0 + 1s);
    Task t4 = baseline_task("t4", kT0 + 2s);
    t4.schedule = IntervalSchedule{90s};
    t4.last_error = "";
    Task t5 = baseline_task("t5", kT0 + 1h);
    t5.retry = RetryPolicy{.backoff = RetryPolicy::Backoff::exponential,
                           .delay = 1s,
                           .max_delay = 1min,
                           .jitter = true};
    for (Task* task : {&t1, &t2, &t3, &t4, &t5}) sync_wait(io, storage.enqueue(*task));
    (void)sync_wait(io, storage.dequeue(kT0 - 1s));
    sync_wait(io, storage.mark_done("t2", TaskResult{.task_id = "t2",
                                                     .status = TaskStatus::SUCCESS,
                                                     .value = to_bytes("ok"),
                                                     .error = std::nullopt,
                                                     .finished_at = kT0 + 1s}));
    sync_wait(io, storage.mark_failed("t3", "boom", false));
    sync_wait(io, storage.mark_failed("t4", "again", true));
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> image((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw std::runtime_error("cannot read " + path.string());
  remove_database(path);
  return image;
}

}  // namespace taskstore::fuzz::sqlite_damaged
